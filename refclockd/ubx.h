// u-blox UBX binary frames in the same serial stream as NMEA: framing (sync 0xB5 0x62, class,
// id, little-endian length, payload, 8-bit Fletcher checksum over class..payload), the one
// message horloge reads (UBX-NAV-TIMELS: leap second information from the GNSS broadcast), and
// the configuration frames that ask the receiver to send it.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace horloge::ubx {

constexpr uint8_t SYNC1 = 0xB5, SYNC2 = 0x62;
constexpr uint8_t CLASS_NAV = 0x01, ID_NAV_TIMELS = 0x26;
constexpr uint8_t CLASS_CFG = 0x06, ID_CFG_MSG = 0x01, ID_CFG_VALSET = 0x8A;
constexpr uint8_t CLASS_ACK = 0x05, ID_ACK_NAK = 0x00, ID_ACK_ACK = 0x01;
// The longest payload accepted: TIMELS is 24 bytes, nothing horloge reads is longer. A longer
// length is a corrupt header (or noise that looked like a sync), dropped without waiting for it.
constexpr size_t MAX_PAYLOAD = 256;
constexpr size_t TIMELS_LENGTH = 24;
// GPS time ran ahead of UTC by 19 s less than TAI did: TAI - UTC = (GPS - UTC) + 19.
constexpr int GPS_TAI_OFFSET = 19;

// The 8-bit Fletcher checksum (CK_A, CK_B) of `bytes` (class, id, length and payload).
std::pair<uint8_t, uint8_t> checksum(std::string_view bytes);

// A whole frame (sync, header, payload, checksum) for `payload`.
std::string frame(uint8_t cls, uint8_t id, std::string_view payload);

struct Frame {
  uint8_t cls = 0, id = 0;
  std::string payload;
};

// Recognises UBX frames byte by byte. The caller offers each byte to push(): while no frame is
// under way a byte other than the first sync byte is not taken (it belongs to NMEA) and push()
// returns NOT_MINE; inside a frame every byte is taken. A bad checksum or a length beyond
// MAX_PAYLOAD drops the frame and counts it; the stream then resynchronises on the next 0xB5 0x62.
class Framer {
public:
  enum Result { NOT_MINE, TAKEN, FRAME };
  Result push(uint8_t c);
  const Frame& frame() const { return current; }   // valid after FRAME, until the next push
  uint64_t bad() const { return dropped; }
  uint64_t good() const { return frames; }
  bool inside() const { return state != IDLE; }

private:
  enum State { IDLE, SYNC, CLASS, ID, LEN1, LEN2, PAYLOAD, CK_A, CK_B };
  State state = IDLE;
  Frame current;
  size_t length = 0;
  uint8_t ckA = 0, ckB = 0, gotA = 0;
  uint64_t dropped = 0, frames = 0;
  void add(uint8_t c) { ckA += c; ckB += ckA; }
};

// UBX-NAV-TIMELS, as the receiver sent it.
struct TimeLs {
  uint32_t iTowMs = 0;
  uint8_t version = 0;
  uint8_t srcOfCurrLs = 0, srcOfLsChange = 0;
  int currLs = 0;                  // GPS - UTC, seconds (18 since 2017)
  int lsChange = 0;                // -1, 0 or +1 at the event
  int32_t timeToLsEvent = 0;       // s from this epoch to the event (< 0: the last one, past)
  uint16_t dateOfLsGpsWn = 0, dateOfLsGpsDn = 0;
  bool validCurrLs = false;        // valid bit 0
  bool validTimeToLsEvent = false; // valid bit 1
};

// Decodes a TIMELS payload; nothing when its length or version is not the documented one
// (24 bytes, version 0).
std::optional<TimeLs> decodeTimeLs(std::string_view payload);
// Encodes one (the simulator's receiver; tests).
std::string encodeTimeLs(const TimeLs& t);

// What refclockd makes of a TIMELS, in UTC terms, for clockd.
struct LeapReport {
  bool currentValid = false;
  int taiMinusUtc = 0;             // currLs + 19
  bool changeValid = false;        // the next (or last) event is known
  int change = 0;                  // -1, 0, +1
  int64_t atUnix = 0;              // the first second after the event: a UTC midnight
};
// `epochUnix`: the UTC second (by the receiver's own time sentences) of the epoch TIMELS
// belongs to; 0 when unknown (then the event's date is not given). The event falls at the end
// of a UTC day: the time the receiver gives to it is rounded to the nearest midnight, which
// absorbs the second or so between the epoch and the sentence that named it.
LeapReport leapReport(const TimeLs& t, int64_t epochUnix);

// The frames that make a receiver send NAV-TIMELS once per navigation epoch, in the order to
// send them: UBX-CFG-MSG (M6 to M8; the rate on the port it arrives on) and UBX-CFG-VALSET
// (M9, M10, F9: CFG-MSGOUT-UBX_NAV_TIMELS on UART1 and USB, RAM layer). Each receiver
// acknowledges the one it knows and refuses (ACK-NAK) the other, harmlessly.
std::vector<std::string> enableTimeLs();

// UBX-ACK-ACK / UBX-ACK-NAK: the receiver's answer to a configuration frame, naming the class and
// id of the frame it answers (payload: those 2 bytes).
struct Ack {
  bool accepted = false;           // ACK-ACK; false: ACK-NAK
  uint8_t cls = 0, id = 0;         // the frame answered
};
// Nothing when `f` is not an ACK-ACK or ACK-NAK of the documented 2-byte length.
std::optional<Ack> decodeAck(const Frame& f);
// A whole ACK-ACK or ACK-NAK frame (the simulator's receiver; tests).
std::string ackFrame(bool accepted, uint8_t cls, uint8_t id);

}  // namespace horloge::ubx
