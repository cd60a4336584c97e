// refclockd: reads NMEA from a serial port or pty and PPS edges from /dev/ppsN (RFC 2783
// ioctls, in a fetch thread started before lockdown), gpsd's SHM segments (attached before
// lockdown) and SOCK datagrams (bound before lockdown), and pushes samples to clockd over a
// Unix socket it reconnects when clockd restarts. It may reopen a device that went away and
// rewrite its state file in place, but creates no file and no network socket.
#include "policy.h"
#include <fcntl.h>
#include <linux/pps.h>
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
  {"recvmsg"}, {"sendmsg"},            // RPC with fd passing; sd_notify
  {"close"}, {"shutdown"}, {"fcntl"},
  when("ioctl", 1, FIONBIO), when("ioctl", 1, FIOCLEX),   // kj wraps fds it did not open
  when("socket", 0, AF_UNIX),          // reconnecting to clockd, gpsd's socket; sd_notify
  {"connect"},
  {"getsockopt"}, {"setsockopt"},
  {"getsockname"}, {"getpeername"},

  // Serial line: termios (tcgetattr/tcsetattr/tcflush/tcdrain; TCGETS is also stdio's
  // isatty()), modem lines for DCD-based PPS, bytes waiting.
  when("ioctl", 1, TCGETS), when("ioctl", 1, TCSETS), when("ioctl", 1, TCSETSW),
  when("ioctl", 1, TCSETSF), when("ioctl", 1, TCFLSH), when("ioctl", 1, TCSBRK),
  when("ioctl", 1, TIOCMGET), when("ioctl", 1, TIOCMIWAIT), when("ioctl", 1, FIONREAD),
  // RFC 2783 PPS API on /dev/ppsN (time_pps_fetch & co). Not PPS_KC_BIND: that would hand
  // the kernel clock to the PPS line and needs CAP_SYS_TIME, which refclockd does not have.
  when("ioctl", 1, PPS_GETPARAMS), when("ioctl", 1, PPS_SETPARAMS),
  when("ioctl", 1, PPS_GETCAP), when("ioctl", 1, PPS_FETCH),
  {"poll"}, {"ppoll"},                 // kj checks a non-blocking connect() with poll(fd, 0)

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

  // Reopening a device that disappeared (read-write for the PPS ioctls) and reading
  // /proc/self/status; never creating or truncating a file.
  masked("openat", 2, O_CREAT | O_TRUNC, 0),
  {"fstat"}, {"newfstatat"}, {"statx"}, {"lseek"},
  // The last-good GNSS time: one file opened before lockdown, rewritten in place.
  {"pread64"}, {"pwrite64"}, {"fdatasync"},
  // gpsd's NTP SHM segments are attached before lockdown; only detached at exit.
  {"shmdt"},

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
  {"ppoll_time64"},
};

}  // namespace

const Policy REFCLOCKD = {Role::REFCLOCKD, syscalls, {}};

}  // namespace horloge::policy
