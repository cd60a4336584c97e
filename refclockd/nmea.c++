#include "nmea.h"
#include <algorithm>
#include <charconv>
#include <cstdio>
#include <vector>

namespace horloge::nmea {

bool Framer::push(char c) {
  if (c == '$') {               // a new sentence always restarts framing
    buf[0] = c;
    len = 1;
    inside = true;
    tooLong = false;
    return false;
  }
  if (!inside) return false;
  if (c == '\r' || c == '\n') {
    inside = false;
    if (tooLong) { ++dropped; return false; }
    return len > 1;
  }
  if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) {
    inside = false;             // binary noise ends the line; wait for the next '$'
    ++cut;
    return false;
  }
  if (len == MAX_LINE) { tooLong = true; return false; }
  buf[len++] = c;
  return false;
}

int64_t Time::unixSeconds() const {
  // Days from civil (H. Hinnant's algorithm), valid for the proleptic Gregorian calendar.
  int y = year - (month <= 2);
  int era = (y >= 0 ? y : y - 399) / 400;
  unsigned yoe = static_cast<unsigned>(y - era * 400);
  unsigned doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  int64_t days = int64_t(era) * 146097 + doe - 719468;
  // A leap second (23:59:60) has no Unix number of its own: it is 23:59:59 repeated, as the
  // kernel's clock reads during an inserted second (STA_INS), not the next midnight.
  return days * 86400 + hour * 3600 + minute * 60 + (second == 60 ? 59 : second);
}

namespace {

std::vector<std::string_view> fields(std::string_view s) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == ',') {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

bool toInt(std::string_view s, int& v) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size();
}

bool twoDigits(std::string_view s, size_t at, int& v) {
  return s.size() >= at + 2 && toInt(s.substr(at, 2), v);
}

// "hhmmss[.ss]": NMEA time of day. Fractions are ignored: time sentences name the second.
bool timeOfDay(std::string_view s, Time& t) {
  if (s.size() < 6 || (s.size() > 6 && s[6] != '.')) return false;
  return twoDigits(s, 0, t.hour) && twoDigits(s, 2, t.minute) && twoDigits(s, 4, t.second) &&
         t.hour < 24 && t.minute < 60 && t.second <= 60;
}

bool plausibleDate(const Time& t) {
  static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leapYear = (t.year % 4 == 0 && t.year % 100 != 0) || t.year % 400 == 0;
  return t.year >= 1980 && t.year <= 2200 && t.month >= 1 && t.month <= 12 && t.day >= 1 &&
         t.day <= mdays[t.month - 1] && (t.month != 2 || t.day != 29 || leapYear);
}

// An optional bounded integer field: empty gives -1.
bool optInt(std::string_view s, int& v, int lo, int hi) {
  if (s.empty()) { v = -1; return true; }
  return toInt(s, v) && v >= lo && v <= hi;
}

// An optional non-negative decimal such as HDOP "0.9"; empty gives -1.
bool optDecimal(std::string_view s, double& v, double hi) {
  if (s.empty()) { v = -1; return true; }
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size() && v >= 0 && v <= hi;
}

// "ddmm.mmmm",N|S (degrees = 2 digits, or 3 for longitude) into signed degrees. Both empty:
// no position (false in `present`).
bool coordinate(std::string_view v, std::string_view hemi, int degDigits, double& out,
                bool& present) {
  if (v.empty() && hemi.empty()) { present = false; return true; }
  present = true;
  if (v.size() < size_t(degDigits) + 2 || hemi.size() != 1) return false;
  int deg;
  if (!toInt(v.substr(0, degDigits), deg)) return false;
  double minutes;
  std::string_view m = v.substr(degDigits);
  auto [p, ec] = std::from_chars(m.data(), m.data() + m.size(), minutes);
  if (ec != std::errc() || p != m.data() + m.size() || minutes < 0 || minutes >= 60) return false;
  out = deg + minutes / 60;
  if (out > (degDigits == 2 ? 90 : 180)) return false;
  if (hemi == "S" || hemi == "W") out = -out;
  else if (hemi != (degDigits == 2 ? "N" : "E")) return false;
  return true;
}

