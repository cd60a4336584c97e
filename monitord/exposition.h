// Prometheus text exposition (format 0.0.4), written family by family: a family's HELP and
// TYPE lines, then all of its samples, so that the output passes `promtool check metrics`
// (which refuses a family split in two, or a sample before its TYPE).
#pragma once
#include <initializer_list>
#include <kj/string.h>
#include <kj/vector.h>
#include <utility>

namespace horloge::monitord {

using Label = std::pair<kj::StringPtr, kj::StringPtr>;

class Exposition {
public:
  // Starts the family `name`; `type` is "gauge" or "counter" (a counter's name ends _total).
  void family(kj::StringPtr name, kj::StringPtr type, kj::StringPtr help);

  // A sample of the current family. NaN and infinities are written as Prometheus spells them;
  // label values are escaped (backslash, quote, newline), so peer-supplied text is safe.
  void sample(double value, std::initializer_list<Label> labels = {});

  kj::String finish();

private:
  kj::StringPtr current;
  kj::Vector<char> out;
  void add(kj::StringPtr text) { out.addAll(text); }
};

}  // namespace horloge::monitord
