// NTS-KE records (RFC 8915 §4): what a client sends over TLS, what ntskd answers. Pure
// functions: bytes in, a request or a refusal out; a response's bytes out.
//   record = critical bit (1) | type (15) | body length (16) | body
#pragma once
#include <cstddef>
#include <cstdint>
#include <kj/array.h>
#include <kj/string.h>
#include <kj/vector.h>

namespace horloge::nts {

enum RecordType : uint16_t {
  END_OF_MESSAGE = 0,
  NEXT_PROTOCOL = 1,
  ERROR = 2,
  WARNING = 3,
  AEAD_ALGORITHM = 4,
  NEW_COOKIE = 5,
  NTPV4_SERVER = 6,
  NTPV4_PORT = 7,
};
constexpr uint16_t PROTOCOL_NTPV4 = 0;
constexpr uint16_t AEAD_AES_SIV_CMAC_256 = 15;
constexpr uint16_t ERROR_UNRECOGNIZED_CRITICAL = 0;
constexpr uint16_t ERROR_BAD_REQUEST = 1;
constexpr size_t MAX_REQUEST = 1024;   // a real request is a few dozen bytes
constexpr char EXPORTER_LABEL[] = "EXPORTER-network-time-security";
constexpr char ALPN[] = "ntske/1";

// Why a request was refused: each a failure counter of ntskd.
enum class KeRefusal : uint8_t {
  NONE,
  INCOMPLETE,          // no End of Message yet (more may come)
  TRUNCATED,           // the connection ended inside a record or before End of Message
  OVERSIZED,           // more than MAX_REQUEST bytes
  UNKNOWN_CRITICAL,    // a critical record we do not know
  BAD_REQUEST,         // malformed, no NTPv4 or no AES-SIV-CMAC-256 offered, an Error record
};
const char* refusalName(KeRefusal r);   // "truncated", ...

struct KeRequest {
  bool ntpv4 = false;               // NTPv4 among the offered next protocols
  bool aesSiv = false;              // AEAD_AES_SIV_CMAC_256 among the offered algorithms
  size_t length = 0;                // bytes up to and including End of Message
};

// Parses the request received so far. INCOMPLETE: wait for more (the caller turns it into
// TRUNCATED at end of stream, or OVERSIZED past MAX_REQUEST).
KeRefusal parseRequest(kj::ArrayPtr<const uint8_t> data, KeRequest& out);

// The answer to a refused request: an Error record then End of Message.
kj::Array<uint8_t> errorResponse(uint16_t code);

// The answer to a good request: NTPv4, AES-SIV-CMAC-256, the server and port when given
// (empty, 0: none), each cookie, End of Message.
kj::Array<uint8_t> successResponse(kj::ArrayPtr<const kj::Array<uint8_t>> cookies,
                                   kj::StringPtr server, uint16_t port);

// The exporter context of RFC 8915 §5.1 for NTPv4 with AES-SIV-CMAC-256; `s2c` picks the key.
void exporterContext(bool s2c, uint8_t out[5]);

}  // namespace horloge::nts
