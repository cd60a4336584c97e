// Failures meant for an operator's eyes. KJ_REQUIRE, KJ_ASSERT and KJ_SYSCALL describe a failure
// with the condition's source text and `name = value` pairs: right for our bugs, a peer's bad
// message or a system call. A message an operator reads as it is (a refused leap file, a step
// of the lockdown that failed) is thrown with failWith(): a kj::Exception like theirs, its
// description the words given.
#pragma once
#include <kj/exception.h>
#include <kj/string.h>

namespace horloge {

[[noreturn]] void failWith(kj::String message);

}  // namespace horloge
