# The whole inter-process protocol of horloge, in one place.
#
# clockd is the hub. It listens on one Unix socket per role in `rundir`:
#   refclock.sock  bootstrap RefclockFeed   refclockd pushes samples and status
#   netd.sock      bootstrap NetdFeed       netd attaches a StateListener, pushes stats
#   status.sock    bootstrap StatusReader   monitord and horlogectl read, never write
#   ntske.sock     bootstrap NtskeFeed      ntskd attaches a KeyListener, pushes stats (NTS on)
# NTS server keys (NtsKeySet) are made, rotated and persisted by clockd alone; it pushes them
# to netd (StateListener.updateKeys) and ntskd (KeyListener.update), which re-check them.
# A socket's bootstrap capability is the only one its peer ever gets; clockd checks the
# peer's uid (SO_PEERCRED) against the role's user before serving it.
# clockd re-checks every field it receives (see clockd/validate.h) and drops a peer that
# sends something out of range.
#
# Times: `...Ns` are Unix times or durations in nanoseconds; NTP wire values keep the wire format.

@0xd3b6f2a61a0c7e15;
using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("horloge::ipc");

enum Role { clockd @0; netd @1; refclockd @2; monitord @3; ntskd @4; }

# The longest text a peer may put in a name, a version, a receiver's fault or anomaly: clockd
# refuses a longer one (clockd/validate.h), so a peer cuts its own texts to it.
const maxText :UInt32 = 128;

struct DaemonInfo {
  # Who the peer is and how it is confined, read from /proc/self/status after lockdown.
  role @0 :Role;
  pid @1 :UInt32;
  uid @2 :UInt32;
  capEff @3 :UInt64;
  noNewPrivs @4 :Bool;
  seccomp @5 :UInt8;          # 0 off, 1 strict, 2 filter
  version @6 :Text;
  startedNs @7 :Int64;
  user @8 :Text;              # the account's name, as the daemon resolved it before lockdown
}

enum Leap { none @0; insert @1; delete @2; unknown @3; }

enum SampleKind {
  pps @0;                     # a PPS edge (paired with NMEA, or numbered from clockd's clock)
  nmea @1;                    # the arrival of a time sentence: no edge, good to a fraction of a second
}

struct RefSample {
  # One sample: the system clock read at the event, and the time the GPS says it was.
  sourceId @0 :UInt8;
  systemTimeNs @1 :Int64;
  referenceTimeNs @2 :Int64;
  errorNs @3 :UInt32;         # PPS: 1-sigma of the edge's timestamp; NMEA: a bound on its error
  obsoleteLeap @4 :Leap;      # never set: leap seconds come from clockd's leap-seconds.list
  kind @5 :SampleKind;
}

struct RefclockStatus {
  sourceId @0 :UInt8;
  name @1 :Text;              # e.g. "sim", "nmea:/dev/ttyAMA0"
  driver @2 :Text;
  locked @3 :Bool;            # PPS and NMEA paired this second
  samples @4 :UInt64;
  nmeaSentences @5 :UInt64;
  nmeaBad @6 :UInt64;         # checksum or syntax errors
  nmeaDelayNs @7 :Int64;      # NMEA arrival after the PPS edge
  fixQuality @8 :UInt8;
  satellitesUsed @9 :UInt8;
  fault @10 :Text;            # empty when healthy
  # Receiver figures (NMEA GGA/GNS/GSA/GSV), NaN or 0 when the receiver has not said.
  satellitesInView @11 :UInt8;
  hdop @12 :Float32;
  pdop @13 :Float32;
  latitude @14 :Float64;      # degrees, north positive
  longitude @15 :Float64;     # degrees, east positive
  altitude @16 :Float64;      # metres above mean sea level
  satellites @17 :List(Satellite);
  # Pairing: the NMEA arrival delay after the edge, averaged (the `time2` operators guess).
  nmeaDelayMeanNs @18 :Int64;
  ppsEdges @19 :UInt64;
  ppsOnlySamples @20 :UInt64; # edges numbered from clockd's clock (no NMEA, clock within 0.4 s)
  refusedPairings @21 :UInt64;# delay near the half-second ambiguity, or no usable second
  # GNSS integrity: while `anomaly` is set no sample goes to clockd.
  anomaly @22 :Text;          # empty when consistent, else e.g. "week rollover"
  anomalies @23 :UInt64;
  lastGoodNs @24 :Int64;      # the persisted last-good GNSS time
  deviceOpen @25 :Bool;
  reopens @26 :UInt64;
  # u-blox UBX frames read from the same stream as the NMEA (`ubx`): good ones of any class,
  # and those dropped (bad checksum, length beyond 256 bytes, a TIMELS of unknown layout).
  ubxFrames @27 :UInt64;
  ubxBad @28 :UInt64;
  leap @29 :ReceiverLeap;     # the last UBX-NAV-TIMELS; receivedNs 0 when none came
  # The receiver's answers to the frames that ask it for NAV-TIMELS (UBX-ACK-ACK, ACK-NAK) and
  # what became of the request: empty when none was made, else e.g. "NAV-TIMELS enabled" or
  # "the receiver refused NAV-TIMELS ...".
  ubxAcks @30 :UInt64;
  ubxNaks @31 :UInt64;
  ubxRequest @32 :Text;
}

