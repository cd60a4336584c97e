#include "serial.h"
#include <kj/debug.h>
#include <fcntl.h>
#include <poll.h>
#include <termios.h>
#include <unistd.h>

namespace horloge::refclock {

static speed_t speedOf(int baud) {
  switch (baud) {
    case 4800: return B4800;
    case 9600: return B9600;
    case 19200: return B19200;
    case 38400: return B38400;
    case 57600: return B57600;
    case 115200: return B115200;
  }
  KJ_FAIL_REQUIRE("unsupported baud rate", baud);
}

int openSerial(const std::string& path, int baud, bool writable) {
  int fd;
  KJ_SYSCALL(fd = open(path.c_str(), (writable ? O_RDWR : O_RDONLY) | O_NOCTTY | O_NONBLOCK | O_CLOEXEC),
             path);
  termios t;
  KJ_SYSCALL(tcgetattr(fd, &t), path);
  cfmakeraw(&t);
  t.c_cflag |= CLOCAL | CREAD;
  t.c_cc[VMIN] = 1;
  t.c_cc[VTIME] = 0;
  KJ_SYSCALL(cfsetispeed(&t, speedOf(baud)));
  KJ_SYSCALL(cfsetospeed(&t, speedOf(baud)));
  KJ_SYSCALL(tcsetattr(fd, TCSANOW, &t), path);
  // Whatever the line buffered before we opened it arrived at an unknown time: pairing it, or
  // timing it, would report a step that never happened.
  KJ_SYSCALL(tcflush(fd, TCIFLUSH), path);
  return fd;
}

void writeSerial(int fd, const std::string& bytes, int timeoutMs) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
    if (n >= 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN) KJ_FAIL_SYSCALL("write", errno);
    pollfd p{fd, POLLOUT, 0};
    int r;
    KJ_SYSCALL(r = poll(&p, 1, timeoutMs));
    KJ_REQUIRE(r > 0, "serial line accepts no output");
  }
}

}  // namespace horloge::refclock
