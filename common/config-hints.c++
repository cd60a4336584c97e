#include "config-hints.h"
#include <cstdlib>

namespace horloge {

namespace {

bool oneOf(const std::string& s, std::initializer_list<const char*> list) {
  for (auto* x: list) if (s == x) return true;
  return false;
}

}  // namespace

std::string foreignDirectiveHint(const std::vector<std::string>& words) {
  const std::string& d = words[0];
  if (d == "pool") {
    return "`pool` needs DNS, which the appliance's VLAN has not: write one `server ADDRESS "
           "iburst` line per server (`horlogectl import` translates a chrony.conf or ntp.conf)";
  }
  if (d == "peer") return "symmetric mode (`peer`) is not supported: `server ADDRESS noselect` cross-checks";
  if (d == "restrict") {
    return "ntpd's `restrict`: write `allow ADDRESS/LENGTH` or `deny ADDRESS/LENGTH` (netd only "
           "answers time requests: nomodify, noquery, nopeer and notrap always hold), and "
           "`ratelimit kod` for `limited kod`";
  }
  if (d == "fudge") return "ntpd's `fudge`: put `offset SECONDS` (its time1) on the `refclock` line";
  if (d == "discard") return "ntpd's `discard average N`: write `ratelimit interval N`";
  if (d == "local" || d == "orphan") {
    return "horloge never serves its free-running clock: without a source it answers LI=3, and "
           "`maxholdover` says how long it coasts after losing one";
  }
  if (d == "leapsectz") {
    return "horloge reads leap-seconds.list, the package's or tzdata's (no line needed), or "
           "`leapfile PATH`";
  }
  if (d == "leapseclist") return "write `leapfile PATH`";
  if (d == "bindaddress" || d == "interface") {
    return "write `listen ADDRESS` (under systemd the socket unit decides: systemctl edit "
           "horloge-netd.socket)";
  }
  if (d == "port") return "under systemd the port is horloge-netd.socket's; else `listen ADDRESS port N`";
  if (oneOf(d, {"rtcsync", "rtcfile", "rtconutc", "rtcautotrim", "rtcdevice", "hwclockfile"})) {
    return "horloge does not manage an RTC (a Pi has none; `makestep` covers the boot)";
  }
  if (oneOf(d, {"logdir", "log", "logfile", "logconfig", "dumpdir", "dumponexit", "statistics",
                "filegen", "statsdir", "logchange", "mailonchange"})) {
    return "horloge logs to the journal; its figures are in `horlogectl` and /metrics";
  }
  // chrony's NTS server directives, as horloge's `nts` lines.
  if (d == "ntsserverkey" || d == "ntsservercert") return "write `nts cert PATH key PATH`";
  if (d == "ntsratelimit") return "write `nts ratelimit` with the same options (interval, burst, leak)";
  if (d == "ntsport") return "write `nts port N`";
  if (d == "maxntsconnections") return "write `nts maxconnections N`";
  if (d == "ntsrotate") return "write `nts rotate SECONDS`";
  if (d == "ntsntpserver") return "write `nts ntpserver ADDRESS`";
  if (d == "ntsdumpdir") return "the NTS server keys are kept in `statedir` (no line needed)";
  if (oneOf(d, {"keyfile", "keys", "trustedkey", "requestkey", "controlkey", "authselectmode",
                "ntstrustedcerts", "crypto"})) {
    return "symmetric keys, and NTS towards upstream servers, are not supported";
  }
  if (oneOf(d, {"cmdallow", "cmddeny", "bindcmdaddress", "cmdport", "cmdratelimit"})) {
    return "horlogectl reads a Unix socket (root or group _horloge-monitord): nothing is served "
           "over the network";
  }
  if (d == "hwtimestamp") return "netd takes kernel receive and transmit timestamps by itself";
  if (oneOf(d, {"broadcast", "broadcastclient", "manycastserver", "manycastclient",
                "multicastclient"})) {
    return "broadcast and multicast modes are not supported: clients poll netd";
  }
  if (oneOf(d, {"tinker", "tos", "maxupdateskew", "maxdistance", "maxjitter", "minsources",
                "maxchange", "maxdrift", "corrtimeratio", "combinelimit", "reselectdist",
                "stratumweight", "maxsamples", "minsamples", "clientloglimit", "noclientlog",
                "smoothtime", "lock_all", "sched_priority", "pidfile", "initstepslew",
                "fallbackdrift", "mindelay"})) {
    return "chrony's or ntpd's tuning: horloge has no such setting (docs/configuration.md lists "
           "every directive)";
  }
  if (oneOf(d, {"include", "includefile", "confdir", "sourcedir"})) {
    return "horloge reads one file, /etc/horloge/horloge.conf";
  }
  return "";
}

std::string foreignOptionHint(const std::string& directive, const std::string& option) {
  if (directive == "refclock") {
    if (option == "refid") return "the refid is PPS or NMEA by what the samples are";
    if (option == "lock") {
      return "no `lock` needed: PPS edges are numbered by a `refclock nmea` of the same file, or by "
             "clockd's clock once it is within 0.4 s";
    }
    if (oneOf(option, {"delay", "precision"})) {
      return "each sample's error comes from its kind (PPS about 1 us, NMEA 100 ms with a known "
             "delay, else 0.9 s)";
    }
    if (oneOf(option, {"noselect", "prefer", "trust", "require"})) {
      return "selection prefers PPS edges, then NMEA time: there is no per-refclock choice";
    }
    if (oneOf(option, {"poll", "dpoll", "filter", "rate", "width", "maxlockage", "stratum", "tai",
                       "pps", "maxdispersion", "local"})) {
      return "not needed: refclockd reads every edge and sentence as it comes";
    }
    if (option == "clear") return "write `edge clear`";
  }
  if (directive == "server") {
    if (option == "xleave") return "not needed: netd answers interleaved requests by itself";
    if (option == "burst") return "`burst` is abuse for a public server: `iburst` only";
    if (oneOf(option, {"key", "nts", "certset", "extfield"})) return "keys and NTS are not supported";
    if (oneOf(option, {"maxsources", "preempt", "true"})) return "a `pool` option: horloge has no `pool`";
  }
  return "";
}

std::string foreignDriverHint(const std::string& driver) {
  if (driver == "SHM" || driver == "PPS" || driver == "SOCK") {
    std::string lower;
    for (char c: driver) lower += char(c - 'A' + 'a');
    return "chrony's `refclock " + driver + "`: write `refclock " + lower + " ...` (lower case)";
  }
  if (driver == "PHC") return "PTP hardware clocks are not supported";
  return "";
}

std::string ntpdRefclockHint(const std::string& address) {
  if (address.rfind("127.127.", 0) != 0) return "";
  auto dot = address.find('.', 8);
  if (dot == std::string::npos) return "";
  int type = atoi(address.c_str() + 8);
  std::string unit = address.substr(dot + 1);
  switch (type) {
    case 28: return "ntpd's SHM driver: write `refclock shm " + unit + "` (`offset` for its fudge time1)";
    case 22: return "ntpd's PPS (ATOM) driver: write `refclock pps /dev/pps" + unit + "`";
    case 20: return "ntpd's NMEA driver: write `refclock nmea DEVICE baud N` (its /dev/gps" + unit +
                    " is a link to the receiver's port)";
    case 46: return "ntpd's GPSD JSON driver: let gpsd feed `refclock shm 0` and `refclock shm 1`, "
                    "or `refclock sock`";
    case 1: return "ntpd's local clock: horloge never serves its free-running clock (LI=3 instead)";
  }
  return "an ntpd reference clock address, not a server: write a `refclock` line";
}

}  // namespace horloge
