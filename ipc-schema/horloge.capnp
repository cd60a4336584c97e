# The whole inter-process protocol of horloge, in one place.
#
# clockd is the hub. It listens on one Unix socket per role in `rundir`:
#   refclock.sock  bootstrap RefclockFeed   refclockd pushes samples and status
#   netd.sock      bootstrap NetdFeed       netd attaches a StateListener, pushes stats
#   status.sock    bootstrap StatusReader   monitord and horlogectl read, never write
# A socket's bootstrap capability is the only one its peer ever gets; clockd checks the
# peer's uid (SO_PEERCRED) against the role's user before serving it.
# clockd re-checks every field it receives (see clockd/validate.h) and drops a peer that
# sends something out of range.
#
# Times: `...Ns` are Unix times or durations in nanoseconds; NTP wire values keep the wire format.

@0xd3b6f2a61a0c7e15;
using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("horloge::ipc");

enum Role { clockd @0; netd @1; refclockd @2; monitord @3; }

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
}

enum Leap { none @0; insert @1; delete @2; unknown @3; }

struct RefSample {
  # One paired PPS edge: the system clock read at the edge, and the time the GPS says it was.
  sourceId @0 :UInt8;
  systemTimeNs @1 :Int64;
  referenceTimeNs @2 :Int64;
  errorNs @3 :UInt32;         # 1-sigma estimate of the edge's timestamp error
  leap @4 :Leap;
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
}

struct NetdStats {
  received @0 :UInt64;
  answered @1 :UInt64;
  dropped @2 :UInt64;
  kernelRxStamps @3 :UInt64;
  userRxStamps @4 :UInt64;
  stateAgeNs @5 :Int64;       # time since the last ServerState push
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
}

struct Peer(Body) {
  connected @0 :Bool;
  info @1 :DaemonInfo;
  lastSeenNs @2 :Int64;
  body @3 :Body;
}

struct SystemStatus {
  generatedNs @0 :Int64;
  clockd @1 :DaemonInfo;
  clock @2 :ClockStatus;
  refclockd @3 :Peer(List(RefclockStatus));
  netd @4 :Peer(NetdStats);
  monitord @5 :DaemonInfo;    # filled by monitord itself when it renders
}

interface RefclockFeed {
  hello @0 (info :DaemonInfo) -> ();
  pushSample @1 (sample :RefSample) -> ();
  pushStatus @2 (status :List(RefclockStatus)) -> ();
}

interface StateListener {
  update @0 (state :ServerState) -> ();
}

interface NetdFeed {
  attach @0 (info :DaemonInfo, listener :StateListener) -> ();
  pushStats @1 (stats :NetdStats) -> ();
}

interface StatusReader {
  getStatus @0 () -> (status :SystemStatus);
}
