#include "tx-stamps.h"
#include <cerrno>
#include <cstring>
#include <kj/debug.h>
#include <linux/errqueue.h>
#include <linux/net_tstamp.h>
#include <netinet/in.h>

namespace horloge::netd {

using ntp::load64;

// Linux 6.12's uapi value; older headers lack it.
#ifndef SOF_TIMESTAMPING_OPT_RX_FILTER
#define SOF_TIMESTAMPING_OPT_RX_FILTER (1 << 17)
#endif

void enableTxTimestamps(int fd) {
  // Without OPT_RX_FILTER, SOFTWARE alone would also report every received datagram's stamp
  // (already taken for SO_TIMESTAMPNS) a second time, as one more control message per request.
  // Kernels older than 6.12 refuse the flag: they get that extra message.
  int flags = SOF_TIMESTAMPING_SOFTWARE | SOF_TIMESTAMPING_OPT_RX_FILTER;
  if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &flags, sizeof(flags)) == 0) return;
  flags = SOF_TIMESTAMPING_SOFTWARE;
  KJ_SYSCALL(setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &flags, sizeof(flags)), fd);
}

size_t txStampRequestSpace() { return CMSG_SPACE(sizeof(uint32_t)); }

size_t appendTxStampRequest(uint8_t* control, size_t used) {
  auto c = reinterpret_cast<cmsghdr*>(control + used);
  memset(c, 0, txStampRequestSpace());
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SO_TIMESTAMPING;
  c->cmsg_len = CMSG_LEN(sizeof(uint32_t));
  uint32_t flags = SOF_TIMESTAMPING_TX_SOFTWARE;
  memcpy(CMSG_DATA(c), &flags, sizeof(flags));
  return used + txStampRequestSpace();
}

bool parseLoopedReply(const uint8_t* d, size_t length, ClientKey& client,
                      ntp::Timestamp& replyRx, ntp::Timestamp& replyTx) {
  constexpr size_t UDP = 8, IP4 = 20, IP6 = 40;
  if (length < PACKET_SIZE + UDP + IP4) return false;
  const uint8_t* reply = d + length - PACKET_SIZE;
  if (wire::mode(reply) != 4) return false;   // not one of our replies
  const uint8_t* ip4 = reply - UDP - IP4;
  const uint8_t* ip6 = reply - UDP - IP6;
  client = {};
  if (ip4[0] == 0x45 && ip4[9] == IPPROTO_UDP) {
    client.addr[10] = client.addr[11] = 0xff;
    memcpy(client.addr + 12, ip4 + 16, 4);   // destination
  } else if (length >= PACKET_SIZE + UDP + IP6 && (ip6[0] >> 4) == 6 && ip6[6] == IPPROTO_UDP) {
    memcpy(client.addr, ip6 + 24, 16);
  } else {
    return false;
  }
  replyRx = wire::timestamp(reply, wire::RECEIVE);
  replyTx = wire::timestamp(reply, wire::TRANSMIT);
  return true;
}

TxStampReader::TxStampReader() {
  for (unsigned i = 0; i < BATCH; ++i) iov[i] = {data[i], sizeof(data[i])};
}

TxStampReader::Result TxStampReader::drain(int fd, InterleaveTable& table) {
  Result result;
  for (;;) {
    for (unsigned i = 0; i < BATCH; ++i) {
      msghdr& h = msgs[i].msg_hdr;
      h = {};
      h.msg_iov = &iov[i];
      h.msg_iovlen = 1;
      h.msg_control = control[i];
      h.msg_controllen = sizeof(control[i]);
    }
    int n = recvmmsg(fd, msgs, BATCH, MSG_ERRQUEUE | MSG_DONTWAIT, nullptr);
    if (n <= 0) return result;   // EAGAIN: empty; anything else: try again next batch
    result.read += n;
    for (int i = 0; i < n; ++i) {
      msghdr& h = msgs[i].msg_hdr;
      int64_t kernelNs = 0;
      bool fromTimestamping = false;
      for (cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr; c = CMSG_NXTHDR(&h, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPING) {
          scm_timestamping ts;
          memcpy(&ts, CMSG_DATA(c), sizeof(ts));
          kernelNs = ntp::toNs(ts.ts[0]);   // [0]: software
        } else if ((c->cmsg_level == SOL_IP && c->cmsg_type == IP_RECVERR) ||
                   (c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_RECVERR)) {
          sock_extended_err e;
          memcpy(&e, CMSG_DATA(c), sizeof(e));
          fromTimestamping = e.ee_origin == SO_EE_ORIGIN_TIMESTAMPING;
        }
      }
      ClientKey client;
      ntp::Timestamp rx, tx;   // tx: in an interleaved reply, an earlier reply's
      if (!fromTimestamping || kernelNs == 0 ||
          !parseLoopedReply(data[i], msgs[i].msg_len, client, rx, tx)) {
        continue;
      }
      ntp::Timestamp user;
      if (table.kernelStamp(client, rx, transmitStamp(kernelNs), user)) ++result.stamps;
    }
    if (n < static_cast<int>(BATCH)) return result;
  }
}

}  // namespace horloge::netd
