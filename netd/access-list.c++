#include "access-list.h"
#include "ntp-time.h"
#include <algorithm>
#include <kj/vector.h>
#include <netinet/in.h>

namespace horloge::netd {

Address addressOf(const sockaddr* source) {
  Address a;
  if (source->sa_family == AF_INET) {
    auto sin = reinterpret_cast<const sockaddr_in*>(source);
    a.family = 4;
    a.lo = ntohl(sin->sin_addr.s_addr);
  } else if (source->sa_family == AF_INET6) {
    const uint8_t* b = reinterpret_cast<const sockaddr_in6*>(source)->sin6_addr.s6_addr;
    uint64_t hi = ntp::load64(b), lo = ntp::load64(b + 8);
    if (hi == 0 && (lo >> 32) == 0xffff) {   // ::ffff:a.b.c.d
      a.family = 4;
      a.lo = lo & 0xffffffffu;
    } else {
      a.family = 6;
      a.hi = hi;
      a.lo = lo;
    }
  }
  return a;
}

void maskAddress(int bits, int length, uint64_t& hi, uint64_t& lo) {
  if (bits == 32) {
    hi = 0;
    lo = length == 0 ? 0 : lo & (0xffffffffull << (32 - length)) & 0xffffffffull;
    return;
  }
  if (length <= 64) {
    lo = 0;
    hi = length == 0 ? 0 : hi & (~0ull << (64 - length));
  } else {
    lo = length == 128 ? lo : lo & (~0ull << (128 - length));
  }
}

bool AccessList::clientDefault(kj::ArrayPtr<const AccessRule> rules) {
  for (auto& r: rules) if (r.allow) return false;
  return true;
}

AccessList::AccessList(kj::ArrayPtr<const AccessRule> rules, bool defaultAllow)
    : defaultAllow(defaultAllow) {
  kj::Vector<Entry> e4, e6;
  for (auto& r: rules) {
    if (r.family == 0 || r.family == 4) {
      uint64_t hi = 0, lo = r.family == 4 ? ntp::load32(r.address) : 0;
      maskAddress(32, r.prefixLength, hi, lo);
      e4.add(Entry{hi, lo, r.family == 4 ? r.prefixLength : uint8_t(0), r.allow});
    }
    if (r.family == 0 || r.family == 6) {
      uint64_t hi = r.family == 6 ? ntp::load64(r.address) : 0;
      uint64_t lo = r.family == 6 ? ntp::load64(r.address + 8) : 0;
      maskAddress(128, r.prefixLength, hi, lo);
      e6.add(Entry{hi, lo, r.family == 6 ? r.prefixLength : uint8_t(0), r.allow});
    }
  }
  compile(e4, v4, v4Groups);
  compile(e6, v6, v6Groups);
}

void AccessList::compile(kj::Vector<Entry>& entries, kj::Array<Entry>& out,
                         kj::Array<Group>& groups) {
  // Longest prefix first, then by address; for equal prefixes the later rule wins, so keep the
  // last of each run after a stable sort.
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    if (a.length != b.length) return a.length > b.length;
    if (a.hi != b.hi) return a.hi < b.hi;
    return a.lo < b.lo;
  });
  kj::Vector<Entry> unique;
  for (size_t i = 0; i < entries.size(); ++i) {
    bool sameAsNext = i + 1 < entries.size() && entries[i + 1].length == entries[i].length &&
                      entries[i + 1].hi == entries[i].hi && entries[i + 1].lo == entries[i].lo;
    if (!sameAsNext) unique.add(entries[i]);
  }
  kj::Vector<Group> g;
  for (uint32_t i = 0; i < unique.size(); ++i) {
    if (g.empty() || g.back().length != unique[i].length) g.add(Group{i, i, unique[i].length});
    g.back().end = i + 1;
  }
  out = unique.releaseAsArray();
  groups = g.releaseAsArray();
}

bool AccessList::find(const kj::Array<Entry>& entries, const kj::Array<Group>& groups, int bits,
                      uint64_t hi, uint64_t lo, bool& allow) {
  for (auto& g: groups) {
    uint64_t h = hi, l = lo;
    maskAddress(bits, g.length, h, l);
    auto first = entries.begin() + g.begin, last = entries.begin() + g.end;
    auto it = std::lower_bound(first, last, Entry{h, l, 0, false},
                               [](const Entry& a, const Entry& b) {
                                 return a.hi != b.hi ? a.hi < b.hi : a.lo < b.lo;
                               });
    if (it != last && it->hi == h && it->lo == l) {
      allow = it->allow;
      return true;
    }
  }
  return false;
}

bool AccessList::allows(const Address& a) const {
  bool allow = defaultAllow;
  if (a.family == 4) find(v4, v4Groups, 32, a.hi, a.lo, allow);
  else if (a.family == 6) find(v6, v6Groups, 128, a.hi, a.lo, allow);
  return allow;
}

}  // namespace horloge::netd
