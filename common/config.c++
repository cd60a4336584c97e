#include "config.h"
#include "address.h"
#include "read-file.h"
#include "config-hints.h"
#include <charconv>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <algorithm>
#include <cctype>
#include <arpa/inet.h>
#include <netdb.h>

namespace horloge {

const char* roleName(Role role) {
  switch (role) {
    case Role::CLOCKD: return "clockd";
    case Role::NETD: return "netd";
    case Role::REFCLOCKD: return "refclockd";
    case Role::MONITORD: return "monitord";
    case Role::NTSKD: return "ntskd";
  }
  return "?";
}

namespace {

struct Line {
  const std::string& path;
  int number;
  std::vector<std::string> words;

  [[noreturn]] void fail(const std::string& message) const {
    throw ConfigError(path + ":" + std::to_string(number) + ": " + message);
  }
  const std::string& word(size_t i, const char* what) const {
    if (i >= words.size()) fail(std::string("missing ") + what + " after '" + words.back() + "'");
    return words[i];
  }
  void noMoreThan(size_t n) const {
    if (words.size() > n) fail("unexpected '" + words[n] + "'");
  }
  double number_(size_t i, const char* what, double lo, double hi) const {
    const std::string& s = word(i, what);
    double v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v))
      fail(std::string("bad ") + what + " '" + s + "'");
    if (v < lo || v > hi) {
      std::ostringstream m;
      m << what << " " << s << " out of range [" << lo << ", " << hi << "]";
      fail(m.str());
    }
    return v;
  }
  uint16_t port(size_t i) const {
    double v = number_(i, "port", 1, 65535);
    if (v != std::floor(v)) fail("bad port '" + words[i] + "'");
    return static_cast<uint16_t>(v);
  }
  std::string address(size_t i) const {
    const std::string& s = word(i, "address");
    unsigned char buf[16];
    if (inet_pton(AF_INET, s.c_str(), buf) != 1 && inet_pton(AF_INET6, s.c_str(), buf) != 1)
      fail("'" + s + "' is not a numeric IPv4 or IPv6 address");
    return s;
  }
  std::string path_(size_t i, const char* what) const {
    const std::string& s = word(i, what);
    if (s.empty() || s[0] != '/') fail(std::string(what) + " must be an absolute path");
    return s;
  }
};

// "message: hint" when chrony or ntpd would have taken the line.
std::string withHint(std::string message, const std::string& hint) {
  return hint.empty() ? message : message + ": " + hint;
}

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> out;
  std::istringstream in(line);
  std::string w;
  while (in >> w) out.push_back(w);
  return out;
}

// `YYYY-MM-DD`, the last day of a month (leap seconds end a month): the Unix time of the
// midnight that ends it.
int64_t leapDateEnd(const Line& l, const std::string& w) {
  int y = 0, m = 0, d = 0;
  char dash1 = 0, dash2 = 0, extra = 0;
  if (sscanf(w.c_str(), "%4d%c%2d%c%2d%c", &y, &dash1, &m, &dash2, &d, &extra) != 5 ||
      dash1 != '-' || dash2 != '-' || y < 2020 || y > 2099 || m < 1 || m > 12)
    l.fail("leap date '" + w + "' is not a date YYYY-MM-DD between 2020 and 2099");
  static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int last = mdays[m - 1] + (m == 2 && y % 4 == 0);
  if (d != last)
    l.fail("leap date '" + w + "' is not the last day of a month (a leap second ends a month)");
  // Days from the civil date of the next day (the first of the following month).
  int ny = m == 12 ? y + 1 : y, nm = m == 12 ? 1 : m + 1;
  int yy = nm <= 2 ? ny - 1 : ny;
  int era = yy / 400, yoe = yy - era * 400;
  int doy = (153 * (nm + (nm > 2 ? -3 : 9)) + 2) / 5;
  int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return (int64_t(era) * 146097 + doe - 719468) * 86400;
}

