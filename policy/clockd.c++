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
  {"pread64"},                         // the temperature sensor, read again from offset 0
  {"fsync"}, {"fdatasync"}, {"ftruncate"},
  {"rename"}, {"renameat"}, {"renameat2"}, {"unlink"}, {"unlinkat"},

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
  // - clock_adjtime() and adjtimex() are clock_adjtime64(CLOCK_REALTIME) there (sandbox-test's
  //   libc call in the guest, errno mode):
  when("clock_adjtime64", 0, CLOCK_REALTIME),
};

constexpr int capabilities[] = {
  CAP_SYS_TIME,   // clock_adjtime() with modes set; kept only for the `system` clock backend
};

}  // namespace

const Policy CLOCKD = {Role::CLOCKD, syscalls, capabilities};

}  // namespace horloge::policy
