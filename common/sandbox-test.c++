// lockdown() really confines: each role is locked down in a forked child, which then checks
// what the kernel says about it and tries calls it must not be able to make. The child reports
// failures through a pipe. Forbidden calls use invalid arguments (null or bad pointers) so the
// kernel would fail them harmlessly: EPERM proves the filter decided. Nothing here can change
// the host clock.
#include "sandbox.h"
#include "policy.h"
#include "proc-status.h"
#include "systemd.h"
#include <doctest/doctest.h>
#include <kj/async-io.h>
#include <kj/async-unix.h>
#include <kj/debug.h>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <fcntl.h>
#include <functional>
#include <mutex>
#include <pwd.h>
#include <seccomp.h>
#include <set>
#include <signal.h>
#include <sstream>
#include <fstream>
#include <string>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <cstddef>
#include <cstring>
#include <sys/syscall.h>
#include <sys/timex.h>
#include <sys/wait.h>
#include <termios.h>
#include <thread>
#include <time.h>
#include <unistd.h>

using namespace horloge;

namespace {

constexpr uint64_t SYS_TIME_BIT = uint64_t(1) << 25;   // CAP_SYS_TIME in CapEff
constexpr Role ROLES[] = {Role::CLOCKD, Role::NETD, Role::REFCLOCKD, Role::MONITORD, Role::NTSKD};

bool isRoot() { return geteuid() == 0; }

// qemu-user (the ARM unit tests on an amd64 host, tests/cross-unit.sh) implements neither
// seccomp(2) nor PR_SET_SECCOMP, so no filter can be loaded there: the tests that need one say
// so and stop. CTest tells the binary it runs under an emulator (HORLOGE_USER_EMULATOR); on a
// real kernel a filter that cannot be loaded is a failure, never a skip.
bool filterLoads() {
  static const bool loads = [] {
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
      _exit(ctx != nullptr && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
            seccomp_load(ctx) == 0 ? 0 : 1);
    }
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }();
  return loads;
}

bool skipWithoutFilters() {
  if (filterLoads()) return false;
  const char* emulator = getenv("HORLOGE_USER_EMULATOR");
  REQUIRE_MESSAGE(emulator != nullptr, "no seccomp filter can be loaded on this kernel");
  MESSAGE("SKIP: no seccomp filter can be loaded under " << std::string(emulator)
          << " (qemu-user emulates neither seccomp(2) nor PR_SET_SECCOMP); "
             "the booted ARM package test runs the filters on a real ARM kernel");
  return true;
}

uid_t nobodyUid() {
  passwd* pw = getpwnam("nobody");
  REQUIRE(pw != nullptr);
  return pw->pw_uid;
}

LockdownOptions optionsFor(Role role, SeccompAction action) {
  LockdownOptions o;
  o.user = isRoot() ? "nobody" : "";
  o.keepSysTime = role == Role::CLOCKD;
  o.action = action;
  return o;
}

struct ChildResult {
  int status = 0;
  std::string output;   // what the child wrote: empty when every check passed
};

// Runs `body` in a forked child; whatever it returns (or throws) is the failure report.
ChildResult inChild(std::function<std::string()> body) {
  int fds[2];
  REQUIRE(pipe2(fds, O_CLOEXEC) == 0);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    close(fds[0]);
    rlimit noCore = {0, 0};   // SIGSYS dumps core by default
    setrlimit(RLIMIT_CORE, &noCore);
    std::string report;
    KJ_IF_MAYBE(e, kj::runCatchingExceptions([&]() { report = body(); })) {
      report = std::string("exception: ") + e->getDescription().cStr();
    }
    if (!report.empty()) (void)!write(fds[1], report.data(), report.size());
    _exit(report.empty() ? 0 : 1);
  }
  close(fds[1]);
  ChildResult result;
  char buffer[4096];
  ssize_t n;
  while ((n = read(fds[0], buffer, sizeof(buffer))) > 0) result.output.append(buffer, n);
  close(fds[0]);
  REQUIRE(waitpid(pid, &result.status, 0) == pid);
  return result;
}

// Failures collected inside the child.
struct Report {
  std::string text;
  void expect(bool ok, const std::string& what) {
    if (!ok) text += what + "\n";
  }
  // rc is a syscall's return value: the filter must have answered EPERM.
  void refused(long rc, const std::string& what) {
    int error = errno;
    if (rc != -1 || error != EPERM) {
      text += what + " not refused (rc " + std::to_string(rc) + ", errno " +
              std::to_string(error) + ")\n";
    }
  }
  void allowed(long rc, const std::string& what) {
    int error = errno;
    if (rc < 0) text += what + " failed (errno " + std::to_string(error) + ")\n";
  }
};

