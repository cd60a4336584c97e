// netd: answers NTP on the UDP sockets systemd handed it, from worker threads started before
// lockdown (so no clone), and pushes samples to / receives state from clockd over a Unix
// socket it reconnects when clockd restarts. Its only network sockets of its own are the
// upstream requests' in relay mode (see below). It opens no file for writing.
#include "policy.h"
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>

namespace horloge::policy {
namespace {

constexpr Syscall syscalls[] = {
  // KJ event loop (epoll + signalfd + eventfd) and Cap'n Proto RPC streams.
  {"epoll_wait"}, {"epoll_pwait"}, {"epoll_ctl"},
  {"signalfd4"},                       // KJ re-arms the signalfd mask before each wait
  {"read"}, {"readv"}, {"write"}, {"writev"},
  {"recvmsg"}, {"sendmsg"},            // RPC; MSG_ERRQUEUE for kernel TX timestamps
  {"close"}, {"shutdown"}, {"fcntl"},
  when("ioctl", 1, FIONBIO), when("ioctl", 1, FIOCLEX),   // kj wraps fds it did not open
  when("ioctl", 1, TCGETS),            // stdio's isatty() on stderr
  when("socket", 0, AF_UNIX),          // reconnecting to clockd; sd_notify.
  {"connect"},                         // to clockd; in relay mode, handed-in UDP sockets
  {"getsockopt"}, {"setsockopt"},
  {"getsockname"}, {"getpeername"},

  // The NTP hot path: batches in and out, single packets for the slow path. recvmmsg also
  // reads kernel TX timestamps off the error queue (MSG_ERRQUEUE | MSG_DONTWAIT).
  {"recvmmsg"}, {"sendmmsg"}, {"recvfrom"}, {"sendto"},
  {"poll"}, {"ppoll"},                 // workers wait with a timeout; kj checks a connect()

  // Memory: malloc and thread stacks. Never executable (no code is loaded after lockdown).
  {"brk"}, {"munmap"}, {"mremap"}, {"madvise"},
  masked("mmap", 2, PROT_EXEC, 0), masked("mprotect", 2, PROT_EXEC, 0),

  // Threads, signals, exit. Workers exist already: no clone/clone3.
  {"futex"}, {"sched_yield"},
  {"rt_sigprocmask"}, {"rt_sigaction"}, {"rt_sigreturn"}, {"restart_syscall"},
  when("tgkill", 0, SELF_PID),         // raise()/abort(), waking a worker: ourselves only
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
  {"getrandom"}, {"uname"},
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
  {"recvmmsg_time64"},                 // the workers' batches (seen in the guest's log)
  {"ppoll_time64"},
  {"send"},                            // relay requests: send() is sendto on 64-bit, send on arm
};

}  // namespace

// Relay mode only (`server` lines): one new UDP socket per upstream request, so that each goes
// out of a random source port (RFC 9109). The filter cannot AND the family with the type, so
// the family alone is checked; netd holds no capability (no raw sockets, no port below 1024)
// and has no bind/listen/accept. A Stratum-1 without `server` lines never gets these.
constexpr Syscall relaySyscalls[] = {
  when("socket", 0, AF_INET), when("socket", 0, AF_INET6),
};

const Policy NETD = {Role::NETD, syscalls, {}, relaySyscalls};

}  // namespace horloge::policy
