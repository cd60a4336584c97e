#include "exposition.h"
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace horloge::monitord {

void Exposition::family(kj::StringPtr name, kj::StringPtr type, kj::StringPtr help) {
  current = name;
  add(kj::str("# HELP ", name, ' ', help, "\n# TYPE ", name, ' ', type, '\n'));
}

void Exposition::sample(double value, std::initializer_list<Label> labels) {
  add(current);
  if (labels.size() > 0) {
    out.add('{');
    bool first = true;
    for (auto& [key, text]: labels) {
      if (!first) out.add(',');
      first = false;
      add(key);
      add("=\"");
      for (char c: text) {
        if (c == '\\') add("\\\\");
        else if (c == '"') add("\\\"");
        else if (c == '\n') add("\\n");
        else out.add(c);
      }
      out.add('"');
    }
    out.add('}');
  }
  out.add(' ');
  if (std::isnan(value)) add("NaN");
  else if (std::isinf(value)) add(value > 0 ? "+Inf" : "-Inf");
  else {
    char buf[32];
    // Shortest of the two that reads back exactly: "0.1", not "0.10000000000000001".
    snprintf(buf, sizeof(buf), "%.15g", value);
    if (strtod(buf, nullptr) != value) snprintf(buf, sizeof(buf), "%.17g", value);
    add(buf);
  }
  out.add('\n');
}

kj::String Exposition::finish() {
  out.add('\0');
  return kj::String(out.releaseAsArray());
}

}  // namespace horloge::monitord
