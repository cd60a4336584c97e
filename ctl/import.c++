#include "import.h"
#include "config-hints.h"
#include <algorithm>
#include <arpa/inet.h>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <sstream>
#include <vector>

namespace horloge::ctl {

namespace {

using Words = std::vector<std::string>;

Words split(const std::string& line) {
  Words out;
  std::istringstream in(line);
  std::string w;
  while (in >> w) out.push_back(w);
  return out;
}

bool oneOf(const std::string& s, std::initializer_list<const char*> list) {
  for (auto* x: list) if (s == x) return true;
  return false;
}

bool numericAddress(const std::string& a) {
  unsigned char buf[16];
  return inet_pton(AF_INET, a.c_str(), buf) == 1 || inet_pton(AF_INET6, a.c_str(), buf) == 1;
}

bool hostName(const std::string& a) {
  if (a.empty() || a.size() > 253 || a.front() == '-' || a.front() == '.') return false;
  return std::all_of(a.begin(), a.end(), [](char c) { return isalnum((unsigned char)c) || c == '-' || c == '.'; });
}

bool number(const std::string& s, double& v) {
  char* end = nullptr;
  v = strtod(s.c_str(), &end);
  return !s.empty() && end == s.c_str() + s.size() && std::isfinite(v);
}

std::string fmt(double v) {
  char buf[32];
  snprintf(buf, sizeof(buf), "%.9g", v);
  return buf;
}

// `a.b.c.d mask e.f.g.h` -> "a.b.c.d/N"; "" when the mask is not contiguous.
std::string withMask(const std::string& address, const std::string& mask) {
  in_addr m;
  if (inet_pton(AF_INET, mask.c_str(), &m) != 1) return "";
  uint32_t bits = ntohl(m.s_addr);
  int n = 0;
  while (n < 32 && (bits & (0x80000000u >> n))) ++n;
  if (n < 32 && (bits << n) != 0) return "";
  return address + "/" + std::to_string(n);
}

class Translator {
public:
  Translator(const std::string& name, Dialect dialect): name(name), dialect(dialect) {}

  std::string run(const std::string& text) {
    std::vector<std::pair<int, Words>> lines;
    std::istringstream in(text);
    std::string raw;
    int number = 0;
    while (std::getline(in, raw)) {
      ++number;
      auto hash = raw.find_first_of(dialect == Dialect::CHRONY ? "#!;%" : "#");
      if (hash != std::string::npos) raw.resize(hash);
      Words w = split(raw);
      if (!w.empty()) lines.push_back({number, w});
    }
    // ntpd's `fudge` lines say something about a `server 127.127.T.U` line anywhere in the file.
    // Whether `restrict default` serves nobody decides what the other `restrict` lines mean.
    for (auto& [n, w]: lines) {
      if (w[0] == "fudge" && w.size() > 1) fudges[w[1]] = w;
      if (w[0] == "restrict" && std::find(w.begin(), w.end(), "default") != w.end() &&
          (std::find(w.begin(), w.end(), "ignore") != w.end() ||
           std::find(w.begin(), w.end(), "noserve") != w.end())) {
        ntpdDefaultDenies = true;
      }
    }
    for (auto& [n, w]: lines) {
      std::string original;
      for (auto& x: w) original += (original.empty() ? "" : " ") + x;
      out << "# " << name << ":" << n << ": " << original << "\n";
      if (dialect == Dialect::CHRONY) chrony(w);
      else ntpd(w);
    }
    return header() + out.str() + footer();
  }

private:
  std::string name;
  Dialect dialect;
  std::ostringstream out;
  std::map<std::string, Words> fudges;
  int servers = 0;
  bool allowGiven = false, makestepGiven = false, ratelimitGiven = false;
  bool ntpdDefaultDenies = false, ntpdLimited = false, ntpdKod = false;
  int ntpdDiscardAverage = -100;

  void no(const std::string& why) { out << "#   not translated: " << why << "\n"; }
  void note(const std::string& what) { out << "#   " << what << "\n"; }
  void line(const std::string& l) { out << l << "\n"; }

