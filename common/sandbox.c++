// lockdown(): the four steps of sandbox.h in order, then a check that every thread ended up
// confined. The tables of what each role may do are in policy/, this file only applies them.
#include "sandbox.h"
#include "error.h"
#include "policy.h"
#include "proc-status.h"
#include <cerrno>
#include <csignal>
#include <cstring>
#include <dirent.h>
#include <fstream>
#include <grp.h>
#include <memory>
#include <pwd.h>
#include <seccomp.h>
#include <sstream>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <vector>

namespace horloge {
namespace {

constexpr char STEP1[] = "step 1 (user)";
constexpr char STEP2[] = "step 2 (capabilities)";
constexpr char STEP3[] = "step 3 (no_new_privs)";
constexpr char STEP4[] = "step 4 (seccomp)";
constexpr char STEP5[] = "step 5 (verify)";

[[noreturn]] void fail(const char* step, const std::string& what, int error = 0) {
  failWith(kj::str("lockdown: ", step, ": ", what, error ? ": " : "", error ? strerror(error) : ""));
}

using CapPtr = std::unique_ptr<std::remove_pointer_t<cap_t>, int (*)(void*)>;
CapPtr capGetProc() { return CapPtr(cap_get_proc(), cap_free); }

bool hasCap(cap_t caps, cap_value_t cap, cap_flag_t set) {
  cap_flag_value_t value = CAP_CLEAR;
  return cap_get_flag(caps, cap, set, &value) == 0 && value == CAP_SET;
}

bool contains(const std::vector<cap_value_t>& caps, int cap) {
  for (cap_value_t c: caps) if (c == cap) return true;
  return false;
}

// The bounding set only limits what execve() can grant, which seccomp forbids anyway; dropping
// it is defence in depth. Needs CAP_SETPCAP, so it runs before the uid change.
void dropBoundingSet(const char* step, const std::vector<cap_value_t>& kept) {
  for (int cap = 0; prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; ++cap) {
    if (contains(kept, cap)) continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
      fail(step, "PR_CAPBSET_DROP(" + std::to_string(cap) + ")", errno);
    }
  }
}

void clearAmbient(const char* step) {
  // EINVAL: a kernel without ambient capabilities (< 4.3) has nothing to clear.
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) {
    fail(step, "PR_CAP_AMBIENT_CLEAR_ALL", errno);
  }
}

// ---- step 1: root becomes the role's user ----

void switchUser(const std::string& name, const std::vector<cap_value_t>& kept) {
  if (name.empty()) fail(STEP1, "started as root but no user to switch to");
  passwd entry, *pw = nullptr;
  std::vector<char> buffer(16384);
  int error = getpwnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &pw);
  if (pw == nullptr) fail(STEP1, "unknown user " + name, error);
  if (pw->pw_uid == 0) fail(STEP1, "user " + name + " is root");
  uid_t uid = pw->pw_uid;
  gid_t gid = pw->pw_gid;

  dropBoundingSet(STEP1, kept);
  clearAmbient(STEP1);
  // Without KEEPCAPS the uid change empties the permitted set; with it, step 2 trims the
  // permitted set to exactly `kept`.
  if (!kept.empty() && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) {
    fail(STEP1, "PR_SET_KEEPCAPS", errno);
  }
  // glibc applies these to every thread of the process, not only the caller.
  if (setgroups(1, &gid) < 0) fail(STEP1, "setgroups", errno);
  if (setresgid(gid, gid, gid) < 0) fail(STEP1, "setresgid(" + std::to_string(gid) + ")", errno);
  if (setresuid(uid, uid, uid) < 0) fail(STEP1, "setresuid(" + std::to_string(uid) + ")", errno);

  uid_t ruid, euid, suid;
  gid_t rgid, egid, sgid;
  if (getresuid(&ruid, &euid, &suid) < 0 || getresgid(&rgid, &egid, &sgid) < 0 ||
      ruid != uid || euid != uid || suid != uid || rgid != gid || egid != gid || sgid != gid) {
    fail(STEP1, "uid/gid did not change to " + name);
  }
}

// ---- step 2: exactly the kept capabilities, in permitted and effective ----

void setCapabilities(const std::vector<cap_value_t>& wanted) {
  CapPtr current = capGetProc();
  if (!current) fail(STEP2, "cap_get_proc", errno);
  // Started unprivileged (tests, `observe` clock): keep only what we actually have.
  std::vector<cap_value_t> kept;
  for (cap_value_t cap: wanted) {
    if (hasCap(current.get(), cap, CAP_PERMITTED)) kept.push_back(cap);
  }
  // A non-root process may still hold capabilities (systemd AmbientCapabilities=).
  if (hasCap(current.get(), CAP_SETPCAP, CAP_EFFECTIVE)) dropBoundingSet(STEP2, kept);
  clearAmbient(STEP2);

  CapPtr caps(cap_init(), cap_free);   // every flag clear, inheritable stays so
  if (!caps) fail(STEP2, "cap_init", errno);
  if (!kept.empty() &&
      (cap_set_flag(caps.get(), CAP_PERMITTED, kept.size(), kept.data(), CAP_SET) < 0 ||
       cap_set_flag(caps.get(), CAP_EFFECTIVE, kept.size(), kept.data(), CAP_SET) < 0)) {
    fail(STEP2, "cap_set_flag", errno);
  }
  if (cap_set_proc(caps.get()) < 0) fail(STEP2, "cap_set_proc", errno);
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) fail(STEP2, "PR_SET_KEEPCAPS", errno);

  CapPtr now = capGetProc();
  if (!now || cap_compare(now.get(), caps.get()) != 0) fail(STEP2, "capabilities not as set");
}

