// Reading the small files the daemons depend on (configuration, state, drift, leap table,
// keys and certificates) with a size limit, so that a path naming /dev/zero, a FIFO or a
// runaway file is an error naming that file, never an unbounded allocation or a daemon blocked
// in open().
#pragma once
#include <kj/common.h>
#include <kj/string.h>
#include <cstddef>

namespace horloge {

// The whole of `path`, when it is a regular file of at most `limit` bytes (/proc files, whose
// size reads 0, are read to their end under the same limit); nullptr when it does not exist.
// Anything else throws a kj::Exception (FAILED) whose description names the file and says why:
//   "PATH: not a regular file", "PATH: larger than N bytes", "PATH: <strerror>".
kj::Maybe<kj::String> readSmallFile(kj::StringPtr path, size_t limit);

// The same without exceptions, for code that reports errors its own way: the text, or nullptr
// with `why` set to the description readSmallFile would throw ("" when the file is absent).
kj::Maybe<kj::String> tryReadSmallFile(kj::StringPtr path, size_t limit, kj::String& why);

// "4 KiB", "1 MiB", "300 bytes": a limit as the errors state it.
kj::String byteSize(size_t bytes);

}  // namespace horloge