bool position(std::string_view lat, std::string_view ns, std::string_view lon,
              std::string_view ew, std::optional<Position>& out) {
  Position p{};
  bool hasLat, hasLon;
  if (!coordinate(lat, ns, 2, p.latitude, hasLat) || !coordinate(lon, ew, 3, p.longitude, hasLon))
    return false;
  if (hasLat != hasLon) return false;
  if (hasLat) out = p;
  return true;
}

bool altitude(std::string_view s, std::optional<Position>& p) {
  if (s.empty() || !p) return true;
  double a;
  auto [e, ec] = std::from_chars(s.data(), s.data() + s.size(), a);
  if (ec != std::errc() || e != s.data() + s.size() || a < -1000 || a > 100000) return false;
  p->altitude = a;
  return true;
}

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

uint8_t xorOf(std::string_view s) {
  uint8_t x = 0;
  for (char c: s) x ^= static_cast<uint8_t>(c);
  return x;
}

}  // namespace

std::string withChecksum(std::string_view body) {
  char tail[4];
  snprintf(tail, sizeof(tail), "*%02X", xorOf(body.substr(1)));
  return std::string(body) + tail;
}

Error parse(std::string_view line, Sentence& out) {
  if (line.size() < 10 || line[0] != '$') return Error::SYNTAX;
  size_t star = line.rfind('*');
  if (star == std::string_view::npos || star + 3 != line.size()) return Error::SYNTAX;
  int hi = hex(line[star + 1]), lo = hex(line[star + 2]);
  if (hi < 0 || lo < 0) return Error::SYNTAX;
  std::string_view body = line.substr(1, star - 1);
  if (xorOf(body) != (hi << 4 | lo)) return Error::CHECKSUM;

  auto f = fields(body);
  if (f[0].size() != 5) return Error::SYNTAX;
  out = Sentence{};
  out.talker = std::string(f[0].substr(0, 2));
  out.type = std::string(f[0].substr(2));
  Time t{};
  if (out.type == "RMC") {
    // $--RMC,time,status,lat,N,lon,E,speed,course,ddmmyy,...
    if (f.size() < 10) return Error::SYNTAX;
    out.valid = f[2] == "A";
    if (!position(f[3], f[4], f[5], f[6], out.position)) return Error::SYNTAX;
    if (!out.valid) out.position.reset();
    if (!f[1].empty() && f[9].size() == 6 && out.valid) {
      int yy;
      if (!timeOfDay(f[1], t) || !twoDigits(f[9], 0, t.day) || !twoDigits(f[9], 2, t.month) ||
          !twoDigits(f[9], 4, yy))
        return Error::SYNTAX;
      t.year = 2000 + yy;   // RMC's two-digit year: valid 2000-2099
      if (!plausibleDate(t)) return Error::SYNTAX;
      out.time = t;
    }
    return Error::NONE;
  }
  if (out.type == "ZDA") {
    // $--ZDA,time,dd,mm,yyyy,zh,zm
    if (f.size() < 5) return Error::SYNTAX;
    if (f[1].empty()) return Error::NONE;
    if (!timeOfDay(f[1], t) || !toInt(f[2], t.day) || !toInt(f[3], t.month) ||
        !toInt(f[4], t.year) || !plausibleDate(t))
      return Error::SYNTAX;
    out.time = t;
    return Error::NONE;
  }
  if (out.type == "GGA") {
    // $--GGA,time,lat,N,lon,E,quality,numsats,hdop,alt,M,...
    if (f.size() < 8) return Error::SYNTAX;
    if (!toInt(f[6], out.fixQuality) || out.fixQuality < 0 || out.fixQuality > 9)
      return Error::SYNTAX;
    if (!f[7].empty() && (!toInt(f[7], out.satellitesUsed) || out.satellitesUsed < 0 ||
                          out.satellitesUsed > 99))
      return Error::SYNTAX;
    if (f.size() > 8 && !optDecimal(f[8], out.hdop, 99.99)) return Error::SYNTAX;
    if (!position(f[2], f[3], f[4], f[5], out.position) ||
        (f.size() > 9 && !altitude(f[9], out.position)))
      return Error::SYNTAX;
    out.valid = out.fixQuality > 0;
    if (!out.valid) out.position.reset();
    return Error::NONE;
  }
  if (out.type == "GNS") {
    // $--GNS,time,lat,N,lon,E,mode,numsats,hdop,alt,sep,age,station[,navstatus]
    // `mode` has one letter per constellation: N none, A autonomous, D differential, ...
    if (f.size() < 10) return Error::SYNTAX;
    if (!f[1].empty() && !timeOfDay(f[1], t)) return Error::SYNTAX;
    if (f[6].empty()) return Error::SYNTAX;
    int quality = 0;
    for (char c: f[6]) {
      switch (c) {
        case 'N': break;
        case 'A': case 'E': case 'M': case 'S': quality = std::max(quality, 1); break;
        case 'D': case 'P': quality = std::max(quality, 2); break;
        case 'R': quality = std::max(quality, 4); break;
        case 'F': quality = std::max(quality, 5); break;
        default: return Error::SYNTAX;
      }
    }
    out.fixQuality = quality;
    if (!optInt(f[7], out.satellitesUsed, 0, 99) || !optDecimal(f[8], out.hdop, 99.99) ||
        !position(f[2], f[3], f[4], f[5], out.position) || !altitude(f[9], out.position))
      return Error::SYNTAX;
    out.valid = quality > 0;
    if (!out.valid) out.position.reset();
    return Error::NONE;
  }
  if (out.type == "GSA") {
    // $--GSA,A|M,mode,prn*12,pdop,hdop,vdop[,systemId]
    if (f.size() < 18) return Error::SYNTAX;
    if (f[1] != "A" && f[1] != "M") return Error::SYNTAX;
    if (!toInt(f[2], out.fixMode) || out.fixMode < 1 || out.fixMode > 3) return Error::SYNTAX;
    int used = 0;
    for (int i = 3; i < 15; ++i) {
      int prn;
      if (!optInt(f[i], prn, 1, 999)) return Error::SYNTAX;
      used += prn > 0;
    }
    out.satellitesUsed = used;
    double vdop;
    if (!optDecimal(f[15], out.pdop, 99.99) || !optDecimal(f[16], out.hdop, 99.99) ||
        !optDecimal(f[17], vdop, 99.99))
      return Error::SYNTAX;
    out.valid = out.fixMode >= 2;
    return Error::NONE;
  }
  if (out.type == "GSV") {
    // $--GSV,count,index,inview,{prn,elev,azim,snr}*0..4[,signalId]
    if (f.size() < 4) return Error::SYNTAX;
    if (!toInt(f[1], out.gsvCount) || !toInt(f[2], out.gsvIndex) || !toInt(f[3], out.inView) ||
        out.gsvCount < 1 || out.gsvCount > 9 || out.gsvIndex < 1 ||
        out.gsvIndex > out.gsvCount || out.inView < 0 || out.inView > 99)
      return Error::SYNTAX;
    size_t groups = (f.size() - 4) / 4;
    if (groups > 4 || (f.size() - 4) % 4 > 1) return Error::SYNTAX;
    for (size_t g = 0; g < groups; ++g) {
      SatelliteInView& sv = out.sats[out.satCount];
      size_t at = 4 + g * 4;
      if (!optInt(f[at], sv.prn, 1, 999) || !optInt(f[at + 1], sv.elevation, -90, 90) ||
          !optInt(f[at + 2], sv.azimuth, 0, 359) || !optInt(f[at + 3], sv.snr, 0, 99))
        return Error::SYNTAX;
      if (sv.prn > 0) ++out.satCount;   // an empty group pads the last message
    }
    return Error::NONE;
  }
  return Error::UNSUPPORTED;
}

}  // namespace horloge::nmea