ProcStatus threadStatus() {
  std::ifstream file("/proc/thread-self/status");
  std::ostringstream text;
  text << file.rdbuf();
  return parseProcStatus(text.str());
}

// Calls every role must be refused.
void checkCommonRefusals(Report& r) {
  r.refused(syscall(SYS_execve, nullptr, nullptr, nullptr), "execve");
  r.refused(syscall(SYS_ptrace, -1L, 0, 0, 0), "ptrace");
  r.refused(syscall(SYS_clone3, nullptr, 0), "clone3");
  r.refused(syscall(SYS_socket, AF_INET6, SOCK_DGRAM, 0), "socket(AF_INET6)");
  r.refused(syscall(SYS_clock_settime, CLOCK_REALTIME, nullptr), "clock_settime");
#ifdef SYS_clock_settime64   // 32-bit architectures: the 64-bit time variant too
  r.refused(syscall(SYS_clock_settime64, CLOCK_REALTIME, nullptr), "clock_settime64");
#endif
  r.refused(syscall(SYS_settimeofday, reinterpret_cast<void*>(8), nullptr), "settimeofday");
  r.refused(syscall(SYS_prctl, PR_SET_DUMPABLE, 1, 0, 0, 0), "prctl(PR_SET_DUMPABLE)");
  r.refused(syscall(SYS_ioctl, -1, TIOCSTI, nullptr), "ioctl(TIOCSTI)");
  r.refused(syscall(SYS_tgkill, 0x7ffffff0, 0x7ffffff0, 0), "tgkill(other process)");
  r.refused(syscall(SYS_getppid), "getppid (not listed)");
  void* page = mmap(nullptr, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  r.refused(page == MAP_FAILED ? -1 : 0, "mmap(PROT_EXEC)");
  page = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  r.allowed(page == MAP_FAILED ? -1 : 0, "mmap(PROT_READ|PROT_WRITE)");
  if (page != MAP_FAILED) {
    r.refused(mprotect(page, 4096, PROT_READ | PROT_EXEC), "mprotect(PROT_EXEC)");
    r.allowed(munmap(page, 4096), "munmap");
  }
}

std::string lockedDownChecks(Role role, uid_t nobody) {
  // A thread started before lockdown, like netd's workers: TSYNC must confine it too.
  std::mutex mutex;
  std::condition_variable cv;
  bool locked = false;
  Report workerReport;
  std::thread worker([&]() {
    std::unique_lock<std::mutex> lock(mutex);
    cv.wait(lock, [&]() { return locked; });
    ProcStatus s = threadStatus();
    workerReport.expect(s.seccomp == 2, "worker thread: Seccomp != 2");
    workerReport.expect(s.noNewPrivs, "worker thread: NoNewPrivs != 1");
    workerReport.expect((s.capEff & ~SYS_TIME_BIT) == 0, "worker thread: has capabilities");
    workerReport.refused(syscall(SYS_socket, AF_INET, SOCK_DGRAM, 0),
                         "worker thread: socket(AF_INET)");
  });

  std::string error;
  KJ_IF_MAYBE(e, kj::runCatchingExceptions([&]() {
    lockdown(role, optionsFor(role, SeccompAction::ERRNO));
  })) {
    error = e->getDescription().cStr();
  }
  {
    std::lock_guard<std::mutex> lock(mutex);
    locked = true;
  }
  cv.notify_one();
  worker.join();
  if (!error.empty()) return error;

  Report r;
  r.text = workerReport.text;
  ProcStatus s = readProcStatus();
  if (isRoot()) {
    r.expect(s.uid == nobody, "uid is " + std::to_string(s.uid) + ", not nobody");
    r.expect(s.capEff == (role == Role::CLOCKD ? SYS_TIME_BIT : 0),
             "CapEff is " + std::to_string(s.capEff));
  } else {
    r.expect((s.capEff & ~SYS_TIME_BIT) == 0, "CapEff is " + std::to_string(s.capEff));
  }
  r.expect(s.noNewPrivs, "NoNewPrivs != 1");
  r.expect(s.seccomp == 2, "Seccomp != 2");

  // What every role does all day.
  r.allowed(syscall(SYS_getpid), "getpid");
  r.allowed(syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), 0), "tgkill(self, 0)");
  r.allowed(prctl(PR_SET_NAME, "locked"), "prctl(PR_SET_NAME)");
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  r.allowed(fd, "socket(AF_UNIX)");
  if (fd >= 0) close(fd);
  timespec now;
  r.allowed(syscall(SYS_clock_gettime, CLOCK_REALTIME, &now), "clock_gettime");
  r.allowed(clock_gettime(CLOCK_REALTIME, &now), "clock_gettime (libc: vDSO or its syscall)");

  checkCommonRefusals(r);

  switch (role) {
    case Role::CLOCKD: {
      // modes = 0 only reads the kernel's clock state; it adjusts nothing.
      timex query = {};
      r.allowed(syscall(SYS_clock_adjtime, CLOCK_REALTIME, &query), "clock_adjtime(read)");
      query = {};   // as clockd calls it: clock_adjtime64 on 32-bit architectures
      r.allowed(clock_adjtime(CLOCK_REALTIME, &query), "clock_adjtime (libc, read)");
      r.refused(syscall(SYS_clock_adjtime, CLOCK_MONOTONIC, nullptr),
                "clock_adjtime(CLOCK_MONOTONIC)");
#ifdef SYS_clock_adjtime64
      r.refused(syscall(SYS_clock_adjtime64, CLOCK_MONOTONIC, nullptr),
                "clock_adjtime64(CLOCK_MONOTONIC)");
#endif
      r.refused(syscall(SYS_socket, AF_INET, SOCK_DGRAM, 0), "socket(AF_INET)");
      r.refused(syscall(SYS_accept, -1, nullptr, nullptr), "accept (only accept4)");
      break;
    }
    case Role::NETD:
    case Role::MONITORD:
    case Role::NTSKD: {
      if (role == Role::NTSKD) {
        // The key exchange: TCP connections handed to it, never a socket of its own but Unix.
        r.refused(syscall(SYS_socket, AF_INET, SOCK_DGRAM, 0), "socket(AF_INET, UDP)");
        r.refused(syscall(SYS_socket, AF_INET6, SOCK_STREAM, 0), "socket(AF_INET6, TCP)");
      }
      int ro = open("/dev/null", O_RDONLY | O_CLOEXEC);
      r.allowed(ro, "open(O_RDONLY)");
      if (ro >= 0) close(ro);
      r.refused(open("/dev/null", O_WRONLY | O_CLOEXEC), "open(O_WRONLY)");
      r.refused(syscall(SYS_clock_adjtime, CLOCK_REALTIME, nullptr), "clock_adjtime");
#ifdef SYS_clock_adjtime64
      r.refused(syscall(SYS_clock_adjtime64, CLOCK_REALTIME, nullptr), "clock_adjtime64");
#endif
      r.refused(syscall(SYS_adjtimex, nullptr), "adjtimex");
      r.refused(syscall(SYS_renameat, AT_FDCWD, nullptr, AT_FDCWD, nullptr), "renameat");
      break;
    }
    case Role::REFCLOCKD: {
      int rw = open("/dev/null", O_RDWR | O_CLOEXEC);
      r.allowed(rw, "open(O_RDWR)");
      if (rw >= 0) {
        termios t;
        r.refused(ioctl(rw, TIOCSCTTY, 0), "ioctl(TIOCSCTTY)");
        // ENOTTY from the kernel: the filter let TCGETS through.
        errno = 0;
        r.expect(ioctl(rw, TCGETS, &t) == -1 && errno == ENOTTY, "ioctl(TCGETS) refused");
        close(rw);
      }
      r.refused(open("/dev/null", O_WRONLY | O_CREAT | O_CLOEXEC, 0600), "open(O_CREAT)");
      r.refused(syscall(SYS_socket, AF_INET, SOCK_DGRAM, 0), "socket(AF_INET)");
      r.refused(syscall(SYS_clock_adjtime, CLOCK_REALTIME, nullptr), "clock_adjtime");
#ifdef SYS_clock_adjtime64
      r.refused(syscall(SYS_clock_adjtime64, CLOCK_REALTIME, nullptr), "clock_adjtime64");
#endif
      r.refused(syscall(SYS_accept4, -1, nullptr, nullptr, 0), "accept4");
      break;
    }
  }
  return r.text;
}

}  // namespace

