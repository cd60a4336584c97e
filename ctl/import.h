// `horlogectl import FILE`: a chrony.conf or an ntp.conf translated into horloge.conf. Every
// directive of the input is quoted as a comment ("# chrony.conf:12: refclock SHM 0 ..."),
// followed by what it became; a directive or option without a horloge form gets a comment
// saying why ("#   not translated: ..."). The result parses (parseConfig) as it is; server
// names still have to resolve from /etc/hosts when horloge starts (the VLAN has no DNS).
#pragma once
#include <string>

namespace horloge::ctl {

enum class Dialect { CHRONY, NTPD };

// Which one `text` is: from its name (ntp.conf, ntpsec, chrony) or else from its directives.
Dialect guessDialect(const std::string& text, const std::string& name);

std::string importConfig(const std::string& text, const std::string& name, Dialect dialect);

}  // namespace horloge::ctl
