// What clockd keeps across restarts, each file written to a temporary name then renamed:
//   driftfile   the oscillator's frequency error and its uncertainty, in ppm (chrony's format:
//               "FREQ SKEW"), so a restart starts disciplined instead of from 0 +- 100 ppm;
//   statedir/clockd.state   the boot it belongs to, the clock updates done (the makestep window)
//               and the last time the clock was known good. A clockd restart in the same boot
//               keeps the window closed; a reboot (the clock may be anywhere) reopens it.
//   statedir/sim-clock.state   under `clock sim`, the virtual clock's state after each command,
//               with the boot and the model it belongs to: a restarted clockd continues the same
//               clock, as a real kernel clock survives a clockd restart (but not a reboot).
//   statedir/clockd.temperature   the frequency-temperature relation learnt so far
//               (temperature.h), so that a restart follows the temperature at once instead of
//               relearning it for hours.
// Each is read whole with a size limit (common/read-file.h): a path naming a device, a FIFO or
// a runaway file is an error naming it, never an unbounded read.
#pragma once
#include "sim-clock.h"
#include "temperature.h"
#include <cstdint>
#include <optional>
#include <string>

namespace horloge::clockd {

// Writes `text` to `path + ".tmp"` (created with `mode`), fsync()s it when `durable`, then
// renames it over `path`: a reader sees the old file or the new one, never half of one.
void writeAtomically(const std::string& path, const std::string& text, bool durable = true,
                     int mode = 0644);

struct Drift {
  double frequency = 0;           // s/s
  double sigma = 0;               // s/s
};

struct StepState {
  std::string bootId;
  int updates = 0;
  int64_t lastGoodNs = 0;
};

// Each of these files is a line of a few dozen bytes: anything past this is not ours.
constexpr size_t MAX_STATE_FILE_BYTES = 4096;
// Clock updates are saved up to this (the largest `makestep` limit the configuration takes,
// so the window's state is kept exactly); a larger count read back is this, so that counting
// on from it cannot overflow an int for decades.
constexpr int MAX_SAVED_UPDATES = 1'000'000'000;

// The driftfile: nullopt when absent or garbage (a damaged file: start from scratch). A path
// that is not a regular file of at most MAX_STATE_FILE_BYTES, or cannot be read, throws a
// kj::Exception "driftfile PATH: why": the operator named something that cannot be ours.
std::optional<Drift> readDrift(const std::string& path);
void writeDrift(const std::string& path, const Drift& d);      // throws on I/O errors
// statedir/clockd.state: nullopt when absent, garbage or unreadable (logged, naming the file).
std::optional<StepState> readStepState(const std::string& path);
void writeStepState(const std::string& path, const StepState& s);

// The files' contents, parsed (and fuzzed: fuzz/state-files-fuzz.c++).
std::optional<Drift> parseDrift(const std::string& text);
std::optional<StepState> parseStepState(const std::string& text);
std::optional<SimClockState> parseSimState(const std::string& text, const std::string& bootId,
                                           const SimClockParams& p);

// Written every second, so without fsync: a clockd restart finds it in the page cache, and
// after a host crash the boot, hence the state, is a new one anyway.
void writeSimState(const std::string& path, const std::string& bootId, const SimClockParams& p,
                   const SimClockState& s);
// The saved state if it is from boot `bootId` (not "") and the same model `p`; else nullopt
// (also when unreadable, logged naming the file).
std::optional<SimClockState> readSimState(const std::string& path, const std::string& bootId,
                                          const SimClockParams& p);

// statedir/clockd.temperature: nullopt when absent, unreadable or garbage (logged, naming the
// file: the relation is then learnt from scratch).
std::optional<TemperatureMemory> readTemperatureMemory(const std::string& path);
void writeTemperatureMemory(const std::string& path, const TemperatureMemory& m);
std::optional<TemperatureMemory> parseTemperatureMemory(const std::string& text);

// /proc/sys/kernel/random/boot_id, or "" when unreadable.
std::string currentBootId();
// The updates to count as done at start: the saved ones if from this boot, else none.
int updatesAtStart(const std::optional<StepState>& saved, const std::string& bootId);

}  // namespace horloge::clockd
