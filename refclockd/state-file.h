// refclockd's one writable file, `statedir/refclockd.last-good`: the last GNSS time that
// passed the integrity checks. Opened (and created) before lockdown; afterwards only
// rewritten in place with pwrite, so the sandbox never needs to create a file.
#pragma once
#include "integrity.h"
#include <kj/io.h>
#include <kj/memory.h>
#include <string>

namespace horloge::refclock {

class StateFile final: public LastGoodStore {
public:
  explicit StateFile(kj::AutoCloseFd fd): fd(kj::mv(fd)) {}
  int64_t load() override;
  void save(int64_t unixNs) override;

private:
  kj::AutoCloseFd fd;
};

// Null (with a warning) when the state directory is not writable: integrity checks then
// rely on the build date and the system clock alone.
kj::Maybe<kj::Own<StateFile>> openStateFile(kj::StringPtr statedir);

}  // namespace horloge::refclock
