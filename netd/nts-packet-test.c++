#include "nts-packet.h"
#include "packet.h"
#include "rate-limiter.h"
#include "responder.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cstring>
#include <doctest/doctest.h>
#include <vector>

using namespace horloge;
using namespace horloge::netd;

namespace {

struct Fixture {
  nts::AesSiv siv;
  nts::KeySet keys;
  NtsCrypto crypto;
  nts::SessionKeys session;
  uint8_t cookie[nts::COOKIE_SIZE];

  Fixture() {
    keys.keys = kj::heapArray<nts::ServerKey>(1);
    keys.keys[0].id = 42;
    for (size_t i = 0; i < nts::SIV_KEY_SIZE; ++i) {
      keys.keys[0].key[i] = static_cast<uint8_t>(7 * i);
      session.c2s[i] = static_cast<uint8_t>(i);
      session.s2c[i] = static_cast<uint8_t>(200 - i);
    }
    uint8_t nonce[nts::COOKIE_NONCE_SIZE] = {9};
    REQUIRE(nts::sealCookie(siv, keys.keys[0], session, nonce, cookie));
    REQUIRE(crypto.cookies.set(keys.clone()));
  }
};

void field(std::vector<uint8_t>& p, uint16_t type, const std::vector<uint8_t>& body) {
  size_t len = 4 + body.size();
  p.push_back(static_cast<uint8_t>(type >> 8));
  p.push_back(static_cast<uint8_t>(type));
  p.push_back(static_cast<uint8_t>(len >> 8));
  p.push_back(static_cast<uint8_t>(len));
  p.insert(p.end(), body.begin(), body.end());
}

// A request as chrony makes one: header, unique id, cookie, placeholders, authenticator with
// an empty plaintext sealed under C2S.
std::vector<uint8_t> request(Fixture& f, unsigned placeholders, const uint8_t* c2s = nullptr) {
  std::vector<uint8_t> p(48, 0);
  p[0] = 0x23;   // v4, client
  for (int i = 40; i < 48; ++i) p[i] = static_cast<uint8_t>(i);
  field(p, EF_UNIQUE_ID, std::vector<uint8_t>(32, 0xab));
  field(p, EF_COOKIE, std::vector<uint8_t>(f.cookie, f.cookie + nts::COOKIE_SIZE));
  for (unsigned i = 0; i < placeholders; ++i) {
    field(p, EF_PLACEHOLDER, std::vector<uint8_t>(nts::COOKIE_SIZE, 0));
  }
  size_t ad = p.size();
  std::vector<uint8_t> nonce(16, 0x5a);
  uint8_t tag[16];
  REQUIRE(f.siv.seal(kj::arrayPtr(c2s ? c2s : f.session.c2s, 32), kj::arrayPtr(nonce.data(), 16),
                     kj::arrayPtr(p.data(), ad), nullptr, tag));
  std::vector<uint8_t> body = {0, 16, 0, 16};
  body.insert(body.end(), nonce.begin(), nonce.end());
  body.insert(body.end(), tag, tag + 16);
  field(p, EF_AUTHENTICATOR, body);
  return p;
}

}  // namespace

TEST_CASE("NTS: an authenticated request gets an authenticated reply with fresh cookies") {
  Fixture f;
  for (unsigned placeholders: {0u, 1u, 7u, 9u}) {
    CAPTURE(placeholders);
    auto p = request(f, placeholders);
    NtsRequest r;
    REQUIRE(parseNts(p.data(), p.size(), r) == NtsParse::NTS);
    CHECK(r.placeholders == placeholders);
    nts::SessionKeys session;
    REQUIRE(checkNts(f.crypto, p.data(), r, session) == NtsCheck::OK);
    CHECK(memcmp(session.s2c, f.session.s2c, 32) == 0);
    unsigned n = replyCookies(r, p.size());
    CHECK(n == std::min(1 + placeholders, MAX_REPLY_COOKIES));

    std::vector<uint8_t> reply(2048, 0x11);
    uint8_t random[16 + 8 * 16] = {1, 2, 3};
    size_t len = sealNtsReply(f.crypto, session, r, p.size(), random, reply.data());
    REQUIRE(len > 0);
    CHECK(len <= p.size());   // never an amplifier
    // The unique identifier echoed, then the authenticator, which opens under S2C.
    CHECK(memcmp(reply.data() + 48, r.uniqueId, r.uniqueIdLength) == 0);
    size_t auth = 48 + r.uniqueIdLength;
    CHECK(reply[auth] == 0x04);
    CHECK(reply[auth + 1] == 0x04);
    size_t cipherLength = size_t(reply[auth + 6]) << 8 | reply[auth + 7];
    CHECK(cipherLength == 16 + n * 104);
    std::vector<uint8_t> plain(cipherLength - 16);
    REQUIRE(f.siv.open(kj::arrayPtr(f.session.s2c, 32), kj::arrayPtr(reply.data() + auth + 8, 16),
                       kj::arrayPtr(reply.data(), auth),
                       kj::arrayPtr(reply.data() + auth + 24, cipherLength), plain.data()));
    // Each cookie in it opens to the same session keys.
    for (unsigned i = 0; i < n; ++i) {
      CHECK(plain[i * 104] == 0x02);
      nts::SessionKeys back;
      CHECK(nts::openCookie(f.siv, f.keys, kj::arrayPtr(plain.data() + i * 104 + 4, 100), back) ==
            nts::CookieResult::OK);
      CHECK(memcmp(back.c2s, f.session.c2s, 32) == 0);
    }
    // Tampering with the header after sealing breaks the authenticator.
    reply[40] ^= 1;
    CHECK_FALSE(f.siv.open(kj::arrayPtr(f.session.s2c, 32), kj::arrayPtr(reply.data() + auth + 8, 16),
                           kj::arrayPtr(reply.data(), auth),
                           kj::arrayPtr(reply.data() + auth + 24, cipherLength), plain.data()));
  }
}

