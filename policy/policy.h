// What each daemon may do once locked down: the syscalls its seccomp filter allows and the
// capabilities it keeps. One file per role (clockd.c++, netd.c++, ...), each a plain table,
// in the spirit of chrony's per-role seccomp lists and OpenNTPD's pledge() promises.
//
// Names are resolved with seccomp_syscall_resolve_name() when the filter is built; a name the
// running architecture does not have (`poll`, `epoll_wait` on arm64; `mmap2`, `getuid32`,
// `clock_adjtime64` everywhere but 32-bit ARM) is skipped. Several entries with the same name
// are alternatives: the call is allowed if any of them matches.
//
// How each architecture's list was found, and is kept right:
// - amd64: every daemon runs with `seccomp kill` in the integration tests and the package test
//   (a missing call is a SIGSYS there), sandbox-test drives each role's event loop after
//   lockdown; strace names the call that killed one.
// - arm64 and armhf: tests/integration/arm_package_test.py boots the .deb on an emulated ARM
//   machine (QEMU, Debian's kernel for that architecture) and runs the daemons through its
//   workload. With HORLOGE_ARM_SECCOMP=log they run with `seccomp log` and the test lists each
//   call the guest's kernel logged (audit type 1326, named by scmp_sys_resolver); then it runs
//   in kill mode and finds no SIGSYS in the guest's journal, and sandbox-test runs on the
//   guest's kernel. arm64 needed nothing new (its glibc makes the same calls as amd64's, or
//   ones already listed: ppoll, epoll_pwait, renameat). armhf needed the entries at the end
//   of each table.
#pragma once
#include "config.h"
#include <cstdint>
#include <kj/debug.h>
#include <span>

namespace horloge::policy {

struct Syscall {
  const char* name;
  // When `arg` >= 0 the call is allowed only if (argument[arg] & mask) == value.
  int8_t arg = -1;
  uint64_t mask = 0;
  uint64_t value = 0;
};

// Stands for getpid() of the process being locked down (known only at load time).
constexpr uint64_t SELF_PID = ~uint64_t(0);

// Allowed only when argument `arg` equals `value`. The compare is on the low 32 bits: every
// argument filtered this way is an int or unsigned int in the kernel, and comparing 64 bits
// would miss an ioctl number such as PPS_FETCH (0xc00870a4) that a caller sign-extends.
constexpr Syscall when(const char* name, int8_t arg, uint64_t value) {
  return {name, arg, 0xffffffffu, value};
}

// Allowed only when (argument `arg` & mask) == value, e.g. no PROT_EXEC bit.
constexpr Syscall masked(const char* name, int8_t arg, uint64_t mask, uint64_t value) {
  return {name, arg, mask, value};
}

struct Policy {
  Role role;
  std::span<const Syscall> syscalls;
  // Capabilities the role may keep after lockdown (Linux CAP_* numbers). Only clockd has one,
  // CAP_SYS_TIME, and keeps it only when LockdownOptions::keepSysTime says so.
  std::span<const int> capabilities;
  // Allowed on top of `syscalls` only in relay mode (LockdownOptions::relay).
  std::span<const Syscall> relaySyscalls = {};
};

extern const Policy CLOCKD;
extern const Policy NETD;
extern const Policy REFCLOCKD;
extern const Policy MONITORD;
extern const Policy NTSKD;

inline const Policy& forRole(Role role) {
  switch (role) {
    case Role::CLOCKD: return CLOCKD;
    case Role::NETD: return NETD;
    case Role::REFCLOCKD: return REFCLOCKD;
    case Role::MONITORD: return MONITORD;
    case Role::NTSKD: return NTSKD;
  }
  KJ_FAIL_ASSERT("no seccomp policy for this role", static_cast<int>(role));
}

}  // namespace horloge::policy
