// horlogectl's subcommands that show clockd's status, as chronyc operators know them, each a
// pure function from clockd's SystemStatus to tables (table.h), pinned by golden tests:
//   status       the summary as CSV (the text and JSON forms are status-text.h, status-json.h)
//   sources      chronyc's columns: mode, state, name, stratum, poll, reach, LastRx, last sample
//   sourcestats  each source's sample statistics
//   tracking     chronyc's tracking fields, then horloge's own (state, max error, alarms)
//   serverstats  netd's counters
//   clients      netd's busiest clients, with rate-limited and KoD counts
//   gnss         each receiver's fix and DOP (and, as text, its satellites)
//   satellites   every satellite in view, with its SNR
//   daemons      each daemon's pid, user, capabilities, seccomp mode, restarts
// With -v, a command's legend (what each column means) is printed above its table.
#pragma once
#include "table.h"
#include <horloge.capnp.h>

namespace horloge::ctl {

// What the views may look up outside the status (kept out so that they stay pure).
struct Lookup {
  kj::String (*userName)(uint32_t uid) = nullptr;   // null, or "" for unknown: the uid is shown
};

struct Command {
  kj::StringPtr name;
  kj::StringPtr needs;   // the peer of clockd whose data it shows ("" when clockd's own)
  kj::Array<View> (*views)(ipc::SystemStatus::Reader status, const Lookup& lookup);
  kj::StringPtr summary;   // one line for --help
  kj::StringPtr legend;    // -v
};

// Every table command, `status` first.
kj::ArrayPtr<const Command> commands();
kj::Maybe<const Command&> findCommand(kj::StringPtr name);

}  // namespace horloge::ctl