TEST_CASE("NTS: unusable cookies and unauthentic requests get a NAK") {
  Fixture f;
  auto p = request(f, 0);
  NtsRequest r;
  REQUIRE(parseNts(p.data(), p.size(), r) == NtsParse::NTS);
  nts::SessionKeys session;
  NtsCrypto none;
  CHECK(checkNts(none, p.data(), r, session) == NtsCheck::NAK);   // no keys yet
  nts::KeySet rotated = f.keys.clone();
  rotated.keys[0].id = 43;
  NtsCrypto rotatedCrypto;
  REQUIRE(rotatedCrypto.cookies.set(kj::mv(rotated)));
  CHECK(checkNts(rotatedCrypto, p.data(), r, session) == NtsCheck::NAK);
  uint8_t wrong[32] = {1};
  auto q = request(f, 0, wrong);
  REQUIRE(parseNts(q.data(), q.size(), r) == NtsParse::NTS);
  CHECK(checkNts(f.crypto, q.data(), r, session) == NtsCheck::NAK);
  // The header is authenticated too.
  p[41] ^= 1;
  REQUIRE(parseNts(p.data(), p.size(), r) == NtsParse::NTS);
  CHECK(checkNts(f.crypto, p.data(), r, session) == NtsCheck::NAK);
  // A NAK: the kiss header and the unique identifier, no larger than the request.
  std::vector<uint8_t> reply(2048, 0);
  size_t len = ntsNak(r, reply.data());
  CHECK(len == 48 + 36);
  CHECK(memcmp(reply.data() + 48, r.uniqueId, 36) == 0);
}

TEST_CASE("NTS: malformed fields are dropped, plain requests are not NTS") {
  Fixture f;
  auto good = request(f, 1);
  NtsRequest r;
  std::vector<uint8_t> plain(48, 0);
  plain[0] = 0x23;
  CHECK(parseNts(plain.data(), plain.size(), r) == NtsParse::NOT_NTS);
  auto unknown = plain;
  field(unknown, 0x2005, std::vector<uint8_t>(12, 0));
  CHECK(parseNts(unknown.data(), unknown.size(), r) == NtsParse::NOT_NTS);

  auto without = [&](uint16_t type) {
    std::vector<uint8_t> p(good.begin(), good.begin() + 48);
    size_t off = 48;
    while (off < good.size()) {
      size_t len = size_t(good[off + 2]) << 8 | good[off + 3];
      uint16_t t = static_cast<uint16_t>(good[off] << 8 | good[off + 1]);
      if (t != type) p.insert(p.end(), good.begin() + off, good.begin() + off + len);
      off += len;
    }
    return p;
  };
  for (uint16_t t: {EF_UNIQUE_ID, EF_COOKIE, EF_AUTHENTICATOR}) {
    auto p = without(t);
    CHECK(parseNts(p.data(), p.size(), r) == NtsParse::MALFORMED);
  }
  // Two cookies; a field after the authenticator; a short unique id; a short nonce; lengths
  // that overrun the field.
  auto two = good;
  field(two, EF_COOKIE, std::vector<uint8_t>(100, 0));
  CHECK(parseNts(two.data(), two.size(), r) == NtsParse::MALFORMED);
  auto shortId = plain;
  field(shortId, EF_UNIQUE_ID, std::vector<uint8_t>(16, 1));
  field(shortId, EF_COOKIE, std::vector<uint8_t>(100, 0));
  field(shortId, EF_AUTHENTICATOR, std::vector<uint8_t>(36, 0));
  CHECK(parseNts(shortId.data(), shortId.size(), r) == NtsParse::MALFORMED);
  auto overrun = good;
  size_t auth = overrun.size() - 40;
  overrun[auth + 7] = 200;   // ciphertext length past the field
  CHECK(parseNts(overrun.data(), overrun.size(), r) == NtsParse::MALFORMED);
  auto shortNonce = good;
  shortNonce[auth + 5] = 8;
  CHECK(parseNts(shortNonce.data(), shortNonce.size(), r) == NtsParse::MALFORMED);
  // Every truncation of a good request either parses as NTS-malformed or is not NTS at all;
  // none reads past the end (ASan in tests/sanitizers.sh).
  for (size_t n = 48; n < good.size(); n += 4) {
    CHECK(parseNts(good.data(), n, r) != NtsParse::NTS);
  }
}

