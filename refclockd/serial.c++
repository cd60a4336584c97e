#include "serial.h"
#include <cerrno>
#include <fcntl.h>
#include <poll.h>
#include <termios.h>
#include <unistd.h>

namespace horloge::refclock {

static speed_t speedOf(int baud) {
  switch (baud) {
    case 4800: return B4800;
    case 19200: return B19200;
    case 38400: return B38400;
    case 57600: return B57600;
    case 115200: return B115200;
  }
  return B9600;
}

SerialOpen openSerial(kj::StringPtr path, int baud, bool writable) {
  SerialOpen r;
  int fd = open(path.cStr(), (writable ? O_RDWR : O_RDONLY) | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    r.err = errno;
    return r;
  }
  termios t;
  if (tcgetattr(fd, &t) < 0) {
    r.err = errno;
    r.notSerial = r.err == ENOTTY || r.err == EINVAL;
    close(fd);
    return r;
  }
  cfmakeraw(&t);
  t.c_cflag |= CLOCAL | CREAD;
  t.c_cc[VMIN] = 1;
  t.c_cc[VTIME] = 0;
  cfsetispeed(&t, speedOf(baud));
  cfsetospeed(&t, speedOf(baud));
  // Whatever the line buffered before we opened it arrived at an unknown time: pairing it, or
  // timing it, would report a step that never happened.
  if (tcsetattr(fd, TCSANOW, &t) < 0 || tcflush(fd, TCIFLUSH) < 0) {
    r.err = errno;
    close(fd);
    return r;
  }
  r.fd = fd;
  return r;
}

int writeSerial(int fd, kj::ArrayPtr<const char> bytes, int timeoutMs) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = write(fd, bytes.begin() + done, bytes.size() - done);
    if (n >= 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN) return errno;
    pollfd p{fd, POLLOUT, 0};
    int r = poll(&p, 1, timeoutMs);
    if (r < 0 && errno != EINTR) return errno;
    if (r == 0) return ETIMEDOUT;
  }
  return 0;
}

}  // namespace horloge::refclock
