// Kernel software TX timestamps (SO_TIMESTAMPING) for the replies interleaved mode may hand
// out later. Only replies to interleaved clients ask for one, per packet (a control message on
// the send), so basic traffic costs nothing extra. The kernel queues each stamp on the socket's
// error queue with a copy of the packet as sent (link-layer header, IP, UDP, our 48 bytes);
// the client address and our receive timestamp in that copy say which client it belongs to,
// so it does not matter which worker sent the reply and which one reads the stamp.
#pragma once
#include "interleave.h"
#include <cstddef>
#include <cstdint>
#include <sys/uio.h>
#include <sys/socket.h>

namespace horloge::netd {

// Lets the socket report software TX timestamps (SOF_TIMESTAMPING_SOFTWARE), generating none
// by itself, and (OPT_RX_FILTER, where the kernel has it) no second copy of the RX stamp that
// SO_TIMESTAMPNS already delivers. Throws on failure.
void enableTxTimestamps(int fd);

// Room a TX stamp request takes in a send's control buffer.
size_t txStampRequestSpace();

// Appends the per-packet request (SOF_TIMESTAMPING_TX_SOFTWARE) to a control buffer holding
// `used` bytes of control messages. Returns the new length.
size_t appendTxStampRequest(uint8_t* control, size_t used);

// Finds our reply and its client in a packet looped back on the error queue (IPv4 without
// options, or IPv6 without extension headers, then UDP; whatever link-layer header before).
bool parseLoopedReply(const uint8_t* data, size_t length, ClientKey& client,
                      ntp::Timestamp& replyRx, ntp::Timestamp& replyTx);

// Reads a socket's error queue without waiting. Buffers are fixed: nothing is allocated.
class TxStampReader {
public:
  struct Result {
    unsigned read = 0;       // messages taken off the error queue
    unsigned stamps = 0;     // kernel TX stamps that reached their client's slot
  };
  TxStampReader();
  Result drain(int fd, InterleaveTable& table);

private:
  static constexpr unsigned BATCH = 16;
  uint8_t data[BATCH][256];
  alignas(cmsghdr) uint8_t control[BATCH][256];
  iovec iov[BATCH];
  mmsghdr msgs[BATCH];
};

}  // namespace horloge::netd
