// The client side of one upstream server (issue 8), as pure logic: no I/O, no clock reads.
// upstream.c++ does the sockets. Rules:
//   - requests carry nothing but version, mode, poll and a random transmit timestamp (RFC 9109
//     data minimisation); T1 is kept here, so the origin check is a 64-bit random match;
//   - a reply is accepted once: its origin must equal the transmit of the request in flight,
//     which is then forgotten, so duplicates and replays are refused;
//   - the reach register shifts at each poll and gets bit 0 on an accepted reply;
//   - poll adapts between minpoll and maxpoll: up after 4 good replies in a row, down after a
//     lost one; `iburst` sends the first 4 requests 2 s apart (or faster when minpoll is);
//   - an unsynchronised reply (LI=3 or stratum 16) is not a good one: the poll does not rise;
//     nor does it while we do not serve synchronised time ourselves, and meanwhile a server is
//     polled at least every 16 s (ntpd's smallest minpoll): a relay converges on its samples,
//     and can claim nothing until a few of them agree with its clock;
//     with `iburst`, the first synchronised reply after it starts a new burst, so a relay
//     booted with its Stratum-1s follows them seconds after they lock, not a poll later;
//   - KoD RATE raises the poll (and the floor it may fall back to); DENY and RSTR stop polling.
#pragma once
#include "config.h"
#include <cstddef>
#include <cstdint>

namespace horloge::netd {

enum class Verdict : uint8_t {
  SAMPLE,         // a reply to the request in flight: T1..T4 are in the Exchange
  BOGUS,          // not a server reply to anything we asked (origin, mode, length...)
  DUPLICATE,      // a reply to a request already answered
  KOD_RATE,       // RATE kiss: poll raised
  KOD_STOP,       // DENY or RSTR kiss: polling stopped
};

struct Exchange {   // what one accepted reply says, raw, with netd's T1 and T4
  int64_t t1Ns = 0, t2Ns = 0, t3Ns = 0, t4Ns = 0;
  uint8_t leap = 3, stratum = 0;
  int8_t poll = 0;
  uint32_t rootDelay = 0, rootDispersion = 0, refid = 0;
};

constexpr uint32_t KISS_DENY = 0x44454e59, KISS_RSTR = 0x52535452;

class Poller {
public:
  explicit Poller(const ServerConf& conf);

  // Builds the next request into `out` (48 bytes). `random` becomes its transmit timestamp,
  // `t1Ns` is the system time it is sent at. Shifts the reach register.
  void makeRequest(uint8_t* out, int64_t t1Ns, uint64_t random);

  // Judges a datagram from the server, received at `t4Ns` (kernel stamp).
  Verdict onReply(const uint8_t* bytes, size_t length, int64_t t4Ns, Exchange& out);

  // No accepted reply arrived for the request in flight: the poll comes down toward minpoll.
  void onTimeout();

  // Seconds until the next request.
  double nextDelay() const;

  // Whether we serve synchronised time now (netd's state from clockd): the poll rises only then.
  void ownSync(bool synchronised) { settled = synchronised; }

  int poll() const { return pollNow; }
  uint8_t reach() const { return reachBits; }
  bool stopped() const { return isStopped; }
  bool waiting() const { return expected != 0; }

private:
  int minpoll, maxpoll, floorPoll, pollNow;
  bool settled = true;
  bool iburst;
  int burstLeft;
  int goodRun = 0;
  bool unsynced = false;       // the last reply said LI=3 or stratum 16
  uint8_t reachBits = 0;
  bool isStopped = false;
  uint64_t expected = 0;       // transmit of the request in flight, 0 when none
  uint64_t answered = 0;       // transmit of the last answered request, to name duplicates
  int64_t t1 = 0;
};

}  // namespace horloge::netd
