// horloge-loadgen: an NTP load generator for the benchmark (bench/run.py).
//
// It sends mode-3 NTPv4 requests with sendmmsg from many source addresses and ports and reads
// the replies with recvmmsg. Sources: `--ports K` UDP sockets bound to the wildcard address on
// consecutive ports, each request sent from one of `--sources N` consecutive addresses starting
// at `--src` (IP_PKTINFO on send, IP_FREEBIND on the socket). Those addresses must be local:
// run.py adds an "AnyIP" route (`ip route add local 198.19.0.0/16 dev lo`) in the client
// namespace, or use 127.x.y.z on loopback.
//
// Two modes:
//   --rate R   open loop, paced at R requests/s (CPU per request, T3-T2 at a given load);
//   --rate 0   as fast as it can send (the server's highest reply rate).
// Bounded by --duration seconds and --count requests, then it waits --drain-ms for late replies.
//
// NTS mode (--nts-ke-port P): one NTS-KE (TLS 1.3, ALPN ntske/1, no certificate check: a
// benchmark) with the server on TCP P, then a pool of --nts-pool requests sealed under its C2S
// key, each with its own unique identifier and transmit timestamp and one of the cookies, sent
// round-robin as ntpperf does (servers do not refuse a cookie used again). A reply counts when it
// is longer than 48 bytes (it carries the authenticator); an NTS NAK counts as a kiss.
//
// Each request's transmit timestamp is the send time (NTS: the pool's making); a reply counts when it is mode 4 and its
// origin timestamp is one we sent in this run. From each counted reply it reads T2 (receive)
// and T3 (transmit) and reports p50/p99 of T3-T2, plus the round-trip time. Output: one JSON
// line on stdout.
#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <netinet/in.h>
#include <string>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>
#include "aes-siv.h"
#include "ke-records.h"
#include <netdb.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

namespace {

constexpr unsigned BATCH = 64;
constexpr size_t PACKET = 48;
constexpr size_t RX_BUFFER = 512;
constexpr size_t MAX_SAMPLES = 4'000'000;   // T3-T2 samples kept (int32 ns): 16 MB at most
constexpr int64_t NS = 1'000'000'000;
constexpr uint64_t NTP_UNIX_OFFSET = 2'208'988'800ull;   // 1900 -> 1970, in seconds

struct Options {
  std::string server = "198.18.0.1";
  unsigned port = 123;
  std::string src = "198.19.0.1";
  unsigned sources = 4096;
  unsigned ports = 4;
  unsigned basePort = 20000;
  double rate = 0;        // requests per second; 0: as fast as possible
  double duration = 5;    // seconds
  uint64_t count = 0;     // 0: no limit but the duration
  unsigned drainMs = 200;
  unsigned batch = 32;
  unsigned ntsKePort = 0;   // 0: plain NTP
  unsigned ntsPool = 8192;
};

struct NtsSession {
  uint8_t c2s[32], s2c[32];
  std::vector<std::vector<uint8_t>> cookies;
};

// One NTS-KE exchange with server:port; exits on failure.
NtsSession ntsKeyExchange(const std::string& server, unsigned port) {
  NtsSession out;
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
  static const unsigned char alpn[] = "\x07ntske/1";
  SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn) - 1);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(uint16_t(port));
  inet_pton(AF_INET, server.c_str(), &a.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) < 0) {
    fprintf(stderr, "horloge-loadgen: NTS-KE connect: %s\n", strerror(errno));
    exit(1);
  }
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  if (SSL_connect(ssl) != 1) {
    fprintf(stderr, "horloge-loadgen: NTS-KE handshake failed\n");
    exit(1);
  }
  const uint8_t request[] = {0x80, 1, 0, 2, 0, 0, 0x80, 4, 0, 2, 0, 15, 0x80, 0, 0, 0};
  SSL_write(ssl, request, sizeof(request));
  std::vector<uint8_t> in;
  uint8_t buf[4096];
  int n;
  while ((n = SSL_read(ssl, buf, sizeof(buf))) > 0) in.insert(in.end(), buf, buf + n);
  for (size_t off = 0; off + 4 <= in.size();) {
    unsigned type = (in[off] & 0x7f) << 8 | in[off + 1];
    size_t len = size_t(in[off + 2]) << 8 | in[off + 3];
    if (off + 4 + len > in.size()) break;
    if (type == horloge::nts::NEW_COOKIE) out.cookies.emplace_back(in.begin() + off + 4, in.begin() + off + 4 + len);
    off += 4 + len;
  }
  uint8_t context[5];
  horloge::nts::exporterContext(false, context);
  bool ok = SSL_export_keying_material(ssl, out.c2s, 32, horloge::nts::EXPORTER_LABEL,
                                       sizeof(horloge::nts::EXPORTER_LABEL) - 1, context, 5, 1) == 1;
  horloge::nts::exporterContext(true, context);
  ok = ok && SSL_export_keying_material(ssl, out.s2c, 32, horloge::nts::EXPORTER_LABEL,
                                        sizeof(horloge::nts::EXPORTER_LABEL) - 1, context, 5, 1) == 1;
  if (!ok || out.cookies.empty()) {
    fprintf(stderr, "horloge-loadgen: NTS-KE gave no cookies or keys\n");
    exit(1);
  }
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  close(fd);
  return out;
}

