// `horlogectl firewall`: the nftables elements that let netd poll the configured `server`s,
// and nothing else (packaging/nftables/horloge-relay.nft loads them). Read from the
// configuration, so the firewall and horloge.conf cannot drift apart.
#pragma once
#include "config.h"
#include <string>

namespace horloge::ctl {

// `add element inet horloge upstream_v4 { ADDR . PORT, ... }` and the same for upstream_v6;
// a family with no server gets no line (nft refuses empty braces).
std::string firewallElements(const Config& config);

}  // namespace horloge::ctl
