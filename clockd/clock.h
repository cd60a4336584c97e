// The clock clockd drives. `observe` computes everything and adjusts nothing (demo, tests on a
// shared machine); `system` will drive clock_adjtime; `sim` a virtual clock (see ARCHITECTURE.md
// for what is implemented today).
#pragma once
#include "config.h"
#include "source-filter.h"
#include <kj/memory.h>

namespace horloge::clockd {

class Clock {
public:
  virtual ~Clock() = default;
  virtual const char* name() const = 0;
  // The selected source's latest statistics; the backend steers its clock from them.
  virtual void discipline(const SourceStats& selected) = 0;
};

kj::Own<Clock> makeClock(horloge::ClockBackend kind);

}  // namespace horloge::clockd
