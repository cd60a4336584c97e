#!/bin/sh
# Writes fuzz/corpus/ipc-messages-fuzz/: each seed is the selector byte ipc-messages-fuzz.c++
# reads first, then a message serialized by `capnp encode` from ipc-schema/horloge.capnp.
set -eu
here=$(dirname "$0")
out="$here/corpus/ipc-messages-fuzz"
schema="$here/../ipc-schema/horloge.capnp"
mkdir -p "$out"
seed() {   # NAME SELECTOR STRUCT TEXT
  { printf "\\$(printf '%03o' "$2")"; printf '%s' "$4" | capnp encode -I/usr/include "$schema" "$3"; } >"$out/$1"
}
seed ref-sample 0 RefSample '(sourceId = 0, systemTimeNs = 1800000000000000000, referenceTimeNs = 1800000000000000100, errorNs = 200, leap = none, kind = pps)'
seed ref-sample-bad 0 RefSample '(sourceId = 9, systemTimeNs = 5, referenceTimeNs = 1800000000000000100, errorNs = 0)'
seed refclock-status 1 SystemStatus '(refclockd = (connected = true, body = [(sourceId = 0, name = "sim", driver = "sim", locked = true, samples = 10, fixQuality = 1, satellitesUsed = 8, satellites = [(system = "GP", prn = 4, elevation = 40, azimuth = 83, snr = 46), (system = "GL", prn = 70, elevation = 10, azimuth = 200, snr = 30)])]))'
seed netd-stats 2 NetdStats '(received = 100, answered = 90, dropped = 10, droppedMode = 10, requestsV4 = 90, stateAgeNs = 1000000, servedLeap = 0, servedStratum = 1, topClients = [(address = "192.0.2.7", requests = 50, rateLimited = 3, kodSent = 1, lastAgoNs = 5)])'
seed upstream-sample 3 UpstreamSample '(server = 0, address = "198.18.9.1", t1Ns = 1800000000000000000, t2Ns = 1800000000000100000, t3Ns = 1800000000000120000, t4Ns = 1800000000000300000, stratum = 1, leap = 0, rootDelay = 0, rootDispersion = 10, refid = 1347637248, poll = 6, reach = 255, valid = true)'
seed daemon-info 4 DaemonInfo '(role = netd, pid = 42, uid = 65534, capEff = 0, noNewPrivs = true, seccomp = 2, version = "0.1.0", startedNs = 1800000000000000000)'