TEST_CASE("lockdown confines each role (errno mode)") {
  if (skipWithoutFilters()) return;
  uid_t nobody = isRoot() ? nobodyUid() : 0;
  for (Role role: ROLES) {
    std::string role_ = roleName(role);
    CAPTURE(role_);
    ChildResult child = inChild([&]() { return lockedDownChecks(role, nobody); });
    CHECK(child.output == "");
    CHECK(WIFEXITED(child.status));
    CHECK(WEXITSTATUS(child.status) == 0);
  }
}

TEST_CASE("kill mode: a forbidden call kills the process with SIGSYS") {
  if (skipWithoutFilters()) return;
  for (Role role: ROLES) {
    std::string role_ = roleName(role);
    CAPTURE(role_);
    ChildResult child = inChild([&]() -> std::string {
      lockdown(role, optionsFor(role, SeccompAction::KILL));
      syscall(SYS_ptrace, -1L, 0, 0, 0);
      return "survived ptrace";
    });
    CHECK(child.output == "");
    REQUIRE(WIFSIGNALED(child.status));
    CHECK(WTERMSIG(child.status) == SIGSYS);
  }
}

// What each daemon does after lockdown, on a real KJ event loop, in kill mode: a syscall
// missing from a table kills the child with SIGSYS. Run under strace to see which one.
std::string eventLoopAfterLockdown(Role role) {
  kj::UnixEventPort::captureSignal(SIGUSR2);
  auto io = kj::setupAsyncIo();
  auto& network = io.provider->getNetwork();
  auto address = kj::str("unix-abstract:horloge-sandbox-test-", getpid());
  auto listener = network.parseAddress(address).wait(io.waitScope)->listen();
  // sd_notify's socket (abstract: no file to clean up), bound before lockdown like systemd's.
  int notify = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  sockaddr_un notifyAddr = {};
  notifyAddr.sun_family = AF_UNIX;
  std::string notifyName = "horloge-sandbox-notify-" + std::to_string(getpid());
  memcpy(notifyAddr.sun_path + 1, notifyName.data(), notifyName.size());
  if (bind(notify, reinterpret_cast<sockaddr*>(&notifyAddr),
           offsetof(sockaddr_un, sun_path) + 1 + notifyName.size()) < 0) {
    return "bind notify socket";
  }
  setenv("NOTIFY_SOCKET", ("@" + notifyName).c_str(), 1);
  // A thread started before lockdown wakes the loop later (eventfd), like netd's IPC thread.
  auto executor = kj::getCurrentThreadExecutor().addRef();
  std::thread waker([&]() { executor->executeSync([]() {}); });
  // clockd never connects anywhere: its peer connects before lockdown.
  kj::Own<kj::AsyncIoStream> client;
  if (role == Role::CLOCKD) client = network.parseAddress(address).wait(io.waitScope)->connect()
                                            .wait(io.waitScope);

  lockdown(role, optionsFor(role, SeccompAction::KILL));

  if (!client) client = network.parseAddress(address).wait(io.waitScope)->connect()
                               .wait(io.waitScope);   // reconnecting to clockd
  client->write("ping", 4).wait(io.waitScope);
  if (role == Role::CLOCKD || role == Role::MONITORD || role == Role::NTSKD) {
    auto server = listener->accept().wait(io.waitScope);
    char buffer[4];
    server->read(buffer, 4).wait(io.waitScope);
    server->write("pong", 4).wait(io.waitScope);
    client->read(buffer, 4).wait(io.waitScope);
  }
  io.provider->getTimer().afterDelay(10 * kj::MILLISECONDS).wait(io.waitScope);
  auto signal = io.unixEventPort.onSignal(SIGUSR2);
  raise(SIGUSR2);
  signal.wait(io.waitScope);
  waker.join();
  KJ_IF_MAYBE(e, kj::runCatchingExceptions([]() { KJ_FAIL_REQUIRE("an exception"); })) {
    kj::str(*e);   // describing it (stack addresses) must not need anything new
  }
  client->shutdownWrite();
  systemd::notifyWatchdog();
  char message[64] = {};
  if (read(notify, message, sizeof(message) - 1) < 0 || message != std::string("WATCHDOG=1")) {
    return "sd_notify did not arrive";
  }
  return readProcStatus().seccomp == 2 ? "" : "no filter";
}

