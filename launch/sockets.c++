#include "sockets.h"
#include <kj/debug.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <cstring>
#include <unistd.h>

namespace horloge::launch {

namespace {

int bindOne(const std::string& address, uint16_t port, int type, bool v6only = true) {
  sockaddr_storage ss{};
  socklen_t len;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, address.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    len = sizeof(*v4);
  } else {
    KJ_REQUIRE(inet_pton(AF_INET6, address.c_str(), &v6->sin6_addr) == 1, "bad address",
               address.c_str());
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    len = sizeof(*v6);
  }
  int fd;
  KJ_SYSCALL(fd = socket(ss.ss_family, type | SOCK_CLOEXEC, 0));
  int one = 1;
  KJ_SYSCALL(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)));
  // Each address family gets its own socket, so [::] must not also take IPv4.
  if (ss.ss_family == AF_INET6) {
    int only = v6only ? 1 : 0;
    KJ_SYSCALL(setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &only, sizeof(only)));
  }
  KJ_SYSCALL(bind(fd, reinterpret_cast<sockaddr*>(&ss), len), address.c_str(), port);
  return fd;
}

}  // namespace

std::vector<int> bindNtp(const Config& config) {
  std::vector<ListenConf> listen = config.listen;
  if (listen.empty()) listen = {{"0.0.0.0", 123}, {"::", 123}};
  std::vector<int> fds;
  for (auto& l: listen) fds.push_back(bindOne(l.address, l.port, SOCK_DGRAM));
  return fds;
}

int bindMonitor(const Config& config) {
  int fd = bindOne(config.monitorAddress, config.monitorPort, SOCK_STREAM);
  KJ_SYSCALL(listen(fd, 64));
  return fd;
}

int bindNtske(const Config& config) {
  int fd = -1;
  // One socket for both families ([::] taking IPv4 too), or IPv4 alone on a host without IPv6.
  KJ_IF_MAYBE(e, kj::runCatchingExceptions([&]() {
    fd = bindOne("::", config.nts.port, SOCK_STREAM, false);
  })) {
    fd = bindOne("0.0.0.0", config.nts.port, SOCK_STREAM);
  }
  KJ_SYSCALL(listen(fd, 128));
  return fd;
}

std::vector<int> bindRefclockSocks(const Config& config) {
  std::vector<int> fds;
  for (auto& r: config.refclocks) {
    if (r.driver != "sock") continue;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    KJ_REQUIRE(r.device.size() < sizeof(addr.sun_path), "socket path too long", r.device.c_str());
    strcpy(addr.sun_path, r.device.c_str());
    int fd;
    KJ_SYSCALL(fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    unlink(r.device.c_str());
    KJ_SYSCALL(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), r.device);
    KJ_SYSCALL(chmod(r.device.c_str(), 0666), r.device);
    fds.push_back(fd);
  }
  return fds;
}

}  // namespace horloge::launch
