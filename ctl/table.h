// horlogectl's output shapes: one table model, three renderings. A cell holds the text an
// operator reads (units chosen per value) and the typed value a script wants (seconds, counts,
// booleans, null), so that `-c` and `-j` never have to parse "1.234 us" back. Each column has a
// stable snake_case key for scripts, written here once, never derived from its display header.
#pragma once
#include <cstdint>
#include <kj/array.h>
#include <kj/string.h>
#include <kj/vector.h>

namespace horloge::ctl {

struct Cell {
  enum Kind : uint8_t {
    TEXT,     // raw: the text (a JSON string)
    NUMBER,   // raw: a JSON number literal
    BOOL,     // raw: "true" | "false"
    NONE,     // JSON null, an empty CSV field
    JSON,     // raw: a JSON value (an array of objects): JSON output only
  };
  kj::String human;
  kj::String raw;
  Kind kind = TEXT;
};

Cell text(kj::StringPtr s);                   // peer-supplied text: control characters replaced
Cell text(kj::StringPtr human, kj::StringPtr raw);   // shown one way, given to scripts another
Cell count(uint64_t n);
Cell integer(int64_t n);
Cell boolean(bool b);                         // human: yes/no
Cell octal(unsigned n);                       // human: octal (a reach register); raw: the number
Cell seconds(double s, bool sign);            // human: ns/us/ms/s; raw: seconds; NaN: null
Cell fixed(double v, const char* fmt, kj::StringPtr unit);   // human: fmt + unit; raw: %.6g
Cell ago(int64_t thenNs, int64_t nowNs);      // human: "1.5 s ago" | "never"; raw: seconds | null
Cell none();                                  // human "-", null
Cell nested(kj::String json);                 // JSON output only

struct Column {
  kj::StringPtr key;       // JSON key and CSV header: stable, snake_case
  kj::StringPtr header;    // what the text shows
  enum Shown : uint8_t { ALL, TEXT_ONLY, DATA_ONLY, JSON_ONLY } shown = ALL;
};

struct View {
  kj::StringPtr name;
  kj::Array<Column> columns;
  kj::Vector<kj::Array<Cell>> rows;
  // RECORD: one row, shown as "Header : value" lines (as chronyc's tracking), a JSON object, a
  // one-line CSV table. TABLE: rows of columns, a JSON array of objects, a CSV table.
  enum Shape : uint8_t { TABLE, RECORD } shape = TABLE;
  // A second table for people (the satellites under `gnss`): scripts have its own command.
  bool textOnly = false;

  template <typename... Cells>
  void row(Cells&&... cells) { rows.add(kj::arr(kj::fwd<Cells>(cells)...)); }
};

enum class Format { TEXT, CSV, JSON };

// TEXT: every view, separated by a blank line; TABLE columns padded to their widest cell.
// CSV: the one view that is not textOnly (RFC 4180, header line of keys).
// JSON: the same view, an array of objects (TABLE) or an object (RECORD), typed values.
kj::String render(kj::ArrayPtr<const View> views, Format format);

kj::String printable(kj::StringPtr s);
// A JSON string literal, quotes included.
kj::String jsonString(kj::StringPtr s);

}  // namespace horloge::ctl
