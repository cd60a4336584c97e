#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <kj/exception.h>

// KJ's exceptions (KJ_REQUIRE and friends) as doctest reports them and CHECK_THROWS_WITH reads.
REGISTER_EXCEPTION_TRANSLATOR(const kj::Exception& e) {
  return doctest::String(e.getDescription().cStr());
}
