#include "serial.h"
#include <kj/debug.h>
#include <fcntl.h>
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

int openSerial(kj::StringPtr path, int baud) {
  int fd;
  KJ_SYSCALL(fd = open(path.cStr(), O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC), path);
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

}  // namespace horloge::refclock