// ---- step 4: the role's allowlist ----

uint32_t defaultAction(SeccompAction action) {
  switch (action) {
    case SeccompAction::KILL: return SCMP_ACT_KILL_PROCESS;
    case SeccompAction::ERRNO: return SCMP_ACT_ERRNO(EPERM);
    case SeccompAction::LOG: return SCMP_ACT_LOG;
  }
  return SCMP_ACT_KILL_PROCESS;
}

void loadFilter(const policy::Policy& policy, SeccompAction action, bool relay) {
  std::unique_ptr<void, void (*)(scmp_filter_ctx)> ctx(seccomp_init(defaultAction(action)),
                                                       seccomp_release);
  if (!ctx) fail(STEP4, "seccomp_init");
  // netd's workers exist already: the filter (and no_new_privs) must reach every thread.
  int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_TSYNC, 1);
  if (rc < 0) fail(STEP4, "SCMP_FLTATR_CTL_TSYNC", -rc);

  std::vector<policy::Syscall> rules(policy.syscalls.begin(), policy.syscalls.end());
  if (relay) rules.insert(rules.end(), policy.relaySyscalls.begin(), policy.relaySyscalls.end());
#ifdef HORLOGE_SANITIZE
  // Test builds only: the ASan runtime resets each exiting thread's alternate signal stack.
  rules.push_back({"sigaltstack"});
#endif
  for (const policy::Syscall& s: rules) {
    int nr = seccomp_syscall_resolve_name(s.name);
    if (nr < 0) continue;   // not a syscall on this architecture (poll on arm64, ...)
    if (s.arg < 0) {
      rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ALLOW, nr, 0);
    } else {
      uint64_t value = s.value == policy::SELF_PID ? uint64_t(getpid()) : s.value;
      scmp_arg_cmp cmp = SCMP_CMP(unsigned(s.arg), SCMP_CMP_MASKED_EQ, s.mask, value);
      rc = seccomp_rule_add_array(ctx.get(), SCMP_ACT_ALLOW, nr, 1, &cmp);
    }
    if (rc < 0) fail(STEP4, std::string("rule for ") + s.name, -rc);
  }
  rc = seccomp_load(ctx.get());
  if (rc < 0) fail(STEP4, "seccomp_load", -rc);
}

// ---- step 5: every thread, not just this one, is confined ----

std::vector<std::string> threadIds() {
  std::vector<std::string> ids;
  std::unique_ptr<DIR, int (*)(DIR*)> dir(opendir("/proc/self/task"), closedir);
  if (!dir) fail(STEP4, "opendir /proc/self/task", errno);
  while (dirent* e = readdir(dir.get())) {
    if (e->d_name[0] != '.') ids.push_back(e->d_name);
  }
  return ids;
}

void verifyThreads(const std::vector<std::string>& ids, uint64_t keptMask) {
  for (const std::string& id: ids) {
    std::ifstream file("/proc/self/task/" + id + "/status");
    if (!file) continue;   // the thread has exited
    std::ostringstream text;
    text << file.rdbuf();
    ProcStatus s = parseProcStatus(text.str());
    if ((s.capEff & ~keptMask) != 0 || !s.noNewPrivs || s.seccomp != 2) {
      // libcap and prctl act on the calling thread only: a thread started with capabilities
      // by a non-root parent keeps them. Start threads after lockdown or without capabilities.
      fail(STEP5, "thread " + id + " is not confined (CapEff " + std::to_string(s.capEff) +
                  ", NoNewPrivs " + std::to_string(s.noNewPrivs) + ", Seccomp " +
                  std::to_string(s.seccomp) + ")");
    }
  }
}

}  // namespace

void lockdown(Role role, const LockdownOptions& options) {
  const policy::Policy& policy = policy::forRole(role);
  std::vector<cap_value_t> kept;
  if (options.keepSysTime) {
    for (int cap: policy.capabilities) if (cap == CAP_SYS_TIME) kept.push_back(cap);
  }

  // The kernel forgets the parent-death signal on a credential change; a daemon started by
  // horloge-launch must still die with it (steps 1 and 2 re-arm it below).
  int deathSignal = 0;
  prctl(PR_GET_PDEATHSIG, &deathSignal, 0, 0, 0);
  pid_t parent = getppid();

  // 1. Root becomes the role's user, keeping only `kept` across the change.
  if (geteuid() == 0) switchUser(options.user, kept);

  // 2. Exactly `kept` in permitted and effective, nothing inheritable or ambient.
  setCapabilities(kept);
  if (deathSignal != 0) {
    if (prctl(PR_SET_PDEATHSIG, deathSignal, 0, 0, 0) < 0) fail(STEP2, "PR_SET_PDEATHSIG", errno);
    if (getppid() != parent) raise(deathSignal);   // it died during steps 1 and 2
  }
  uint64_t keptMask = 0;
  CapPtr now = capGetProc();
  for (cap_value_t cap: kept) {
    if (now && hasCap(now.get(), cap, CAP_EFFECTIVE)) keptMask |= uint64_t(1) << cap;
  }

  // 3. Nothing this process executes can gain privileges (setuid binaries, file caps).
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) fail(STEP3, "PR_SET_NO_NEW_PRIVS", errno);

  // 4. The role's syscall allowlist, on every thread.
  std::vector<std::string> threads = threadIds();   // getdents64 is not in any allowlist
  loadFilter(policy, options.action, options.relay);

  // 5. Trust but verify, as the kernel reports it.
  verifyThreads(threads, keptMask);
}

}  // namespace horloge
