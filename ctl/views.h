// horlogectl's subcommands other than `status`, as chronyc operators know them, each a pure
// function from clockd's SystemStatus to tables (table.h), pinned by golden tests:
//   sources      selection marks and each source's offset, error, jitter
//   sourcestats  each source's sample statistics
//   tracking     the system clock: reference, offset, frequency, root delay/dispersion, leap
//   serverstats  netd's counters
//   clients      netd's busiest clients, with rate-limited and KoD counts
//   gnss         each receiver's fix and DOP, and the satellites with their SNR
// `status -c` also comes from here (statusViews); `status` text and `-j` stay in status-text.
#pragma once
#include "table.h"
#include <horloge.capnp.h>

namespace horloge::ctl {

struct Command {
  kj::StringPtr name;
  kj::StringPtr needs;   // the peer of clockd whose data it shows ("" when clockd's own)
  kj::Array<View> (*views)(ipc::SystemStatus::Reader status);
};

// Every table command, `status` first.
kj::ArrayPtr<const Command> commands();
kj::Maybe<const Command&> findCommand(kj::StringPtr name);

}  // namespace horloge::ctl