struct ReceiverLeap {
  # The leap second information the receiver decoded from the GNSS broadcast (UBX-NAV-TIMELS).
  receivedNs @0 :Int64;       # system time it arrived; 0: never
  currentValid @1 :Bool;
  taiMinusUtc @2 :Int16;      # now (GPS - UTC + 19)
  changeValid @3 :Bool;       # the next event (or the last, when none is scheduled) is known
  change @4 :Int8;            # -1, 0, +1
  atNs @5 :Int64;             # when change != 0: the first second after it, a UTC midnight
}

struct Satellite {
  system @0 :Text;            # NMEA talker of the GSV: GP, GL, GA, GB, GQ
  prn @1 :UInt16;
  elevation @2 :Int8;         # degrees
  azimuth @3 :UInt16;         # degrees
  snr @4 :UInt8;              # dB-Hz, 0 when not tracked
}

struct ClockHint {
  # clockd's answer to each status push: whether its clock is trustworthy to +-0.4 s, so that
  # refclockd may number PPS edges without NMEA (chrony's `lock`). Never a command.
  synced @0 :Bool;            # clockd LOCKED or in HOLDOVER
  offsetNs @1 :Int64;         # clockd's estimate of system clock minus reference, now
  steps @2 :UInt32;           # clock steps clockd has made: a change explains a jump of the clock
}

struct ServerState {
  # What netd puts in every reply header. Wire formats.
  leap @0 :UInt8;             # LI: 0..3
  stratum @1 :UInt8;
  precision @2 :Int8;
  refid @3 :UInt32;
  referenceTime @4 :UInt64;   # NTP 64-bit timestamp
  rootDelay @5 :UInt32;       # NTP short format
  rootDispersion @6 :UInt32;  # NTP short format
  # The clock model netd applies when stamping, so that a `clock sim` appliance serves
  # its virtual clock: served = system + modelOffsetNs + modelFrequency * (system - modelAtNs).
  # The identity (all 0) for `system` and `observe`.
  modelOffsetNs @7 :Int64;
  modelFrequency @8 :Float64; # s/s
  modelAtNs @9 :Int64;        # Unix ns (system clock) the offset is given at
  # clockd has had no state of its own since it started (not yet synchronised, nothing against
  # it): a netd holding a previous clockd's synchronised state keeps serving that, aged as if
  # clockd were away, until a push without this flag or maxholdover (netd/state-listener.h).
  # Only the fields above the model are kept: the model is the clock's, always taken.
  starting @10 :Bool;
  # A slew in progress (a step's worth of offset being slewed out) that clockd must end: until
  # it does, the clock keeps moving `slewRate` s/s beyond the correction it will keep. The
  # header above assumes it ends at `slewEndNs` (Unix ns, system clock); an end that comes late
  # (clockd starved of CPU or stuck on a disk) is error netd adds to the root dispersion.
  # slewRate 0: none.
  slewEndNs @11 :Int64;
  slewRate @12 :Float64;
  # A leap second the sim clock will make at its next midnight (as the kernel does with
  # STA_INS/STA_DEL) and the model above does not yet include: from system time
  # `modelLeapAtNs` the served time moves by `modelLeapNs` (-1 s inserted: a second repeated;
  # +1 s deleted). 0: none (always for `system`, whose kernel makes the leap itself).
  modelLeapAtNs @13 :Int64;
  modelLeapNs @14 :Int64;
}

