#include "ke-records.h"
#include <doctest/doctest.h>
#include <vector>

using namespace horloge::nts;

namespace {

std::vector<uint8_t> rec(bool critical, uint16_t type, std::vector<uint8_t> body) {
  std::vector<uint8_t> out = {static_cast<uint8_t>((critical ? 0x80 : 0) | type >> 8),
                              static_cast<uint8_t>(type), static_cast<uint8_t>(body.size() >> 8),
                              static_cast<uint8_t>(body.size())};
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

std::vector<uint8_t> cat(std::initializer_list<std::vector<uint8_t>> parts) {
  std::vector<uint8_t> out;
  for (auto& p: parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

KeRefusal parse(const std::vector<uint8_t>& v) {
  KeRequest r;
  return parseRequest(kj::arrayPtr(v.data(), v.size()), r);
}

// What chrony 4.3 sends: NTPv4, AES-SIV-CMAC-256, End of Message.
const std::vector<uint8_t> CHRONY = {0x80, 0x01, 0x00, 0x02, 0x00, 0x00, 0x80, 0x04, 0x00, 0x02,
                                     0x00, 0x0f, 0x80, 0x00, 0x00, 0x00};

}  // namespace

TEST_CASE("NTS-KE request: a real client's, and each way to refuse one") {
  KeRequest r;
  REQUIRE(parseRequest(kj::arrayPtr(CHRONY.data(), CHRONY.size()), r) == KeRefusal::NONE);
  CHECK(r.ntpv4);
  CHECK(r.aesSiv);
  CHECK(r.length == CHRONY.size());
  // Every prefix is incomplete, never an error: the rest may be on its way.
  for (size_t n = 0; n < CHRONY.size(); ++n) {
    CHECK(parse(std::vector<uint8_t>(CHRONY.begin(), CHRONY.begin() + n)) == KeRefusal::INCOMPLETE);
  }
  auto proto = rec(true, NEXT_PROTOCOL, {0, 0});
  auto aead = rec(true, AEAD_ALGORITHM, {0, 15});
  auto end = rec(true, END_OF_MESSAGE, {});
  CHECK(parse(cat({proto, aead, rec(false, 0x4321, {1, 2, 3}), end})) == KeRefusal::NONE);
  CHECK(parse(cat({proto, aead, rec(true, 0x4321, {1, 2, 3}), end})) == KeRefusal::UNKNOWN_CRITICAL);
  CHECK(parse(cat({rec(true, NEXT_PROTOCOL, {0x80, 0}), aead, end})) == KeRefusal::BAD_REQUEST);
  CHECK(parse(cat({proto, rec(true, AEAD_ALGORITHM, {0, 30}), end})) == KeRefusal::BAD_REQUEST);
  CHECK(parse(cat({aead, end})) == KeRefusal::BAD_REQUEST);
  CHECK(parse(cat({proto, proto, aead, end})) == KeRefusal::BAD_REQUEST);
  CHECK(parse(cat({rec(false, NEXT_PROTOCOL, {0, 0}), aead, end})) == KeRefusal::BAD_REQUEST);
  CHECK(parse(cat({proto, aead, rec(true, ERROR, {0, 1}), end})) == KeRefusal::BAD_REQUEST);
  CHECK(parse(cat({proto, aead, rec(true, NEW_COOKIE, {1, 2}), end})) == KeRefusal::BAD_REQUEST);
  CHECK(parse(cat({proto, rec(true, AEAD_ALGORITHM, {0}), end})) == KeRefusal::BAD_REQUEST);
  CHECK(parse(cat({proto, aead, end, end})) == KeRefusal::BAD_REQUEST);
  // A record that says it is larger than any request, whether or not its bytes arrived.
  CHECK(parse(cat({proto, rec(false, 0x1234, std::vector<uint8_t>(2000, 0))})) == KeRefusal::OVERSIZED);
  CHECK(parse(cat({proto, {0x12, 0x34, 0x07, 0xd0}})) == KeRefusal::OVERSIZED);
  // Many small records past the limit.
  std::vector<uint8_t> many = proto;
  while (many.size() <= MAX_REQUEST) many = cat({many, rec(false, 0x1234, {1, 2, 3, 4})});
  CHECK(parse(many) == KeRefusal::OVERSIZED);
}

TEST_CASE("NTS-KE response: records in order, cookies not critical") {
  kj::Array<uint8_t> cookies[2] = {kj::heapArray<uint8_t>({1, 2, 3}), kj::heapArray<uint8_t>({4})};
  auto out = successResponse(kj::arrayPtr(cookies, 2), "ntp.example", 1234);
  std::vector<uint8_t> v(out.begin(), out.end());
  auto expected = cat({rec(true, NEXT_PROTOCOL, {0, 0}), rec(true, AEAD_ALGORITHM, {0, 15}),
                       rec(true, NTPV4_SERVER, {'n', 't', 'p', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e'}),
                       rec(true, NTPV4_PORT, {0x04, 0xd2}), rec(false, NEW_COOKIE, {1, 2, 3}),
                       rec(false, NEW_COOKIE, {4}), rec(true, END_OF_MESSAGE, {})});
  CHECK(v == expected);
  auto err = errorResponse(ERROR_UNRECOGNIZED_CRITICAL);
  CHECK(std::vector<uint8_t>(err.begin(), err.end()) ==
        cat({rec(true, ERROR, {0, 0}), rec(true, END_OF_MESSAGE, {})}));
  uint8_t ctx[5];
  exporterContext(true, ctx);
  CHECK(std::vector<uint8_t>(ctx, ctx + 5) == std::vector<uint8_t>{0, 0, 0, 15, 1});
}