// `YYYY-MM-DDTHH:MM:SSZ` (UTC), 2020 to 2099: a simulator's start.
int64_t startTime(const Line& l, size_t i) {
  const std::string& w = l.word(i, "start time YYYY-MM-DDTHH:MM:SSZ");
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  char extra = 0;
  static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (sscanf(w.c_str(), "%4d-%2d-%2dT%2d:%2d:%2dZ%c", &y, &mo, &d, &h, &mi, &sec, &extra) != 6 ||
      w.size() != 20 || w[19] != 'Z' || y < 2020 || y > 2099 || mo < 1 || mo > 12 || d < 1 ||
      d > mdays[mo - 1] + (mo == 2 && y % 4 == 0) || h > 23 || mi > 59 || sec > 59 || h < 0 ||
      mi < 0 || sec < 0)
    l.fail("start '" + w + "' is not a UTC time YYYY-MM-DDTHH:MM:SSZ between 2020 and 2099");
  int yy = mo <= 2 ? y - 1 : y;
  int era = yy / 400, yoe = yy - era * 400;
  int doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return (int64_t(era) * 146097 + doe - 719468) * 86400 + h * 3600 + mi * 60 + sec;
}

void parseRefclock(const Line& l, Config& c) {
  RefclockConf r;
  r.line = l.number;
  r.driver = l.word(1, "driver");
  size_t i = 2;
  if (r.driver == "nmea" || r.driver == "pps") {
    r.device = l.path_(2, "device");
    i = 3;
  } else if (r.driver == "sock") {
    r.device = l.path_(2, "socket path");
    if (r.device.size() > MAX_UNIX_SOCKET_PATH)
      l.fail("socket path is " + std::to_string(r.device.size()) + " characters long; a Unix "
             "socket path may have at most " + std::to_string(MAX_UNIX_SOCKET_PATH));
    i = 3;
  } else if (r.driver == "shm") {
    double unit = l.number_(2, "unit", 0, 7);
    if (unit != std::floor(unit)) l.fail("bad unit '" + l.words[2] + "'");
    r.unit = static_cast<int>(unit);
    i = 3;
  } else if (r.driver != "sim") {
    l.fail(withHint("unknown refclock driver '" + r.driver + "' (known: sim, nmea, pps, shm, sock)",
                    foreignDriverHint(r.driver)));
  }
  bool sim = r.driver == "sim";
  while (i < l.words.size()) {
    const std::string& key = l.words[i];
    if (key == "offset") r.offset = l.number_(i + 1, "offset", -1, 1);
    else if (sim && key == "jitter") r.jitter = l.number_(i + 1, "jitter", 0, 0.1);
    else if (sim && key == "nmea-delay") r.nmeaDelay = l.number_(i + 1, "nmea-delay", 0, 0.9);
    else if (r.driver == "nmea" && key == "baud") {
      double b = l.number_(i + 1, "baud", 4800, 115200);
      if (b != 4800 && b != 9600 && b != 19200 && b != 38400 && b != 57600 && b != 115200)
        l.fail("baud " + l.words[i + 1] + " not one of 4800 9600 19200 38400 57600 115200");
      r.baud = static_cast<int>(b);
    } else if (r.driver == "pps" && key == "edge") {
      const std::string& e = l.word(i + 1, "'assert' or 'clear'");
      if (e != "assert" && e != "clear") l.fail("edge '" + e + "' is not 'assert' or 'clear'");
      r.clearEdge = e == "clear";
    } else if (sim && (key == "dropout" || key == "fault")) {
      // `dropout pps|nmea START DURATION`, `fault KIND START DURATION`.
      static const char* kinds[] = {"pps", "nmea", "wrong-second", "week-rollover", "garbage",
                                    "late-nmea"};
      const std::string& k = l.word(i + 1, "fault kind");
      int kind = -1;
      for (int n = 0; n < 6; ++n)
        if (k == kinds[n] && (key == "fault" || n < 2)) kind = n;
      if (kind < 0)
        l.fail("unknown " + key + " '" + k + "' (known: " +
               (key == "dropout" ? "pps, nmea" :
                "pps, nmea, wrong-second, week-rollover, garbage, late-nmea") + ")");
      SimFault f{static_cast<SimFault::Kind>(kind)};
      f.start = l.number_(i + 2, "fault start", 0, 1e6);
      f.duration = l.number_(i + 3, "fault duration", 0, 1e6);
      r.faults.push_back(f);
      i += 4;
      continue;
    } else if ((sim || r.driver == "nmea") && key == "ubx") {
      if (r.ubx && !(sim && (r.simLeap != 0 || r.simUbxRefuse))) l.fail("'ubx' given twice");
      r.ubx = true;
      i += 1;
      continue;
    } else if (sim && key == "start") {
      if (r.simStartAt != 0) l.fail("'start' given twice");
      r.simStartAt = startTime(l, i + 1);
    } else if (sim && key == "ubx-refuse") {
      if (r.simUbxRefuse) l.fail("'ubx-refuse' given twice");
      r.simUbxRefuse = r.ubx = true;
      i += 1;
      continue;
    } else if (sim && key == "leap") {
      if (r.simLeap != 0) l.fail("'leap' given twice");
      const std::string& k = l.word(i + 1, "'insert' or 'delete'");
      if (k != "insert" && k != "delete") l.fail("leap '" + k + "' is not 'insert' or 'delete'");
      r.simLeap = k == "insert" ? 1 : -1;
      r.ubx = true;
      i += 2;
      if (i < l.words.size() && std::isdigit(static_cast<unsigned char>(l.words[i][0]))) {
        r.simLeapAt = leapDateEnd(l, l.words[i]);
        i += 1;
      }
      continue;
    } else l.fail(withHint("unknown refclock " + r.driver + " option '" + key + "'",
                           foreignOptionHint("refclock", key)));
    i += 2;
  }
  c.refclocks.push_back(r);
}

