#include "read-file.h"
#include <kj/debug.h>
#include <kj/io.h>
#include <kj/vector.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace horloge {


kj::String byteSize(size_t bytes) {
  if (bytes >= (1u << 20) && bytes % (1u << 20) == 0) return kj::str(bytes >> 20, " MiB");
  if (bytes >= (1u << 10) && bytes % (1u << 10) == 0) return kj::str(bytes >> 10, " KiB");
  return kj::str(bytes, " bytes");
}

kj::Maybe<kj::String> readSmallFile(kj::StringPtr path, size_t limit) {
  kj::String why;
  auto text = tryReadSmallFile(path, limit, why);
  if (why.size() > 0) {
    kj::throwFatalException(kj::Exception(kj::Exception::Type::FAILED, __FILE__, __LINE__,
                                          kj::mv(why)));
  }
  return text;
}

kj::Maybe<kj::String> tryReadSmallFile(kj::StringPtr path, size_t limit, kj::String& why) {
  auto fail = [&](kj::StringPtr reason) -> kj::Maybe<kj::String> {
    why = kj::str(path, ": ", reason);
    return nullptr;
  };
  why = kj::String();
  // O_NONBLOCK: opening a FIFO without a writer must not block; it is refused below.
  int raw = open(path.cStr(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (raw < 0) {
    if (errno == ENOENT) return nullptr;
    return fail(strerror(errno));
  }
  kj::AutoCloseFd fd(raw);
  struct stat st;
  if (fstat(fd, &st) < 0) return fail(strerror(errno));
  if (!S_ISREG(st.st_mode)) return fail("not a regular file");
  if (st.st_size < 0 || size_t(st.st_size) > limit) {
    return fail(kj::str("larger than ", byteSize(limit)));
  }
  // Read to the end rather than trust st_size: /proc files say 0, a growing file says less.
  kj::Vector<char> text(size_t(st.st_size) + 1);
  char buffer[4096];
  for (;;) {
    ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(strerror(errno));
    if (n == 0) break;
    if (text.size() + size_t(n) > limit) return fail(kj::str("larger than ", byteSize(limit)));
    text.addAll(buffer, buffer + n);
  }
  text.add('\0');
  return kj::String(text.releaseAsArray());
}

}  // namespace horloge