void putField(std::vector<uint8_t>& p, uint16_t type, const uint8_t* body, size_t len) {
  size_t total = 4 + len;
  p.push_back(uint8_t(type >> 8));
  p.push_back(uint8_t(type));
  p.push_back(uint8_t(total >> 8));
  p.push_back(uint8_t(total));
  p.insert(p.end(), body, body + len);
}

[[noreturn]] void usage(const char* msg) {
  fprintf(stderr,
          "horloge-loadgen: %s\n"
          "usage: horloge-loadgen [--server ADDR] [--port N] [--src ADDR] [--sources N]\n"
          "       [--ports K] [--base-port N] [--rate R (0 = flood)] [--duration S]\n"
          "       [--count N] [--drain-ms MS] [--batch B] [--nts-ke-port P] [--nts-pool N]\n",
          msg);
  exit(2);
}

[[noreturn]] void die(const char* what) {
  fprintf(stderr, "horloge-loadgen: %s: %s\n", what, strerror(errno));
  exit(1);
}

int64_t clockNs(clockid_t id) {
  timespec ts;
  clock_gettime(id, &ts);
  return int64_t(ts.tv_sec) * NS + ts.tv_nsec;
}

// Unix ns -> 64-bit NTP timestamp (era 0/1 wrap handled by the unsigned arithmetic).
uint64_t toNtp(int64_t unixNs) {
  uint64_t s = uint64_t(unixNs / NS) + NTP_UNIX_OFFSET;
  uint64_t frac = (uint64_t(unixNs % NS) << 32) / NS;
  return (s << 32) | (frac & 0xffffffffu);
}

uint64_t load64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return v;
}

void store64(uint8_t* p, uint64_t v) {
  for (int i = 7; i >= 0; --i) { p[i] = uint8_t(v); v >>= 8; }
}

// Signed difference a - b of two NTP timestamps in ns (valid for |a-b| < 68 years).
int64_t ntpDiffNs(uint64_t a, uint64_t b) {
  int64_t d = int64_t(a - b);   // 32.32 fixed point
  return int64_t((__int128)d * NS >> 32);
}

double percentile(std::vector<int32_t>& v, double p) {
  if (v.empty()) return NAN;
  size_t k = std::min(v.size() - 1, size_t(p * double(v.size() - 1) + 0.5));
  std::nth_element(v.begin(), v.begin() + k, v.end());
  return v[k];
}

