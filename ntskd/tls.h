// ntskd's TLS, with OpenSSL directly: kj-tls can neither negotiate ALPN nor export keying
// material (RFC 5705), both of which NTS-KE needs. TLS 1.3 only, ALPN "ntske/1" only.
#pragma once
#include <kj/memory.h>
#include <kj/string.h>

typedef struct ssl_ctx_st SSL_CTX;

namespace horloge::ntskd {

// Loads the PEM certificate chain and key (throws with the file's name and OpenSSL's reason
// if either cannot be used, or they do not match). Call before lockdown.
SSL_CTX* makeServerContext(kj::StringPtr certPath, kj::StringPtr keyPath);
void freeServerContext(SSL_CTX* ctx);

}  // namespace horloge::ntskd
