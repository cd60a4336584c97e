#include "aes-siv.h"
#include <doctest/doctest.h>
#include <algorithm>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <kj/array.h>
#include <string>
#include <vector>

using namespace horloge::nts;

namespace {

std::vector<uint8_t> hex(const char* s) {
  std::string t;
  for (; *s; ++s) if (*s != ' ') t += *s;
  std::vector<uint8_t> v;
  for (size_t i = 0; i < t.size(); i += 2) v.push_back(static_cast<uint8_t>(std::stoi(t.substr(i, 2), nullptr, 16)));
  return v;
}

kj::ArrayPtr<const uint8_t> ptr(const std::vector<uint8_t>& v) { return kj::arrayPtr(v.data(), v.size()); }

}  // namespace

TEST_CASE("AES-SIV: RFC 5297 A.1, deterministic, sealed and opened") {
  AesSiv siv;
  auto key = hex("fffefdfc fbfaf9f8 f7f6f5f4 f3f2f1f0 f0f1f2f3 f4f5f6f7 f8f9fafb fcfdfeff");
  auto ad = hex("10111213 14151617 18191a1b 1c1d1e1f 20212223 24252627");
  auto plain = hex("11223344 55667788 99aabbcc ddee");
  auto expected = hex("85632d07 c6e8f37f 950acd32 0a2ecc93 40c02b96 90c4dc04 daef7f6a fe5c");
  std::vector<uint8_t> out(SIV_TAG_SIZE + plain.size());
  REQUIRE(siv.seal(ptr(key), nullptr, ptr(ad), ptr(plain), out.data()));
  CHECK(out == expected);
  // S2V alone gives the tag.
  uint8_t tag[16];
  REQUIRE(siv.s2v(ptr(key), nullptr, ptr(ad), ptr(plain), tag));
  CHECK(std::vector<uint8_t>(tag, tag + 16) == std::vector<uint8_t>(expected.begin(), expected.begin() + 16));
  std::vector<uint8_t> back(plain.size());
  REQUIRE(siv.open(ptr(key), nullptr, ptr(ad), ptr(out), back.data()));
  CHECK(back == plain);
  out[20] ^= 1;
  CHECK_FALSE(siv.open(ptr(key), nullptr, ptr(ad), ptr(out), back.data()));
}

TEST_CASE("AES-SIV: a nonce and an empty plaintext (an NTS request's authenticator)") {
  AesSiv siv;
  auto key = hex("7f7e7d7c 7b7a7978 77767574 73727170 40414243 44454647 48494a4b 4c4d4e4f");
  auto ad = hex("00112233 44556677 8899aabb ccddeeff");
  auto nonce = hex("09f91102 9d74e35b d84156c5 635688c0");
  uint8_t tag[SIV_TAG_SIZE];
  REQUIRE(siv.seal(ptr(key), ptr(nonce), ptr(ad), nullptr, tag));
  uint8_t none[1];
  CHECK(siv.open(ptr(key), ptr(nonce), ptr(ad), kj::arrayPtr(tag, SIV_TAG_SIZE), none));
  auto other = nonce;
  other[0] ^= 1;
  CHECK_FALSE(siv.open(ptr(key), ptr(other), ptr(ad), kj::arrayPtr(tag, SIV_TAG_SIZE), none));
  // With a plaintext the nonce matters too, and a short input never opens.
  auto plain = hex("74686973 20697320 736f6d65 20706c61 696e7465 78742074 6f20656e 63727970 74");
  std::vector<uint8_t> out(SIV_TAG_SIZE + plain.size()), back(plain.size());
  REQUIRE(siv.seal(ptr(key), ptr(nonce), ptr(ad), ptr(plain), out.data()));
  CHECK(siv.open(ptr(key), ptr(nonce), ptr(ad), ptr(out), back.data()));
  CHECK(back == plain);
  CHECK_FALSE(siv.open(ptr(key), ptr(other), ptr(ad), ptr(out), back.data()));
  CHECK_FALSE(siv.open(ptr(key), ptr(nonce), ptr(ad), kj::arrayPtr(out.data(), 8), back.data()));
}

