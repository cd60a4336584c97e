// Asking a u-blox for UBX-NAV-TIMELS and reading its answer. The receiver answers each
// configuration frame with UBX-ACK-ACK or UBX-ACK-NAK (ubx.h): of the two frames enableTimeLs()
// sends, a receiver acknowledges the one it knows and refuses the other. One ACK (or a TIMELS
// arriving) is enough; frames refused or unanswered are sent again a bounded number of times,
// after which the request is `refused` or `unanswered` and the operator is told that this
// receiver gives no leap second information. Pure (the caller gives the time and does the
// writing) so that tests and the simulator drive it.
#pragma once
#include "ubx.h"
#include <cstdint>
#include <string>
#include <vector>

namespace horloge::ubx {

class TimeLsRequest {
public:
  static constexpr int MAX_ATTEMPTS = 3;
  // A u-blox answers within a second; a line at 9600 baud busy with NMEA may delay it.
  static constexpr int64_t ANSWER_NS = 2'000'000'000;

  enum class State { IDLE, WAITING, ACCEPTED, REFUSED, UNANSWERED };

  // The frames to write now: the first attempt. Starts afresh (a device opened again forgets
  // what it was told); the counters go on.
  std::vector<std::string> start(int64_t nowNs);
  // An ACK frame read from the receiver. Answers to frames we did not send are ignored.
  void onAck(const Ack& a);
  // A NAV-TIMELS arrived: the receiver sends it, whatever became of our answers.
  void onTimeLs();
  // The frames to write again now (empty when none): once every frame of the attempt was
  // refused, or ANSWER_NS after it was sent, up to MAX_ATTEMPTS attempts in all.
  std::vector<std::string> poll(int64_t nowNs);

  State state() const { return st; }
  int attempts() const { return attempt; }
  uint64_t acks() const { return ackCount; }
  uint64_t naks() const { return nakCount; }
  // For the status and the log: empty while idle, else one phrase ("accepted", "refused ...").
  std::string describe() const;

private:
  State st = State::IDLE;
  int attempt = 0;
  int64_t sentNs = 0;
  uint64_t ackCount = 0, nakCount = 0;
  bool refusedNow[2] = {};          // this attempt's NAKs, per frame of enableTimeLs()
  bool nakThisAttempt = false;
};

}  // namespace horloge::ubx