void parseAccess(const Line& l, std::vector<AccessRule>& into);

void parseMonitor(const Line& l, Config& c) {
  const std::string& what = l.word(1, "monitor option");
  if (what == "listen") {
    c.monitorAddress = l.address(2);
    if (l.word(3, "'port'") != "port") l.fail("expected 'port' after the address");
    c.monitorPort = l.port(4);
    l.noMoreThan(5);
    c.monitorEnabled = true;
  } else if (what == "cert") {
    c.monitorCert = l.path_(2, "certificate path");
    if (l.word(3, "'key'") != "key") l.fail("expected 'key' after the certificate path");
    c.monitorKey = l.path_(4, "key path");
    l.noMoreThan(5);
  } else if (what == "allow") {
    // Same prefix syntax as netd's `allow`, parsed by the same code on the shifted words.
    Line sub{l.path, l.number, {l.words.begin() + 1, l.words.end()}};
    if (sub.words.size() < 2) l.fail("missing prefix after 'allow'");
    parseAccess(sub, c.monitorAllow);
  } else if (what == "token") {
    c.monitorTokenFile = l.path_(2, "token file");
    l.noMoreThan(3);
  } else if (what == "client-ca") {
    c.monitorClientCa = l.path_(2, "client CA path");
    l.noMoreThan(3);
  } else if (what == "history") {
    c.monitorHistory = l.number_(2, "history interval", 1, 600);
    l.noMoreThan(3);
  } else {
    l.fail("unknown monitor option '" + what +
           "' (known: listen, cert, allow, token, client-ca, history)");
  }
}

// `allow|deny [all|ADDRESS[/LENGTH]]`: a bare address is a single host; host bits past the
// prefix length are cleared, as chrony does.
void parseAccess(const Line& l, std::vector<AccessRule>& into) {
  AccessRule r;
  r.allow = l.words[0] == "allow";
  r.line = l.number;
  l.noMoreThan(2);
  if (l.words.size() == 1 || l.words[1] == "all") {
    into.push_back(r);
    return;
  }
  const std::string& s = l.words[1];
  size_t slash = s.find('/');
  std::string address = s.substr(0, slash);
  if (inet_pton(AF_INET, address.c_str(), r.address) == 1) {
    r.family = 4;
  } else if (inet_pton(AF_INET6, address.c_str(), r.address) == 1) {
    r.family = 6;
  } else {
    l.fail("'" + address + "' is not a numeric IPv4 or IPv6 address");
  }
  int maxLength = r.family == 4 ? 32 : 128;
  r.prefixLength = static_cast<uint8_t>(maxLength);
  if (slash != std::string::npos) {
    std::string len = s.substr(slash + 1);
    int v = -1;
    auto [end, ec] = std::from_chars(len.data(), len.data() + len.size(), v);
    if (len.empty() || ec != std::errc() || end != len.data() + len.size() || v < 0 ||
        v > maxLength) {
      l.fail("bad prefix length '" + len + "' (0.." + std::to_string(maxLength) + ")");
    }
    r.prefixLength = static_cast<uint8_t>(v);
  }
  for (int bit = r.prefixLength; bit < maxLength; ++bit) {
    r.address[bit / 8] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
  }
  into.push_back(r);
}

