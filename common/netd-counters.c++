#include "netd-counters.h"

namespace horloge {

namespace {

constexpr char DROPPED_HELP[] = "Requests dropped, by reason";
constexpr char VERSION_HELP[] = "Well-formed requests by NTP version";

}  // namespace

// The NetdStats field's getter and setter, by its name in the schema.
#define FIELD(Name)                                                  \
  [](ipc::NetdStats::Reader s) -> uint64_t { return s.get##Name(); }, \
  [](ipc::NetdStats::Builder s, uint64_t v) { s.set##Name(v); }
#define COUNTER(c) true, NetdCounter::c
#define DERIVED false, NetdCounter::RECEIVED

const NetdStatRow NETD_STAT_ROWS[26] = {
  {COUNTER(RECEIVED), "received", "NTP packets received", "ntp_server_received_packets_total", "", "",
   "NTP requests received", false, FIELD(Received)},
  {COUNTER(ANSWERED), "answered", "NTP packets answered", "ntp_server_answered_packets_total", "", "",
   "NTP replies sent", false, FIELD(Answered)},
  {DERIVED, "dropped", "NTP packets dropped", "ntp_server_unanswered_packets_total", "", "",
   "Requests that got no answer", false, FIELD(Dropped)},
  {COUNTER(RATE_LIMITED), "rate_limited", "Rate limited", "ntp_server_rate_limited_packets_total", "", "",
   "Requests refused by ratelimit", true, FIELD(RateLimited)},
  {COUNTER(KOD_SENT), "kod_sent", "KoD sent", "ntp_server_kod_packets_total", "", "",
   "RATE kiss-o'-death replies sent", true, FIELD(KodSent)},
  {COUNTER(DROPPED_DENIED), "dropped_denied", "Denied", "ntp_server_dropped_packets_total", "reason", "denied",
   DROPPED_HELP, true, FIELD(DroppedDenied)},
  {COUNTER(DROPPED_LENGTH), "dropped_length", "Bad length", "ntp_server_dropped_packets_total", "reason", "length",
   DROPPED_HELP, true, FIELD(DroppedLength)},
  {COUNTER(DROPPED_VERSION), "dropped_version", "Bad version", "ntp_server_dropped_packets_total", "reason",
   "version", DROPPED_HELP, true, FIELD(DroppedVersion)},
  {COUNTER(DROPPED_MODE), "dropped_mode", "Not client mode", "ntp_server_dropped_packets_total", "reason", "mode",
   DROPPED_HELP, true, FIELD(DroppedMode)},
  {COUNTER(DROPPED_EXTENSION), "dropped_extension", "Bad extension", "ntp_server_dropped_packets_total", "reason",
   "extension", DROPPED_HELP, true, FIELD(DroppedExtension)},
  {COUNTER(DROPPED_AUTH), "dropped_auth", "Authenticated", "ntp_server_dropped_packets_total", "reason", "auth",
   DROPPED_HELP, true, FIELD(DroppedAuth)},
  {COUNTER(DROPPED_SOURCE), "dropped_source", "Bad source", "ntp_server_dropped_packets_total", "reason", "source",
   DROPPED_HELP, true, FIELD(DroppedSource)},
  {COUNTER(DROPPED_OWN_ADDRESS), "dropped_own_address", "From own address", "ntp_server_dropped_packets_total", "reason",
   "own_address", DROPPED_HELP, true, FIELD(DroppedOwnAddress)},
  {COUNTER(DROPPED_NTS), "dropped_nts", "Bad NTS fields", "ntp_server_dropped_packets_total", "reason",
   "nts", DROPPED_HELP, true, FIELD(DroppedNts)},
  {COUNTER(SEND_ERRORS), "send_errors", "Send errors", "ntp_server_send_error_packets_total", "", "",
   "Replies the kernel refused to send", true, FIELD(SendErrors)},
  {COUNTER(REQUESTS_V1), "requests_v1", "NTPv1 requests", "ntp_server_request_packets_total", "version", "1",
   VERSION_HELP, true, FIELD(RequestsV1)},
  {COUNTER(REQUESTS_V2), "requests_v2", "NTPv2 requests", "ntp_server_request_packets_total", "version", "2",
   VERSION_HELP, true, FIELD(RequestsV2)},
  {COUNTER(REQUESTS_V3), "requests_v3", "NTPv3 requests", "ntp_server_request_packets_total", "version", "3",
   VERSION_HELP, true, FIELD(RequestsV3)},
  {COUNTER(REQUESTS_V4), "requests_v4", "NTPv4 requests", "ntp_server_request_packets_total", "version", "4",
   VERSION_HELP, true, FIELD(RequestsV4)},
  {COUNTER(INTERLEAVED), "interleaved", "Interleaved replies", "ntp_server_interleaved_packets_total", "", "",
   "Replies in interleaved mode (RFC 9769)", true, FIELD(Interleaved)},
  {COUNTER(KERNEL_RX_STAMPS), "kernel_rx_stamps", "Kernel RX timestamps",
   "ntp_server_kernel_rx_timestamp_packets_total", "", "", "Requests with a kernel RX timestamp",
   false, FIELD(KernelRxStamps)},
  {COUNTER(USER_RX_STAMPS), "user_rx_stamps", "User RX timestamps", "ntp_server_user_rx_timestamp_packets_total",
   "", "", "Requests stamped in user space", false, FIELD(UserRxStamps)},
  {COUNTER(KERNEL_TX_STAMPS), "kernel_tx_stamps", "Kernel TX timestamps",
   "ntp_server_kernel_tx_timestamp_packets_total", "", "",
   "Kernel TX timestamps handed to interleaved clients", false, FIELD(KernelTxStamps)},
  {COUNTER(NTS_REQUESTS), "nts_requests", "NTS requests", "ntp_server_nts_requests_total", "", "",
   "NTS requests answered with an authenticated reply", true, FIELD(NtsRequests)},
  {COUNTER(NTS_NAKS), "nts_naks", "NTS NAKs", "ntp_server_nts_naks_total", "", "",
   "NTS NAKs sent (cookie unusable or request not authentic)", true, FIELD(NtsNaks)},
  // Up to 8 per request: clockd bounds it apart (8 x received).
  {COUNTER(NTS_COOKIES_ISSUED), "nts_cookies_issued", "NTS cookies issued",
   "ntp_server_nts_cookies_issued_total", "", "", "Cookies sealed into NTS replies", false,
   FIELD(NtsCookiesIssued)},
};

#undef FIELD
#undef COUNTER
#undef DERIVED

}  // namespace horloge
