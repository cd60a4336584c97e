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

// TLS 1.2 minimum (1.0 and 1.1 are refused during the handshake), no client certificates,
// handshakes bounded by `handshakeTimeout`. `keypair` is copied into the context.
kj::Own<kj::TlsContext> makeTlsContext(const kj::TlsKeypair& keypair, kj::Timer& timer,
                                       kj::Duration handshakeTimeout);

}  // namespace horloge::monitord
