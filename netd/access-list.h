// `allow`/`deny` for netd: the configured prefixes compiled into sorted tables, looked up per
// request without allocation. Most specific prefix wins (as in chrony); among equal prefixes
// the later line wins; an address no rule covers gets the default: allowed while no `allow`
// is given (a public server), refused once one is (clientDefault).
//
// IPv4 clients reaching an IPv6 socket arrive as IPv4-mapped addresses (::ffff:a.b.c.d) and
// are looked up as IPv4, so `deny 192.0.2.0/24` covers them too.
//
// Lookup cost: one binary search per distinct prefix length present in the family (typically
// 1 to 3), nothing at all when the family has no rule.
#pragma once
#include "config.h"
#include <cstdint>
#include <kj/array.h>
#include <kj/vector.h>
#include <sys/socket.h>

namespace horloge::netd {

// A client address in a fixed shape: IPv4 in `lo` (host order, `hi` 0), IPv6 as two host-order
// halves. family 0 for anything else.
struct Address {
  uint8_t family = 0;   // 4, 6, or 0 (not an IP source)
  uint64_t hi = 0;
  uint64_t lo = 0;
};
Address addressOf(const sockaddr* source);   // IPv4-mapped IPv6 becomes IPv4

class AccessList {
public:
  // `rules` in file order (Config::access). Rules of family 0 (`all`) apply to both families.
  explicit AccessList(kj::ArrayPtr<const AccessRule> rules, bool defaultAllow = true);
  KJ_DISALLOW_COPY(AccessList);

  // The default for NTP clients, as chrony's: everyone is answered until an `allow` is given;
  // then only the clients some `allow` covers (and no more specific `deny`).
  static bool clientDefault(kj::ArrayPtr<const AccessRule> rules);

  bool allows(const Address& address) const;
  bool allows(const sockaddr* source) const { return allows(addressOf(source)); }
  bool empty() const { return v4.size() == 0 && v6.size() == 0; }

private:
  struct Entry {
    uint64_t hi, lo;    // masked prefix (IPv4: lo only)
    uint8_t length;
    bool allow;
  };
  struct Group {        // entries [begin, end) share one prefix length, sorted by (hi, lo)
    uint32_t begin, end;
    uint8_t length;
  };
  bool defaultAllow;
  kj::Array<Entry> v4, v6;
  kj::Array<Group> v4Groups, v6Groups;   // longest prefix first

  static void compile(kj::Vector<Entry>& entries, kj::Array<Entry>& out, kj::Array<Group>& groups);
  static bool find(const kj::Array<Entry>& entries, const kj::Array<Group>& groups, int bits,
                   uint64_t hi, uint64_t lo, bool& allow);
};

// Masks an address to its first `length` bits within a `bits`-wide (32 or 128) address.
void maskAddress(int bits, int length, uint64_t& hi, uint64_t& lo);

}  // namespace horloge::netd
