// ntskd's TLS, with OpenSSL directly: kj-tls can neither negotiate ALPN nor export keying
// material (RFC 5705), both of which NTS-KE needs. TLS 1.3 only, ALPN "ntske/1" only.
#pragma once
#include <cstdint>
#include <kj/memory.h>
#include <kj/string.h>

typedef struct ssl_ctx_st SSL_CTX;

namespace horloge::ntskd {

// The most a certificate chain or key file may hold: a chain of a few certificates is a few
// KiB; anything far larger is a wrong path (a log, an image, /dev/zero).
constexpr size_t MAX_PEM_BYTES = 256 * 1024;

// Loads the PEM certificate chain and key (throws with the file's name and OpenSSL's reason
// if either cannot be used, or they do not match). Both files are read whole with the bounded
// reader (common/read-file.h) and parsed from memory: a FIFO, a device or a huge file is an
// error naming it, never a blocked or bloated ntskd. Call before lockdown.
SSL_CTX* makeServerContext(kj::StringPtr certPath, kj::StringPtr keyPath);
void freeServerContext(SSL_CTX* ctx);

// The certificate and key as files on disk, watched: a pair replaced on disk (a renewal) is
// loaded without a restart, chrony needing one, provided ntskd's own user may read the new key
// (it is locked down by then). A pair that does not load is logged and the one in use kept.
class ServerCertificate {
public:
  ServerCertificate(kj::String certPath, kj::String keyPath);   // throws as makeServerContext
  ~ServerCertificate();
  KJ_DISALLOW_COPY(ServerCertificate);

  // The context new sessions use. Sessions under way keep theirs (OpenSSL counts references).
  SSL_CTX* context() const { return ctx; }

  // Reloads when either file's modification time or size changed. True when it did.
  bool reloadIfChanged();

private:
  kj::String certPath, keyPath;
  SSL_CTX* ctx;
  struct Stamp {
    int64_t mtimeNs = 0;
    int64_t size = -1;
    bool operator==(const Stamp&) const = default;
  } certStamp, keyStamp;
  static Stamp stampOf(kj::StringPtr path);
};

}  // namespace horloge::ntskd
