// What went wrong with a receiver's device, in one sentence an operator can act on: which device,
// what is wrong with it, and the likely fix on a Raspberry Pi (docs/raspberry-pi.md). These
// sentences go to the log, to the status (`fault`) and from there to horlogectl, /health's
// readers and the dashboard: never a system call's source text. They fit the status's
// ipc::MAX_TEXT with the usual device names (refclockd cuts a longer one: clamp()).
#pragma once
#include <cstdint>
#include <kj/string.h>

namespace horloge::refclock {

enum class DeviceKind : uint8_t { PPS, SERIAL };

// The device could not be opened (errno `err` from open()).
kj::String openProblem(DeviceKind kind, kj::StringPtr device, int err);
// It opened, but is not what the configuration says: `what` names the refusal ("not a PPS
// device", "cannot capture the assert edge", ...).
kj::String wrongDevice(DeviceKind kind, kj::StringPtr device, kj::StringPtr what);
// It was open and then failed (errno `err` from read() or PPS_FETCH): unplugged, removed.
kj::String lostProblem(DeviceKind kind, kj::StringPtr device, int err);
// Open, and silent for `seconds`.
kj::String silentPps(kj::StringPtr device, int64_t seconds);
kj::String silentSerial(kj::StringPtr device, int64_t seconds, uint64_t sentences, uint64_t bad,
                        int baud);
// "; retrying in 4 s", for a problem that is being retried.
kj::String retrying(int64_t inNs);
// `text` cut to at most `max` bytes on a character boundary, "..." marking the cut.
kj::String clamp(kj::StringPtr text, size_t max);

}  // namespace horloge::refclock
