// `refclock pps DEVICE [edge assert|clear] [offset S]`: the kernel PPS API (RFC 2783) on
// /dev/ppsN. The kernel timestamps each edge in its interrupt handler; we fetch the stamps
// with PPS_FETCH and a timeout, in a thread started before lockdown because the ioctl blocks,
// and hand them to the event loop through a pipe. Edges are numbered by the NMEA of any
// `refclock nmea` in the same file, or by clockd's clock while it is within 0.4 s.
// The capture edge is set (PPS_SETPARAMS needs CAP_SYS_TIME) only before lockdown, if at all.
//
// The thread owns the device. A device that is missing at start (no pps-gpio overlay yet), or
// that goes away (PPS_FETCH fails: a USB adapter unplugged), is a state: the thread opens it
// again with back-off (0.5 s doubling to 30 s), and the status says what is wrong in words
// (device-problem.h) until it is back.
#include "driver.h"
#include "device-problem.h"
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
constexpr int64_t MIN_BACKOFF_NS = 500'000'000, MAX_BACKOFF_NS = 30 * S;

// What the fetch thread tells the event loop.
struct Event {
  enum What : int32_t { EDGE, OPENED, OPEN_FAILED, NOT_PPS, NO_EDGE, NO_WAIT, LOST };
  What what;
  int32_t err;         // errno for OPEN_FAILED and LOST
  int64_t ns;          // EDGE: the edge by the system clock; else the retry's delay
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
    int p[2];
    KJ_SYSCALL(pipe2(p, O_CLOEXEC | O_NONBLOCK));
    kj::AutoCloseFd readEnd(p[0]);
    writeEnd = kj::AutoCloseFd(p[1]);
    edges = ctx.io.lowLevelProvider->wrapInputFd(kj::mv(readEnd));
    // Opened now, while the capture edge may still be enabled; a problem is retried later.
    Event first = openDevice();
    onEvent(first);
    fetcher = kj::heap<kj::Thread>([this, first]() {
      fetchLoop(first.what == Event::OPENED ? 0 : MIN_BACKOFF_NS);
    });
  }

  ~PpsDriver() noexcept(false) {
    stop = true;
    fetcher = nullptr;   // joins: the thread notices `stop` within one fetch timeout
  }

  kj::Promise<void> run(SampleSink& s) override {
    sink = &s;
    return readEvents();
  }

  void status(ipc::RefclockStatus::Builder out) override {
    int64_t now = realtimeNs();
    out.setSourceId(id);
    out.setName(kj::str("pps:", conf.device));
    out.setDriver("pps");
    noNmeaFigures(out);
    out.setDeviceOpen(open);
    out.setReopens(reopens);
    kj::String fault = kj::str(problem);
    if (fault.size() > 0 && retryAtNs > now) fault = kj::str(fault, retrying(retryAtNs - now));
    if (fault.size() == 0 && open && now - lastEdgeNs > Receiver::SILENCE_NS) {
      fault = silentPps(conf.device, (now - lastEdgeNs) / S);
    }
    receiver.fillStatus(out, now, true, ctx.nmeaDrivers > 0, fault);
  }