int wholeNumber(const Line& l, size_t i, const char* what, int lo, int hi) {
  double v = l.number_(i, what, lo, hi);
  if (v != std::floor(v)) l.fail(std::string(what) + " must be a whole number");
  return static_cast<int>(v);
}

// The options of `ratelimit` (from word 1) and `nts ratelimit` (from word 2), one syntax for
// both; `directive` names the line in errors. NTS-KE has no kiss-o'-death to send.
RateLimitConf parseRateLimit(const Line& l, size_t first, RateLimitConf r,
                             const std::string& directive, bool kodAllowed) {
  r.enabled = true;
  size_t i = first;
  std::string known = kodAllowed ? "interval, burst, leak, kod" : "interval, burst, leak";
  while (i < l.words.size()) {
    const std::string& key = l.words[i];
    if (key == "kod" && kodAllowed) {
      r.kod = true;
      i += 1;
      continue;
    }
    if (key == "kod")
      l.fail(directive + " has no 'kod': a refused key exchange is a closed TCP connection, "
             "there is no kiss-o'-death to send");
    if (key == "interval") r.interval = wholeNumber(l, i + 1, "interval", -19, 12);
    else if (key == "burst") r.burst = wholeNumber(l, i + 1, "burst", 1, 255);
    else if (key == "leak") r.leak = wholeNumber(l, i + 1, "leak", 1, 4);
    else l.fail("unknown " + directive + " option '" + key + "' (known: " + known + ")");
    i += 2;
  }
  return r;
}