TEST_CASE("kill mode: a KJ event loop, IPC and sd_notify keep working after lockdown") {
  if (skipWithoutFilters()) return;
  for (Role role: ROLES) {
    std::string role_ = roleName(role);
    CAPTURE(role_);
    ChildResult child = inChild([&]() { return eventLoopAfterLockdown(role); });
    CHECK(child.output == "");
    CHECK(!WIFSIGNALED(child.status));
    CHECK(WIFEXITED(child.status));
  }
}

TEST_CASE("netd may open upstream UDP sockets in relay mode only") {
  if (skipWithoutFilters()) return;
  for (bool relay: {false, true}) {
    ChildResult child = inChild([relay]() -> std::string {
      LockdownOptions o = optionsFor(Role::NETD, SeccompAction::ERRNO);
      o.relay = relay;
      lockdown(Role::NETD, o);
      long fd = syscall(SYS_socket, AF_INET, SOCK_DGRAM, 0);
      if (relay) return fd >= 0 ? "" : "relay: socket(AF_INET) refused";
      return fd < 0 && errno == EPERM ? "" : "not relay: socket(AF_INET) allowed";
    });
    CHECK(child.output == "");
    CHECK(WIFEXITED(child.status));
  }
}

TEST_CASE("log mode: a call outside the list is allowed (and logged)") {
  if (skipWithoutFilters()) return;
  ChildResult child = inChild([]() -> std::string {
    pid_t parent = getppid();
    lockdown(Role::MONITORD, optionsFor(Role::MONITORD, SeccompAction::LOG));
    if (syscall(SYS_getppid) != parent) return "getppid refused in log mode";
    return readProcStatus().seccomp == 2 ? "" : "no filter in log mode";
  });
  CHECK(child.output == "");
  CHECK(WIFEXITED(child.status));
}

