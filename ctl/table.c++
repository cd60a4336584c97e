#include "table.h"
#include <cmath>
#include <cstdio>
#include <kj/debug.h>

namespace horloge::ctl {

namespace {

template <typename... Args>
kj::String format(const char* fmt, Args... args) {
  char buf[64];
  snprintf(buf, sizeof(buf), fmt, args...);
  return kj::heapString(buf);
}

void appendJsonString(kj::Vector<char>& out, kj::StringPtr s) {
  out.add('"');
  for (char c: s) {
    if (c == '"' || c == '\\') { out.add('\\'); out.add(c); }
    else if (static_cast<unsigned char>(c) < 0x20) out.addAll(format("\\u%04x", unsigned(c)));
    else out.add(c);
  }
  out.add('"');
}

void csvField(kj::Vector<char>& out, kj::StringPtr s) {
  bool quote = false;
  for (char c: s) quote = quote || c == ',' || c == '"' || c == '\n' || c == '\r';
  if (!quote) { out.addAll(s); return; }
  out.add('"');
  for (char c: s) { if (c == '"') out.add('"'); out.add(c); }
  out.add('"');
}

bool inText(const Column& c) { return c.shown == Column::ALL || c.shown == Column::TEXT_ONLY; }
bool inCsv(const Column& c) { return c.shown == Column::ALL || c.shown == Column::DATA_ONLY; }
bool inJson(const Column& c) { return c.shown != Column::TEXT_ONLY; }

void renderTable(const View& v, kj::Vector<char>& out) {
  kj::Vector<size_t> shown;
  for (auto i: kj::indices(v.columns)) if (inText(v.columns[i])) shown.add(i);
  kj::Vector<size_t> widths;
  for (auto i: shown) widths.add(v.columns[i].header.size());
  for (auto& r: v.rows) {
    for (auto k: kj::indices(shown)) widths[k] = kj::max(widths[k], r[shown[k]].human.size());
  }
  auto line = [&](auto cellText) {
    for (auto k: kj::indices(shown)) {
      kj::StringPtr t = cellText(shown[k]);
      out.addAll(t);
      if (k + 1 < shown.size()) for (size_t n = t.size(); n < widths[k] + 2; ++n) out.add(' ');
    }
    out.add('\n');
  };
  line([&](size_t i) -> kj::StringPtr { return v.columns[i].header; });
  for (auto& r: v.rows) line([&](size_t i) -> kj::StringPtr { return r[i].human; });
}

// "Header      : value" lines, as chronyc's tracking.
void renderRecord(const View& v, kj::Vector<char>& out) {
  size_t width = 0;
  for (auto& c: v.columns) if (inText(c)) width = kj::max(width, c.header.size());
  for (auto& r: v.rows) {
    for (auto i: kj::indices(v.columns)) {
      if (!inText(v.columns[i])) continue;
      out.addAll(v.columns[i].header);
      for (size_t n = v.columns[i].header.size(); n < width; ++n) out.add(' ');
      out.addAll(" : "_kj);
      out.addAll(r[i].human);
      out.add('\n');
    }
  }
}

void renderCsv(const View& v, kj::Vector<char>& out) {
  bool first = true;
  for (auto& c: v.columns) {
    if (!inCsv(c)) continue;
    if (!first) out.add(',');
    first = false;
    csvField(out, c.key);
  }
  out.add('\n');
  for (auto& r: v.rows) {
    first = true;
    for (auto i: kj::indices(r)) {
      if (!inCsv(v.columns[i])) continue;
      if (!first) out.add(',');
      first = false;
      if (r[i].kind != Cell::NONE) csvField(out, r[i].raw);
    }
    out.add('\n');
  }
}

void jsonObject(const View& v, const kj::Array<Cell>& r, kj::Vector<char>& out) {
  out.add('{');
  bool first = true;
  for (auto i: kj::indices(r)) {
    if (!inJson(v.columns[i])) continue;
    if (!first) out.add(',');
    first = false;
    appendJsonString(out, v.columns[i].key);
    out.add(':');
    switch (r[i].kind) {
      case Cell::TEXT: appendJsonString(out, r[i].raw); break;
      case Cell::NONE: out.addAll("null"_kj); break;
      default: out.addAll(r[i].raw); break;
    }
  }
  out.add('}');
}

void renderJson(const View& v, kj::Vector<char>& out) {
  if (v.shape == View::RECORD) {
    if (v.rows.size() > 0) jsonObject(v, v.rows[0], out);
    else out.addAll("{}"_kj);
    return;
  }
  out.add('[');
  for (auto n: kj::indices(v.rows)) {
    if (n) out.addAll(",\n "_kj);
    jsonObject(v, v.rows[n], out);
  }
  out.add(']');
}

}  // namespace

kj::String printable(kj::StringPtr s) {
  auto out = kj::heapString(s);
  for (char& c: out) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = '?';
  }
  return out;
}