bool validUserName(const std::string& s) {
  if (s.empty() || s.size() > 32 || s[0] == '-') return false;
  for (char ch : s)
    if (!(isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-' || ch == '.'))
      return false;
  return true;
}

void parseUser(const Line& l, Config& c) {
  if (l.words.size() == 3) {
    for (int r = 0; r < ROLE_COUNT; ++r) {
      if (l.words[1] == roleName(static_cast<Role>(r))) {
        if (!validUserName(l.words[2])) l.fail("bad user name '" + l.words[2] + "'");
        c.users[r] = l.words[2];
        return;
      }
    }
    l.fail("unknown role '" + l.words[1] + "' (known: clockd, netd, refclockd, monitord, ntskd)");
  }
  const std::string& name = l.word(1, "user name");
  l.noMoreThan(2);
  if (!validUserName(name)) l.fail("bad user name '" + name + "'");
  // A `user ROLE NAME` line wins over `user NAME` whatever their order.
  Config defaults;
  for (int r = 0; r < ROLE_COUNT; ++r) {
    if (c.users[r] == defaults.users[r]) c.users[r] = name;
  }
}

bool validHostName(const std::string& a) {
  if (a.empty() || a.size() > 253 || a.front() == '-' || a.front() == '.') return false;
  return std::all_of(a.begin(), a.end(), [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '.';
  });
}

void resolveServers(Config& c) {
  for (auto& s: c.servers) {
    if (s.name.empty()) continue;
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    addrinfo* res = nullptr;
    int rc = getaddrinfo(s.name.c_str(), nullptr, &hints, &res);
    std::string text;
    if (rc == 0) {
      text = numericAddress(res->ai_addr);
      freeaddrinfo(res);
    }
    if (text.empty()) {
      throw ConfigError(c.path + ":" + std::to_string(s.line) + ": server '" + s.name +
                        "' does not resolve (" + (rc ? gai_strerror(rc) : "no address") +
                        "); the VLAN has no DNS: write its address, or name it in /etc/hosts");
    }
    s.address = text;
  }
}

bool numericIp(const std::string& a) {
  in6_addr buf;
  return inet_pton(AF_INET, a.c_str(), &buf) == 1 || inet_pton(AF_INET6, a.c_str(), &buf) == 1;
}

void parseNts(const Line& l, Config& c) {
  const std::string& what = l.word(1, "nts option");
  if (what == "cert") {
    c.nts.cert = l.path_(2, "certificate path");
    if (l.word(3, "'key'") != "key") l.fail("expected 'key' after the certificate path");
    c.nts.key = l.path_(4, "key path");
    l.noMoreThan(5);
    c.nts.enabled = true;
  } else if (what == "port") {
    c.nts.port = l.port(2);
    l.noMoreThan(3);
  } else if (what == "rotate") {
    double s = l.number_(2, "nts rotate seconds", 10, 365 * 86400);
    if (s != std::floor(s)) l.fail("nts rotate must be a whole number of seconds");
    c.nts.rotate = s;
    l.noMoreThan(3);
  } else if (what == "ntpserver") {
    const std::string& a = l.word(2, "address");
    if (a.size() > 255 || !(validHostName(a) || numericIp(a)))
      l.fail("bad nts ntpserver '" + a + "': a host name or a numeric address");
    c.nts.ntpServer = a;
    l.noMoreThan(3);
  } else if (what == "maxconnections") {
    double n = l.number_(2, "nts maxconnections", 1, 100000);
    if (n != std::floor(n)) l.fail("nts maxconnections must be a whole number");
    c.nts.maxConnections = static_cast<unsigned>(n);
    l.noMoreThan(3);
  } else if (what == "ratelimit") {
    c.nts.ratelimit = parseRateLimit(l, 2, NtsConf{}.ratelimit, "nts ratelimit", false);
  } else {
    l.fail("unknown nts option '" + what +
           "' (known: cert, port, rotate, ntpserver, maxconnections, ratelimit)");
  }
}

void parseServer(const Line& l, Config& c) {
  ServerConf s;
  s.line = l.number;
  const std::string& a = l.word(1, "server address");
  unsigned char buf[16];
  if (!ntpdRefclockHint(a).empty()) l.fail("server " + a + ": " + ntpdRefclockHint(a));
  if (inet_pton(AF_INET, a.c_str(), buf) == 1 || inet_pton(AF_INET6, a.c_str(), buf) == 1) {
    s.address = a;
  } else if (validHostName(a)) {
    s.name = a;   // resolved by loadConfig()
  } else {
    l.fail("server '" + a + "' is neither an address nor a host name");
  }
  auto whole = [&](size_t i, const char* what, double lo, double hi) {
    double v = l.number_(i, what, lo, hi);
    if (v != std::floor(v)) l.fail(std::string(what) + " must be a whole number");
    return static_cast<int>(v);
  };
  for (size_t i = 2; i < l.words.size(); ++i) {
    const std::string& k = l.words[i];
    if (k == "port") s.port = l.port(++i);
    else if (k == "minpoll") s.minpoll = whole(++i, "minpoll", 0, 17);
    else if (k == "maxpoll") s.maxpoll = whole(++i, "maxpoll", 0, 17);
    else if (k == "iburst") s.iburst = true;
    else if (k == "prefer") s.prefer = true;
    else if (k == "noselect") s.noselect = true;
    else l.fail(withHint("unknown server option '" + k +
                         "' (known: port, minpoll, maxpoll, iburst, prefer, noselect)",
                         foreignOptionHint("server", k)));
  }
  if (s.maxpoll < s.minpoll) l.fail("maxpoll is below minpoll");
  if (c.servers.size() >= MAX_SERVERS) l.fail("more than 16 servers");
  c.servers.push_back(s);
}

void parseLine(const Line& l, Config& c) {
  const std::string& d = l.words[0];
  if (d == "listen") {
    ListenConf lc;
    lc.address = l.address(1);
    if (l.words.size() > 2) {
      if (l.words[2] != "port") l.fail("expected 'port', got '" + l.words[2] + "'");
      lc.port = l.port(3);
      l.noMoreThan(4);
    }
    c.listen.push_back(lc);
  } else if (d == "refclock") {
    parseRefclock(l, c);
  } else if (d == "clock") {
    const std::string& b = l.word(1, "clock backend");
    if (b == "sim") {
      for (size_t i = 2; i < l.words.size(); i += 2) {
        const std::string& k = l.words[i];
        if (k == "frequency") c.simFrequency = l.number_(i + 1, "frequency", -500, 500) * 1e-6;
        else if (k == "wander") c.simWander = l.number_(i + 1, "wander", 0, 1e-6);
        else if (k == "offset") c.simOffset = l.number_(i + 1, "offset", -86400, 86400);
        else if (k == "seed") c.simSeed = static_cast<uint64_t>(l.number_(i + 1, "seed", 0, 1e15));
        else if (k == "start") c.simStart = startTime(l, i + 1);
        else if (k == "frequency-step") {
          c.simFrequencyStep = l.number_(i + 1, "frequency step", -100, 100) * 1e-6;
          c.simFrequencyStepAt = l.number_(i + 2, "frequency step time", 0, 1e7);
          ++i;
        } else if (k == "temperature-diurnal") {
          c.simThermal = true;
          c.simDiurnal = l.number_(i + 1, "temperature-diurnal", 0, 30);
        } else if (k == "temperature-load") {
          c.simThermal = true;
          c.simLoad = l.number_(i + 1, "temperature-load", -30, 30);
          c.simLoadPeriod = l.number_(i + 2, "temperature-load period", 60, 86400);
          ++i;
        } else if (k == "temperature-lag") {
          c.simThermal = true;
          c.simLag = l.number_(i + 1, "temperature-lag", 1, 7200);
        } else if (k == "temperature-coefficients") {
          c.simThermal = true;
          c.simLinear = l.number_(i + 1, "temperature coefficient", -10, 10) * 1e-6;
          c.simQuadratic = l.number_(i + 2, "temperature quadratic coefficient", -1, 1) * 1e-6;
          ++i;
        } else l.fail("unknown clock sim option '" + k +
                      "' (known: frequency, wander, offset, seed, start, frequency-step, "
                      "temperature-diurnal, temperature-load, temperature-lag, "
                      "temperature-coefficients)");
      }
    } else {
      l.noMoreThan(2);
    }
    if (b == "system") c.clock = ClockBackend::SYSTEM;
    else if (b == "observe") c.clock = ClockBackend::OBSERVE;
    else if (b == "sim") c.clock = ClockBackend::SIM;
    else l.fail("unknown clock backend '" + b + "' (known: system, observe, sim)");
  } else if (d == "rundir") {
    c.rundir = l.path_(1, "rundir");
    l.noMoreThan(2);
    // Found here rather than when clockd binds, with the socket path's limit in words.
    if (c.rundir.size() + 1 + LONGEST_IPC_SOCKET_NAME > MAX_UNIX_SOCKET_PATH)
      l.fail("rundir is " + std::to_string(c.rundir.size()) + " characters long; its sockets' "
             "paths (up to " + c.rundir + "/refclock.sock) would pass the " +
             std::to_string(MAX_UNIX_SOCKET_PATH) + " characters a Unix socket path may have (" +
             "at most " + std::to_string(MAX_UNIX_SOCKET_PATH - 1 - LONGEST_IPC_SOCKET_NAME) +
             " for rundir)");
  } else if (d == "statedir") {
    c.statedir = l.path_(1, "statedir");
    l.noMoreThan(2);
  } else if (d == "monitor") {
    parseMonitor(l, c);
  } else if (d == "user") {
    parseUser(l, c);
  } else if (d == "makestep") {
    c.makestepThreshold = l.number_(1, "makestep threshold", 0, 1e6);
    c.makestepLimit = static_cast<int>(l.number_(2, "makestep limit", -1, 1e9));
    l.noMoreThan(3);
  } else if (d == "driftfile") {
    c.driftfile = l.path_(1, "driftfile");
    l.noMoreThan(2);
  } else if (d == "leapfile") {
    c.leapfile = l.path_(1, "leapfile");
    l.noMoreThan(2);
  } else if (d == "tempsensor") {
    const std::string& what = l.word(1, "temperature file or 'none'");
    c.tempSensor = what == "none" ? what : l.path_(1, "tempsensor");
    if (l.words.size() > 2) {
      if (l.words[2] != "interval") l.fail("expected 'interval', got '" + l.words[2] + "'");
      c.tempInterval = l.number_(3, "tempsensor interval", 1, 600);
      l.noMoreThan(4);
    }
  } else if (d == "maxclockerror") {
    c.maxClockError = l.number_(1, "maxclockerror", 0, 100) * 1e-6;
    l.noMoreThan(2);
  } else if (d == "maxslewrate") {
    c.maxSlewRate = l.number_(1, "maxslewrate", 1, 83333.333) * 1e-6;
    l.noMoreThan(2);
  } else if (d == "maxholdover") {
    c.maxHoldover = l.number_(1, "maxholdover", 1, 30 * 86400);
    l.noMoreThan(2);
  } else if (d == "seccomp") {
    const std::string& a = l.word(1, "seccomp action");
    l.noMoreThan(2);
    if (a == "kill") c.seccomp = SeccompAction::KILL;
    else if (a == "errno") c.seccomp = SeccompAction::ERRNO;
    else if (a == "log") c.seccomp = SeccompAction::LOG;
    else l.fail("unknown seccomp action '" + a + "' (known: kill, errno, log)");
  } else if (d == "workers") {
    double w = l.number_(1, "workers", 1, 64);
    if (w != std::floor(w)) l.fail("workers must be a whole number");
    c.workers = static_cast<unsigned>(w);
    l.noMoreThan(2);
  } else if (d == "allow" || d == "deny") {
    parseAccess(l, c.access);
  } else if (d == "ratelimit") {
    c.ratelimit = parseRateLimit(l, 1, RateLimitConf{}, "ratelimit", true);
  } else if (d == "server") {
    parseServer(l, c);
  } else if (d == "nts") {
    parseNts(l, c);
  } else {
    l.fail(withHint("unknown directive '" + d + "'", foreignDirectiveHint(l.words)));
  }
}

// The directives that may be given once; a second one would silently win (`clock system`
// after `clock observe` turns on the real clock), so it is an error. Repeatable: listen,
// refclock, allow, deny, monitor allow, server. `user ROLE NAME` is its own directive per role.
std::string onceKey(const Line& l) {
  const std::string& d = l.words[0];
  if (d == "listen" || d == "refclock" || d == "allow" || d == "deny" || d == "server") return "";
  if (d == "monitor" && l.words.size() > 1) return l.words[1] == "allow" ? "" : "monitor " + l.words[1];
  if (d == "user" && l.words.size() == 3) return "user " + l.words[1];
  if (d == "nts" && l.words.size() > 1) return "nts " + l.words[1];
  return d;
}

}  // namespace

Config parseConfig(const std::string& text, const std::string& path) {
  Config c;
  c.path = path;
  std::istringstream in(text);
  std::string raw;
  int number = 0;
  std::vector<std::pair<std::string, int>> given;   // once-only directives and their lines
  while (std::getline(in, raw)) {
    ++number;
    if (raw.find('\0') != std::string::npos)
      throw ConfigError(path + ":" + std::to_string(number) + ": NUL byte in line");
    size_t hash = raw.find_first_of("#!;%");
    if (hash != std::string::npos) raw.resize(hash);
    Line l{path, number, split(raw)};
    if (l.words.empty()) continue;
    std::string key = onceKey(l);
    for (auto& [k, at]: given) {
      if (!key.empty() && k == key) l.fail("'" + key + "' already given at line " + std::to_string(at));
    }
    parseLine(l, c);
    if (!key.empty()) given.emplace_back(key, number);
  }
  if (c.monitorEnabled != (c.monitorAddress.size() > 0))
    throw ConfigError(path + ": monitor is half configured");
  return c;
}

Config loadConfig(const std::string& path) {
  kj::String why;
  KJ_IF_MAYBE(text, tryReadSmallFile(path.c_str(), MAX_CONFIG_BYTES, why)) {
    Config c = parseConfig(std::string(text->begin(), text->size()), path);
    resolveServers(c);
    return c;
  }
  // "PATH: why", as readSmallFile says it.
  throw ConfigError(why.size() > 0 ? std::string(why.cStr()) : path + ": cannot open");
}

}  // namespace horloge
