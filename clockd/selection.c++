#include "selection.h"
#include <algorithm>
#include <cmath>
#include <tuple>

namespace horloge::clockd {

const char* kindName(SourceKind kind) {
  switch (kind) {
    case SourceKind::PPS: return "pps";
    case SourceKind::NMEA: return "nmea";
    case SourceKind::NTP: return "ntp";
  }
  return "?";
}

Selection select(const std::vector<Candidate>& c) {
  Selection out;
  out.marks.assign(c.size(), Mark::UNUSABLE);
  // Marzullo: sweep the interval ends; the deepest overlap is where the truechimers agree.
  struct End { double at; int delta; };
  std::vector<End> ends;
  int usable = 0;
  for (auto& s: c) {
    if (!s.usable) continue;
    ++usable;
    ends.push_back({s.offset - s.error, +1});
    ends.push_back({s.offset + s.error, -1});
  }
  if (usable == 0) return out;
  // Starts before ends at the same point: touching intervals agree.
  std::sort(ends.begin(), ends.end(),
            [](const End& a, const End& b) { return a.at < b.at || (a.at == b.at && a.delta > b.delta); });
  int depth = 0, best = 0;
  double lo = 0, hi = 0;
  for (size_t i = 0; i < ends.size(); ++i) {
    depth += ends[i].delta;
    if (depth > best) {
      best = depth;
      lo = ends[i].at;
      hi = ends[i + 1].at;   // the next end closes (or narrows) this region
    }
  }
  // A strict majority must agree, as in NTP; otherwise nobody can be trusted.
  bool majority = 2 * best > usable;
  for (size_t i = 0; i < c.size(); ++i) {
    if (!c[i].usable) continue;
    bool inside = c[i].offset - c[i].error <= hi && c[i].offset + c[i].error >= lo;
    out.marks[i] = majority && inside ? Mark::COMBINED : Mark::FALSETICKER;
  }
  if (!majority) return out;

  // Best survivor: PPS first, then `prefer`, then the smallest error (the current one's
  // less RESELECT_DISTANCE).
  auto rank = [&](size_t i) {
    return std::make_tuple(c[i].kind == SourceKind::PPS ? 0 : 1, c[i].prefer ? 0 : 1,
                           c[i].error + (c[i].current ? 0 : RESELECT_DISTANCE));
  };
  for (size_t i = 0; i < c.size(); ++i) {
    if (out.marks[i] != Mark::COMBINED) continue;
    if (out.selected < 0 || rank(i) < rank(out.selected)) out.selected = static_cast<int>(i);
  }
  const Candidate& sel = c[out.selected];
  // Combine the survivors of the selected one's kind when it is PPS (a PPS edge is three
  // orders of magnitude better than anything else); otherwise those within its error.
  double sw = 0, so = 0;
  for (size_t i = 0; i < c.size(); ++i) {
    if (out.marks[i] != Mark::COMBINED) continue;
    bool sameClass = sel.kind != SourceKind::PPS || c[i].kind == SourceKind::PPS;
    bool close = std::fabs(c[i].offset - sel.offset) <= sel.error + c[i].error;
    if (static_cast<int>(i) != out.selected && !(sameClass && close)) {
      out.marks[i] = Mark::OUTLIER;
      continue;
    }
    double sigma = std::max({c[i].jitter, c[i].error / 3, 1e-9});
    double w = 1 / (sigma * sigma);
    sw += w;
    so += w * c[i].offset;
  }
  out.marks[out.selected] = Mark::SELECTED;
  out.offset = so / sw;
  out.error = 3 / std::sqrt(sw);
  return out;
}

}  // namespace horloge::clockd
