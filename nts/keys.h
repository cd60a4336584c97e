// The server keys that seal NTS cookies, as clockd hands them to netd and ntskd (one key set,
// ipc-schema/horloge.capnp NtsKeySet). clockd makes, rotates and keeps them
// (clockd/nts-keys.h); the receivers check every push with keySetFromWire() before use.
#pragma once
#include "aes-siv.h"
#include <cstdint>
#include <horloge.capnp.h>
#include <kj/array.h>

namespace horloge::nts {

constexpr size_t MAX_SERVER_KEYS = 16;

struct ServerKey {
  uint32_t id = 0;
  int64_t createdNs = 0;          // Unix time the key was made
  uint8_t key[SIV_KEY_SIZE] = {};
};

struct KeySet {
  kj::Array<ServerKey> keys;      // at most MAX_SERVER_KEYS, ids distinct
  size_t current = 0;             // index of the key new cookies are sealed under

  const ServerKey* find(uint32_t id) const;
  KeySet clone() const;
};

// Checks a push (KJ_REQUIRE): 1..MAX_SERVER_KEYS keys of SIV_KEY_SIZE bytes, distinct ids, the
// current one among them. Never echoes key bytes in its messages.
KeySet keySetFromWire(ipc::NtsKeySet::Reader wire);
void keySetToWire(const KeySet& set, ipc::NtsKeySet::Builder out);

}  // namespace horloge::nts
