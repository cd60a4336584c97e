// `horlogectl doctor`: read-only checks of what a Raspberry Pi Stratum-1 needs, each PASS, WARN
// or FAIL (SKIP when it does not apply here) with the fix in one line. It reads files only:
// the configuration, /dev, /proc, /sys, /boot/firmware/config.txt, /etc/passwd and /etc/group,
// the leap second tables and the certificate; it asks clockd's status socket and `nft list
// tables`. Everything is read under a root directory, so that the unit tests run it on fake
// sysfs and proc trees (doctor-test.c++); on the appliance the root is "/".
#pragma once
#include "config.h"
#include "daemon.h"
#include "table.h"
#include <horloge.capnp.h>
#include <kj/function.h>
#include <kj/string.h>
#include <kj/vector.h>

namespace horloge::ctl {

struct Finding {
  enum Result : uint8_t { PASS, WARN, FAIL, SKIP };
  Result result;
  kj::String check;     // a short name: "pps device", "uart console", ...
  kj::String message;   // what was found, one line
  kj::String fix;       // one line; empty for PASS and SKIP
};

kj::StringPtr resultName(Finding::Result r);   // "PASS", "WARN", "FAIL", "SKIP"

// What the checks read, and the little they cannot read from files.
struct DoctorEnv {
  kj::String root = kj::str("/");             // every absolute path is read under it
  kj::String configPath = kj::str(DEFAULT_CONFIG);   // as the system names it (not prefixed)
  int64_t nowNs = 0;
  // Waits before the second reading of the PPS counters (tests change the tree meanwhile).
  kj::Function<void(int64_t ns)> sleep;
  // `nft list tables`' output, or null when nft cannot be run.
  kj::Function<kj::Maybe<kj::String>()> nftTables;
  // clockd's status, or null with `why` set when it cannot be read.
  kj::Function<kj::Maybe<ipc::SystemStatus::Reader>(kj::String& why)> status;
};

kj::Array<Finding> runDoctor(DoctorEnv& env);

// Text: one line per check ("PASS  check  message"), then "      fix: ..." under a WARN or FAIL.
kj::String renderFindings(kj::ArrayPtr<const Finding> findings);
// -j / -c: one table, keys check, result, message, fix.
View findingsView(kj::ArrayPtr<const Finding> findings);

}  // namespace horloge::ctl
