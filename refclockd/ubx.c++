#include "ubx.h"
#include <cmath>

namespace horloge::ubx {

namespace {

uint32_t u32(std::string_view p, size_t at) {
  return uint32_t(uint8_t(p[at])) | uint32_t(uint8_t(p[at + 1])) << 8 |
         uint32_t(uint8_t(p[at + 2])) << 16 | uint32_t(uint8_t(p[at + 3])) << 24;
}
uint16_t u16(std::string_view p, size_t at) {
  return uint16_t(uint8_t(p[at]) | uint8_t(p[at + 1]) << 8);
}
void put(std::string& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}

}  // namespace

std::pair<uint8_t, uint8_t> checksum(std::string_view bytes) {
  uint8_t a = 0, b = 0;
  for (char c: bytes) {
    a += static_cast<uint8_t>(c);
    b += a;
  }
  return {a, b};
}

std::string frame(uint8_t cls, uint8_t id, std::string_view payload) {
  std::string body;
  body += static_cast<char>(cls);
  body += static_cast<char>(id);
  put(body, payload.size(), 2);
  body += payload;
  auto [a, b] = checksum(body);
  std::string out;
  out += static_cast<char>(SYNC1);
  out += static_cast<char>(SYNC2);
  out += body;
  out += static_cast<char>(a);
  out += static_cast<char>(b);
  return out;
}

Framer::Result Framer::push(uint8_t c) {
  switch (state) {
    case IDLE:
      if (c != SYNC1) return NOT_MINE;
      state = SYNC;
      return TAKEN;
    case SYNC:
      if (c == SYNC2) {
        state = CLASS;
        ckA = ckB = 0;
        current = Frame{};
        return TAKEN;
      }
      if (c == SYNC1) return TAKEN;   // B5 B5 62: the second one may start the frame
      state = IDLE;                   // a stray 0xB5 (never NMEA, which is ASCII)
      return NOT_MINE;
    case CLASS: current.cls = c; add(c); state = ID; return TAKEN;
    case ID: current.id = c; add(c); state = LEN1; return TAKEN;
    case LEN1: length = c; add(c); state = LEN2; return TAKEN;
    case LEN2:
      length |= size_t(c) << 8;
      add(c);
      if (length > MAX_PAYLOAD) {
        ++dropped;
        state = IDLE;
        return TAKEN;
      }
      current.payload.reserve(length);
      state = length == 0 ? CK_A : PAYLOAD;
      return TAKEN;
    case PAYLOAD:
      current.payload += static_cast<char>(c);
      add(c);
      if (current.payload.size() == length) state = CK_A;
      return TAKEN;
    case CK_A: gotA = c; state = CK_B; return TAKEN;
    case CK_B:
      state = IDLE;
      if (gotA != ckA || c != ckB) {
        ++dropped;
        return TAKEN;
      }
      ++frames;
      return FRAME;
  }
  return NOT_MINE;
}

std::optional<TimeLs> decodeTimeLs(std::string_view p) {
  if (p.size() != TIMELS_LENGTH || p[4] != 0) return std::nullopt;
  TimeLs t;
  t.iTowMs = u32(p, 0);
  t.version = uint8_t(p[4]);
  t.srcOfCurrLs = uint8_t(p[8]);
  t.currLs = int8_t(p[9]);
  t.srcOfLsChange = uint8_t(p[10]);
  t.lsChange = int8_t(p[11]);
  t.timeToLsEvent = static_cast<int32_t>(u32(p, 12));
  t.dateOfLsGpsWn = u16(p, 16);
  t.dateOfLsGpsDn = u16(p, 18);
  uint8_t valid = uint8_t(p[23]);
  t.validCurrLs = valid & 1;
  t.validTimeToLsEvent = valid & 2;
  return t;
}

std::string encodeTimeLs(const TimeLs& t) {
  std::string p;
  put(p, t.iTowMs, 4);
  put(p, t.version, 1);
  put(p, 0, 3);
  put(p, t.srcOfCurrLs, 1);
  put(p, static_cast<uint8_t>(t.currLs), 1);
  put(p, t.srcOfLsChange, 1);
  put(p, static_cast<uint8_t>(t.lsChange), 1);
  put(p, static_cast<uint32_t>(t.timeToLsEvent), 4);
  put(p, t.dateOfLsGpsWn, 2);
  put(p, t.dateOfLsGpsDn, 2);
  put(p, 0, 3);
  put(p, (t.validCurrLs ? 1 : 0) | (t.validTimeToLsEvent ? 2 : 0), 1);
  return p;
}

LeapReport leapReport(const TimeLs& t, int64_t epochUnix) {
  LeapReport r;
  // A GPS - UTC outside what any receiver can say (0 in 1980, 18 since 2017) is not believed.
  if (t.validCurrLs && t.currLs >= 0 && t.currLs <= 80) {
    r.currentValid = true;
    r.taiMinusUtc = t.currLs + GPS_TAI_OFFSET;
  }
  if (t.validTimeToLsEvent && epochUnix > 0 && t.lsChange >= -1 && t.lsChange <= 1) {
    r.changeValid = true;
    r.change = t.lsChange;
    if (t.lsChange != 0) {
      double at = static_cast<double>(epochUnix) + t.timeToLsEvent;
      r.atUnix = static_cast<int64_t>(std::llround(at / 86400.0)) * 86400;
    }
  }
  return r;
}

std::vector<std::string> enableTimeLs() {
  std::string msg;
  msg += static_cast<char>(CLASS_NAV);
  msg += static_cast<char>(ID_NAV_TIMELS);
  msg += static_cast<char>(1);   // once per navigation epoch, on this port
  std::string valset;
  put(valset, 0, 1);             // version 0
  put(valset, 0x01, 1);          // layer: RAM (until the receiver restarts: we send it again)
  put(valset, 0, 2);
  for (uint32_t key: {0x20910660u /* UART1 */, 0x20910662u /* USB */}) {
    put(valset, key, 4);
    put(valset, 1, 1);
  }
  return {frame(CLASS_CFG, ID_CFG_MSG, msg), frame(CLASS_CFG, ID_CFG_VALSET, valset)};
}

std::optional<Ack> decodeAck(const Frame& f) {
  if (f.cls != CLASS_ACK || (f.id != ID_ACK_ACK && f.id != ID_ACK_NAK) || f.payload.size() != 2)
    return std::nullopt;
  return Ack{f.id == ID_ACK_ACK, uint8_t(f.payload[0]), uint8_t(f.payload[1])};
}

std::string ackFrame(bool accepted, uint8_t cls, uint8_t id) {
  std::string p;
  p += static_cast<char>(cls);
  p += static_cast<char>(id);
  return frame(CLASS_ACK, accepted ? ID_ACK_ACK : ID_ACK_NAK, p);
}

}  // namespace horloge::ubx
