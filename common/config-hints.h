// Hints for lines written for chrony or ntpd, which operators bring with them: the horloge form
// to write instead, appended to the `file:line: message` of an unknown directive or option.
// `horlogectl import` translates a whole chrony.conf or ntp.conf (ctl/import.h).
#pragma once
#include <string>
#include <vector>

namespace horloge {

// For a line whose directive horloge does not know: "" when chrony and ntpd do not know it
// either.
std::string foreignDirectiveHint(const std::vector<std::string>& words);
// For an option of a known directive (refclock, server): "" when there is nothing to say.
std::string foreignOptionHint(const std::string& directive, const std::string& option);
// For `refclock DRIVER` with a driver horloge does not have (chrony's upper-case names).
std::string foreignDriverHint(const std::string& driver);
// For `server 127.127.T.U`, ntpd's reference clock pseudo-address.
std::string ntpdRefclockHint(const std::string& address);

}  // namespace horloge