struct Socket {
  int fd;
  // Send side: one request and one IP_PKTINFO per slot.
  uint8_t tx[BATCH][PACKET];
  alignas(cmsghdr) uint8_t txControl[BATCH][CMSG_SPACE(sizeof(in_pktinfo))];
  iovec txIov[BATCH];
  mmsghdr txMsg[BATCH];
  // Receive side.
  uint8_t rx[BATCH][RX_BUFFER];
  iovec rxIov[BATCH];
  mmsghdr rxMsg[BATCH];
};

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) usage(("missing value after " + a).c_str());
      return argv[++i];
    };
    if (a == "--server") o.server = next();
    else if (a == "--port") o.port = unsigned(atoi(next()));
    else if (a == "--src") o.src = next();
    else if (a == "--sources") o.sources = unsigned(atoi(next()));
    else if (a == "--ports") o.ports = unsigned(atoi(next()));
    else if (a == "--base-port") o.basePort = unsigned(atoi(next()));
    else if (a == "--rate") o.rate = atof(next());
    else if (a == "--duration") o.duration = atof(next());
    else if (a == "--count") o.count = strtoull(next(), nullptr, 10);
    else if (a == "--drain-ms") o.drainMs = unsigned(atoi(next()));
    else if (a == "--batch") o.batch = unsigned(atoi(next()));
    else if (a == "--nts-ke-port") o.ntsKePort = unsigned(atoi(next()));
    else if (a == "--nts-pool") o.ntsPool = unsigned(atoi(next()));
    else usage(("unknown option " + a).c_str());
  }
  if (o.sources < 1 || o.ports < 1 || o.ports > 256 || o.port < 1 || o.port > 65535)
    usage("bad --sources, --ports or --port");
  if (o.batch < 1 || o.batch > BATCH) usage("--batch must be 1..64");
  if (!(o.duration > 0) || o.duration > 3600) usage("--duration must be in (0, 3600]");
  if (o.rate < 0) usage("--rate must be >= 0");
  if (o.drainMs > 10'000) usage("--drain-ms must be <= 10000");

  sockaddr_in server{};
  server.sin_family = AF_INET;
  server.sin_port = htons(uint16_t(o.port));
  if (inet_pton(AF_INET, o.server.c_str(), &server.sin_addr) != 1) usage("bad --server");
  in_addr srcBase;
  if (inet_pton(AF_INET, o.src.c_str(), &srcBase) != 1) usage("bad --src");
  uint32_t src0 = ntohl(srcBase.s_addr);

  prctl(PR_SET_TIMERSLACK, 1ul);   // pacing sleeps as short as asked
  std::vector<Socket> sockets(o.ports);
  for (unsigned k = 0; k < o.ports; ++k) {
    Socket& s = sockets[k];
    s.fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s.fd < 0) die("socket");
    int on = 1;
    setsockopt(s.fd, IPPROTO_IP, IP_FREEBIND, &on, sizeof(on));
    int buf = 8 << 20;
    // FORCE variants need CAP_NET_ADMIN; fall back to the capped ones.
    if (setsockopt(s.fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)) < 0)
      setsockopt(s.fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
    if (setsockopt(s.fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf)) < 0)
      setsockopt(s.fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
    sockaddr_in local{};
    local.sin_family = AF_INET;
    local.sin_port = htons(uint16_t(o.basePort + k));
    if (bind(s.fd, reinterpret_cast<sockaddr*>(&local), sizeof(local)) < 0) die("bind");
    for (unsigned j = 0; j < BATCH; ++j) {
      memset(s.tx[j], 0, PACKET);
      s.tx[j][0] = (0 << 6) | (4 << 3) | 3;   // LI 0, version 4, mode 3
      s.tx[j][2] = 6;                          // poll
      s.tx[j][3] = 0xec;                       // precision -20
      s.txIov[j] = {s.tx[j], PACKET};
      msghdr& h = s.txMsg[j].msg_hdr;
      h = {};
      h.msg_name = &server;
      h.msg_namelen = sizeof(server);
      h.msg_iov = &s.txIov[j];
      h.msg_iovlen = 1;
      h.msg_control = s.txControl[j];
      h.msg_controllen = sizeof(s.txControl[j]);
      memset(s.txControl[j], 0, sizeof(s.txControl[j]));
      cmsghdr* c = CMSG_FIRSTHDR(&h);
      c->cmsg_level = IPPROTO_IP;
      c->cmsg_type = IP_PKTINFO;
      c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
      s.rxIov[j] = {s.rx[j], RX_BUFFER};
    }
  }

  // NTS: the pool of sealed requests, made now so that their transmit stamps fall in the run.
  std::vector<std::vector<uint8_t>> pool;
  if (o.ntsKePort) {
    NtsSession nts = ntsKeyExchange(o.server, o.ntsKePort);
    horloge::nts::AesSiv siv;
    uint64_t base = toNtp(clockNs(CLOCK_REALTIME));
    for (unsigned i = 0; i < std::max(1u, o.ntsPool); ++i) {
      std::vector<uint8_t> p(PACKET, 0);
      p[0] = (4 << 3) | 3;
      p[2] = 6;
      p[3] = 0xec;
      store64(p.data() + 40, base + i);
      uint8_t uid[32], nonce[16], tag[16];
      RAND_bytes(uid, sizeof(uid));
      RAND_bytes(nonce, sizeof(nonce));
      putField(p, 0x0104, uid, sizeof(uid));
      auto& cookie = nts.cookies[i % nts.cookies.size()];
      putField(p, 0x0204, cookie.data(), cookie.size());
      size_t ad = p.size();
      siv.seal(kj::arrayPtr(nts.c2s, 32), kj::arrayPtr(nonce, 16), kj::arrayPtr(p.data(), ad),
               nullptr, tag);
      uint8_t body[4 + 16 + 16] = {0, 16, 0, 16};
      memcpy(body + 4, nonce, 16);
      memcpy(body + 20, tag, 16);
      putField(p, 0x0404, body, sizeof(body));
      pool.push_back(std::move(p));
    }
  }
  uint64_t nextPool = 0;

  std::vector<int32_t> t3t2;
  std::vector<int32_t> rtt;
  t3t2.reserve(std::min<uint64_t>(MAX_SAMPLES, o.count ? o.count : MAX_SAMPLES));
  rtt.reserve(t3t2.capacity());

  uint64_t sent = 0, sendErrors = 0, received = 0, valid = 0, invalid = 0, kod = 0;
  uint64_t negative = 0, validInWindow = 0;
  uint64_t nextSource = 0;
  const int64_t startMono = clockNs(CLOCK_MONOTONIC);
  const uint64_t startNtpFloor = toNtp(clockNs(CLOCK_REALTIME) - NS);
  const int64_t durationNs = int64_t(o.duration * NS);
  const int64_t endMono = startMono + durationNs;
  const int64_t drainEnd = endMono + int64_t(o.drainMs) * 1'000'000;
  bool sending = true;
  int64_t sendEndMono = endMono;

  auto receive = [&](Socket& s, bool inWindow) {
    for (int round = 0; round < 4; ++round) {
      for (unsigned j = 0; j < BATCH; ++j) {
        msghdr& h = s.rxMsg[j].msg_hdr;
        h = {};
        h.msg_iov = &s.rxIov[j];
        h.msg_iovlen = 1;
      }
      int n = recvmmsg(s.fd, s.rxMsg, BATCH, MSG_DONTWAIT, nullptr);
      if (n <= 0) return;
      uint64_t nowNtp = toNtp(clockNs(CLOCK_REALTIME));
      for (int j = 0; j < n; ++j) {
        ++received;
        const uint8_t* p = s.rx[j];
        if (s.rxMsg[j].msg_len < PACKET || (p[0] & 7) != 4) { ++invalid; continue; }
        // NTS: an answer carries the authenticator; a NAK (kiss) only the unique identifier.
        if (o.ntsKePort && p[1] != 0 && s.rxMsg[j].msg_len <= PACKET + 36) { ++invalid; continue; }
        uint64_t origin = load64(p + 24), t2 = load64(p + 32), t3 = load64(p + 40);
        // Ours: sent during this run, so between the start (less a second) and now.
        if (ntpDiffNs(origin, startNtpFloor) < 0 || ntpDiffNs(nowNtp, origin) < 0) {
          ++invalid;
          continue;
        }
        ++valid;
        if (inWindow) ++validInWindow;
        if (p[1] == 0) ++kod;
        int64_t d = ntpDiffNs(t3, t2);
        if (d < 0) ++negative;
        if (t3t2.size() < MAX_SAMPLES) {
          t3t2.push_back(int32_t(std::clamp<int64_t>(d, INT32_MIN, INT32_MAX)));
          rtt.push_back(int32_t(std::clamp<int64_t>(ntpDiffNs(nowNtp, origin), INT32_MIN, INT32_MAX)));
        }
      }
      if (unsigned(n) < BATCH) return;
    }
  };

  unsigned k = 0;
  for (;;) {
    int64_t now = clockNs(CLOCK_MONOTONIC);
    if (sending && (now >= endMono || (o.count && sent >= o.count))) {
      sending = false;
      sendEndMono = now;
    }
    if (!sending && now >= drainEnd) break;
    if (!sending && now >= sendEndMono + int64_t(o.drainMs) * 1'000'000) break;
    Socket& s = sockets[k];
    k = (k + 1) % o.ports;
    if (sending) {
      unsigned want = o.batch;
      if (o.rate > 0) {
        // Open loop: as many as are due by now, at most one batch.
        uint64_t due = uint64_t(double(now - startMono) * o.rate / double(NS)) + 1;
        want = due > sent ? unsigned(std::min<uint64_t>(due - sent, o.batch)) : 0;
      }
      if (o.count) want = unsigned(std::min<uint64_t>(want, o.count - sent));
      if (want > 0) {
        uint64_t txNtp = toNtp(clockNs(CLOCK_REALTIME));
        for (unsigned j = 0; j < want; ++j) {
          auto* c = reinterpret_cast<cmsghdr*>(s.txControl[j]);
          in_pktinfo pi{};
          pi.ipi_spec_dst.s_addr = htonl(src0 + uint32_t(nextSource++ % o.sources));
          memcpy(CMSG_DATA(c), &pi, sizeof(pi));
          if (o.ntsKePort) {
            auto& req = pool[nextPool++ % pool.size()];
            s.txIov[j] = {req.data(), req.size()};
          } else {
            store64(s.tx[j] + 40, txNtp + j);   // distinct transmit stamps within a batch
          }
        }
        unsigned done = 0;
        while (done < want) {
          int r = sendmmsg(s.fd, s.txMsg + done, want - done, 0);
          if (r < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == ENOBUFS) break;   // retry later; not counted as sent
            ++sendErrors;
            ++done;   // skip the failing one
            continue;
          }
          done += unsigned(r);
          sent += unsigned(r);
        }
      }
    }
    receive(s, sending);
    if (!sending) {
      usleep(200);
    } else if (o.rate > 0 && k == 0) {
      // Paced: sleep until the next request is due rather than spin, so that this core's
      // receive processing (softirq) is not kept waiting behind a busy loop.
      int64_t nextDue = startMono + int64_t(double(sent) * double(NS) / o.rate);
      int64_t wait = nextDue - clockNs(CLOCK_MONOTONIC);
      if (wait > 20'000) {
        timespec ts{time_t(wait / NS), long(wait % NS)};
        nanosleep(&ts, nullptr);
      }
    }
  }
  int64_t elapsed = sendEndMono - startMono;

  double p50 = percentile(t3t2, 0.50), p99 = percentile(t3t2, 0.99);
  double r50 = percentile(rtt, 0.50), r99 = percentile(rtt, 0.99);
  double secs = double(elapsed) / double(NS);
  printf("{\"nts\":%s,\"mode\":\"%s\",\"target_rate\":%.0f,\"duration_s\":%.3f,\"sent\":%" PRIu64
         ",\"send_errors\":%" PRIu64 ",\"received\":%" PRIu64 ",\"replies\":%" PRIu64
         ",\"replies_in_window\":%" PRIu64 ",\"invalid\":%" PRIu64 ",\"kod\":%" PRIu64
         ",\"send_rate\":%.0f,\"reply_rate\":%.0f,\"t3_t2_ns\":{\"p50\":%.0f,\"p99\":%.0f,"
         "\"negative\":%" PRIu64 ",\"n\":%zu},\"rtt_ns\":{\"p50\":%.0f,\"p99\":%.0f},"
         "\"sources\":%u,\"ports\":%u}\n",
         o.ntsKePort ? "true" : "false", o.rate > 0 ? "paced" : "flood", o.rate, secs, sent, sendErrors, received, valid,
         validInWindow, invalid, kod, secs > 0 ? double(sent) / secs : 0.0,
         secs > 0 ? double(validInWindow) / secs : 0.0, std::isnan(p50) ? -1.0 : p50,
         std::isnan(p99) ? -1.0 : p99, negative, t3t2.size(), std::isnan(r50) ? -1.0 : r50,
         std::isnan(r99) ? -1.0 : r99, o.sources, o.ports);
  for (auto& s: sockets) close(s.fd);
  return 0;
}