TEST_CASE("AES-SIV: the same bytes as OpenSSL's own AES-128-SIV, for any sizes") {
  AesSiv siv;
  EVP_CIPHER* reference = EVP_CIPHER_fetch(nullptr, "AES-128-SIV", nullptr);
  REQUIRE(reference != nullptr);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  for (size_t plainLength: {1, 15, 16, 17, 31, 32, 64, 100, 832}) {
    for (size_t adLength: {1, 16, 48, 228, 1000}) {
      CAPTURE(plainLength);
      CAPTURE(adLength);
      std::vector<uint8_t> key(32), nonce(16), ad(adLength), plain(plainLength);
      RAND_bytes(key.data(), 32);
      RAND_bytes(nonce.data(), 16);
      RAND_bytes(ad.data(), int(adLength));
      RAND_bytes(plain.data(), int(plainLength));
      std::vector<uint8_t> ours(16 + plainLength), theirs(16 + plainLength);
      REQUIRE(siv.seal(ptr(key), ptr(nonce), ptr(ad), ptr(plain), ours.data()));
      int len = 0;
      REQUIRE(EVP_EncryptInit_ex2(ctx, reference, key.data(), nullptr, nullptr) == 1);
      REQUIRE(EVP_EncryptUpdate(ctx, nullptr, &len, ad.data(), int(adLength)) == 1);
      REQUIRE(EVP_EncryptUpdate(ctx, nullptr, &len, nonce.data(), 16) == 1);
      REQUIRE(EVP_EncryptUpdate(ctx, theirs.data() + 16, &len, plain.data(), int(plainLength)) == 1);
      REQUIRE(EVP_EncryptFinal_ex(ctx, theirs.data() + 16 + len, &len) == 1);
      REQUIRE(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, theirs.data()) == 1);
      CHECK(ours == theirs);
      std::vector<uint8_t> back(plainLength);
      CHECK(siv.open(ptr(key), ptr(nonce), ptr(ad), ptr(ours), back.data()));
      CHECK(back == plain);
    }
  }
  EVP_CIPHER_CTX_free(ctx);
  EVP_CIPHER_free(reference);
}

TEST_CASE("AES-SIV: a SivKey keyed once seals and opens many times, as a fresh keying does") {
  AesSiv fresh;
  SivKey a, b;
  std::vector<uint8_t> keyA(32), keyB(32);
  RAND_bytes(keyA.data(), 32);
  RAND_bytes(keyB.data(), 32);
  std::vector<uint8_t> none;
  uint8_t tag[SIV_TAG_SIZE];
  CHECK_FALSE(a.seal(ptr(none), ptr(none), ptr(none), tag));   // not keyed yet
  REQUIRE(a.set(keyA.data()));
  REQUIRE(b.set(keyB.data()));
  // Sizes across the 256-byte chunks, interleaved between two keys, empty inputs included:
  // each result is what a freshly keyed context gives.
  for (int round = 0; round < 2; ++round) {
    for (size_t plainLength: {0, 1, 16, 64, 255, 256, 257, 600}) {
      for (size_t adLength: {0, 4, 16, 152, 256, 513}) {
        CAPTURE(plainLength);
        CAPTURE(adLength);
        std::vector<uint8_t> nonce(16), ad(adLength + 1), plain(plainLength + 1);
        RAND_bytes(nonce.data(), 16);
        RAND_bytes(ad.data(), int(ad.size()));
        RAND_bytes(plain.data(), int(plain.size()));
        auto adp = kj::arrayPtr(ad.data(), adLength);
        auto pp = kj::arrayPtr(plain.data(), plainLength);
        SivKey& k = (plainLength + adLength + round) % 2 ? a : b;
        const std::vector<uint8_t>& key = &k == &a ? keyA : keyB;
        std::vector<uint8_t> ours(16 + plainLength), theirs(16 + plainLength), back(plainLength + 1);
        REQUIRE(k.seal(ptr(nonce), adp, pp, ours.data()));
        REQUIRE(fresh.seal(ptr(key), ptr(nonce), adp, pp, theirs.data()));
        CHECK(ours == theirs);
        CHECK(k.open(ptr(nonce), adp, ptr(ours), back.data()));
        CHECK(std::equal(back.begin(), back.begin() + plainLength, plain.begin()));
        ours[ours.size() - 1] ^= 0x10;
        CHECK_FALSE(k.open(ptr(nonce), adp, ptr(ours), back.data()));
      }
    }
  }
  // Rekeyed: the new key's bytes, and the old key's seals no longer open.
  std::vector<uint8_t> nonce(16, 3), ad(40, 4), plain(30, 5), sealed(46), theirs(46), back(30);
  REQUIRE(a.seal(ptr(nonce), ptr(ad), ptr(plain), sealed.data()));
  REQUIRE(a.set(keyB.data()));
  CHECK_FALSE(a.open(ptr(nonce), ptr(ad), ptr(sealed), back.data()));
  REQUIRE(a.seal(ptr(nonce), ptr(ad), ptr(plain), sealed.data()));
  REQUIRE(fresh.seal(ptr(keyB), ptr(nonce), ptr(ad), ptr(plain), theirs.data()));
  CHECK(sealed == theirs);
}
