#include "state-file.h"
#include "log.h"
#include <kj/debug.h>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace horloge::refclock {

namespace {
constexpr size_t RECORD = 24;   // "%020lld\n" padded: always the same size, rewritten in place
}

int64_t StateFile::load() {
  char buf[RECORD + 1] = {};
  ssize_t n;
  KJ_SYSCALL(n = pread(fd, buf, RECORD, 0));
  if (n <= 0) return 0;
  char* end;
  long long v = strtoll(buf, &end, 10);
  if (end == buf || v < 0) return 0;   // damaged: start over rather than refuse every sample
  return v;
}

void StateFile::save(int64_t unixNs) {
  char buf[RECORD + 1];
  snprintf(buf, sizeof(buf), "%020lld\n   ", static_cast<long long>(unixNs));
  ssize_t n;
  KJ_SYSCALL(n = pwrite(fd, buf, RECORD, 0));
  // Losing the last minute on a power cut is harmless; a torn record is not, hence datasync.
  KJ_SYSCALL(fdatasync(fd));
}

kj::Maybe<kj::Own<StateFile>> openStateFile(kj::StringPtr statedir) {
  auto path = kj::str(statedir, "/refclockd.last-good");
  int fd = open(path.cStr(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    log::warn(kj::str("cannot open ", path, ": ", strerror(errno),
                      "; last-good time not persisted"));
    return nullptr;
  }
  return kj::heap<StateFile>(kj::AutoCloseFd(fd));
}

}  // namespace horloge::refclock