  std::string header() const {
    return "# horloge.conf translated from " + name + " (" +
           (dialect == Dialect::CHRONY ? "chrony" : "ntpd") + ") by `horlogectl import`.\n"
           "# Each directive of " + name + " is quoted (\"# " + name + ":LINE: ...\"), then what it\n"
           "# became; \"not translated\" says why there is no horloge form. Every directive:\n"
           "# man horloge.conf. Check the result with `horlogectl -f FILE doctor`.\n\n";
  }

  std::string footer() const {
    std::ostringstream f;
    f << "\n# ---- horloge's own lines\n";
    if (dialect == Dialect::CHRONY && !allowGiven) {
      f << "# chrony answered no client without an `allow` line; horloge answers everyone until an\n"
           "# `allow` is given. To keep chrony's behaviour (remove it to serve the network):\n"
           "deny all\n";
    }
    if (dialect == Dialect::NTPD && ntpdDefaultDenies) {
      f << "# ntpd's `restrict default ignore` (or noserve): nobody but the `allow`ed prefixes\n"
           "deny all\n";
    }
    if (dialect == Dialect::NTPD && (ntpdLimited || ntpdDiscardAverage != -100) && !ratelimitGiven) {
      f << "# ntpd's `limited`" << (ntpdKod ? " and `kod`" : "") << ": chrony's rate limiting\n";
      f << "ratelimit";
      if (ntpdDiscardAverage != -100) f << " interval " << ntpdDiscardAverage;
      if (ntpdKod) f << " kod";
      f << "\n";
    }
    if (!makestepGiven) {
      f << "# A Pi has no RTC: step when more than 1 s off during the first 3 updates.\n"
           "makestep 1 3\n";
    }
    f << "# clockd sets the system clock (it alone holds CAP_SYS_TIME).\n"
         "clock system\n"
         "# The package's HTTPS certificate; systemd hands monitord a copy of the key.\n"
         "monitor cert /etc/horloge/tls/horloge.crt key "
         "/run/credentials/horloge-monitord.service/tls.key\n"
         "seccomp kill\n";
    return f.str();
  }

  // A `server` line from either dialect, with the options both know.
  void server(const Words& w, const std::vector<std::pair<std::string, bool>>& known) {
    if (w.size() < 2) return no("no address");
    const std::string& a = w[1];
    auto refclock = ntpdRefclockHint(a);
    if (!refclock.empty()) return no(refclock);
    if (!numericAddress(a) && !hostName(a)) return no("'" + a + "' is not an address or a host name");
    if (servers >= 16) return no("horloge polls at most 16 servers");
    std::string result = "server " + a;
    for (size_t i = 2; i < w.size(); ++i) {
      const std::string& o = w[i];
      bool valued = false, found = false;
      for (auto& [k, v]: known) if (k == o) { found = true; valued = v; }
      if (oneOf(o, {"iburst", "prefer", "noselect"})) {
        result += " " + o;
      } else if (oneOf(o, {"minpoll", "maxpoll", "port"}) && i + 1 < w.size()) {
        double v = 0;
        if (!number(w[i + 1], v)) { no(o + " " + w[i + 1] + ": not a number"); ++i; continue; }
        if (o != "port" && (v < 0 || v > 17)) {
          note(o + " " + w[i + 1] + " clamped to horloge's 0..17");
          v = std::clamp(v, 0.0, 17.0);
        }
        result += " " + o + " " + fmt(v);
        ++i;
      } else {
        auto hint = foreignOptionHint("server", o);
        std::string shown = o + (valued && i + 1 < w.size() ? " " + w[i + 1] : "");
        no("`" + shown + "`: " + (hint.empty() ? "no such server option in horloge" : hint));
        if (valued || (!found && i + 1 < w.size() && isdigit((unsigned char)w[i + 1][0]))) ++i;
      }
    }
    // A minpoll above the default maxpoll (or the reverse) would be refused: say both.
    if (result.find(" minpoll ") != std::string::npos && result.find(" maxpoll ") == std::string::npos) {
      double minpoll = atof(result.substr(result.find(" minpoll ") + 9).c_str());
      if (minpoll > 10) result += " maxpoll " + fmt(minpoll);
    }
    if (result.find(" maxpoll ") != std::string::npos && result.find(" minpoll ") == std::string::npos) {
      double maxpoll = atof(result.substr(result.find(" maxpoll ") + 9).c_str());
      if (maxpoll < 6) result += " minpoll " + fmt(maxpoll);
    }
    if (!numericAddress(a)) {
      note(a.find("pool.ntp.org") != std::string::npos
               ? "a pool name: it must resolve from /etc/hosts when horloge starts (the VLAN has "
                 "no DNS); better, write the address of a server you know"
               : "a name must resolve from /etc/hosts when horloge starts (the VLAN has no DNS)");
    }
    ++servers;
    line(result);
  }

