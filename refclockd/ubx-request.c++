#include "ubx-request.h"

namespace horloge::ubx {

namespace {
// The frames enableTimeLs() sends, in its order.
constexpr uint8_t ASKED[2] = {ID_CFG_MSG, ID_CFG_VALSET};
}  // namespace

std::vector<std::string> TimeLsRequest::start(int64_t nowNs) {
  st = State::WAITING;
  attempt = 1;
  sentNs = nowNs;
  refusedNow[0] = refusedNow[1] = false;
  nakThisAttempt = false;
  return enableTimeLs();
}

void TimeLsRequest::onAck(const Ack& a) {
  if (a.cls != CLASS_CFG) return;
  int which = a.id == ASKED[0] ? 0 : a.id == ASKED[1] ? 1 : -1;
  if (which < 0) return;
  if (a.accepted) {
    ++ackCount;
    if (st != State::IDLE) st = State::ACCEPTED;
    return;
  }
  ++nakCount;
  if (st != State::WAITING) return;
  refusedNow[which] = true;
  nakThisAttempt = true;
}

void TimeLsRequest::onTimeLs() {
  if (st != State::IDLE) st = State::ACCEPTED;
}

std::vector<std::string> TimeLsRequest::poll(int64_t nowNs) {
  if (st != State::WAITING) return {};
  bool allRefused = refusedNow[0] && refusedNow[1];
  if (!allRefused && nowNs - sentNs < ANSWER_NS) return {};
  if (attempt >= MAX_ATTEMPTS) {
    st = nakThisAttempt ? State::REFUSED : State::UNANSWERED;
    return {};
  }
  ++attempt;
  sentNs = nowNs;
  refusedNow[0] = refusedNow[1] = false;
  nakThisAttempt = false;
  return enableTimeLs();
}

std::string TimeLsRequest::describe() const {
  switch (st) {
    case State::IDLE: return "";
    case State::WAITING: return "asked for NAV-TIMELS (attempt " + std::to_string(attempt) + " of " +
                                std::to_string(MAX_ATTEMPTS) + ")";
    case State::ACCEPTED: return "NAV-TIMELS enabled";
    case State::REFUSED:
      return "the receiver refused NAV-TIMELS (ACK-NAK, " + std::to_string(attempt) +
             " attempts): it gives no leap second information";
    case State::UNANSWERED:
      return "no answer to the NAV-TIMELS request (" + std::to_string(attempt) +
             " attempts): not a u-blox, or its input is not connected; no leap second information";
  }
  return "";
}

}  // namespace horloge::ubx