TEST_CASE("as root, an unknown or missing user stops lockdown in step 1") {
  if (!isRoot()) return;
  for (const char* user: {"no-such-user-horloge", ""}) {
    CAPTURE(user);
    ChildResult child = inChild([&]() -> std::string {
      LockdownOptions o;
      o.user = user;
      o.action = SeccompAction::ERRNO;
      KJ_IF_MAYBE(e, kj::runCatchingExceptions([&]() { lockdown(Role::NETD, o); })) {
        std::string what = e->getDescription().cStr();
        if (what.find("step 1") == std::string::npos) return what;
        return geteuid() == 0 ? "" : "uid changed before the error";
      }
      return "no exception";
    });
    CHECK(child.output == "");
  }
}

// ---- the tables themselves ----

TEST_CASE("policy tables name real syscalls and nothing dangerous") {
  // Never allowed after lockdown, whatever the role.
  const std::set<std::string> forbidden = {
    "execve", "execveat", "fork", "vfork", "clone", "clone3", "ptrace", "process_vm_readv",
    "process_vm_writev", "kill", "mount", "umount2", "pivot_root", "chroot", "unshare",
    "setns", "setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid",
    "setgroups", "setfsuid", "setfsgid", "capset", "seccomp", "bpf", "kexec_load",
    "kexec_file_load", "init_module", "finit_module", "delete_module", "open_by_handle_at",
    "name_to_handle_at", "settimeofday", "clock_settime", "clock_settime64", "stime",
    "perf_event_open",
    "userfaultfd", "io_uring_setup", "keyctl", "add_key", "request_key", "personality",
    "reboot", "swapon", "swapoff", "acct", "iopl", "ioperm", "bind", "listen", "accept",
    "memfd_create", "pkey_mprotect",
  };
  for (Role role: ROLES) {
    const policy::Policy& p = policy::forRole(role);
    std::string role_ = roleName(role);
    CAPTURE(role_);
    CHECK(p.role == role);
    for (const policy::Syscall& s: p.syscalls) {
      CAPTURE(s.name);
      // A typo would be skipped silently at load time: catch it here. Every name is a call
      // of at least one architecture the package is built for (amd64, arm64, armhf).
      CHECK((seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86_64, s.name) >= 0 ||
             seccomp_syscall_resolve_name_arch(SCMP_ARCH_AARCH64, s.name) >= 0 ||
             seccomp_syscall_resolve_name_arch(SCMP_ARCH_ARM, s.name) >= 0));
      CHECK(forbidden.count(s.name) == 0);
      if (role != Role::CLOCKD) {
        CHECK(std::string(s.name) != "clock_adjtime");
        CHECK(std::string(s.name) != "clock_adjtime64");
        CHECK(std::string(s.name) != "adjtimex");
      }
      // Only AF_UNIX sockets are ever created.
      if (std::string(s.name) == "socket") CHECK((s.arg == 0 && s.value == AF_UNIX));
      if (std::string(s.name) == "prctl") CHECK(s.arg == 0);
      if (std::string(s.name) == "clock_adjtime" || std::string(s.name) == "clock_adjtime64") {
        CHECK((s.arg == 0 && s.value == CLOCK_REALTIME));   // never a PHC or another clock
      }
      if (std::string(s.name) == "ioctl") CHECK(s.arg == 1);
    }
    if (role == Role::CLOCKD) {
      REQUIRE(p.capabilities.size() == 1);
      CHECK(p.capabilities[0] == 25);   // CAP_SYS_TIME
    } else {
      CHECK(p.capabilities.empty());
    }
  }
}