private:
  RefclockConf conf;
  uint8_t id;
  DriverContext& ctx;
  Receiver receiver;
  SampleSink* sink = nullptr;
  kj::AutoCloseFd writeEnd;
  kj::Own<kj::AsyncInputStream> edges;
  std::atomic<bool> stop{false};
  kj::Own<kj::Thread> fetcher;
  Event event;
  // Event loop side.
  bool open = false;
  bool everOpen = false;
  kj::String problem = kj::str("");
  uint64_t reopens = 0;
  int64_t retryAtNs = 0;               // when the thread opens the device again
  int64_t lastEdgeNs = realtimeNs();   // silence is counted from the start
  // Fetch thread side: the device.
  kj::AutoCloseFd device;

  // Opens and checks the device (thread side, or the constructor before the thread starts).
  Event openDevice() {
    int fd = ::open(conf.device.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) return {Event::OPEN_FAILED, errno, 0};
    kj::AutoCloseFd owned(fd);
    int caps = 0;
    if (ioctl(fd, PPS_GETCAP, &caps) < 0) return {Event::NOT_PPS, errno, 0};
    int want = conf.clearEdge ? PPS_CAPTURECLEAR : PPS_CAPTUREASSERT;
    if (!(caps & want)) return {Event::NO_EDGE, 0, 0};
    if (!(caps & PPS_CANWAIT)) return {Event::NO_WAIT, 0, 0};
    pps_kparams params;
    memset(&params, 0, sizeof(params));
    if (ioctl(fd, PPS_GETPARAMS, &params) == 0 && !(params.mode & want)) {
      // Only possible as root, before lockdown; afterwards we never hold CAP_SYS_TIME.
      params.mode |= want;
      if (ioctl(fd, PPS_SETPARAMS, &params) < 0) {
        log::warn(kj::str("refclock pps ", conf.device.c_str(), ": cannot enable the ",
                          conf.clearEdge ? "clear" : "assert", " edge (", strerror(errno),
                          "): edges may never come; restart refclockd as root to enable it"));
      }
    }
    device = kj::mv(owned);
    return {Event::OPENED, 0, 0};
  }

  void send(const Event& e) {
    (void)!write(writeEnd, &e, sizeof(e));   // a full pipe means a stalled loop: drop
  }

  // Sleeps `ns` in slices, so that the destructor's join is not held up. False when stopping.
  bool pause(int64_t ns) {
    for (int64_t slept = 0; slept < ns && !stop; slept += 100'000'000) usleep(100'000);
    return !stop;
  }

  // The fetch thread: (re)opens the device with back-off, then blocks in PPS_FETCH for at most
  // a second and a half at a time and sends new edges.
  void fetchLoop(int64_t backoffNs) {
    uint32_t lastSeq = 0;
    bool first = true;
    while (!stop) {
      if (device.get() < 0) {
        if (!pause(backoffNs)) return;
        Event e = openDevice();
        if (e.what != Event::OPENED) {
          backoffNs = std::min(std::max(backoffNs, MIN_BACKOFF_NS) * 2, MAX_BACKOFF_NS);
          e.ns = backoffNs;
          send(e);
          continue;
        }
        send(e);
        backoffNs = MIN_BACKOFF_NS;
        first = true;
      }
      pps_fdata data;
      memset(&data, 0, sizeof(data));
      data.timeout.sec = 1;
      data.timeout.nsec = 500'000'000;
      if (ioctl(device, PPS_FETCH, &data) < 0) {
        if (errno == EINTR || errno == ETIMEDOUT) continue;
        send({Event::LOST, errno, backoffNs});
        device = nullptr;   // closed: opened again after the back-off
        continue;
      }
      uint32_t seq = conf.clearEdge ? data.info.clear_sequence : data.info.assert_sequence;
      const pps_ktime& t = conf.clearEdge ? data.info.clear_tu : data.info.assert_tu;
      if (!first && seq == lastSeq) continue;
      first = false;
      lastSeq = seq;
      send({Event::EDGE, 0, t.sec * S + t.nsec});
    }
  }

  void setProblem(kj::String text) {
    if (text != problem) log::warn(kj::str("refclock pps: ", text));
    problem = kj::mv(text);
  }

  void onEvent(const Event& e) {
    auto dev = kj::StringPtr(conf.device.c_str());
    switch (e.what) {
      case Event::EDGE:
        lastEdgeNs = realtimeNs();
        receiver.onEdge(e.ns, lastEdgeNs);
        return;
      case Event::OPENED:
        if (everOpen || problem.size() > 0) {
          ++reopens;
          log::info(kj::str("refclock pps: ", dev, " is open again"));
        }
        everOpen = open = true;
        problem = kj::str("");
        lastEdgeNs = realtimeNs();
        return;
      case Event::OPEN_FAILED:
        open = false;
        setProblem(openProblem(DeviceKind::PPS, dev, e.err));
        break;
      case Event::NOT_PPS:
        open = false;
        setProblem(wrongDevice(DeviceKind::PPS, dev, kj::str("is not a PPS device (", strerror(e.err),
                                                             "): `refclock pps` wants /dev/ppsN")));
        break;
      case Event::NO_EDGE:
        open = false;
        setProblem(wrongDevice(DeviceKind::PPS, dev, kj::str("cannot capture the ",
                               conf.clearEdge ? "clear" : "assert", " edge")));
        break;
      case Event::NO_WAIT:
        open = false;
        setProblem(wrongDevice(DeviceKind::PPS, dev, "cannot wait for an edge (no PPS_CANWAIT)"));
        break;
      case Event::LOST:
        open = false;
        setProblem(lostProblem(DeviceKind::PPS, dev, e.err));
        break;
    }
    // The retry's delay is shown in the status, not logged: the log says each problem once.
    retryAtNs = realtimeNs() + (e.ns > 0 ? e.ns : MIN_BACKOFF_NS);
  }

  kj::Promise<void> readEvents() {
    return edges->read(&event, sizeof(event)).then([this]() {
      onEvent(event);
      return readEvents();
    });
  }
};

}  // namespace

kj::Own<Driver> openPpsDriver(const RefclockConf& conf, uint8_t id, DriverContext& ctx) {
  return kj::heap<PpsDriver>(conf, id, ctx);
}

}  // namespace horloge::refclock
