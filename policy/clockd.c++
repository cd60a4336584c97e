// clockd: filters and combines samples, disciplines the clock with clock_adjtime(), persists
// drift in its state directory, serves the other daemons on Unix sockets it bound before
// lockdown. No network, and it never steps the clock with settimeofday/clock_settime.
#include "policy.h"
#include <fcntl.h>
#include <linux/capability.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>

namespace horloge::policy {
namespace {

constexpr Syscall syscalls[] = {
  // KJ event loop (epoll + signalfd + eventfd) and Cap'n Proto RPC streams.
  {"epoll_wait"}, {"epoll_pwait"}, {"epoll_ctl"},
  {"signalfd4"},                       // KJ re-arms the signalfd mask before each wait
  {"read"}, {"readv"}, {"write"}, {"writev"},
  {"recvmsg"}, {"sendmsg"},            // RPC with fd passing; sd_notify
  {"close"}, {"shutdown"}, {"fcntl"},
  when("ioctl", 1, FIONBIO), when("ioctl", 1, FIOCLEX),   // kj wraps fds it did not open
  when("ioctl", 1, TCGETS),            // stdio's isatty() on stderr
  {"accept4"},                         // refclockd, netd, monitord, horloge-ctl connecting
  when("socket", 0, AF_UNIX),          // sd_notify's datagram socket (sendmsg, no connect)
  {"getsockopt"}, {"setsockopt"},      // SO_PEERCRED of each peer; sd_notify's SO_SNDBUF
  {"getsockname"}, {"getpeername"},

  // Memory: malloc and thread stacks. Never executable (no code is loaded after lockdown).
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

  // Disciplining the system clock: slew and frequency only. adjtimex() is
  // clock_adjtime(CLOCK_REALTIME) under another name; PHC and other clocks are refused.
  // settimeofday, clock_settime and stime are deliberately absent.
  when("clock_adjtime", 0, CLOCK_REALTIME), {"adjtimex"},

  // State directory: drift file and step limits, written to a temporary file then renamed.
  {"openat"}, {"fstat"}, {"newfstatat"}, {"statx"}, {"lseek"},
  {"fsync"}, {"fdatasync"}, {"ftruncate"},
  {"rename"}, {"renameat"}, {"renameat2"}, {"unlink"}, {"unlinkat"},

  // Miscellaneous.
  {"getrandom"}, {"uname"},
  when("prctl", 0, PR_SET_NAME), when("prctl", 0, PR_GET_NAME),   // thread names only
};

constexpr int capabilities[] = {
  CAP_SYS_TIME,   // clock_adjtime() with modes set; kept only for the `system` clock backend
};

}  // namespace

const Policy CLOCKD = {"clockd", syscalls, capabilities};

}  // namespace horloge::policy