struct NetdStats {
  received @0 :UInt64;
  answered @1 :UInt64;
  dropped @2 :UInt64;
  kernelRxStamps @3 :UInt64;
  userRxStamps @4 :UInt64;
  stateAgeNs @5 :Int64;       # time since the last ServerState push
  # Why requests got no answer (`dropped` is their sum plus sendErrors).
  droppedLength @6 :UInt64;     # under 48 bytes, not a multiple of 4, truncated
  droppedVersion @7 :UInt64;    # version 0 or 5..7
  droppedMode @8 :UInt64;       # not mode 3: ntpq (6), monlist (7), symmetric, broadcast...
  droppedExtension @9 :UInt64;  # malformed extension fields
  droppedAuth @10 :UInt64;      # a MAC or crypto-NAK (we have no keys)
  droppedSource @11 :UInt64;    # port 0, 0.0.0.0, broadcast, multicast
  droppedOwnAddress @12 :UInt64;  # "from" one of our own addresses
  droppedDenied @13 :UInt64;    # a `deny` rule
  rateLimited @14 :UInt64;      # refused by `ratelimit` (a KoD may have gone instead)
  kodSent @15 :UInt64;          # RATE kiss-o'-death replies (a subset of rateLimited)
  sendErrors @16 :UInt64;       # replies sendmmsg refused
  requestsV1 @17 :UInt64;       # well-formed client requests by NTP version
  requestsV2 @18 :UInt64;
  requestsV3 @19 :UInt64;
  requestsV4 @20 :UInt64;
  interleaved @21 :UInt64;      # replies in interleaved mode (RFC 9769)
  kernelTxStamps @22 :UInt64;   # kernel TX timestamps handed to interleaved clients
  topClients @23 :List(ClientStats);  # busiest clients first, at most 16 (`horlogectl clients`)
  # What a reply carries when netd pushes (its state aged, past maxholdover LI=3/16): what the
  # clients are told, whatever clockd thinks (monitord's /health compares the two).
  servedLeap @24 :UInt8 = 3;
  servedStratum @25 :UInt8 = 16;
  servedRootDispersion @26 :UInt32;   # NTP short format
  # NTS (RFC 8915): authenticated requests answered, NTS NAKs sent (cookie unusable or request
  # not authentic), cookies sealed into replies, requests with malformed NTS fields dropped.
  ntsRequests @27 :UInt64;
  ntsNaks @28 :UInt64;
  ntsCookiesIssued @29 :UInt64;
  droppedNts @30 :UInt64;
}

struct NtsKey {
  id @0 :UInt32;
  createdNs @1 :Int64;
  key @2 :Data;               # AEAD_AES_SIV_CMAC_256 key, 32 bytes: never logged or shown
}

struct NtsKeySet {
  current @0 :UInt32;         # id of the key new cookies are sealed under
  keys @1 :List(NtsKey);      # the current one and those still accepted, at most 16
}

struct NtskeStats {
  # ntskd's NTS-KE server (TLS 1.3, ALPN ntske/1), counted since it started.
  sessions @0 :UInt64;        # TCP connections accepted
  completed @1 :UInt64;       # key exchanges that issued cookies
  cookiesIssued @2 :UInt64;
  openConnections @3 :UInt32;
  # Failures by reason; a session counts in one at most.
  refusedBusy @4 :UInt64;     # over `nts maxconnections`: closed at once
  failedHandshake @5 :UInt64; # TLS handshake failed: TLS 1.2 or older, not TLS at all...
  failedAlpn @6 :UInt64;      # no ALPN ntske/1 offered
  failedTimeout @7 :UInt64;   # idle or slow past the session deadline
  failedTruncated @8 :UInt64; # closed inside a record or before End of Message
  failedOversized @9 :UInt64; # request over 1024 bytes
  failedUnknownCritical @10 :UInt64;
  failedBadRequest @11 :UInt64;
  failedIo @12 :UInt64;       # TLS or socket errors after the handshake
  keyAgeNs @13 :Int64;        # age of the key cookies are sealed under; -1: no keys yet
  refusedRate @14 :UInt64;    # over `nts ratelimit` for its address: closed at once
}

