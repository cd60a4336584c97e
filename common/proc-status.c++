#include "proc-status.h"
#include <cerrno>
#include <fstream>
#include <kj/debug.h>
#include <sstream>

namespace horloge {

ProcStatus parseProcStatus(const std::string& text) {
  ProcStatus s;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    auto value = [&](const char* key) -> const char* {
      size_t n = std::char_traits<char>::length(key);
      return line.compare(0, n, key) == 0 ? line.c_str() + n : nullptr;
    };
    if (const char* v = value("Uid:")) {
      unsigned long real = 0, eff = 0;
      if (sscanf(v, "%lu %lu", &real, &eff) == 2) s.uid = static_cast<uint32_t>(eff);
    } else if (const char* v = value("CapEff:")) {
      s.capEff = std::stoull(v, nullptr, 16);
    } else if (const char* v = value("NoNewPrivs:")) {
      s.noNewPrivs = std::stoi(v) != 0;
    } else if (const char* v = value("Seccomp:")) {
      s.seccomp = static_cast<uint8_t>(std::stoi(v));
    }
  }
  return s;
}

ProcStatus readProcStatus(pid_t pid) {
  std::string path = pid ? "/proc/" + std::to_string(pid) + "/status" : "/proc/self/status";
  std::ifstream f(path);
  if (!f) KJ_FAIL_SYSCALL("open", errno, path);
  std::ostringstream s;
  s << f.rdbuf();
  return parseProcStatus(s.str());
}

}  // namespace horloge
