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
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; background: #f4f5f7; color: #1d2330; }
header { padding: 12px 20px; color: #fff; background: #5b6270; }
header.locked { background: #1f7a3a; } header.holdover { background: #b7791f; }
header.unsynchronised, header.down { background: #b02a2a; }
header.locked.warning { background: #b7791f; }
header h1 { margin: 0; font-size: 20px; } header p { margin: 2px 0 0; }
main { padding: 12px 20px; display: grid; gap: 14px; grid-template-columns: repeat(auto-fit, minmax(560px, 1fr)); }
section { background: #fff; border-radius: 6px; padding: 10px 14px; box-shadow: 0 1px 2px #0002; }
h2 { font-size: 15px; margin: 0 0 8px; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 2px 8px 2px 0; border-bottom: 1px solid #eee; white-space: nowrap; }
td.num { text-align: right; }
.mark { font-family: monospace; font-weight: bold; width: 1.5em; }
.bar { display: inline-block; height: 10px; background: #3b7dd8; vertical-align: middle; }
svg { width: 100%; height: 160px; background: #fbfbfd; border: 1px solid #e3e5ea; }
svg .line { fill: none; stroke: #3b7dd8; stroke-width: 1.5; }
svg .grid { stroke: #e3e5ea; } svg text { font-size: 10px; fill: #555; }
small { color: #666; }
</style>
</head>
<body>
<header id="banner" class="down"><h1 id="state">horloge: loading…</h1><p id="reason"></p></header>
<main>
<section><h2>Clock</h2><table id="clock"><tbody></tbody></table></section>
<section><h2>Sources</h2>
<table id="sources"><thead><tr><th>M</th><th>Name</th><th>Kind</th><th>Offset</th><th>Error</th><th>Jitter</th><th>Samples</th><th>Last</th></tr></thead><tbody></tbody></table>
<small>* selected, + combined, - outlier, x falseticker, ? unusable</small></section>
<section><h2>GNSS</h2><table id="gnss"><tbody></tbody></table>
<table id="satellites"><thead><tr><th>Sys</th><th>PRN</th><th>Elev</th><th>Azim</th><th>SNR (dB-Hz)</th></tr></thead><tbody></tbody></table></section>
<section><h2>Server load</h2><table id="server"><tbody></tbody></table></section>
<section><h2>Offset (24 h)</h2><svg id="chart-offset" viewBox="0 0 600 160" preserveAspectRatio="none"></svg></section>
<section><h2>Jitter (24 h)</h2><svg id="chart-jitter" viewBox="0 0 600 160" preserveAspectRatio="none"></svg></section>
<section><h2>Frequency (24 h)</h2><svg id="chart-frequency" viewBox="0 0 600 160" preserveAspectRatio="none"></svg></section>
<section><h2>Request rate (24 h)</h2><svg id="chart-rate" viewBox="0 0 600 160" preserveAspectRatio="none"></svg></section>
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
function secs(s) {
  if (s === null || s === undefined || !isFinite(s)) return "-";
  const a = Math.abs(s);
  if (a < 1e-6) return (s * 1e9).toFixed(0) + " ns";
  if (a < 1e-3) return (s * 1e6).toFixed(3) + " µs";
  if (a < 1) return (s * 1e3).toFixed(3) + " ms";
  return s.toFixed(3) + " s";
}
function ago(ns, nowNs) {
  ns = Number(ns || 0);
  return ns ? secs((Number(nowNs) - ns) * 1e-9) + " ago" : "never";
}
function fill(tbody, rows) {
  tbody.replaceChildren(...rows.map((cells) => {
    const tr = el("tr");
    for (const c of cells) tr.append(c instanceof Node ? c : el("td", c));
    return tr;
  }));
}
function kv(id, pairs) {
  fill($(id).tBodies[0], pairs.map(([k, v]) => [el("th", k), el("td", v)]));
}

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
  // Amber when locked but an operator must act before the time goes wrong (as /health's
  // "warning:" lines): an expired or unusable leap second table.
  $("banner").className = state + (clock.leapAlarm ? " warning" : "");
  $("state").textContent = "horloge: " + state + (clock.refid ? " to " + clock.refid : "");
  $("reason").textContent = (clock.reason || "") +
    (clock.leapAlarm ? " — warning: leap seconds: " + clock.leapAlarm : "");
  const server = clock.server || {};
  kv("clock", [["backend", clock.backend || "-"], ["source", clock.sourceKind || "-"],
    ["stratum", server.stratum || 0],
    ["offset", secs(clock.offset)], ["jitter", secs(clock.jitter)],
    ["frequency", (Number(clock.frequency) || 0).toFixed(3) + " ppm"],
    ["root delay", secs((server.rootDelay || 0) / 65536)],
    ["root dispersion", secs((server.rootDispersion || 0) / 65536)],
    ["leap", ["none", "insert", "delete", "alarm"][server.leap || 0] + (clock.leapAlarm ? " (" + clock.leapAlarm + ")" : "")],
    ["leap knowledge", (clock.leapSource || "none") +
      (Number(clock.leapValidUntilNs || 0) > 0 ? ", valid until " + utcDay(clock.leapValidUntilNs) : "")],
    ["samples", (clock.samples || 0) + " (last " + ago(clock.lastSampleNs, st.generatedNs) + ")"],
    ["GPS alarm", clock.gpsAlarm || "none"]]);
  if (clock.gpsAlarm) $("banner").className = "unsynchronised";

  const refclocks = (st.refclockd && st.refclockd.connected && st.refclockd.body) || [];
  const nameOf = (s) => {
    const rc = refclocks.find((r) => (r.sourceId || 0) === (s.sourceId || 0));
    return s.name || (rc && rc.name ? rc.name : (s.kind || "?") + (s.sourceId || 0));
  };
  fill($("sources").tBodies[0], (st.sources || []).map((s) => [el("td", s.mark || "?", "mark"),
    nameOf(s), s.kind || "-", el("td", secs(s.offset), "num"), el("td", secs(s.error), "num"),
    el("td", secs(s.jitter), "num"), el("td", s.samples || 0, "num"), ago(s.lastSampleNs, st.generatedNs)]));

  const gnss = [], sats = [];
  if (!(st.refclockd && st.refclockd.connected)) gnss.push([el("th", "refclockd"), el("td", "down")]);
  for (const r of refclocks) {
    gnss.push([el("th", r.name || "-"), el("td", (r.locked ? "locked" : "not locked") +
      ", fix " + (r.fixQuality || 0) + ", " + (r.satellitesUsed || 0) + "/" + (r.satellitesInView || 0) +
      " satellites, HDOP " + (r.hdop === undefined ? "-" : Number(r.hdop).toFixed(1)) +
      ", NMEA delay " + secs(Number(r.nmeaDelayNs || 0) * 1e-9) + (r.fault ? ", fault: " + r.fault : "") +
      (r.anomaly ? ", anomaly: " + r.anomaly : "") + receiverLeap(r))]);
    for (const s of r.satellites || []) {
      const bar = el("span", undefined, "bar");
      bar.style.width = Math.min(60, s.snr || 0) * 3 + "px";
      const td = el("td");
      td.append(bar, " " + (s.snr || 0));
      sats.push([s.system || "-", s.prn || 0, s.elevation || 0, s.azimuth || 0, td]);
    }
  }
  fill($("gnss").tBodies[0], gnss);
  fill($("satellites").tBodies[0], sats);

  const n = st.netd || {};
  const b = n.body || {};
  kv("server", n.connected ? [["received", b.received || 0], ["answered", b.answered || 0],
    ["dropped", b.dropped || 0], ["rate limited", b.rateLimited || 0], ["KoD sent", b.kodSent || 0],
    ["interleaved", b.interleaved || 0]] : [["netd", "down"]]);
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
  const pts = points.filter((p) => p[1] !== null && isFinite(p[1]));
  const kids = [];
  const now = Date.now() / 1000, t0 = now - 86400;
  let lo = Math.min(...pts.map((p) => p[1])), hi = Math.max(...pts.map((p) => p[1]));
  if (!pts.length) { lo = 0; hi = 1; }
  if (hi === lo) { hi += Math.abs(hi) * 0.1 || 1e-9; lo -= Math.abs(lo) * 0.1 || 1e-9; }
  const x = (t) => L + (W - L - 4) * (t - t0) / 86400;
  const y = (v) => 4 + (H - B - 8) * (1 - (v - lo) / (hi - lo));
  for (const v of [lo, (lo + hi) / 2, hi]) {
    kids.push(node("line", {x1: L, x2: W, y1: y(v), y2: y(v), class: "grid"}));
    kids.push(node("text", {x: 2, y: y(v) + 3}, (v * scale).toPrecision(3) + " " + unit));
  }
  for (let h = 0; h <= 24; h += 6) kids.push(node("text", {x: x(t0 + h * 3600) - (h === 24 ? 20 : 8), y: H - 3}, h === 24 ? "now" : "-" + (24 - h) + "h"));
  const d = pts.map((p, i) => (i ? "L" : "M") + x(p[0]).toFixed(1) + "," + y(p[1]).toFixed(1)).join(" ");
  kids.push(node("path", {d: d || "M0,0", class: "line"}));
  if (pts.length === 1) kids.push(node("circle", {cx: x(pts[0][0]), cy: y(pts[0][1]), r: 2, fill: "#3b7dd8"}));
  svg.replaceChildren(...kids);
  svg.setAttribute("data-points", String(pts.length));
}

function renderHistory(h) {
  const s = h.samples || [];
  chart("chart-offset", s.map((r) => [r[0], r[2]]), "µs", 1e6);
  chart("chart-jitter", s.map((r) => [r[0], r[3]]), "µs", 1e6);
  chart("chart-frequency", s.map((r) => [r[0], r[4]]), "ppm", 1);
  chart("chart-rate", s.map((r) => [r[0], r[5]]), "req/s", 1);
}

async function refresh() {
  try {
    const st = await (await fetch("/status", {cache: "no-store"})).json();
    renderStatus(st);
  } catch (e) {
    $("banner").className = "down";
    $("state").textContent = "horloge: monitord unreachable";
    $("reason").textContent = String(e);
  }
  try {
    renderHistory(await (await fetch("/history.json", {cache: "no-store"})).json());
  } catch (e) { /* keep the last charts */ }
  document.body.setAttribute("data-refreshed", new Date().toISOString());
}
refresh();
setInterval(refresh, 10000);
)JS"_kj;

}  // namespace horloge::monitord
