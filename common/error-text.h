// What an operator reads of an exception: kj's descriptions carry the failed condition and the
// call's source text ("expected r.getName().size() <= MAX_TEXT; refclock text too long",
// "open(conf.device.c_str(), O_RDWR): No such file or directory; conf.device = /dev/pps0").
// errorText() keeps the words and the values: "refclock text too long",
// "open: No such file or directory (/dev/pps0)". Our own messages are written as sentences in
// the first place; this is for whatever else reaches a log line or a status.
#pragma once
#include <kj/exception.h>
#include <kj/string.h>

namespace horloge {

kj::String errorText(const kj::Exception& e);
kj::String errorText(kj::StringPtr description);

}  // namespace horloge