struct NtsStatus {
  # clockd's NTS server keys (never the keys themselves).
  enabled @0 :Bool;
  keys @1 :UInt32;
  currentKeyAgeNs @2 :Int64;
  rotations @3 :UInt64;       # since clockd started
}

enum SyncState { unsynchronised @0; locked @1; holdover @2; }

struct ClockStatus {
  backend @0 :Text;           # system | observe | sim
  state @1 :SyncState;
  reason @2 :Text;            # why the state is what it is
  server @3 :ServerState;
  refid @4 :Text;
  offset @5 :Float64;         # seconds, local clock minus reference
  jitter @6 :Float64;         # seconds, RMS
  frequency @7 :Float64;      # ppm, estimated local frequency error
  samples @8 :UInt64;
  lastSampleNs @9 :Int64;
  rejectedMessages @10 :UInt64;  # peer messages refused by validation
  offsetSigma @11 :Float64;   # seconds, 1-sigma of the offset estimate
  frequencySigma @12 :Float64;  # ppm, 1-sigma of the frequency estimate
  wander @13 :Float64;        # measured frequency wander, s/s per sqrt(s)
  steps @14 :UInt32;          # clock steps made (makestep)
  foreignAdjustments @15 :UInt64;  # times another process was seen adjusting the clock
  leapAlarm @16 :Text;        # empty, or why the leap second table cannot be trusted
  leapPendingNs @17 :Int64;   # Unix time of an announced leap second, 0 if none
  # The GPS disagrees with the majority of the `noselect` peers beyond their combined
  # error bounds (GPS fault or spoofing suspected); empty when they agree or cannot tell.
  gpsAlarm @18 :Text;
  leapExpiresNs @19 :Int64;   # Unix time the leap second table expires, 0 without a table
  sourceKind @20 :Text;       # what the served time comes from: pps | nmea | ntp; empty: none
  # As chronyc's `tracking` shows them (horlogectl tracking):
  lastOffset @21 :Float64;    # s, the offset of the last sample that steered the clock
  rmsOffset @22 :Float64;     # s, RMS of those offsets, exponentially weighted (chrony's "RMS offset")
  residualFrequency @23 :Float64;  # ppm, the selected refclock's frequency against the disciplined
                              # clock over its sample window; NaN for an upstream or none
  updateIntervalNs @24 :Int64;  # between the last two samples that steered the clock; 0: fewer
  temperature @25 :TemperatureStatus;
  # Where the leap second knowledge in use comes from: file (a valid leap-seconds.list),
  # receiver (a GNSS receiver's UBX-NAV-TIMELS), both; empty: none. And until when it is valid:
  # the later of the file's expiry and a day after the receiver last reported.
  leapSource @26 :Text;
  leapValidUntilNs @27 :Int64;
}

struct TemperatureStatus {
  # The crystal's temperature input and the frequency-temperature relation learnt from it.
  sensor @0 :Text;            # where readings come from: a file, "sim clock"; empty: none
  problem @1 :Text;           # why the sensor gives no reading (missing, unreadable); empty: fine
  celsius @2 :Float64;        # the last reading, °C; NaN: none yet
  readNs @3 :Int64;           # Unix time of that reading, 0: none
  active @4 :Bool;            # the relation is clear and used in the prediction (and holdover)
  reference @5 :Float64;      # °C the coefficients are about (the first reading); NaN: none
  lag @6 :Float64;            # s, the crystal's thermal lag behind the sensor that fits best
  windows @7 :Float64;        # minutes of phase weighed into the fit (old ones forgotten)
  linear @8 :Float64;         # ppm per °C, learnt
  linearSigma @9 :Float64;    # its 1-sigma
  quadratic @10 :Float64;     # ppm per °C², learnt
  quadraticSigma @11 :Float64;
}

