// Socket addresses as operators read them.
#pragma once
#include <string>
#include <sys/socket.h>

namespace horloge {

// "192.0.2.1" or "2001:db8::1" for an AF_INET or AF_INET6 address; "" for any other family.
std::string numericAddress(const sockaddr* address);

}  // namespace horloge
