#include "firewall.h"

namespace horloge::ctl {

std::string firewallElements(const Config& config) {
  std::string out;
  for (bool v6: {false, true}) {
    std::string list;
    for (auto& s: config.servers) {
      if ((s.address.find(':') != std::string::npos) != v6) continue;
      list += (list.empty() ? "" : ", ") + s.address + " . " + std::to_string(s.port);
    }
    if (!list.empty()) {
      out += std::string("add element inet horloge ") + (v6 ? "upstream_v6" : "upstream_v4") +
             " { " + list + " }\n";
    }
  }
  return out;
}

}  // namespace horloge::ctl
