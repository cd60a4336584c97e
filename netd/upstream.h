// Relay mode (issue 8): polls the configured `server`s on netd's KJ event loop and pushes each
// exchange, raw, to clockd (NetdFeed.pushUpstream). The rules are in poller.h; this file is
// the I/O.
//
// Each request goes out of a new UDP socket, connected to the server, so that the kernel picks
// a random ephemeral source port (RFC 9109) and drops datagrams from anyone else. That needs
// socket(AF_INET/AF_INET6) after lockdown; policy/netd.c++ says why that is acceptable. A pool
// opened before lockdown would keep its ports for ever, which is what RFC 9109 warns against.
#pragma once
#include "poller.h"
#include "state-cell.h"
#include <horloge.capnp.h>
#include <kj/async-io.h>
#include <kj/async-unix.h>
#include <sys/socket.h>
#include <vector>

namespace horloge::netd {

class Upstream: private kj::TaskSet::ErrorHandler {
public:
  // `served`: what netd answers with (clockd's state); the poll rises only while synchronised.
  Upstream(kj::Timer& timer, kj::UnixEventPort& events, const std::vector<ServerConf>& servers,
           const StateCell& served);
  KJ_DISALLOW_COPY(Upstream);

  // The feed of the current clockd connection, or null while there is none.
  void setFeed(kj::Maybe<ipc::NetdFeed::Client> feed) { this->feed = kj::mv(feed); }

  // Polls every server for ever.
  kj::Promise<void> run();

  size_t size() const { return servers.size(); }

private:
  struct Server {
    ServerConf conf;
    Poller poller;
    sockaddr_storage address{};
    socklen_t addressLength = 0;
    uint8_t index = 0;
  };
  kj::Timer& timer;
  kj::UnixEventPort& events;
  const StateCell& served;
  std::vector<Server> servers;
  kj::Maybe<ipc::NetdFeed::Client> feed;
  kj::TaskSet pushes;

  bool synchronised() const;   // what we serve now
  kj::Promise<void> loop(Server& s);
  kj::Promise<void> exchange(Server& s);
  kj::Promise<bool> awaitReply(Server& s, int fd, kj::UnixEventPort::FdObserver& observer);
  void push(Server& s, const Exchange* e);
  void taskFailed(kj::Exception&& e) override;
};

}  // namespace horloge::netd
