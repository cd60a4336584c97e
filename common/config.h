// horloge.conf: chrony-style directives, one per line. Every daemon parses the whole file so
// that a bad line stops all of them with the same `file:line: message`.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace horloge {

enum class Role : uint8_t { CLOCKD, NETD, REFCLOCKD, MONITORD, NTSKD };
constexpr int ROLE_COUNT = 5;
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

// A simulator fault: `kind` from `start` seconds after the simulator starts, for `duration`
// seconds (0: for ever).
struct SimFault {
  enum Kind : uint8_t { MISSING_PPS, MISSING_NMEA, WRONG_SECOND, WEEK_ROLLOVER, GARBAGE, LATE_NMEA };
  Kind kind;
  double start = 0, duration = 0;
};

struct RefclockConf {
  std::string driver;             // sim | nmea | pps | shm | sock
  std::string device;             // nmea, pps: the device; sock: the socket path; else empty
  double jitter = 200e-9;         // sim: Gaussian sigma of the PPS edge, seconds
  double offset = 0;              // seconds added to the reference time
  double nmeaDelay = 0.2;         // sim: NMEA sentence after the edge, seconds
  int baud = 9600;                // nmea: 4800..115200
  bool clearEdge = false;         // pps: use the clear edge instead of assert
  int unit = 0;                   // shm: NTP SHM unit (key 0x4e545030 + unit)
  std::vector<SimFault> faults;   // sim
  // nmea, sim: the receiver is a u-blox: ask it for UBX-NAV-TIMELS at start and read the UBX
  // frames interleaved with the NMEA (the receiver's leap second information).
  bool ubx = false;
  // sim `leap insert|delete [DATE]`: the simulated GNSS announces a leap second at the end of
  // DATE (the last day of a month; default the month the simulator starts in) and sends
  // 23:59:60 (or skips 23:59:59) then. Implies `ubx`.
  int simLeap = 0;                // +1 insert, -1 delete, 0 none
  int64_t simLeapAt = 0;          // Unix time of the midnight after DATE; 0: end of the start month
  // sim `ubx-refuse`: the simulated u-blox answers ACK-NAK to every configuration frame and
  // never sends TIMELS (a receiver whose firmware lacks it). Implies `ubx`.
  bool simUbxRefuse = false;
  // sim `start YYYY-MM-DDTHH:MM:SSZ`: the simulated GNSS's UTC reads that time when refclockd
  // starts and runs on from it, whole seconds ahead of (or behind) the host clock, its edges
  // still at the host's seconds. 0: the host's time. With `leap` (no DATE), the month it starts in.
  int64_t simStartAt = 0;
  int line = 0;
};

// One `allow`/`deny` line. IPv4 prefixes are kept as IPv4 (family 4), IPv6 as IPv6 (family 6);
// `all` is both families with prefix length 0 (family 0).
struct AccessRule {
  uint8_t family = 0;             // 0 (all), 4 or 6
  uint8_t address[16] = {};       // network order; the first 4 bytes for IPv4
  uint8_t prefixLength = 0;       // 0..32 or 0..128
  bool allow = true;
  int line = 0;
};

// `ratelimit interval N burst N leak N [kod]`, chrony's meaning: a client may get `burst`
// responses at once, then one per 2^interval s on average; when limited, one request in 2^leak
// is still answered at random.
struct RateLimitConf {
  bool enabled = false;           // no directive: no rate limiting
  int interval = 3;               // log2 s, -19..12
  int burst = 8;                  // 1..255
  int leak = 2;                   // log2, 1..4
  bool kod = false;               // answer some limited requests with a RATE kiss-o'-death
};

// `server ADDRESS [port N] [minpoll N] [maxpoll N] [iburst] [prefer] [noselect]` (issue 8):
// an upstream NTP server netd polls. The appliance's VLAN has no DNS: a host name is accepted
// only if it resolves when the file is loaded (/etc/hosts), and is then pinned to that address.
struct ServerConf {
  std::string address;            // numeric IPv4 or IPv6 (loadConfig resolves `name` into it)
  std::string name;               // the host name written, if not an address
  uint16_t port = 123;
  int minpoll = 6;                // log2 s, 0..17
  int maxpoll = 10;               // log2 s, minpoll..17
  bool iburst = false;
  bool prefer = false;
  bool noselect = false;          // watched (cross-check), never followed
  int line = 0;
};
constexpr size_t MAX_SERVERS = 16;

