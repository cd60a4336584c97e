// `refclock pps DEVICE [edge assert|clear] [offset S]`: the kernel PPS API (RFC 2783) on
// /dev/ppsN. The kernel timestamps each edge in its interrupt handler; we fetch the stamps
// with PPS_FETCH and a timeout, in a thread started before lockdown because the ioctl blocks,
// and hand them to the event loop through a pipe. Edges are numbered by the NMEA of any
// `refclock nmea` in the same file, or by clockd's clock while it is within 0.4 s.
// The capture edge is set (PPS_SETPARAMS needs CAP_SYS_TIME) only before lockdown, if at all.
#include "driver.h"
#include "ntp-time.h"
#include <kj/io.h>
#include "receiver.h"
#include "log.h"
#include <kj/debug.h>
#include <kj/thread.h>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <linux/pps.h>
#include <sys/ioctl.h>
#include <unistd.h>

namespace horloge::refclock {

namespace {

constexpr int64_t S = ntp::NS_PER_S;
constexpr int64_t PPS_ERROR_NS = 1000;   // kernel PPS on a Pi: about 1 us

struct EdgeRecord {
  int64_t ns;          // the edge by the system clock; -1: an error, `err` says which
  int32_t err;
  uint32_t sequence;
};

class PpsDriver final: public Driver {
public:
  PpsDriver(const RefclockConf& conf, uint8_t id, DriverContext& ctx)
      : conf(conf), id(id), ctx(ctx),
        receiver(static_cast<int64_t>(conf.offset * S), ctx.hint, ctx.buildNs, ctx.store,
                 [this](const Paired& p) {
                   if (p.nmeaDelayNs > 0) {
                     this->ctx.measuredNmeaDelayNs = receiver.pairs().meanDelayNs();
                     ++this->ctx.measuredNmeaDelays;
                   }
                   (*sink)(this->id, p, PPS_ERROR_NS);
                 }) {
    ctx.nmeaTimes.add([this](int64_t second, int64_t arrival) { receiver.onTime(second, arrival); });
    int fd;
    KJ_SYSCALL(fd = open(conf.device.c_str(), O_RDWR | O_CLOEXEC), conf.device);
    device = kj::AutoCloseFd(fd);
    int caps = 0;
    KJ_SYSCALL(ioctl(device, PPS_GETCAP, &caps), conf.device, "not a PPS device?");
    int want = conf.clearEdge ? PPS_CAPTURECLEAR : PPS_CAPTUREASSERT;
    KJ_REQUIRE(caps & want, "PPS device cannot capture this edge", conf.device);
    KJ_REQUIRE(caps & PPS_CANWAIT, "PPS device cannot wait for an edge", conf.device);
    pps_kparams params;
    memset(&params, 0, sizeof(params));
    KJ_SYSCALL(ioctl(device, PPS_GETPARAMS, &params), conf.device);
    if (!(params.mode & want)) {
      // Only possible now, as root; afterwards we never hold CAP_SYS_TIME.
      params.mode |= want;
      if (ioctl(device, PPS_SETPARAMS, &params) < 0)
        log::warn(kj::str("refclock pps ", conf.device, ": cannot enable the ",
                          conf.clearEdge ? "clear" : "assert", " edge: ", strerror(errno)));
    }
    int p[2];
    KJ_SYSCALL(pipe2(p, O_CLOEXEC | O_NONBLOCK));
    kj::AutoCloseFd readEnd(p[0]);
    writeEnd = kj::AutoCloseFd(p[1]);
    edges = ctx.io.lowLevelProvider->wrapInputFd(kj::mv(readEnd));
    fetcher = kj::heap<kj::Thread>([this]() { fetchLoop(); });
  }

  ~PpsDriver() noexcept(false) {
    stop = true;
    fetcher = nullptr;   // joins: the thread notices `stop` within one fetch timeout
  }

  kj::Promise<void> run(SampleSink& s) override {
    sink = &s;
    return readEdges();
  }

  void status(ipc::RefclockStatus::Builder out) override {
    out.setSourceId(id);
    out.setName(kj::str("pps:", conf.device));
    out.setDriver("pps");
    out.setDeviceOpen(lastErr == 0);
    receiver.fillStatus(out, realtimeNs(), true, ctx.nmeaDrivers > 0,
                        lastErr == 0 ? kj::str("") : kj::str("PPS_FETCH: ", strerror(lastErr)));
  }

private:
  RefclockConf conf;
  uint8_t id;
  DriverContext& ctx;
  Receiver receiver;
  SampleSink* sink = nullptr;
  kj::AutoCloseFd device, writeEnd;
  kj::Own<kj::AsyncInputStream> edges;
  std::atomic<bool> stop{false};
  kj::Own<kj::Thread> fetcher;
  EdgeRecord record;
  int lastErr = 0;

  // The fetch thread: blocks in PPS_FETCH for at most a second and a half, sends new edges.
  void fetchLoop() {
    uint32_t lastSeq = 0;
    bool first = true;
    while (!stop) {
      pps_fdata data;
      memset(&data, 0, sizeof(data));
      data.timeout.sec = 1;
      data.timeout.nsec = 500'000'000;
      EdgeRecord r{};
      if (ioctl(device, PPS_FETCH, &data) < 0) {
        if (errno == EINTR || errno == ETIMEDOUT) continue;
        r = {-1, errno, 0};
        (void)!write(writeEnd, &r, sizeof(r));
        usleep(1'000'000);   // a vanished device: do not spin
        continue;
      }
      uint32_t seq = conf.clearEdge ? data.info.clear_sequence : data.info.assert_sequence;
      const pps_ktime& t = conf.clearEdge ? data.info.clear_tu : data.info.assert_tu;
      if (!first && seq == lastSeq) continue;
      first = false;
      lastSeq = seq;
      r = {t.sec * S + t.nsec, 0, seq};
      (void)!write(writeEnd, &r, sizeof(r));   // a full pipe means a stalled loop: drop
    }
  }

  kj::Promise<void> readEdges() {
    return edges->read(&record, sizeof(record)).then([this]() {
      if (record.ns < 0) {
        lastErr = record.err;
      } else {
        lastErr = 0;
        receiver.onEdge(record.ns, realtimeNs());
      }
      return readEdges();
    });
  }
};

}  // namespace

kj::Own<Driver> openPpsDriver(const RefclockConf& conf, uint8_t id, DriverContext& ctx) {
  return kj::heap<PpsDriver>(conf, id, ctx);
}

}  // namespace horloge::refclock
