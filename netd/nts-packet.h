// The NTS rules for one NTPv4 request (RFC 8915 §5), as pure functions over bytes and keys, so
// that they are testable and fuzzed like packet.h. A request is NTS when it carries any of the
// NTS extension fields; then it must carry exactly one Unique Identifier (at least 32 bytes),
// one NTS Cookie, any NTS Cookie Placeholders, and one NTS Authenticator and Encrypted
// Extension Fields field, the last one, with a nonce of at least 16 bytes. Anything else is
// malformed: dropped without a word (Drop::NTS).
//
// A well-formed request whose cookie does not open (a key rotated out a week ago, or not ours)
// or that the cookie's C2S key does not authenticate gets an NTS NAK: a kiss-o'-death "NTSN"
// with the Unique Identifier echoed. Otherwise the reply carries the Unique Identifier and an
// Authenticator sealed under S2C over the header and that field, holding one fresh cookie per
// cookie and placeholder of the request (at most 8), fewer if the reply would grow past the
// request's size: a reply is never larger than its request.
#pragma once
#include "cookie.h"
#include <cstddef>
#include <cstdint>

namespace horloge::netd {

constexpr uint16_t EF_UNIQUE_ID = 0x0104;
constexpr uint16_t EF_COOKIE = 0x0204;
constexpr uint16_t EF_PLACEHOLDER = 0x0304;
constexpr uint16_t EF_AUTHENTICATOR = 0x0404;
constexpr uint32_t KISS_NTSN = 0x4e54534e;   // "NTSN"
constexpr size_t NTS_NONCE_SIZE = 16;         // the nonce of our replies
constexpr unsigned MAX_REPLY_COOKIES = 8;

struct NtsRequest {
  const uint8_t* uniqueId = nullptr;   // the whole field, header included (echoed as it is)
  size_t uniqueIdLength = 0;
  const uint8_t* cookie = nullptr;     // the cookie's body
  size_t cookieLength = 0;
  unsigned placeholders = 0;
  size_t authOffset = 0;               // where the authenticator field starts: the AD's end
  const uint8_t* nonce = nullptr;
  size_t nonceLength = 0;
  const uint8_t* ciphertext = nullptr; // tag + encrypted extension fields
  size_t ciphertextLength = 0;
};

enum class NtsParse : uint8_t { NOT_NTS, NTS, MALFORMED };

// Reads the extension fields of a request whose framing prepareReply() accepted (fields of at
// least 16 bytes, multiples of 4, within the datagram). Never reads past `length`.
NtsParse parseNts(const uint8_t* packet, size_t length, NtsRequest& out);

enum class NtsCheck : uint8_t { OK, NAK };

// A worker's NTS cryptography, made before lockdown: the server keys ready for cookies (keyed
// when they change), and one SivKey keyed for each request with its C2S, then its S2C key.
struct NtsCrypto {
  nts::CookieKeys cookies;
  nts::SivKey session;
};

// Opens the cookie under one of `crypto`'s server keys (none yet: NAK) and authenticates the
// request with the cookie's C2S key. On OK, `session` holds the keys the reply is sealed with.
NtsCheck checkNts(NtsCrypto& crypto, const uint8_t* packet, const NtsRequest& request,
                  nts::SessionKeys& session);

// The number of cookies a reply to `request` (`requestLength` bytes) carries.
unsigned replyCookies(const NtsRequest& request, size_t requestLength);

// Appends the Unique Identifier and the Authenticator (with `replyCookies()` cookies sealed
// under the current server key) to the 48-byte header in `reply`, whose every field must be
// final (the transmit time included: it is authenticated). `random` holds NTS_NONCE_SIZE bytes
// for the reply and COOKIE_NONCE_SIZE per cookie. Returns the reply's length (<= requestLength),
// or 0 if sealing failed (no server keys, or OpenSSL failed).
size_t sealNtsReply(NtsCrypto& crypto, const nts::SessionKeys& session, const NtsRequest& request,
                    size_t requestLength, const uint8_t* random, uint8_t* reply);

// Appends the Unique Identifier to a kiss-o'-death header (makeKissOfDeath(reply, KISS_NTSN)):
// an NTS NAK. Returns its length.
size_t ntsNak(const NtsRequest& request, uint8_t* reply);

}  // namespace horloge::netd
