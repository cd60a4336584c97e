#include "table.h"
#include <ctime>
#include <cmath>
#include <cstdio>

namespace horloge::ctl {

namespace {

template <typename... Args>
kj::String format(const char* fmt, Args... args) {
  char buf[64];
  snprintf(buf, sizeof(buf), fmt, args...);
  return kj::heapString(buf);
}

kj::String rawNumber(double v) {
  return std::isfinite(v) ? format("%.9g", v) : kj::str("null");
}

kj::String jsonKey(kj::StringPtr header) {
  kj::Vector<char> out;
  for (char c: header) {
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) out.add(c);
    else if (c >= 'A' && c <= 'Z') out.add(char(c - 'A' + 'a'));
    else if (out.size() > 0 && out.back() != '_') out.add('_');
  }
  while (out.size() > 0 && out.back() == '_') out.removeLast();
  out.add('\0');
  return kj::String(out.releaseAsArray());
}

void jsonString(kj::Vector<char>& out, kj::StringPtr s) {
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

void renderText(const View& v, kj::Vector<char>& out) {
  kj::Vector<size_t> widths;
  auto widen = [&](size_t i, size_t w) {
    while (widths.size() <= i) widths.add(0);
    widths[i] = kj::max(widths[i], w);
  };
  for (auto i: kj::indices(v.columns)) widen(i, v.columns[i].size());
  for (auto& r: v.rows) for (auto i: kj::indices(r)) widen(i, r[i].human.size());
  auto line = [&](auto cellText, size_t n) {
    for (size_t i = 0; i < n; ++i) {
      kj::StringPtr t = cellText(i);
      out.addAll(t);
      if (i + 1 < n) for (size_t k = t.size(); k < widths[i] + 2; ++k) out.add(' ');
    }
    out.add('\n');
  };
  line([&](size_t i) -> kj::StringPtr { return v.columns[i]; }, v.columns.size());
  for (auto& r: v.rows) line([&](size_t i) -> kj::StringPtr { return r[i].human; }, r.size());
}

void renderCsv(const View& v, kj::Vector<char>& out) {
  for (auto i: kj::indices(v.columns)) {
    if (i) out.add(',');
    csvField(out, jsonKey(v.columns[i]));
  }
  out.add('\n');
  for (auto& r: v.rows) {
    for (auto i: kj::indices(r)) {
      if (i) out.add(',');
      csvField(out, r[i].raw == "null" ? kj::StringPtr("") : kj::StringPtr(r[i].raw));
    }
    out.add('\n');
  }
}

void renderJson(const View& v, kj::Vector<char>& out) {
  out.add('[');
  for (auto n: kj::indices(v.rows)) {
    auto& r = v.rows[n];
    out.addAll(n ? ",\n {"_kj : "{"_kj);
    for (auto i: kj::indices(r)) {
      if (i) out.add(',');
      jsonString(out, jsonKey(v.columns[i]));
      out.add(':');
      if (r[i].number) out.addAll(r[i].raw);
      else jsonString(out, r[i].raw);
    }
    out.add('}');
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

Cell text(kj::StringPtr s) {
  return {s.size() ? printable(s) : kj::str("-"), printable(s), false};
}
Cell count(uint64_t n) { return {kj::str(n), kj::str(n), true}; }
Cell integer(int64_t n) { return {kj::str(n), kj::str(n), true}; }

Cell seconds(double s, bool sign) {
  double a = std::fabs(s);
  kj::String human;
  if (!std::isfinite(s)) human = kj::str("-");
  else if (a < 1e-6) human = format(sign ? "%+.0f ns" : "%.0f ns", s * 1e9);
  else if (a < 1e-3) human = format(sign ? "%+.3f us" : "%.3f us", s * 1e6);
  else if (a < 1) human = format(sign ? "%+.3f ms" : "%.3f ms", s * 1e3);
  else human = format(sign ? "%+.3f s" : "%.3f s", s);
  return {kj::mv(human), rawNumber(s), true};
}

Cell fixed(double v, const char* fmt, kj::StringPtr unit) {
  if (!std::isfinite(v)) return {kj::str("-"), kj::str("null"), true};
  // Raw at 6 digits: these are Float32 or rounded figures, "0.9" not "0.899999976".
  return {kj::str(format(fmt, v), unit.size() ? " " : "", unit), format("%.6g", v), true};
}

Cell ago(int64_t thenNs, int64_t nowNs) {
  if (thenNs == 0) return {kj::str("never"), kj::str("null"), true};
  auto c = seconds(double(nowNs - thenNs) * 1e-9, false);
  c.human = kj::str(c.human, " ago");
  return c;
}

Cell utcTime(int64_t ns) {
  if (ns == 0) return {kj::str("-"), kj::str("null"), true};
  time_t t = ns / 1'000'000'000;
  struct tm u;
  gmtime_r(&t, &u);
  char buf[40];
  strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &u);
  return {kj::str(buf), kj::str(t), true};
}

kj::String render(kj::ArrayPtr<const View> views, Format format) {
  kj::Vector<char> out;
  if (format == Format::JSON && views.size() > 1) out.add('{');
  for (auto i: kj::indices(views)) {
    switch (format) {
      case Format::TEXT:
        if (i) out.add('\n');
        renderText(views[i], out);
        break;
      case Format::CSV:
        if (i) out.add('\n');
        renderCsv(views[i], out);
        break;
      case Format::JSON:
        if (views.size() > 1) {
          if (i) out.addAll(",\n"_kj);
          jsonString(out, views[i].name);
          out.add(':');
        }
        renderJson(views[i], out);
        break;
    }
  }
  if (format == Format::JSON) out.addAll(views.size() > 1 ? "}\n"_kj : "\n"_kj);
  out.add('\0');
  return kj::String(out.releaseAsArray());
}

}  // namespace horloge::ctl
