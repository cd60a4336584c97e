#include "keys.h"
#include <cstring>
#include <kj/debug.h>

namespace horloge::nts {

const ServerKey* KeySet::find(uint32_t id) const {
  for (auto& k: keys) if (k.id == id) return &k;
  return nullptr;
}

KeySet KeySet::clone() const {
  KeySet out;
  out.keys = kj::heapArray<ServerKey>(keys.asPtr());
  out.current = current;
  return out;
}

KeySet keySetFromWire(ipc::NtsKeySet::Reader wire) {
  auto list = wire.getKeys();
  KJ_REQUIRE(list.size() >= 1 && list.size() <= MAX_SERVER_KEYS, "key count out of range",
             list.size());
  KeySet set;
  auto keys = kj::heapArray<ServerKey>(list.size());
  bool found = false;
  for (size_t i = 0; i < list.size(); ++i) {
    auto k = list[i];
    KJ_REQUIRE(k.getKey().size() == SIV_KEY_SIZE, "key of the wrong size");
    for (size_t j = 0; j < i; ++j) KJ_REQUIRE(keys[j].id != k.getId(), "duplicate key id");
    keys[i].id = k.getId();
    keys[i].createdNs = k.getCreatedNs();
    memcpy(keys[i].key, k.getKey().begin(), SIV_KEY_SIZE);
    if (k.getId() == wire.getCurrent()) {
      set.current = i;
      found = true;
    }
  }
  KJ_REQUIRE(found, "the current key is not in the set");
  set.keys = kj::mv(keys);
  return set;
}

void keySetToWire(const KeySet& set, ipc::NtsKeySet::Builder out) {
  out.setCurrent(set.keys[set.current].id);
  auto list = out.initKeys(set.keys.size());
  for (size_t i = 0; i < set.keys.size(); ++i) {
    list[i].setId(set.keys[i].id);
    list[i].setCreatedNs(set.keys[i].createdNs);
    list[i].setKey(kj::arrayPtr(set.keys[i].key, SIV_KEY_SIZE));
  }
}

}  // namespace horloge::nts
