// horloge.conf: chrony-style directives, one per line. Every daemon parses the whole file so
// that a bad line stops all of them with the same `file:line: message`.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace horloge {

enum class Role : uint8_t { CLOCKD, NETD, REFCLOCKD, MONITORD };
constexpr int ROLE_COUNT = 4;
const char* roleName(Role role);   // "clockd", "netd", ...

enum class ClockBackend : uint8_t { SYSTEM, OBSERVE, SIM };
enum class SeccompAction : uint8_t { KILL, ERRNO, LOG };

struct ConfigError: std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct ListenConf {
  std::string address;            // numeric IPv4 or IPv6
  uint16_t port = 123;
};

struct RefclockConf {
  std::string driver;             // "sim" for now
  std::string device;             // empty for sim
  double jitter = 200e-9;         // sim: Gaussian sigma of the PPS edge, seconds
  double offset = 0;              // seconds added to the reference time
  double nmeaDelay = 0.2;         // sim: NMEA sentence after the edge, seconds
  int line = 0;
};

struct Config {
  std::string path;
  std::vector<ListenConf> listen;
  std::vector<RefclockConf> refclocks;
  ClockBackend clock = ClockBackend::SYSTEM;
  std::string rundir = "/run/horloge";
  std::string statedir = "/var/lib/horloge";
  bool monitorEnabled = false;
  std::string monitorAddress;
  uint16_t monitorPort = 443;
  std::string monitorCert, monitorKey;
  std::string users[ROLE_COUNT] = {"_horloge-clockd", "_horloge-netd", "_horloge-refclockd",
                                   "_horloge-monitord"};
  double maxHoldover = 7200;      // seconds without a clockd push before netd goes LI=3
  SeccompAction seccomp = SeccompAction::KILL;
  unsigned workers = 0;           // 0: one per CPU, at most 4

  const std::string& user(Role role) const { return users[static_cast<int>(role)]; }
};

// Throws ConfigError("file:line: message") on the first bad line.
Config parseConfig(const std::string& text, const std::string& path);
Config loadConfig(const std::string& path);

}  // namespace horloge
