// A stream that passes everything to the one it wraps: the base of the wrappers that change only
// how reading goes (a server watching its peer, a connection ending after its last response).
#pragma once
#include <kj/async-io.h>

namespace horloge {

class ForwardingStream: public kj::AsyncIoStream {
public:
  explicit ForwardingStream(kj::Own<kj::AsyncIoStream> inner): inner(kj::mv(inner)) {}

  kj::Promise<size_t> tryRead(void* buffer, size_t minBytes, size_t maxBytes) override {
    return inner->tryRead(buffer, minBytes, maxBytes);
  }
  kj::Maybe<uint64_t> tryGetLength() override { return inner->tryGetLength(); }
  kj::Promise<void> write(const void* buffer, size_t size) override {
    return inner->write(buffer, size);
  }
  kj::Promise<void> write(kj::ArrayPtr<const kj::ArrayPtr<const kj::byte>> pieces) override {
    return inner->write(pieces);
  }
  kj::Promise<void> whenWriteDisconnected() override { return inner->whenWriteDisconnected(); }
  void shutdownWrite() override { inner->shutdownWrite(); }
  void abortRead() override { inner->abortRead(); }
  void getsockopt(int level, int option, void* value, uint* length) override {
    inner->getsockopt(level, option, value, length);
  }
  void setsockopt(int level, int option, const void* value, uint length) override {
    inner->setsockopt(level, option, value, length);
  }
  void getsockname(struct sockaddr* addr, uint* length) override { inner->getsockname(addr, length); }
  void getpeername(struct sockaddr* addr, uint* length) override { inner->getpeername(addr, length); }
  kj::Maybe<int> getFd() const override { return inner->getFd(); }

protected:
  kj::Own<kj::AsyncIoStream> inner;
};

}  // namespace horloge
