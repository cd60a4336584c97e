#include "nts-packet.h"
#include "packet.h"
#include <cstring>

namespace horloge::netd {

namespace {

uint16_t load16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

void store16(uint8_t* p, size_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

size_t padded(size_t n) { return (n + 3) & ~size_t(3); }

constexpr size_t COOKIE_FIELD = 4 + nts::COOKIE_SIZE;   // a multiple of 4
// Authenticator field without its plaintext: header, the two lengths, nonce, tag.
constexpr size_t AUTH_OVERHEAD = 4 + 4 + NTS_NONCE_SIZE + nts::SIV_TAG_SIZE;

}  // namespace

NtsParse parseNts(const uint8_t* p, size_t length, NtsRequest& out) {
  out = NtsRequest{};
  bool any = false, auth = false, malformed = false;
  unsigned uniqueIds = 0, cookies = 0;
  size_t off = PACKET_SIZE;
  while (off + 4 <= length) {
    uint16_t type = load16(p + off);
    size_t fieldLength = load16(p + off + 2);
    if (fieldLength < 4 || off + fieldLength > length) return any ? NtsParse::MALFORMED : NtsParse::NOT_NTS;
    const uint8_t* body = p + off + 4;
    size_t bodyLength = fieldLength - 4;
    if (auth) malformed = true;   // nothing may follow the authenticator
    switch (type) {
      case EF_UNIQUE_ID:
        any = true;
        ++uniqueIds;
        out.uniqueId = p + off;
        out.uniqueIdLength = fieldLength;
        if (bodyLength < 32) malformed = true;
        break;
      case EF_COOKIE:
        any = true;
        ++cookies;
        out.cookie = body;
        out.cookieLength = bodyLength;
        break;
      case EF_PLACEHOLDER:
        any = true;
        ++out.placeholders;
        break;
      case EF_AUTHENTICATOR: {
        any = true;
        if (auth || bodyLength < 4) {
          malformed = true;
          break;
        }
        auth = true;
        size_t nonceLength = load16(body);
        size_t cipherLength = load16(body + 2);
        if (nonceLength < 16 || cipherLength < nts::SIV_TAG_SIZE ||
            4 + padded(nonceLength) + padded(cipherLength) > bodyLength) {
          malformed = true;
          break;
        }
        out.authOffset = off;
        out.nonce = body + 4;
        out.nonceLength = nonceLength;
        out.ciphertext = body + 4 + padded(nonceLength);
        out.ciphertextLength = cipherLength;
        break;
      }
      default:
        break;   // a field we do not know: ignored, never echoed
    }
    off += fieldLength;
  }
  if (!any) return NtsParse::NOT_NTS;
  if (malformed || off != length || uniqueIds != 1 || cookies != 1 || !auth) return NtsParse::MALFORMED;
  return NtsParse::NTS;
}

NtsCheck checkNts(NtsCrypto& crypto, const uint8_t* packet, const NtsRequest& request,
                  nts::SessionKeys& session) {
  if (crypto.cookies.open(kj::arrayPtr(request.cookie, request.cookieLength), session) !=
      nts::CookieResult::OK) {
    return NtsCheck::NAK;   // also with no keys yet
  }
  // The plaintext (encrypted extension fields) is not used: we act on none of them.
  uint8_t plain[2048];
  if (request.ciphertextLength - nts::SIV_TAG_SIZE > sizeof(plain)) return NtsCheck::NAK;
  bool ok = crypto.session.set(session.c2s) &&
            crypto.session.open(kj::arrayPtr(request.nonce, request.nonceLength),
                                kj::arrayPtr(packet, request.authOffset),
                                kj::arrayPtr(request.ciphertext, request.ciphertextLength), plain);
  return ok ? NtsCheck::OK : NtsCheck::NAK;
}

unsigned replyCookies(const NtsRequest& request, size_t requestLength) {
  unsigned want = 1 + request.placeholders;
  if (want > MAX_REPLY_COOKIES) want = MAX_REPLY_COOKIES;
  size_t fixed = PACKET_SIZE + request.uniqueIdLength + AUTH_OVERHEAD;
  if (requestLength < fixed) return 0;
  size_t room = (requestLength - fixed) / COOKIE_FIELD;
  return room < want ? static_cast<unsigned>(room) : want;
}

size_t sealNtsReply(NtsCrypto& crypto, const nts::SessionKeys& session, const NtsRequest& request,
                    size_t requestLength, const uint8_t* random, uint8_t* reply) {
  unsigned n = replyCookies(request, requestLength);
  size_t off = PACKET_SIZE;
  memcpy(reply + off, request.uniqueId, request.uniqueIdLength);
  off += request.uniqueIdLength;
  size_t adLength = off;

  // The plaintext: one cookie field per cookie, sealed under the current key.
  uint8_t plain[MAX_REPLY_COOKIES * COOKIE_FIELD];
  for (unsigned i = 0; i < n; ++i) {
    uint8_t* f = plain + i * COOKIE_FIELD;
    store16(f, EF_COOKIE);
    store16(f + 2, COOKIE_FIELD);
    if (!crypto.cookies.seal(session, random + NTS_NONCE_SIZE + i * nts::COOKIE_NONCE_SIZE, f + 4)) {
      return 0;
    }
  }
  size_t plainLength = n * COOKIE_FIELD;
  size_t cipherLength = nts::SIV_TAG_SIZE + plainLength;
  uint8_t* auth = reply + off;
  store16(auth, EF_AUTHENTICATOR);
  store16(auth + 2, AUTH_OVERHEAD + plainLength);
  store16(auth + 4, NTS_NONCE_SIZE);
  store16(auth + 6, cipherLength);
  memcpy(auth + 8, random, NTS_NONCE_SIZE);
  if (!crypto.session.set(session.s2c) ||
      !crypto.session.seal(kj::arrayPtr(random, NTS_NONCE_SIZE), kj::arrayPtr(reply, adLength),
                           kj::arrayPtr(plain, plainLength), auth + 8 + NTS_NONCE_SIZE)) {
    return 0;
  }
  return off + AUTH_OVERHEAD + plainLength;
}

size_t ntsNak(const NtsRequest& request, uint8_t* reply) {
  memcpy(reply + PACKET_SIZE, request.uniqueId, request.uniqueIdLength);
  return PACKET_SIZE + request.uniqueIdLength;
}

}  // namespace horloge::netd
