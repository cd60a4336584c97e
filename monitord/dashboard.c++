#include "dashboard.h"

namespace horloge::monitord {

const kj::StringPtr DASHBOARD_CSP =
    "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; "
    "img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"_kj;

const kj::StringPtr DASHBOARD_HTML = R"HTML(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>horloge</title>
<link rel="icon" href="data:,">
<style>
* { box-sizing: border-box; }
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; background: #f4f5f7; color: #1d2330; }
header { padding: 12px 20px; color: #fff; background: #5b6270; }
header.locked { background: #1f7a3a; } header.holdover { background: #b7791f; }
header.unsynchronised, header.down, header.alarm { background: #b02a2a; }
header.locked.warning { background: #b7791f; }
header h1 { margin: 0; font-size: 20px; overflow-wrap: anywhere; }
header p, header ul { margin: 2px 0 0; overflow-wrap: anywhere; }
header ul { padding-left: 18px; font-weight: 600; }
header ul:empty { display: none; }
#meta { opacity: .9; font-size: 13px; }
nav { padding: 8px 20px 0; display: flex; gap: 6px; align-items: center; flex-wrap: wrap; }
nav button { font: inherit; padding: 2px 10px; border: 1px solid #9aa1ad; border-radius: 4px; background: #fff; cursor: pointer; }
nav button.on { background: #1d2330; color: #fff; border-color: #1d2330; }
main { padding: 12px 20px; display: grid; gap: 14px; grid-template-columns: repeat(auto-fit, minmax(min(520px, 100%), 1fr)); }
section { background: #fff; border-radius: 6px; padding: 10px 14px; box-shadow: 0 1px 2px #0002; min-width: 0; overflow-x: auto; }
h2 { font-size: 15px; margin: 0 0 8px; }
h3 { font-size: 13px; margin: 10px 0 4px; color: #444; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 2px 8px 2px 0; border-bottom: 1px solid #eee; vertical-align: top; overflow-wrap: anywhere; }
thead th, #clock th, #server th, td.num, td.nowrap { white-space: nowrap; overflow-wrap: normal; }
td.num { text-align: right; }
#gnss th { max-width: 40%; }
/* A phone has room for the columns a chronyc user reads first. */
@media (max-width: 600px) {
  main { padding: 8px; } header, nav { padding-left: 10px; padding-right: 10px; }
  #sources th:nth-child(3), #sources td:nth-child(3), #sources th:nth-child(4), #sources td:nth-child(4),
  #sources th:nth-child(8), #sources td:nth-child(8), #clients th:nth-child(4), #clients td:nth-child(4) { display: none; }
}
.mark { font-family: monospace; font-weight: bold; width: 1.5em; }
.bar { display: inline-block; height: 10px; background: #3b7dd8; vertical-align: middle; }
.fault { color: #b02a2a; }
svg { width: 100%; height: 160px; background: #fbfbfd; border: 1px solid #e3e5ea; }
svg .line { fill: none; stroke: #3b7dd8; stroke-width: 1.5; }
svg .grid { stroke: #e3e5ea; } svg text { font-size: 10px; fill: #555; }
small { color: #666; }
</style>
</head>
<body>
<header id="banner" class="down"><h1 id="state">horloge: loading…</h1><p id="reason"></p>
<ul id="alarms"></ul><p id="meta"></p></header>
<nav id="window">Charts: <button data-seconds="3600" class="on">1 h</button><button data-seconds="21600">6 h</button><button data-seconds="86400">24 h</button></nav>
<main>
<section><h2>Clock</h2><table id="clock"><tbody></tbody></table></section>
<section><h2>Sources</h2>
<table id="sources"><thead><tr><th>M</th><th>Name</th><th>Kind</th><th>St</th><th>Reach</th><th>Offset</th><th>Error</th><th>Jitter</th><th>Last</th></tr></thead><tbody></tbody></table>
<small>* selected, + combined, - outlier, x falseticker, ? unusable; reach: octal, the last 8 polls (377: all)</small></section>
<section><h2>GNSS</h2><table id="gnss"><tbody></tbody></table>
<h3>Satellites</h3>
<table id="satellites"><thead><tr><th>Sys</th><th>PRN</th><th>Elev</th><th>Azim</th><th>SNR (dB-Hz)</th></tr></thead><tbody></tbody></table></section>
<section><h2>Server</h2><table id="server"><tbody></tbody></table>
<h3>Top clients</h3>
<table id="clients"><thead><tr><th>Address</th><th>Requests</th><th>Rate limited</th><th>KoD</th><th>Last</th></tr></thead><tbody></tbody></table></section>
<section><h2>Daemons</h2>
<table id="daemons"><thead><tr><th>Daemon</th><th>State</th><th>PID</th><th>User</th><th>Capabilities</th><th>Seccomp</th><th>Restarts</th><th>Up</th></tr></thead><tbody></tbody></table>
<small>Restarts: since clockd started (clockd's own: as monitord saw them)</small></section>
<section><h2>Offset <span class="span">(1 h)</span></h2><svg id="chart-offset" viewBox="0 0 600 160" preserveAspectRatio="none"></svg></section>
<section><h2>Jitter <span class="span">(1 h)</span></h2><svg id="chart-jitter" viewBox="0 0 600 160" preserveAspectRatio="none"></svg></section>
<section><h2>Frequency <span class="span">(1 h)</span></h2><svg id="chart-frequency" viewBox="0 0 600 160" preserveAspectRatio="none"></svg></section>
<section><h2>Request rate <span class="span">(1 h)</span></h2><svg id="chart-rate" viewBox="0 0 600 160" preserveAspectRatio="none"></svg></section>
</main>
<script src="/dashboard.js"></script>
</body>
</html>
)HTML"_kj;

const kj::StringPtr DASHBOARD_JS = R"JS("use strict";
// Text only through textContent: every string here may come from a peer daemon.
const $ = (id) => document.getElementById(id);
function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}
// A number, or null: Cap'n Proto's JSON writes 64-bit integers as strings and NaN as "NaN".
function num(v) {
  if (v === null || v === undefined || v === "") return null;
  const n = Number(v);
  return isFinite(n) ? n : null;
}
function secs(s) {
  s = num(s);
  if (s === null) return "-";
  const a = Math.abs(s);
  if (a < 1e-6) return (s * 1e9).toFixed(0) + " ns";
  if (a < 1e-3) return (s * 1e6).toFixed(3) + " µs";
  if (a < 1) return (s * 1e3).toFixed(3) + " ms";
  return s.toFixed(3) + " s";
}
function fixed(v, digits) {
  v = num(v);
  return v === null ? "-" : v.toFixed(digits);
}
// The crystal's temperature and the relation learnt from it, in one line.
function temperature(t) {
  if (!t || !t.sensor) return "no sensor";
  if (t.problem) return t.problem;
  let s = num(t.celsius) === null ? "-" : fixed(t.celsius, 1) + " °C";
  const coefficient = (v, sigma, digits, unit) =>
    (num(v) >= 0 ? "+" : "") + fixed(v, digits) + " ± " + fixed(sigma, digits) + " " + unit;
  if (t.active) {
    s += " · " + coefficient(t.linear, t.linearSigma, 3, "ppm/°C") + ", " +
      coefficient(t.quadratic, t.quadraticSigma, 4, "ppm/°C²") + " (lag " + fixed(t.lag, 0) + " s)";
  } else {
    s += " · learning";
  }
  return s;
}
// A duration as people say it: "3 d 4 h", "5 h 12 min", "12 min", "40 s".
function duration(s) {
  s = Math.max(0, Math.floor(s));
  const d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
  if (d) return d + " d " + h + " h";
  if (h) return h + " h " + m + " min";
  if (m) return m + " min";
  return s + " s";
}
function ago(ns, nowNs) {
  ns = num(ns);
  return ns ? duration((num(nowNs) - ns) * 1e-9) + " ago" : "never";
}
function since(ns, nowNs) {
  ns = num(ns);
  return ns ? duration((num(nowNs) - ns) * 1e-9) : "-";
}
function fill(tbody, rows) {
  tbody.replaceChildren(...rows.map((cells) => {
    const tr = el("tr");
    for (const c of cells) tr.append(c instanceof Node ? c : el("td", c));
    return tr;
  }));
}
function kv(id, pairs) {
  fill($(id).tBodies[0], pairs.map(([k, v]) => [el("th", k), v instanceof Node ? v : el("td", v)]));
}
const CAPS = ["chown", "dac_override", "dac_read_search", "fowner", "fsetid", "kill", "setgid",
  "setuid", "setpcap", "linux_immutable", "net_bind_service", "net_broadcast", "net_admin",
  "net_raw", "ipc_lock", "ipc_owner", "sys_module", "sys_rawio", "sys_chroot", "sys_ptrace",
  "sys_pacct", "sys_admin", "sys_boot", "sys_nice", "sys_resource", "sys_time",
  "sys_tty_config", "mknod", "lease", "audit_write", "audit_control", "setfcap",
  "mac_override", "mac_admin", "syslog", "wake_alarm", "block_suspend", "audit_read",
  "perfmon", "bpf", "checkpoint_restore"];
function capabilities(capEff) {
  let bits;
  try { bits = BigInt(capEff || 0); } catch (e) { return "?"; }
  const names = [];
  for (let i = 0; i < 64; i++) {
    if ((bits >> BigInt(i)) & 1n) names.push("cap_" + (CAPS[i] || i));
  }
  return names.length ? names.join(", ") : "none";
}

let windowSeconds = 3600, lastHistory = null, lastStatus = null, clockdRestarts = null;

// "2027-01-01 00:00 UTC" from Unix nanoseconds (a JSON Int64 may come as a string).
function utcDay(ns) {
  return new Date(Number(ns) / 1e6).toISOString().slice(0, 16).replace("T", " ") + " UTC";
}

// What a receiver says about leap seconds (UBX-NAV-TIMELS), when it has said anything.
function receiverLeap(r) {
  const l = r.leap || {};
  if (!Number(l.receivedNs || 0)) return "";
  const pending = l.changeValid && l.change && Number(l.atNs) > Number(l.receivedNs);
  return ", leap: TAI-UTC " + (l.currentValid ? (l.taiMinusUtc || 0) + " s" : "?") +
    (pending ? ", " + (l.change > 0 ? "insert" : "delete") + " before " + utcDay(l.atNs) : ", none pending");
}

function renderStatus(st) {
  const clock = st.clock || {};
  const state = clock.state || "unsynchronised";
  const refclocks = (st.refclockd && st.refclockd.connected && st.refclockd.body) || [];
  // Amber when locked but an operator must act before the time goes wrong (as /health's
  // "warning:" lines): an expired or unusable leap second table. Red on a GPS alarm.
  $("banner").className = (clock.gpsAlarm ? "alarm" : state) + (clock.leapAlarm ? " warning" : "");
  $("state").textContent = "horloge: " + state + (clock.refid ? " to " + clock.refid : "");
  $("reason").textContent = clock.reason || "";
  // The alarms, worded as /health's lines.
  const alarms = [];
  if (clock.gpsAlarm) alarms.push("GPS alarm: " + clock.gpsAlarm);
  if (clock.leapAlarm) alarms.push("warning: leap seconds: " + clock.leapAlarm);
  if (num(clock.leapPendingNs)) {
    alarms.push("Leap second announced for " + new Date(num(clock.leapPendingNs) / 1e6).toISOString());
  }
  for (const r of refclocks) if (r.fault) alarms.push(r.name + ": " + r.fault);
  $("alarms").replaceChildren(...alarms.map((a) => el("li", a)));
  const host = st.host || {};
  const version = (st.clockd && st.clockd.version) || (st.monitord && st.monitord.version) || "?";
  const now = num(st.generatedNs);
  const meta = [(host.name || "?"), "horloge " + version];
  if (num(host.bootedNs)) meta.push("host up " + since(host.bootedNs, now));
  if (st.clockd && num(st.clockd.startedNs)) meta.push("clockd up " + since(st.clockd.startedNs, now));
  $("meta").textContent = meta.join(" · ");
  document.title = (host.name ? host.name + " — " : "") + "horloge: " + state;

  const server = clock.server || {};
  kv("clock", [["backend", clock.backend || "-"], ["source", clock.sourceKind || "-"],
    ["stratum", server.stratum || 0],
    ["max error", secs((num(server.rootDelay) || 0) / 131072 + (num(server.rootDispersion) || 0) / 65536)],
    ["offset", secs(clock.offset)], ["jitter", secs(clock.jitter)],
    ["frequency", fixed(clock.frequency, 3) + " ppm"],
    ["temperature", temperature(clock.temperature)],
    ["root delay", secs((num(server.rootDelay) || 0) / 65536)],
    ["root dispersion", secs((num(server.rootDispersion) || 0) / 65536)],
    ["leap", ["none", "insert", "delete", "alarm"][server.leap || 0] + (clock.leapAlarm ? " (" + clock.leapAlarm + ")" : "")],
    ["leap knowledge", (clock.leapSource || "none") +
      (Number(clock.leapValidUntilNs || 0) > 0 ? ", valid until " + utcDay(clock.leapValidUntilNs) : "")],
    ["samples", (clock.samples || 0) + " (last " + ago(clock.lastSampleNs, now) + ")"],
    ["GPS alarm", clock.gpsAlarm || "none"]]);

  const nameOf = (s) => {
    const rc = refclocks.find((r) => (r.sourceId || 0) === (s.sourceId || 0));
    return s.name || (rc && rc.name ? rc.name : (s.kind || "?") + (s.sourceId || 0));
  };
  fill($("sources").tBodies[0], (st.sources || []).map((s) => [el("td", s.mark || "?", "mark"),
    nameOf(s), s.kind || "-", el("td", s.stratum || 0, "num"),
    el("td", (num(s.reach) || 0).toString(8), "num"), el("td", secs(s.offset), "num"),
    el("td", secs(s.error), "num"), el("td", secs(s.jitter), "num"), ago(s.lastSampleNs, now)]));

  const gnss = [], sats = [];
  if (!(st.refclockd && st.refclockd.connected)) gnss.push([el("th", "refclockd"), el("td", "down", "fault")]);
  for (const r of refclocks) {
    const text = (r.locked ? "locked" : "not locked") + ", fix " + (r.fixQuality || 0) + ", " +
      (r.satellitesUsed || 0) + "/" + (r.satellitesInView || 0) + " satellites, HDOP " +
      fixed(r.hdop, 1) + ", NMEA delay " + secs((num(r.nmeaDelayNs) || 0) * 1e-9) +
      (r.anomaly ? ", anomaly: " + r.anomaly : "") + receiverLeap(r);
    const td = el("td", text);
    if (r.fault) td.append(el("div", "fault: " + r.fault, "fault"));
    gnss.push([el("th", r.name || "-"), td]);
    for (const s of r.satellites || []) {
      const bar = el("span", undefined, "bar");
      bar.style.width = Math.min(60, s.snr || 0) * 3 + "px";
      const cell = el("td");
      cell.append(bar, " " + (s.snr || 0));
      sats.push([s.system || "-", s.prn || 0, s.elevation || 0, s.azimuth || 0, cell]);
    }
  }
  fill($("gnss").tBodies[0], gnss);
  fill($("satellites").tBodies[0], sats);

  const n = st.netd || {};
  const b = n.body || {};
  let rate = null;
  if (n.connected && lastStatus && lastStatus.netd && lastStatus.netd.connected) {
    const dt = (now - num(lastStatus.generatedNs)) * 1e-9;
    const dn = num(b.received) - num((lastStatus.netd.body || {}).received);
    if (dt > 0 && dn >= 0) rate = dn / dt;
  }
  if (rate === null && lastHistory) {
    const s = lastHistory.samples || [];
    if (s.length) rate = num(s[s.length - 1][5]);
  }
  kv("server", n.connected ? [["requests/s", rate === null ? "-" : rate.toFixed(1)],
    ["received", b.received || 0], ["answered", b.answered || 0],
    ["dropped", b.dropped || 0], ["rate limited", b.rateLimited || 0], ["KoD sent", b.kodSent || 0],
    ["interleaved", b.interleaved || 0]] : [["netd", el("td", "down", "fault")]]);
  fill($("clients").tBodies[0], (n.connected ? b.topClients || [] : []).map((c) => [c.address || "-",
    el("td", c.requests || 0, "num"), el("td", c.rateLimited || 0, "num"),
    el("td", c.kodSent || 0, "num"), el("td", duration((num(c.lastAgoNs) || 0) * 1e-9) + " ago", "nowrap")]));

  const seccomp = ["off", "strict", "filter"];
  const daemon = (name, up, info, restarts) => up ? [name, "up", el("td", info.pid || "-", "num"),
      info.user ? info.user + " (" + (info.uid || 0) + ")" : String(info.uid || 0),
      capabilities(info.capEff), seccomp[info.seccomp || 0] || "?",
      el("td", restarts === null || restarts === undefined ? "-" : restarts, "num"),
      el("td", since(info.startedNs, now), "nowrap")]
    : [name, el("td", "down", "fault"), "-", "-", "-", "-",
       el("td", restarts === null || restarts === undefined ? "-" : restarts, "num"), "-"];
  fill($("daemons").tBodies[0], [
    daemon("clockd", !!st.clockd && num(st.clockd.pid), st.clockd || {}, clockdRestarts),
    daemon("refclockd", st.refclockd && st.refclockd.connected, (st.refclockd || {}).info || {}, (st.refclockd || {}).restarts || 0),
    daemon("netd", n.connected, n.info || {}, n.restarts || 0),
    daemon("monitord", !!st.monitord, st.monitord || {}, null)]);
  lastStatus = st;
}

function chart(id, points, unit, scale) {
  const svg = $(id), W = 600, H = 160, L = 56, B = 16;
  const NS = "http://www.w3.org/2000/svg";
  const node = (tag, attrs, text) => {
    const e = document.createElementNS(NS, tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const now = Date.now() / 1000, span = windowSeconds, t0 = now - span;
  const pts = points.filter((p) => p[1] !== null && isFinite(p[1]) && p[0] >= t0);
  const kids = [];
  let lo = Math.min(...pts.map((p) => p[1])), hi = Math.max(...pts.map((p) => p[1]));
  if (!pts.length) { lo = 0; hi = 1; }
  if (hi === lo && hi === 0) hi = 1;   // nothing yet (no request): a plain 0..1 scale
  if (hi === lo) { hi += Math.abs(hi) * 0.1 || 1e-9; lo -= Math.abs(lo) * 0.1 || 1e-9; }
  const x = (t) => L + (W - L - 4) * (t - t0) / span;
  const y = (v) => 4 + (H - B - 8) * (1 - (v - lo) / (hi - lo));
  for (const v of [lo, (lo + hi) / 2, hi]) {
    kids.push(node("line", {x1: L, x2: W, y1: y(v), y2: y(v), class: "grid"}));
    kids.push(node("text", {x: 2, y: y(v) + 3}, (v * scale).toPrecision(3) + " " + unit));
  }
  // Five ticks: minutes over an hour, hours beyond.
  for (let k = 0; k <= 4; k++) {
    const back = span * (4 - k) / 4;
    const label = k === 4 ? "now" : "-" + (span > 3600 ? back / 3600 + "h" : back / 60 + "m");
    kids.push(node("text", {x: x(t0 + span * k / 4) - (k === 4 ? 20 : k === 0 ? 0 : 10), y: H - 3}, label));
  }
  const d = pts.map((p, i) => (i ? "L" : "M") + x(p[0]).toFixed(1) + "," + y(p[1]).toFixed(1)).join(" ");
  kids.push(node("path", {d: d || "M0,0", class: "line"}));
  if (pts.length === 1) kids.push(node("circle", {cx: x(pts[0][0]), cy: y(pts[0][1]), r: 2, fill: "#3b7dd8"}));
  svg.replaceChildren(...kids);
  svg.setAttribute("data-points", String(pts.length));
}

function renderHistory(h) {
  lastHistory = h;
  if (h.clockdRestarts !== undefined) clockdRestarts = h.clockdRestarts;
  const s = h.samples || [];
  const label = windowSeconds >= 3600 ? windowSeconds / 3600 + " h" : windowSeconds / 60 + " min";
  for (const span of document.querySelectorAll("h2 .span")) span.textContent = "(" + label + ")";
  chart("chart-offset", s.map((r) => [r[0], r[2]]), "µs", 1e6);
  chart("chart-jitter", s.map((r) => [r[0], r[3]]), "µs", 1e6);
  chart("chart-frequency", s.map((r) => [r[0], r[4]]), "ppm", 1);
  chart("chart-rate", s.map((r) => [r[0], r[5]]), "req/s", 1);
  document.body.setAttribute("data-window", String(windowSeconds));
}

for (const button of document.querySelectorAll("#window button")) {
  button.addEventListener("click", () => {
    windowSeconds = Number(button.getAttribute("data-seconds"));
    for (const b of document.querySelectorAll("#window button")) b.className = b === button ? "on" : "";
    if (lastHistory) renderHistory(lastHistory);
  });
}
// #6h or #24h in the address opens that window (a bookmark, a kiosk screen).
const wanted = {"#1h": 3600, "#6h": 21600, "#24h": 86400}[location.hash];
if (wanted) {
  windowSeconds = wanted;
  for (const b of document.querySelectorAll("#window button")) {
    b.className = Number(b.getAttribute("data-seconds")) === wanted ? "on" : "";
  }
}

async function refresh() {
  try {
    renderHistory(await (await fetch("/history.json", {cache: "no-store"})).json());
  } catch (e) { /* keep the last charts */ }
  try {
    const st = await (await fetch("/status", {cache: "no-store"})).json();
    renderStatus(st);
  } catch (e) {
    $("banner").className = "down";
    $("state").textContent = "horloge: monitord unreachable";
    $("reason").textContent = String(e);
  }
  document.body.setAttribute("data-refreshed", new Date().toISOString());
}
refresh();
setInterval(refresh, 10000);
)JS"_kj;

}  // namespace horloge::monitord
