// horloge-launch: runs the daemons (four, five with NTS) in the foreground without systemd. It binds the
// sockets and hands them over as socket activation does (LISTEN_FDS, LISTEN_FDNAMES), restarts
// a daemon that dies (Restart=on-failure with back-off), gives up on one that keeps failing
// while the others go on serving (as systemd's units do, each with its own start limit), and
// stops everything on SIGINT/SIGTERM, or once it has given up on every daemon.
#include "config.h"
#include "log.h"
#include "ntp-time.h"
#include "restart-policy.h"
#include "sockets.h"
#include <kj/debug.h>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

using namespace horloge;

namespace {

struct Daemon {
  Role role;
  std::vector<int> fds;        // handed over as LISTEN_FDS, starting at fd 3
  std::string fdName;
  pid_t pid = 0;
  int64_t restartAtNs = 0;     // 0: not waiting for a restart
  bool gaveUp = false;         // failed repeatedly: not restarted again
  launch::RestartPolicy policy;
};

// "clockd, netd": the daemons still running (or about to be restarted).
std::string serving(const std::vector<Daemon>& daemons) {
  std::string names;
  for (auto& d: daemons) {
    if (!d.gaveUp) names += (names.empty() ? "" : ", ") + std::string(roleName(d.role));
  }
  return names;
}

std::string selfDir() {
  char buf[PATH_MAX];
  ssize_t n;
  KJ_SYSCALL(n = readlink("/proc/self/exe", buf, sizeof(buf) - 1), "cannot find own executable");
  std::string p(buf, n);
  return p.substr(0, p.rfind('/'));
}

[[noreturn]] void execDaemon(const Daemon& d, const std::string& bindir, const std::string& conf) {
  // Die with the launcher, even if it is killed outright, as a service dies with its unit.
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  // Move the handed sockets to 3, 4, ... and close everything else.
  std::vector<int> moved;
  for (int fd: d.fds) moved.push_back(fcntl(fd, F_DUPFD_CLOEXEC, 100));
  for (size_t i = 0; i < moved.size(); ++i) dup2(moved[i], 3 + int(i));   // dup2 clears CLOEXEC
  for (int fd = 3 + int(moved.size()); fd < 1024; ++fd) close(fd);
  if (!d.fds.empty()) {
    std::string names;
    for (size_t i = 0; i < d.fds.size(); ++i) names += (i ? ":" : "") + d.fdName;
    setenv("LISTEN_FDS", std::to_string(d.fds.size()).c_str(), 1);
    setenv("LISTEN_PID", std::to_string(getpid()).c_str(), 1);
    setenv("LISTEN_FDNAMES", names.c_str(), 1);
  }
  std::string path = bindir + "/horloge-" + roleName(d.role);
  execl(path.c_str(), path.c_str(), "-f", conf.c_str(), (char*)nullptr);
  fprintf(stderr, "launch: exec %s: %s\n", path.c_str(), strerror(errno));
  _exit(127);
}

void start(Daemon& d, const std::string& bindir, const std::string& conf) {
  pid_t pid;
  KJ_SYSCALL(pid = fork());
  if (pid == 0) execDaemon(d, bindir, conf);
  d.pid = pid;
  d.restartAtNs = 0;
  log::info(kj::str("started ", roleName(d.role), " (pid ", pid, ")"));
}

std::string describe(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("killed by signal ") + strsignal(WTERMSIG(status));
  return "stopped";
}

void stopAll(std::vector<Daemon>& daemons) {
  for (auto& d: daemons) if (d.pid > 0) kill(d.pid, SIGTERM);
  int64_t deadline = monotonicNs() + 5 * ntp::NS_PER_S;
  for (auto& d: daemons) {
    while (d.pid > 0) {
      int status;
      pid_t r = waitpid(d.pid, &status, WNOHANG);
      if (r == d.pid || (r < 0 && errno == ECHILD)) { d.pid = 0; break; }
      if (monotonicNs() > deadline) kill(d.pid, SIGKILL);
      usleep(20'000);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  log::setTag("launch");
  std::string conf;
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "-f") == 0 && i + 1 < argc) conf = argv[++i];
    else { fprintf(stderr, "usage: horloge-launch -f CONFIG\n"); return 2; }
  }
  if (conf.empty()) { fprintf(stderr, "usage: horloge-launch -f CONFIG\n"); return 2; }
  if (conf[0] != '/') {
    char cwd[PATH_MAX];
    if (getcwd(cwd, sizeof(cwd))) conf = std::string(cwd) + "/" + conf;
  }

  std::vector<Daemon> daemons;
  try {
    Config config = loadConfig(conf);
    mkdir(config.rundir.c_str(), 0755);
    daemons.push_back({Role::CLOCKD});
    daemons.push_back({Role::REFCLOCKD, launch::bindRefclockSocks(config), "refclock-sock"});
    daemons.push_back({Role::NETD, launch::bindNtp(config), "ntp"});
    if (config.monitorEnabled) daemons.push_back({Role::MONITORD, {launch::bindMonitor(config)}, "https"});
    if (config.nts.enabled) daemons.push_back({Role::NTSKD, {launch::bindNtske(config)}, "ntske"});
  } catch (const ConfigError& e) {
    log::error(e.what());
    return 1;
  } catch (const kj::Exception& e) {
    log::error(e.getDescription());
    return 1;
  }

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigprocmask(SIG_BLOCK, &set, nullptr);

  std::string bindir = selfDir();
  try {
    for (auto& d: daemons) {
      start(d, bindir, conf);
      if (d.role == Role::CLOCKD) usleep(200'000);   // let the hub make its sockets first
    }
  } catch (const kj::Exception& e) {
    log::error(e.getDescription());
    stopAll(daemons);
    return 1;
  }

  for (;;) {
    int64_t now = monotonicNs(), next = now + ntp::NS_PER_S;
    for (auto& d: daemons) if (d.restartAtNs) next = std::min(next, d.restartAtNs);
    timespec wait = ntp::toTimespec(std::max<int64_t>(next - now, 1'000'000));
    int sig = sigtimedwait(&set, nullptr, &wait);
    if (sig == SIGINT || sig == SIGTERM) {
      log::info(kj::str("stopping on ", strsignal(sig)));
      stopAll(daemons);
      return 0;
    }
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
      for (auto& d: daemons) {
        if (d.pid != pid) continue;
        d.pid = 0;
        int64_t delay = d.policy.onFailure(monotonicNs());
        if (delay < 0) {
          // NTP must not go down with the GPS reader (or the web page): only this one stops.
          d.gaveUp = true;
          std::string left = serving(daemons);
          log::error(kj::str(roleName(d.role), " ", describe(status),
                             "; failing repeatedly, giving up on it",
                             left.empty() ? "" : "; still running: ", left.c_str()));
          if (left.empty()) return 1;
          continue;
        }
        log::warn(kj::str(roleName(d.role), " ", describe(status), "; restarting in ",
                          delay / 1'000'000, " ms"));
        d.restartAtNs = monotonicNs() + delay;
      }
    }
    now = monotonicNs();
    for (auto& d: daemons) {
      if (d.restartAtNs && now >= d.restartAtNs) {
        try {
          start(d, bindir, conf);
        } catch (const kj::Exception& e) {
          log::error(e.getDescription());
        }
      }
    }
  }
}
