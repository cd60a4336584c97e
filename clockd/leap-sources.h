// Leap second knowledge from two sources: the leap-seconds.list file (leap-file.h) and a GNSS
// receiver's own report (UBX-NAV-TIMELS, pushed by refclockd). Either one, while valid, lets
// the server announce a leap; with both they are cross-checked, and a disagreement is an alarm.
// On a disagreement the receiver is followed: its report is what the GNSS broadcast says now,
// the file may be stale or edited (an appliance in a VLAN without Internet updates it rarely).
#pragma once
#include "leap-file.h"
#include <cstdint>
#include <optional>
#include <string>

namespace horloge::clockd {

// What a receiver said, as clockd validated it (clockd/validate.c++).
struct ReceiverLeap {
  int64_t receivedUnix = 0;        // when refclockd read it (system time)
  bool currentValid = false;
  int taiMinusUtc = 0;
  bool changeValid = false;        // the receiver knows the next event (or that there is none)
  int change = 0;                  // -1, 0, +1
  int64_t atUnix = 0;              // change != 0: the first second after the event
};

// A receiver's report is trusted for a day after it arrived: the GNSS broadcasts its leap data
// continuously, and a leap is announced months before it happens, so a day-old report misses
// nothing while the antenna is away for less than that.
constexpr int64_t RECEIVER_LEAP_VALID_S = 86400;

struct LeapKnowledge {
  LeapStatus status;               // what LI says and what the kernel is told
  std::string source;              // "file", "receiver", "both"; "": nothing valid
  int64_t validUntil = 0;          // Unix time the knowledge in use stops being valid; 0: none
  std::string alarm;               // "" or why the leap second knowledge cannot be trusted
  bool disagree = false;           // file and receiver contradict each other
};

struct LeapFileInput {
  const LeapTable* table = nullptr;   // the leap file in use, or none
  std::string path;
  std::string alarm;                  // why there is no table (chooseLeapFile), or ""
};

// The receiver's report as a table leapStatus() understands: its current TAI - UTC and the one
// pending event, expiring RECEIVER_LEAP_VALID_S after it arrived.
LeapTable receiverTable(const ReceiverLeap& r);

LeapKnowledge combineLeap(const LeapFileInput& file, const std::optional<ReceiverLeap>& receiver,
                          int64_t nowUnix);

}  // namespace horloge::clockd
