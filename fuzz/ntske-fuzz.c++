// libFuzzer target for the NTS-KE request parser (nts/ke-records.h), fed as ntskd feeds it:
// the bytes received so far, in pieces. Asserts: a request is accepted only with NTPv4 and
// AES-SIV-CMAC-256 offered and its End of Message the last bytes; INCOMPLETE only while under
// the size cap; a prefix of an accepted request is never refused; the responses it leads to
// parse back as records.
#include "ke-records.h"
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

using namespace horloge::nts;

namespace {

[[noreturn]] void fail(const char* what) {
  fprintf(stderr, "ntske-fuzz: violated: %s\n", what);
  abort();
}
#define CHECK(cond) do { if (!(cond)) fail(#cond); } while (0)

// Walks records; true if they end exactly with an End of Message.
bool wellFramed(const uint8_t* p, size_t n) {
  size_t off = 0;
  while (off + 4 <= n) {
    uint16_t type = static_cast<uint16_t>((p[off] & 0x7f) << 8 | p[off + 1]);
    size_t len = size_t(p[off + 2]) << 8 | p[off + 3];
    if (off + 4 + len > n) return false;
    off += 4 + len;
    if (type == END_OF_MESSAGE) return off == n;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // An exact-size heap copy, so that ASan sees any read past the end.
  uint8_t* bytes = static_cast<uint8_t*>(malloc(size ? size : 1));
  if (size) memcpy(bytes, data, size);
  KeRequest r;
  KeRefusal whole = parseRequest(kj::arrayPtr(bytes, size), r);
  if (whole == KeRefusal::NONE) {
    CHECK(r.ntpv4 && r.aesSiv);
    CHECK(r.length == size);
    CHECK(size <= MAX_REQUEST);
    CHECK(wellFramed(bytes, size));
    // Every strict prefix was worth waiting for.
    for (size_t n = 0; n < size; ++n) {
      KeRequest p;
      CHECK(parseRequest(kj::arrayPtr(bytes, n), p) == KeRefusal::INCOMPLETE);
    }
    kj::Array<uint8_t> cookies[2] = {kj::heapArray<uint8_t>(100), kj::heapArray<uint8_t>(100)};
    auto out = successResponse(kj::arrayPtr(cookies, 2), "ntp.example", 123);
    CHECK(wellFramed(out.begin(), out.size()));
  } else if (whole == KeRefusal::INCOMPLETE) {
    CHECK(size <= MAX_REQUEST + 4);
  } else {
    auto out = errorResponse(whole == KeRefusal::UNKNOWN_CRITICAL ? ERROR_UNRECOGNIZED_CRITICAL
                                                                  : ERROR_BAD_REQUEST);
    CHECK(wellFramed(out.begin(), out.size()));
  }
  free(bytes);
  return 0;
}