  // ---- chrony

  void chronyRefclock(const Words& w) {
    if (w.size() < 3) return no("a refclock needs a driver and its parameter");
    std::string driver = w[1], param = w[2];
    std::string result;
    bool clearEdge = false;
    auto colon = param.find(':');
    std::string suffix = colon == std::string::npos ? "" : param.substr(colon + 1);
    if (colon != std::string::npos) param.resize(colon);
    if (driver == "SHM") {
      double unit = 0;
      if (!number(param, unit) || unit < 0 || unit > 7 || unit != std::floor(unit)) {
        return no("SHM unit " + param + ": horloge reads units 0..7");
      }
      result = "refclock shm " + fmt(unit);
      if (!suffix.empty()) note(":" + suffix + ": the segment's mode: refclockd makes it 0600 when gpsd has not");
    } else if (driver == "PPS") {
      result = "refclock pps " + param;
      clearEdge = suffix == "clear";
    } else if (driver == "SOCK") {
      result = "refclock sock " + param;
      auto base = param.substr(param.rfind('/') + 1);
      if (base.rfind("chrony.", 0) == 0 && base.size() > 12 && param.rfind("/run/", 0) == 0) {
        note("under systemd: systemctl enable --now horloge-refclock-sock@" +
             base.substr(7, base.size() - 12) + ".socket (packaging/README.md)");
      }
    } else {
      auto hint = foreignDriverHint(driver);
      return no("refclock " + driver + ": " + (hint.empty() ? "no such driver in horloge" : hint));
    }
    static const char* flags[] = {"noselect", "prefer", "trust", "require", "tai", "pps", "local", "clear"};
    for (size_t i = 3; i < w.size(); ++i) {
      const std::string& o = w[i];
      bool flag = std::any_of(std::begin(flags), std::end(flags), [&](const char* f) { return o == f; });
      std::string value = !flag && i + 1 < w.size() ? w[i + 1] : "";
      if (o == "clear") {
        clearEdge = true;
      } else if (o == "offset" && !value.empty()) {
        double v = 0;
        if (number(value, v) && std::fabs(v) <= 1) result += " offset " + fmt(v);
        else no("offset " + value + ": horloge takes -1..1 s");
      } else if (o == "lock") {
        note("lock " + value + ": " + foreignOptionHint("refclock", "lock"));
      } else {
        auto hint = foreignOptionHint("refclock", o);
        no("`" + o + (value.empty() ? "" : " " + value) + "`: " +
           (hint.empty() ? "no such refclock option in horloge" : hint));
      }
      if (!flag) ++i;
    }
    if (clearEdge) {
      if (driver == "PPS") result += " edge clear";
      else no("clear: only for PPS");
    }
    line(result);
  }