struct SourceStatus {
  # One time source as selection sees it (refclocks today, upstream NTP servers later).
  sourceId @0 :UInt8;
  kind @1 :Text;              # pps | refclock | ntp
  mark @2 :Text;              # * selected, + combined, - outlier, x falseticker, ? unusable
  offset @3 :Float64;         # seconds, local minus the source
  error @4 :Float64;          # seconds, half-width of its error interval
  jitter @5 :Float64;
  samples @6 :UInt64;
  lastSampleNs @7 :Int64;
  # Upstream NTP servers (kind "ntp"); empty or 0 for refclocks.
  name @8 :Text;              # numeric address
  stratum @9 :UInt8;
  poll @10 :Int8;             # log2 s
  reach @11 :UInt8;           # reach register, octal in displays
  delay @12 :Float64;         # s, round-trip delay of the sample in use
  noselect @13 :Bool;
  lastOffset @14 :Float64;    # s, the newest sample's offset (`offset` is the filter's)
  inconsistent @15 :UInt64;   # replies refused: their timestamps give a negative round trip
  # Refclocks: poll 0 (a sample a second) and reach a register of the last 8 seconds, bit 0 the
  # last second (chronyc's 377: one every second).
}

struct Peer(Body) {
  connected @0 :Bool;
  info @1 :DaemonInfo;
  lastSeenNs @2 :Int64;
  body @3 :Body;
  restarts @4 :UInt32;        # times it came back with another pid since clockd started
}

struct SystemStatus {
  generatedNs @0 :Int64;
  clockd @1 :DaemonInfo;
  clock @2 :ClockStatus;
  refclockd @3 :Peer(List(RefclockStatus));
  netd @4 :Peer(NetdStats);
  monitord @5 :DaemonInfo;    # filled by monitord itself when it renders
  sources @6 :List(SourceStatus);
  host @7 :HostInfo;          # filled by the reader (monitord, horlogectl), not by clockd
  ntskd @8 :Peer(NtskeStats);
  nts @9 :NtsStatus;
}

struct HostInfo {
  name @0 :Text;              # gethostname()
  bootedNs @1 :Int64;         # Unix time the host booted (CLOCK_REALTIME - CLOCK_BOOTTIME)
}

interface RefclockFeed {
  hello @0 (info :DaemonInfo) -> ();
  pushSample @1 (sample :RefSample) -> ();
  pushStatus @2 (status :List(RefclockStatus)) -> (hint :ClockHint);
}

interface StateListener {
  update @0 (state :ServerState) -> ();
  updateKeys @1 (keys :NtsKeySet) -> ();   # NTS on: at attach and at every rotation
}

interface KeyListener {
  update @0 (keys :NtsKeySet) -> ();
}

interface NtskeFeed {
  attach @0 (info :DaemonInfo, listener :KeyListener) -> ();
  pushStats @1 (stats :NtskeStats) -> ();
}

interface NetdFeed {
  attach @0 (info :DaemonInfo, listener :StateListener) -> ();
  pushStats @1 (stats :NetdStats) -> ();
  pushUpstream @2 (sample :UpstreamSample) -> ();   # issue 8, relay mode
}

interface StatusReader {
  getStatus @0 () -> (status :SystemStatus);
}

struct ClientStats {
  # One client of netd (IPv4 address, or IPv6 /64 as netd's rate limiter keys it), counted
  # since netd started or since the client took its slot in netd's fixed table.
  address @0 :Text;           # numeric, e.g. "192.0.2.7" or "2001:db8:1:2::/64"
  requests @1 :UInt64;
  rateLimited @2 :UInt64;     # refused by `ratelimit`
  kodSent @3 :UInt64;         # RATE kiss-o'-death replies (a subset of rateLimited)
  lastAgoNs @4 :Int64;        # time since its last request, when netd pushed
}

struct UpstreamSample {
  # One reply (or a poll without one) from an upstream server that netd polls, raw.
  # T1 and T4 are netd's system clock (T4 the kernel RX stamp); T2 and T3 the server's.
  server @0 :UInt8;           # index of the `server` line, 0..15
  address @1 :Text;           # numeric
  noselect @2 :Bool;
  prefer @3 :Bool;
  t1Ns @4 :Int64;
  t2Ns @5 :Int64;
  t3Ns @6 :Int64;
  t4Ns @7 :Int64;
  stratum @8 :UInt8;
  leap @9 :UInt8;
  rootDelay @10 :UInt32;      # NTP short format
  rootDispersion @11 :UInt32; # NTP short format
  refid @12 :UInt32;
  poll @13 :Int8;             # netd's poll interval now, log2 s
  reach @14 :UInt8;
  valid @15 :Bool;            # false: no usable reply (only poll/reach/stopped are meaningful)
  stopped @16 :Bool;          # a DENY or RSTR kiss: netd no longer polls it
}
