// How a process is confined, as the kernel reports it in /proc/PID/status.
#pragma once
#include <cstdint>
#include <string>
#include <sys/types.h>

namespace horloge {

struct ProcStatus {
  uint32_t uid = 0;          // effective uid
  uint64_t capEff = 0;
  bool noNewPrivs = false;
  uint8_t seccomp = 0;       // 0 off, 1 strict, 2 filter
};

// pid 0 means this process. KJ_FAIL_SYSCALL when the file cannot be read.
ProcStatus readProcStatus(pid_t pid = 0);
ProcStatus parseProcStatus(const std::string& text);

}  // namespace horloge