  void chrony(const Words& w) {
    const std::string& d = w[0];
    if (d == "refclock") return chronyRefclock(w);
    if (d == "server") {
      return server(w, {{"iburst", false}, {"burst", false}, {"prefer", false}, {"noselect", false},
                        {"nts", false}, {"xleave", false}, {"offline", false},
                        {"auto_offline", false}, {"trust", false}, {"require", false},
                        {"copy", false}, {"key", true}, {"minpoll", true}, {"maxpoll", true},
                        {"port", true}, {"maxsamples", true}, {"minsamples", true},
                        {"polltarget", true}, {"maxdelay", true}, {"maxdelayratio", true},
                        {"maxdelaydevratio", true}, {"mindelay", true}, {"asymmetry", true},
                        {"offset", true}, {"filter", true}, {"presend", true},
                        {"version", true}, {"minstratum", true}, {"certset", true},
                        {"extfield", true}, {"ntsport", true}, {"maxsources", true}});
    }
    if (d == "pool" || d == "peer") return no(foreignDirectiveHint(w));
    if (d == "allow" || d == "deny") {
      if (w.size() > 2) return no("one prefix per line");
      allowGiven = allowGiven || d == "allow";
      std::string prefix = w.size() == 2 ? w[1] : "all";
      if (prefix != "all") {
        auto slash = prefix.find('/');
        std::string address = prefix.substr(0, slash);
        // chrony also takes "192.168.1" for 192.168.1.0/24.
        if (!numericAddress(address)) {
          int dots = int(std::count(address.begin(), address.end(), '.'));
          if (dots < 3 && slash == std::string::npos && !address.empty() &&
              std::all_of(address.begin(), address.end(), [](char c) { return isdigit((unsigned char)c) || c == '.'; })) {
            std::string full = address;
            for (int k = dots; k < 3; ++k) full += ".0";
            prefix = full + "/" + std::to_string(8 * (dots + 1));
          } else {
            return no("'" + prefix + "' is not a numeric prefix (horloge resolves no names)");
          }
        }
      }
      if (allowGiven && d == "allow") {
        note("as chrony: once an `allow` is given, only the clients it covers are answered");
      }
      return line(d + (prefix == "all" ? " all" : " " + prefix));
    }
    if (d == "makestep") {
      double t = 0, l = 0;
      if (w.size() != 3 || !number(w[1], t) || !number(w[2], l)) return no("makestep THRESHOLD LIMIT");
      makestepGiven = true;
      return line("makestep " + fmt(t) + " " + fmt(l));
    }
    if (d == "driftfile") return driftfile(w);
    if (d == "leapsectz") return no(foreignDirectiveHint(w));
    if (d == "leapseclist" || d == "leapfile") {
      if (w.size() != 2 || w[1].empty() || w[1][0] != '/') return no("an absolute path is needed");
      return line("leapfile " + w[1]);
    }
    if (d == "ratelimit") {
      std::string result = "ratelimit";
      for (size_t i = 1; i < w.size(); ++i) {
        double v = 0;
        bool valued = i + 1 < w.size() && number(w[i + 1], v);
        if (w[i] == "interval" && valued && v >= -19 && v <= 12) result += " interval " + fmt(v);
        else if (w[i] == "burst" && valued && v >= 1 && v <= 255) result += " burst " + fmt(v);
        else if (w[i] == "leak" && valued && v >= 1 && v <= 4) result += " leak " + fmt(v);
        else if (w[i] == "kod") { result += " kod"; if (valued) ++i; continue; }
        else no("`" + w[i] + (valued ? " " + w[i + 1] : "") + "`: horloge takes interval -19..12, "
                "burst 1..255, leak 1..4, kod");
        if (valued) ++i;
      }
      ratelimitGiven = true;
      return line(result);
    }
    if (d == "maxslewrate" || d == "maxclockerror") {
      double v = 0;
      if (w.size() != 2 || !number(w[1], v)) return no(d + " takes one number");
      double hi = d == "maxslewrate" ? 83333.333 : 100;
      if (v > hi) note(d + " " + w[1] + " lowered to horloge's maximum");
      return line(d + " " + fmt(std::clamp(v, d == "maxslewrate" ? 1.0 : 0.0, hi)));
    }
    if (d == "bindaddress") {
      if (w.size() != 2 || !numericAddress(w[1])) return no("bindaddress takes one numeric address");
      note("used without systemd; under systemd: systemctl edit horloge-netd.socket");
      return line("listen " + w[1]);
    }
    if (d == "user") return no("each daemon has its own user (`user ROLE NAME`; the package's defaults)");
    auto hint = foreignDirectiveHint(w);
    no(hint.empty() ? "no horloge equivalent" : hint);
  }