// NTS (RFC 8915), on with `nts cert PATH key PATH`: ntskd runs the key exchange on TCP `port`,
// clockd rotates the cookie keys every `rotate` seconds, netd answers authenticated requests.
struct NtsConf {
  bool enabled = false;
  std::string cert, key;          // PEM; read by ntskd before lockdown
  uint16_t port = 4460;           // NTS-KE, TCP
  double rotate = 86400;          // seconds between server key rotations
  std::string ntpServer;          // `nts ntpserver ADDRESS`: the NTP server clients are sent to
  unsigned maxConnections = 100;  // NTS-KE connections at once; more are closed at once
  // `nts ratelimit [interval N] [burst N] [leak N]` (chrony's `ntsratelimit`): key exchanges
  // per client address, counted on accepted connections; one over is closed at once. As
  // `ratelimit` but one per 64 s by default and no `kod` (TCP has no kiss-o'-death).
  RateLimitConf ratelimit{.interval = 6};
};

// A Unix socket's path fits in sockaddr_un.sun_path (108 bytes with its NUL): clockd's sockets
// are `rundir`/NAME, the longest NAME being "refclock.sock" (common/ipc.h checks its names
// against this), and `refclock sock PATH` is bound as written.
constexpr size_t MAX_UNIX_SOCKET_PATH = 107;
constexpr size_t LONGEST_IPC_SOCKET_NAME = 13;
// The configuration file is read whole, up to this size.
constexpr size_t MAX_CONFIG_BYTES = 1 << 20;

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
  std::vector<AccessRule> monitorAllow;   // `monitor allow CIDR`; empty: every client
  std::string monitorTokenFile;   // `monitor token FILE`: bearer token required (not /health)
  std::string monitorClientCa;    // `monitor client-ca PATH`: client certificates required (mTLS)
  double monitorHistory = 30;     // `monitor history SECONDS`: dashboard sample interval
  std::string users[ROLE_COUNT] = {"_horloge-clockd", "_horloge-netd", "_horloge-refclockd",
                                   "_horloge-monitord", "_horloge-ntskd"};
  double maxHoldover = 7200;      // seconds without a clockd push before netd goes LI=3
  double makestepThreshold = 0;   // `makestep THRESHOLD LIMIT`: step beyond THRESHOLD seconds...
  int makestepLimit = 0;          // ...in the first LIMIT clock updates (-1: always); 0 0: never
  std::string driftfile;          // empty: none
  std::string leapfile;           // "": the shipped copy or tzdata's, whichever expires later
  double simFrequency = 20e-6;    // `clock sim [frequency PPM] [wander W] [offset S] [seed N]`
  double simWander = 1e-9;
  double simOffset = 10e-3;
  uint64_t simSeed = 1;
  // `... start YYYY-MM-DDTHH:MM:SSZ`: the virtual clock reads that UTC time (plus `offset`) when
  // clockd starts, as a board whose RTC was set to it (a leap midnight in tests); 0: the host's.
  int64_t simStart = 0;
  // `... frequency-step PPM AT`: the oscillator's frequency changes by PPM at AT seconds after
  // start (a load or fan change; tests of holdover honesty).
  double simFrequencyStep = 0;
  double simFrequencyStepAt = 0;
  // `... temperature-diurnal C`, `temperature-load C PERIOD`, `temperature-lag S`,
  // `temperature-coefficients PPM PPM2`: the virtual crystal's temperature (any of them turns
  // it on), read by clockd as its temperature sensor.
  bool simThermal = false;
  double simDiurnal = 0, simLoad = 0, simLoadPeriod = 3600, simLag = 300;
  double simLinear = 0.25e-6, simQuadratic = 0.005e-6;
  // `tempsensor PATH|none [interval S]`: a file holding the temperature in millidegrees (sysfs
  // thermal zones). Empty: the Pi SoC's thermal_zone0 when present.
  std::string tempSensor;
  double tempInterval = 10;
  // Growth of the advertised error for what the clock model cannot see (temperature, load):
  // chrony's `maxclockerror`, s/s.
  double maxClockError = 1e-6;
  // The fastest correction of the clock's rate, s/s (chrony's `maxslewrate`): beyond the
  // kernel's 500 ppm ADJ_FREQUENCY the system clock also changes its tick (ADJ_TICK).
  double maxSlewRate = 83333.333e-6;
  SeccompAction seccomp = SeccompAction::KILL;
  unsigned workers = 0;           // 0: one per CPU, at most 4
  std::vector<AccessRule> access; // in file order; netd compiles them (most specific wins)
  RateLimitConf ratelimit;
  std::vector<ServerConf> servers;   // issue 8: upstream servers, in file order
  NtsConf nts;

  const std::string& user(Role role) const { return users[static_cast<int>(role)]; }
};

// Throws ConfigError("file:line: message") on the first bad line.
Config parseConfig(const std::string& text, const std::string& path);
// parseConfig() on the file, then each `server` host name resolved (getaddrinfo): one that
// does not resolve is a `file:line:` error.
Config loadConfig(const std::string& path);

}  // namespace horloge
