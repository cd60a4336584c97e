#include "ke-records.h"
#include <cstring>

namespace horloge::nts {

const char* refusalName(KeRefusal r) {
  switch (r) {
    case KeRefusal::NONE: return "none";
    case KeRefusal::INCOMPLETE: return "incomplete";
    case KeRefusal::TRUNCATED: return "truncated";
    case KeRefusal::OVERSIZED: return "oversized";
    case KeRefusal::UNKNOWN_CRITICAL: return "unknown-critical";
    case KeRefusal::BAD_REQUEST: return "bad-request";
  }
  return "?";
}

namespace {

uint16_t load16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

void put16(kj::Vector<uint8_t>& out, uint16_t v) {
  out.add(static_cast<uint8_t>(v >> 8));
  out.add(static_cast<uint8_t>(v));
}

void record(kj::Vector<uint8_t>& out, bool critical, uint16_t type,
            kj::ArrayPtr<const uint8_t> body) {
  put16(out, static_cast<uint16_t>((critical ? 0x8000 : 0) | type));
  put16(out, static_cast<uint16_t>(body.size()));
  out.addAll(body);
}

void record16(kj::Vector<uint8_t>& out, bool critical, uint16_t type, uint16_t value) {
  uint8_t body[2] = {static_cast<uint8_t>(value >> 8), static_cast<uint8_t>(value)};
  record(out, critical, type, body);
}

}  // namespace

KeRefusal parseRequest(kj::ArrayPtr<const uint8_t> data, KeRequest& out) {
  out = KeRequest{};
  bool protocols = false, algorithms = false;
  size_t off = 0;
  while (true) {
    if (off >= MAX_REQUEST) return KeRefusal::OVERSIZED;
    if (data.size() - off < 4) return data.size() > MAX_REQUEST ? KeRefusal::OVERSIZED : KeRefusal::INCOMPLETE;
    bool critical = data[off] & 0x80;
    uint16_t type = load16(data.begin() + off) & 0x7fff;
    size_t length = load16(data.begin() + off + 2);
    if (off + 4 + length > MAX_REQUEST) return KeRefusal::OVERSIZED;
    if (data.size() - off - 4 < length) return KeRefusal::INCOMPLETE;
    const uint8_t* body = data.begin() + off + 4;
    off += 4 + length;
    switch (type) {
      case END_OF_MESSAGE:
        if (length != 0) return KeRefusal::BAD_REQUEST;
        if (off != data.size()) return KeRefusal::BAD_REQUEST;   // nothing may follow it
        if (!protocols || !out.ntpv4 || !algorithms || !out.aesSiv) return KeRefusal::BAD_REQUEST;
        out.length = off;
        return KeRefusal::NONE;
      case NEXT_PROTOCOL:
        // Exactly once, critical, a list of 16-bit protocol ids.
        if (protocols || !critical || length % 2 != 0) return KeRefusal::BAD_REQUEST;
        protocols = true;
        for (size_t i = 0; i < length; i += 2) out.ntpv4 |= load16(body + i) == PROTOCOL_NTPV4;
        break;
      case AEAD_ALGORITHM:
        if (algorithms || length % 2 != 0) return KeRefusal::BAD_REQUEST;
        algorithms = true;
        for (size_t i = 0; i < length; i += 2) out.aesSiv |= load16(body + i) == AEAD_AES_SIV_CMAC_256;
        break;
      case ERROR:
      case WARNING:
      case NEW_COOKIE:
        return KeRefusal::BAD_REQUEST;   // a server's records, never a client's
      case NTPV4_SERVER:
      case NTPV4_PORT:
        break;                           // the client's wishes: we say where to go
      default:
        if (critical) return KeRefusal::UNKNOWN_CRITICAL;
        break;                           // unknown and not critical: ignored (§4)
    }
  }
}

kj::Array<uint8_t> errorResponse(uint16_t code) {
  kj::Vector<uint8_t> out;
  record16(out, true, ERROR, code);
  record(out, true, END_OF_MESSAGE, nullptr);
  return out.releaseAsArray();
}

kj::Array<uint8_t> successResponse(kj::ArrayPtr<const kj::Array<uint8_t>> cookies,
                                   kj::StringPtr server, uint16_t port) {
  kj::Vector<uint8_t> out;
  record16(out, true, NEXT_PROTOCOL, PROTOCOL_NTPV4);
  record16(out, true, AEAD_ALGORITHM, AEAD_AES_SIV_CMAC_256);
  if (server.size() > 0) record(out, true, NTPV4_SERVER, server.asBytes());
  if (port != 0) record16(out, true, NTPV4_PORT, port);
  for (auto& c: cookies) record(out, false, NEW_COOKIE, c);
  record(out, true, END_OF_MESSAGE, nullptr);
  return out.releaseAsArray();
}

void exporterContext(bool s2c, uint8_t out[5]) {
  out[0] = PROTOCOL_NTPV4 >> 8;
  out[1] = PROTOCOL_NTPV4 & 0xff;
  out[2] = AEAD_AES_SIV_CMAC_256 >> 8;
  out[3] = AEAD_AES_SIV_CMAC_256 & 0xff;
  out[4] = s2c ? 1 : 0;
}

}  // namespace horloge::nts
