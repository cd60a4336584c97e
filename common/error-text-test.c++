#include "error-text.h"
#include <doctest/doctest.h>
#include <kj/debug.h>
#include <string>

using namespace horloge;

namespace {
std::string text(kj::StringPtr d) { return errorText(d).cStr(); }
}

TEST_CASE("error text: the words and values of kj's descriptions, not their source") {
  CHECK(text("open(conf.device.c_str(), O_RDWR | O_CLOEXEC): No such file or directory; "
             "conf.device = /dev/pps0") == "open: No such file or directory (/dev/pps0)");
  CHECK(text("expected r.getName().size() <= MAX_TEXT && r.getFault().size() <= MAX_TEXT; "
             "refclock text too long") == "refclock text too long");
  CHECK(text("remote exception: expected info.getPid() > 0; bad pid") ==
        "remote exception: bad pid");
  CHECK(text("unknown refclock driver; conf.driver.c_str() = pps2") ==
        "unknown refclock driver (pps2)");
  CHECK(text("clockd is not running") == "clockd is not running");
  CHECK(text("refused; the pool = full; x = 1") == "refused; the pool = full (1)");   // words kept
  // As kj writes them.
  auto e = KJ_EXCEPTION(FAILED, "PPS device cannot capture this edge", 42);
  std::string s = errorText(e).cStr();
  CHECK(s.find("42") != std::string::npos);
  CHECK(s.find("PPS device cannot capture this edge") == 0);
}
