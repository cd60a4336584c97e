// `/`: the operator's dashboard, one static HTML page and one script (`/dashboard.js`), both
// compiled in: no external resource, nothing read from disk. The script fetches `/status` and
// `/history.json` every 10 s and draws with DOM text nodes and inline SVG only (never
// innerHTML: names and reasons come from peers). DASHBOARD_CSP is the header the page is
// served with; it allows nothing but this origin.
#pragma once
#include <kj/string.h>

namespace horloge::monitord {

extern const kj::StringPtr DASHBOARD_HTML;
extern const kj::StringPtr DASHBOARD_JS;
extern const kj::StringPtr DASHBOARD_CSP;

}  // namespace horloge::monitord