// The responder end to end over a loopback socket: NTS requests spend the same rate-limit
// credit as plain ones, and a limited one gets what a plain one would (a RATE kiss-o'-death or
// nothing), with no cookie opened and no reply larger than a plain header.
TEST_CASE("NTS: requests go through the same rate limiter as plain ones") {
  Fixture f;
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in server{};
  server.sin_family = AF_INET;
  server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(server);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&server), len) == 0);
  REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&server), &len) == 0);
  int client = socket(AF_INET, SOCK_DGRAM, 0);
  REQUIRE(client >= 0);
  timeval wait{0, 300'000};
  REQUIRE(setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof(wait)) == 0);

  StateCell cell;
  NtsKeyCell keys;
  keys.store(f.keys.clone());
  // 64 s between answers on average, a burst of 2, 1 limited request in 16 still answered.
  RateLimiter limiter(RateLimitOptions{6, 2, 4, true}, SipKey{1, 2});
  ResponderOptions options;
  options.rateLimiter = &limiter;
  options.ntsKeys = &keys;
  int fds[] = {fd};
  Responder responder(kj::arrayPtr(fds, 1), cell, options);

  uint8_t reply[2048];
  auto ask = [&](const std::vector<uint8_t>& p) -> ssize_t {
    REQUIRE(sendto(client, p.data(), p.size(), 0, reinterpret_cast<sockaddr*>(&server), len) ==
            ssize_t(p.size()));
    ssize_t n = recv(client, reply, sizeof(reply), 0);
    return n < 0 ? 0 : n;
  };
  auto stats = [&](auto done) {
    int64_t deadline = monotonicNs() + 5 * ntp::NS_PER_S;
    ResponderStats st = responder.stats();
    while (!done(st) && monotonicNs() < deadline) {
      usleep(1000);
      st = responder.stats();
    }
    return st;
  };

  // The burst spent by plain requests...
  std::vector<uint8_t> plain(48, 0);
  plain[0] = 0x23;
  CHECK(ask(plain) == 48);
  CHECK(ask(plain) == 48);
  // ...leaves NTS requests limited (but for the leak), never NAKed, never larger than 48 bytes.
  auto nts = request(f, 1);
  constexpr int N = 8;
  int authenticated = 0;
  for (int i = 0; i < N; ++i) {
    ssize_t n = ask(nts);
    CHECK(n <= ssize_t(nts.size()));
    if (n > 48) ++authenticated;
    if (n == 48) {   // limited: a RATE kiss-o'-death, as a plain request gets
      CHECK(reply[1] == 0);
      CHECK(memcmp(reply + 12, "RATE", 4) == 0);
    }
  }
  ResponderStats st = stats([&](const ResponderStats& s) {
    return s[NetdCounter::RECEIVED] == 2 + N &&
           s[NetdCounter::NTS_REQUESTS] + s[NetdCounter::RATE_LIMITED] == N;
  });
  CHECK(st[NetdCounter::RECEIVED] == 2 + N);
  CHECK(st[NetdCounter::RATE_LIMITED] >= 1);
  CHECK(st[NetdCounter::NTS_REQUESTS] + st[NetdCounter::RATE_LIMITED] == N);
  CHECK(st[NetdCounter::NTS_REQUESTS] == uint64_t(authenticated));
  CHECK(st[NetdCounter::NTS_NAKS] == 0);
  CHECK(st[NetdCounter::NTS_COOKIES_ISSUED] == 2 * st[NetdCounter::NTS_REQUESTS]);

  close(client);
  close(fd);
}
