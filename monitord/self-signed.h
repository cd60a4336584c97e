// An in-memory self-signed certificate for monitord when the configuration names none, so that
// the dashboard is encrypted from the first boot. Clients cannot authenticate it: operators who
// care configure `monitor cert PATH key PATH`.
#pragma once
#include <kj/string.h>

namespace horloge::monitord {

struct PemKeypair {
  kj::String certificate;   // PEM "CERTIFICATE"
  kj::String privateKey;    // PEM "PRIVATE KEY" (PKCS#8)
};

// EC P-256 key, X.509 v3, subject and issuer CN=`commonName`, SAN DNS:localhost and
// IP:127.0.0.1, valid from now for `days` days, random 128-bit serial, signed with SHA-256.
// Throws kj::Exception with OpenSSL's error queue if OpenSSL fails.
PemKeypair generateSelfSigned(kj::StringPtr commonName = "horloge", unsigned days = 365);

}  // namespace horloge::monitord
