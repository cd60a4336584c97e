// IERS/tzdata `leap-seconds.list`: the table of TAI-UTC changes, when the file expires, and its
// SHA-1 (`#h`), which is checked so that a damaged or edited file is refused rather than used.
// And the rules for using it: LI is announced only in the last month before the leap (30 June
// or 31 December), the kernel is told (STA_INS/STA_DEL) only on the last day, since Linux acts
// at the next UTC midnight after the flag is set.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace horloge::clockd {

struct LeapEntry {
  int64_t unixTime;               // the first second with the new TAI-UTC
  int taiMinusUtc;
};

struct LeapTable {
  std::vector<LeapEntry> entries;
  int64_t expiresUnix = 0;
  int64_t updatedUnix = 0;
};

// Throws (failWith, error.h) naming the problem in words, as the leap alarm shows it: syntax,
// missing or wrong hash, no expiry.
LeapTable parseLeapFile(const std::string& text);

enum class LeapAction : int8_t { DELETE = -1, NONE = 0, INSERT = 1 };

struct LeapStatus {
  LeapAction announce = LeapAction::NONE;   // what LI says (only in the last month)
  LeapAction kernel = LeapAction::NONE;     // what the kernel should be told (only the last day)
  int64_t at = 0;                           // Unix time of the leap, when one is pending
  bool expired = false;                     // the table says nothing about after its expiry
};

LeapStatus leapStatus(const LeapTable& table, int64_t nowUnix);

// Without a `leapfile` line clockd reads both of these and uses the valid one that expires
// later: the copy the package ships (packaging/leap-seconds.list, as fresh as IERS when the
// package was built) and tzdata's (fresher whenever tzdata is updated after us).
constexpr char SHIPPED_LEAPFILE[] = "/usr/share/horloge/leap-seconds.list";
constexpr char TZDATA_LEAPFILE[] = "/usr/share/zoneinfo/leap-seconds.list";

// IERS's file is about 10 KiB; anything much larger is not a leap second table.
constexpr size_t MAX_LEAP_FILE_BYTES = 64 << 10;

struct LeapFileChoice {
  std::optional<LeapTable> table;
  std::string path;               // where `table` came from
  std::string alarm;              // why there is no table (every candidate's reason), or ""
};

// Reads (at most MAX_LEAP_FILE_BYTES of a regular file) and checks each of `paths`; the valid table that expires last wins (the first listed
// on a tie). An explicit `leapfile` is passed alone: it is then the only one considered.
LeapFileChoice chooseLeapFile(const std::vector<std::string>& paths);

// "2027-06-28": a Unix time's UTC date, as the alarms give an expiry.
std::string utcDate(int64_t unixTime);

}  // namespace horloge::clockd