  void driftfile(const Words& w) {
    if (w.size() != 2) return no("driftfile PATH");
    note("horloge keeps its own (was " + w[1] + ")");
    line("driftfile /var/lib/horloge/drift");
  }

  // ---- ntpd

  void ntpdRefclock(const Words& w) {
    const std::string& a = w[1];
    int type = atoi(a.c_str() + 8);
    std::string unit = a.substr(a.find('.', 8) + 1);
    Words fudge;
    auto f = fudges.find(a);
    if (f != fudges.end()) fudge = f->second;
    std::string result;
    if (type == 28) result = "refclock shm " + unit;
    else if (type == 22) result = "refclock pps /dev/pps" + unit;
    else if (type == 20) {
      result = "refclock nmea /dev/gps" + unit;
      note("ntpd reads /dev/gps" + unit + ", a link to the receiver's port: write the port itself "
           "(/dev/serial0 on a Pi)");
    } else {
      return no(ntpdRefclockHint(a));
    }
    for (size_t i = 2; i < w.size(); ++i) {
      const std::string& o = w[i];
      if (oneOf(o, {"minpoll", "maxpoll", "mode"}) && i + 1 < w.size()) {
        if (o == "mode" && type == 20) {
          int mode = atoi(w[i + 1].c_str());
          static const char* bauds[] = {"4800", "9600", "19200", "38400", "57600", "115200"};
          int b = (mode >> 4) & 7;
          if (b < 6) result += std::string(" baud ") + bauds[b];
          note("mode " + w[i + 1] + ": the baud rate kept; horloge reads every time sentence");
        } else {
          no("`" + o + " " + w[i + 1] + "`: " + foreignOptionHint("refclock", "poll"));
        }
        ++i;
      } else if (o == "prefer" || o == "noselect" || o == "iburst" || o == "true") {
        no("`" + o + "`: " + (o == "iburst" ? "not needed: refclockd reads every sample"
                                            : foreignOptionHint("refclock", "prefer")));
      } else {
        no("`" + o + "`: no such option here");
      }
    }
    for (size_t i = 2; i < fudge.size(); ++i) {
      const std::string& o = fudge[i];
      std::string value = i + 1 < fudge.size() ? fudge[i + 1] : "";
      if (o == "time1" || (o == "time2" && type == 20)) {
        double v = 0;
        if (number(value, v) && std::fabs(v) <= 1) {
          result += " offset " + fmt(v);
          note("fudge " + o + " " + value + ": the `offset`");
        } else {
          no("fudge " + o + " " + value + ": horloge takes -1..1 s");
        }
      } else if (o == "time2") {
        no("fudge time2 " + value + ": ntpd's SHM driver does not use it (horloge measures the "
           "NMEA delay against PPS)");
      } else if (o == "refid") {
        no("fudge refid " + value + ": " + foreignOptionHint("refclock", "refid"));
      } else if (o == "stratum") {
        no("fudge stratum " + value + ": a reference clock is stratum 0, the server 1");
      } else if (o.rfind("flag", 0) == 0) {
        no("fudge " + o + " " + value + ": ntpd driver flags have no meaning here");
      } else {
        no("fudge " + o + (value.empty() ? "" : " " + value) + ": no horloge equivalent");
        continue;
      }
      ++i;
    }
    line(result);
  }

