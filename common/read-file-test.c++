#include "read-file.h"
#include <doctest/doctest.h>
#include <kj/exception.h>
#include <cstdio>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

using namespace horloge;

namespace {

std::string tempPath(const char* name) {
  return "/tmp/horloge-read-file-test-" + std::to_string(getpid()) + "-" + name;
}

// The description of what readSmallFile threw, or "" when it did not.
std::string failure(const std::string& path, size_t limit) {
  KJ_IF_MAYBE(e, kj::runCatchingExceptions([&]() { readSmallFile(path.c_str(), limit); })) {
    return e->getDescription().cStr();
  }
  return "";
}

}  // namespace

TEST_CASE("readSmallFile: a small regular file whole, an absent one as nothing") {
  auto path = tempPath("small");
  FILE* f = fopen(path.c_str(), "w");
  fputs("0.5 0.01\n", f);
  fclose(f);
  KJ_IF_MAYBE(text, readSmallFile(path.c_str(), 64)) {
    CHECK(*text == "0.5 0.01\n");
  } else {
    FAIL("not read");
  }
  CHECK(readSmallFile(path.c_str(), 9) != nullptr);   // exactly the limit
  CHECK(failure(path, 8) == path + ": larger than 8 bytes");
  unlink(path.c_str());
  CHECK(readSmallFile(path.c_str(), 64) == nullptr);
}

TEST_CASE("readSmallFile: devices, FIFOs and directories are refused by name, without blocking") {
  CHECK(failure("/dev/zero", 4096) == "/dev/zero: not a regular file");
  auto fifo = tempPath("fifo");
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  CHECK(failure(fifo, 4096) == fifo + ": not a regular file");   // no writer: open must not wait
  unlink(fifo.c_str());
  CHECK(failure("/tmp", 4096) == "/tmp: not a regular file");
}

TEST_CASE("readSmallFile: /proc files (size 0) are read to their end, under the limit") {
  KJ_IF_MAYBE(text, readSmallFile("/proc/self/status", 1 << 20)) {
    CHECK(text->startsWith("Name:"));
  } else {
    FAIL("not read");
  }
  CHECK(failure("/proc/self/status", 16) == "/proc/self/status: larger than 16 bytes");
}

TEST_CASE("readSmallFile: a file larger than the limit is refused before it is read") {
  auto path = tempPath("big");
  FILE* f = fopen(path.c_str(), "w");
  for (int i = 0; i < 3000; ++i) fputs("0123456789", f);
  fclose(f);
  CHECK(failure(path, 1 << 20) == "");
  CHECK(failure(path, 16 << 10) == path + ": larger than 16 KiB");
  unlink(path.c_str());
  CHECK(byteSize(1 << 20) == "1 MiB");
  CHECK(byteSize(3000) == "3000 bytes");
}
