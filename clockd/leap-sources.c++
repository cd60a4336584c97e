#include "leap-sources.h"
#include <algorithm>
#include <ctime>

namespace horloge::clockd {

namespace {

std::string kindOf(int change) { return change > 0 ? "an inserted" : "a deleted"; }

// "2027-01-01 00:00 UTC": the instant after the leap, as the alarms give it.
std::string leapInstant(int64_t at) { return utcDate(at) + " 00:00 UTC"; }

// TAI - UTC the file gives at `t`.
std::optional<int> fileOffsetAt(const LeapTable& t, int64_t at) {
  std::optional<int> v;
  for (auto& e: t.entries) {
    if (e.unixTime <= at) v = e.taiMinusUtc;
  }
  return v;
}

bool receiverUsable(const ReceiverLeap& r, int64_t now) {
  return r.changeValid && r.receivedUnix <= now + 2 && now < r.receivedUnix + RECEIVER_LEAP_VALID_S;
}

// Why file and receiver disagree, or "".
std::string disagreement(const LeapTable& file, const ReceiverLeap& r, int64_t now) {
  if (r.currentValid) {
    // Within 2 s of a leap the report and the file may straddle it: nothing to conclude there.
    bool nearLeap = std::any_of(file.entries.begin(), file.entries.end(), [&](auto& e) {
      return e.unixTime >= r.receivedUnix - 2 && e.unixTime <= r.receivedUnix + 2;
    });
    auto f = fileOffsetAt(file, r.receivedUnix);
    if (!nearLeap && f && *f != r.taiMinusUtc) {
      return "the receiver says TAI-UTC is " + std::to_string(r.taiMinusUtc) + " s, the leap file " +
             std::to_string(*f) + " s";
    }
  }
  bool rxPending = r.change != 0 && r.atUnix > now;
  if (rxPending && r.atUnix <= file.expiresUnix) {
    bool inFile = false;
    for (size_t i = 1; i < file.entries.size(); ++i) {
      int step = file.entries[i].taiMinusUtc - file.entries[i - 1].taiMinusUtc;
      if (file.entries[i].unixTime == r.atUnix && (step > 0) == (r.change > 0)) inFile = true;
    }
    if (!inFile) {
      return "the receiver announces " + kindOf(r.change) + " leap second before " +
             leapInstant(r.atUnix) + ", the leap file none";
    }
  }
  LeapStatus fs = leapStatus(file, now);
  if (fs.announce != LeapAction::NONE) {
    int dir = fs.announce == LeapAction::INSERT ? 1 : -1;
    if (!rxPending || r.atUnix != fs.at || r.change != dir) {
      return "the leap file announces " + kindOf(dir) + " leap second before " + leapInstant(fs.at) +
             ", the receiver " + (rxPending ? kindOf(r.change) + " one before " + leapInstant(r.atUnix)
                                            : std::string("none"));
    }
  }
  return "";
}

}  // namespace

LeapTable receiverTable(const ReceiverLeap& r) {
  LeapTable t;
  // Only the direction of the change matters to leapStatus(); the current value when known.
  int now = r.currentValid ? r.taiMinusUtc : 0;
  if (r.change != 0 && r.atUnix > r.receivedUnix) {
    t.entries = {{0, now}, {r.atUnix, now + r.change}};
  } else {
    t.entries = {{0, now}};
  }
  t.expiresUnix = r.receivedUnix + RECEIVER_LEAP_VALID_S;
  t.updatedUnix = r.receivedUnix;
  return t;
}

LeapKnowledge combineLeap(const LeapFileInput& file, const std::optional<ReceiverLeap>& receiver,
                          int64_t now) {
  LeapKnowledge k;
  bool fileOk = file.table != nullptr && now < file.table->expiresUnix;
  bool rxOk = receiver && receiverUsable(*receiver, now);
  if (rxOk) {
    LeapTable rt = receiverTable(*receiver);
    k.status = leapStatus(rt, now);
    k.source = "receiver";
    k.validUntil = rt.expiresUnix;
    if (fileOk) {
      std::string why = disagreement(*file.table, *receiver, now);
      if (why.empty()) {
        k.source = "both";
        k.validUntil = std::max(k.validUntil, file.table->expiresUnix);
      } else {
        k.disagree = true;
        k.alarm = "leap file (" + file.path + ") and receiver disagree: " + why +
                  "; following the receiver";
      }
    }
    return k;
  }
  if (file.table != nullptr) {
    // An expired table is still read (its entries are true), but says nothing after its expiry.
    k.status = leapStatus(*file.table, now);
    if (fileOk) {
      k.source = "file";
      k.validUntil = file.table->expiresUnix;
    } else {
      k.validUntil = file.table->expiresUnix;
      k.alarm = "leap file expired on " + utcDate(file.table->expiresUnix) + " (" + file.path +
                "): a leap second after that date cannot be announced";
    }
  }
  if (!file.alarm.empty()) k.alarm = file.alarm;
  return k;
}

}  // namespace horloge::clockd