  void restrict(const Words& w) {
    size_t i = 1;
    bool v4only = false, v6only = false;
    if (i < w.size() && (w[i] == "-4" || w[i] == "-6")) { v4only = w[i] == "-4"; v6only = w[i] == "-6"; ++i; }
    if (i >= w.size()) return no("restrict needs an address");
    std::string address = w[i++];
    std::string prefix = address;
    if (i + 1 < w.size() && w[i] == "mask") {
      prefix = withMask(address, w[i + 1]);
      if (prefix.empty()) return no("mask " + w[i + 1] + " is not a prefix");
      i += 2;
    }
    bool ignore = false, limited = false, kod = false;
    for (; i < w.size(); ++i) {
      ignore = ignore || w[i] == "ignore" || w[i] == "noserve";
      limited = limited || w[i] == "limited";
      kod = kod || w[i] == "kod";
    }
    if (address == "default") {
      if (ignore) {
        note(std::string("nobody") + (v4only ? " (IPv4)" : v6only ? " (IPv6)" : "") +
             " is answered but the prefixes allowed below: `deny all` at the end");
      } else {
        ntpdLimited = ntpdLimited || limited;
        ntpdKod = ntpdKod || (kod && limited);
        note("everyone is answered (horloge answers only time requests: nomodify, noquery, "
             "nopeer and notrap always hold)" + std::string(limited ? "; `limited` becomes ratelimit at the end" : ""));
      }
      return;
    }
    if (address == "127.0.0.1" || address == "::1") {
      return note("loopback is always answered (horloge answers only time requests)");
    }
    if (!numericAddress(prefix.substr(0, prefix.find('/')))) return no("'" + address + "' is not numeric");
    if (ignore) return line("deny " + prefix);
    if (ntpdDefaultDenies) return line("allow " + prefix);
    // ntpd's default already serves it: an `allow` would refuse everyone else, as chrony's does.
    note("ntpd served everyone (no `restrict default ignore`), this prefix included: nothing to "
         "write; to answer this prefix only, uncomment:");
    line("#allow " + prefix);
  }

  void ntpd(const Words& w) {
    const std::string& d = w[0];
    if (d == "server" && w.size() > 1 && w[1].rfind("127.127.", 0) == 0) return ntpdRefclock(w);
    if (d == "server") {
      return server(w, {{"iburst", false}, {"burst", false}, {"prefer", false}, {"noselect", false},
                        {"true", false}, {"preempt", false}, {"autokey", false}, {"xleave", false},
                        {"key", true}, {"minpoll", true}, {"maxpoll", true}, {"version", true},
                        {"mode", true}, {"ttl", true}});
    }
    if (d == "fudge") return note("with its `server` line");
    if (d == "restrict") return restrict(w);
    if (d == "driftfile") return driftfile(w);
    if (d == "leapfile") {
      if (w.size() != 2 || w[1].empty() || w[1][0] != '/') return no("an absolute path is needed");
      return line("leapfile " + w[1]);
    }
    if (d == "discard") {
      for (size_t i = 1; i + 1 < w.size(); i += 2) {
        if (w[i] == "average") ntpdDiscardAverage = std::clamp(atoi(w[i + 1].c_str()), -19, 12);
      }
      return note("the average becomes ratelimit's interval at the end");
    }
    if (d == "tinker" && std::find(w.begin(), w.end(), "panic") != w.end()) {
      return no("tinker panic: clockd refuses no offset; `makestep` steps at start (below)");
    }
    if (d == "pool" || d == "peer") return no(foreignDirectiveHint(w));
    auto hint = foreignDirectiveHint(w);
    no(hint.empty() ? "no horloge equivalent" : hint);
  }
};

}  // namespace

Dialect guessDialect(const std::string& text, const std::string& name) {
  if (name.find("chrony") != std::string::npos) return Dialect::CHRONY;
  if (name.find("ntp.conf") != std::string::npos || name.find("ntpsec") != std::string::npos) {
    return Dialect::NTPD;
  }
  std::istringstream in(text);
  std::string raw;
  while (std::getline(in, raw)) {
    Words w = split(raw.substr(0, raw.find('#')));
    if (w.empty()) continue;
    if (oneOf(w[0], {"restrict", "fudge", "filegen", "statistics", "tinker", "tos", "discard"})) {
      return Dialect::NTPD;
    }
    if (w[0] == "server" && w.size() > 1 && w[1].rfind("127.127.", 0) == 0) return Dialect::NTPD;
    if (oneOf(w[0], {"refclock", "makestep", "allow", "rtcsync", "leapsectz", "maxupdateskew"})) {
      return Dialect::CHRONY;
    }
  }
  return Dialect::CHRONY;
}

std::string importConfig(const std::string& text, const std::string& name, Dialect dialect) {
  return Translator(name, dialect).run(text);
}

}  // namespace horloge::ctl
