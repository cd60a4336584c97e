// The syscalls of a daemon that serves TLS on the TCP listener systemd handed it and talks to
// clockd over a Unix socket it reconnects: monitord (HTTPS) and ntskd (NTS-KE) need exactly the
// same, so they share one table (a need of one alone goes into its own file's table). They
// accept connections but create no network socket, and open files read-only.
#pragma once
#include "policy.h"
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>

namespace horloge::policy {

inline constexpr Syscall TLS_SERVER_SYSCALLS[] = {
  // KJ event loop (epoll + signalfd + eventfd) and Cap'n Proto RPC streams.
  {"epoll_wait"}, {"epoll_pwait"}, {"epoll_ctl"},
  {"signalfd4"},                       // KJ re-arms the signalfd mask before each wait
  {"read"}, {"readv"}, {"write"}, {"writev"},
  {"recvmsg"}, {"sendmsg"},            // RPC with fd passing; sd_notify
  {"close"}, {"shutdown"}, {"fcntl"},
  when("ioctl", 1, FIONBIO), when("ioctl", 1, FIOCLEX),   // kj wraps fds it did not open
  when("ioctl", 1, TCGETS),            // stdio's isatty() on stderr
  {"accept4"},                         // clients on the handed-in TCP listener
  when("socket", 0, AF_UNIX),          // reconnecting to clockd; sd_notify. Never AF_INET*.
  {"connect"},
  {"poll"}, {"ppoll"},                 // kj checks a non-blocking connect() with poll(fd, 0)
  {"getsockopt"}, {"setsockopt"},      // TCP_NODELAY on accepted connections
  {"getsockname"}, {"getpeername"},    // the client's address (monitord's access log)

  // Memory: malloc and thread stacks. Never executable (no code is loaded after lockdown;
  // OpenSSL's providers are built in and initialised before).
  {"brk"}, {"munmap"}, {"mremap"}, {"madvise"},
  masked("mmap", 2, PROT_EXEC, 0), masked("mprotect", 2, PROT_EXEC, 0),

  // Threads, signals, exit.
  {"futex"}, {"sched_yield"},
  {"rt_sigprocmask"}, {"rt_sigaction"}, {"rt_sigreturn"}, {"restart_syscall"},
  when("tgkill", 0, SELF_PID),         // raise()/abort() on ourselves only
  {"getpid"}, {"gettid"}, {"exit"}, {"exit_group"},
  // glibc's start-up of a thread created just before lockdown may run after the filter.
  {"rseq"}, {"set_robust_list"},
  {"getuid"}, {"geteuid"}, {"getgid"}, {"getegid"},   // sd_notify() asks before each send

  // Reading clocks (the vDSO falls back to these) and sleeping.
  {"clock_gettime"}, {"clock_getres"}, {"gettimeofday"}, {"time"},
  {"clock_nanosleep"}, {"nanosleep"},

  // Reading /proc/self/status for DaemonInfo: read-only opens only.
  masked("openat", 2, O_ACCMODE | O_CREAT | O_TRUNC, O_RDONLY),
  {"fstat"}, {"newfstatat"}, {"statx"}, {"lseek"},

  // Miscellaneous.
  {"getrandom"},                       // TLS session keys and nonces (OpenSSL's DRBG)
  {"uname"},
  when("prctl", 0, PR_SET_NAME), when("prctl", 0, PR_GET_NAME),   // thread names only
  // 32-bit ARM (armhf) names of calls above, which glibc 2.36 makes there instead (the names
  // that do not exist on an architecture are skipped when the filter is built):
  // - found in the armhf guest's kernel log with `seccomp log` (arm_package_test.py,
  //   HORLOGE_ARM_SECCOMP=log; audit type 1326), and in its SIGSYS kills of sandbox-test:
  {"getuid32"}, {"geteuid32"}, {"getgid32"}, {"getegid32"},   // sd_notify's checks
  masked("mmap2", 2, PROT_EXEC, 0),    // mmap; malloc growing
  // - the 64-bit time and offset variants glibc calls first with _TIME_BITS=64 and
  //   _FILE_OFFSET_BITS=64 (its clock_gettime64 fallback when the vDSO is not used, and so on):
  {"fcntl64"}, {"_llseek"},
  {"clock_gettime64"}, {"clock_getres_time64"}, {"clock_nanosleep_time64"}, {"futex_time64"},
  {"ppoll_time64"},
};

}  // namespace horloge::policy
