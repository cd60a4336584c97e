// The lockdown every daemon runs once it has opened what it needs. The order is fixed and
// visible here, as in OpenNTPD:
//   1. drop to the role's user (supplementary groups, gid, uid), keeping only the listed caps;
//   2. clear every other capability, including the bounding and ambient sets;
//   3. set no_new_privs;
//   4. load the role's seccomp allowlist from policy/ (kill, errno or log on a violation), on
//      every thread (TSYNC): netd's workers exist already;
//   5. verify from /proc/self/task/*/status that every thread is confined.
// Started as a non-root user, step 1 is skipped and the rest still applies.
#pragma once
#include "config.h"
#include <string>

namespace horloge {

struct LockdownOptions {
  std::string user;                 // switch to this user when started as root
  bool keepSysTime = false;         // clockd with the `system` clock only; kept if held
  SeccompAction action = SeccompAction::KILL;
  bool relay = false;               // netd with `server` lines: may open upstream UDP sockets
};

// Throws (failWith, error.h: "lockdown: step N (...): what") if any step fails: a daemon must
// not run half confined.
void lockdown(Role role, const LockdownOptions& options);

}  // namespace horloge
