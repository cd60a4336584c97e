// horlogectl's output shapes: one table model, three renderings. A cell holds the text an
// operator reads (units chosen per value) and the raw value a script wants (seconds, counts),
// so that `-c` and `-j` never have to parse "1.234 us" back.
#pragma once
#include <cstdint>
#include <kj/array.h>
#include <kj/string.h>
#include <kj/vector.h>

namespace horloge::ctl {

struct Cell {
  kj::String human;
  kj::String raw;        // CSV/JSON value; for numbers, a JSON number literal or "null"
  bool number = false;
};

Cell text(kj::StringPtr s);                   // peer-supplied text: control characters replaced
Cell count(uint64_t n);
Cell integer(int64_t n);
Cell seconds(double s, bool sign);            // human: ns/us/ms/s; raw: seconds
Cell fixed(double v, const char* fmt, kj::StringPtr unit);   // human: fmt + unit; raw: %.9g
Cell ago(int64_t thenNs, int64_t nowNs);      // human: "1.5 s ago" | "never"; raw: seconds | null
Cell utcTime(int64_t ns);                     // human: "2027-01-01 00:00:00 UTC" | "-"; raw: Unix s | null

struct View {
  kj::String name;                            // JSON key when a command prints several views
  kj::Array<kj::String> columns;              // human headers; JSON keys are derived from them
  kj::Vector<kj::Array<Cell>> rows;

  template <typename... Cells>
  void row(Cells&&... cells) { rows.add(kj::arr(kj::fwd<Cells>(cells)...)); }
};

enum class Format { TEXT, CSV, JSON };

// TEXT: columns padded to their widest cell, views separated by a blank line.
// CSV: RFC 4180, one block per view (header line first), blocks separated by a blank line.
// JSON: one view: an array of objects; several: an object of arrays keyed by view name.
//       Keys are the column headers in lower_snake_case.
kj::String render(kj::ArrayPtr<const View> views, Format format);

kj::String printable(kj::StringPtr s);

}  // namespace horloge::ctl
