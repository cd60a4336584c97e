// Everything monitord needs from disk and OpenSSL before lockdown: the keypair (configured
// PEM files, or a fresh self-signed one) and the TLS context built from it.
#pragma once
#include "config.h"
#include <kj/compat/tls.h>
#include <kj/memory.h>
#include <kj/timer.h>

namespace horloge::monitord {

// Reads `monitor cert`/`key` when configured (both or neither; KJ_REQUIRE), otherwise generates
// a self-signed certificate. Logs which one it uses.
kj::TlsKeypair loadKeypair(const Config& config);

// `monitor client-ca`: the CA certificate(s) clients must chain to, or nullptr when unset.
kj::Maybe<kj::TlsCertificate> loadClientCa(const Config& config);

// `monitor token`: the first line of the file, or nullptr when unset. Refuses a token under
// 16 characters or one with characters outside printable ASCII.
kj::Maybe<kj::String> loadToken(const Config& config);

// TLS 1.2 minimum (1.0 and 1.1 are refused during the handshake), handshakes bounded by
// `handshakeTimeout`. With `clientCa`, clients must present a certificate it signed (mTLS);
// without, none is asked for. `keypair` and `clientCa` are copied into the context.
kj::Own<kj::TlsContext> makeTlsContext(const kj::TlsKeypair& keypair, kj::Timer& timer,
                                       kj::Duration handshakeTimeout,
                                       kj::Maybe<const kj::TlsCertificate&> clientCa = nullptr);

}  // namespace horloge::monitord