kj::String jsonString(kj::StringPtr s) {
  kj::Vector<char> out;
  appendJsonString(out, s);
  out.add('\0');
  return kj::String(out.releaseAsArray());
}

Cell text(kj::StringPtr s) { return {s.size() ? printable(s) : kj::str("-"), printable(s), Cell::TEXT}; }
Cell text(kj::StringPtr human, kj::StringPtr raw) {
  return {printable(human), printable(raw), Cell::TEXT};
}
Cell count(uint64_t n) { return {kj::str(n), kj::str(n), Cell::NUMBER}; }
Cell integer(int64_t n) { return {kj::str(n), kj::str(n), Cell::NUMBER}; }
Cell boolean(bool b) { return {kj::str(b ? "yes" : "no"), kj::str(b ? "true" : "false"), Cell::BOOL}; }
Cell octal(unsigned n) { return {format("%o", n), kj::str(n), Cell::NUMBER}; }
Cell none() { return {kj::str("-"), kj::str("null"), Cell::NONE}; }
Cell nested(kj::String json) { return {kj::str(""), kj::mv(json), Cell::JSON}; }

Cell seconds(double s, bool sign) {
  if (!std::isfinite(s)) return none();
  double a = std::fabs(s);
  kj::String human;
  if (a < 1e-6) human = format(sign ? "%+.0f ns" : "%.0f ns", s * 1e9);
  else if (a < 1e-3) human = format(sign ? "%+.3f us" : "%.3f us", s * 1e6);
  else if (a < 1) human = format(sign ? "%+.3f ms" : "%.3f ms", s * 1e3);
  else human = format(sign ? "%+.3f s" : "%.3f s", s);
  return {kj::mv(human), format("%.9g", s), Cell::NUMBER};
}

Cell fixed(double v, const char* fmt, kj::StringPtr unit) {
  if (!std::isfinite(v)) return none();
  // Raw at 6 digits: these are Float32 or rounded figures, "0.9" not "0.899999976".
  return {kj::str(format(fmt, v), unit.size() ? " " : "", unit), format("%.6g", v), Cell::NUMBER};
}

Cell ago(int64_t thenNs, int64_t nowNs) {
  if (thenNs == 0) return {kj::str("never"), kj::str("null"), Cell::NONE};
  double s = double(nowNs - thenNs) * 1e-9;
  auto c = seconds(s, false);
  if (s >= 2 * 86400) c.human = format("%.1f d", s / 86400);
  else if (s >= 2 * 3600) c.human = format("%.1f h", s / 3600);
  else if (s >= 120) c.human = format("%.1f min", s / 60);
  c.human = kj::str(c.human, " ago");
  return c;
}

kj::String render(kj::ArrayPtr<const View> views, Format format) {
  kj::Vector<char> out;
  if (format == Format::TEXT) {
    for (auto i: kj::indices(views)) {
      if (i) out.add('\n');
      if (views[i].shape == View::RECORD) renderRecord(views[i], out);
      else renderTable(views[i], out);
    }
  } else {
    size_t data = 0;
    for (auto& v: views) {
      if (v.textOnly) continue;
      KJ_ASSERT(data++ == 0, "one table per command for scripts", v.name);
      if (format == Format::CSV) renderCsv(v, out);
      else { renderJson(v, out); out.add('\n'); }
    }
  }
  out.add('\0');
  return kj::String(out.releaseAsArray());
}

}  // namespace horloge::ctl
