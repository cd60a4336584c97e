// `horlogectl status -j`: the whole SystemStatus as JSON for scripts. Keys are the schema's
// field names in snake_case (generatedNs -> generated_ns), so they are as stable as the schema
// (ipc-schema/horloge.capnp), whose comments give each field's unit; values are typed: numbers
// (64-bit ones too), booleans, strings, null for a NaN, enumerants as their names. NTP wire
// values become what they mean: root delay and dispersion in seconds, the reference time as a
// Unix time in seconds, the refid as text.
#pragma once
#include <horloge.capnp.h>
#include <kj/string.h>

namespace horloge::ctl {

kj::String statusJson(ipc::SystemStatus::Reader status);

// lowerCamelCase -> snake_case: "nmeaDelayNs" -> "nmea_delay_ns", "requestsV1" -> "requests_v1".
kj::String snakeCase(kj::StringPtr name);

}  // namespace horloge::ctl
