// horloge-clockd: selection and discipline; the only process that may set the clock.
// It holds no network socket at all: refclockd and netd push to it over Unix sockets, and
// monitord/horlogectl read from it.
#include "address.h"
#include "clock.h"
#include "daemon.h"
#include "host-info.h"
#include "hub.h"
#include "ipc.h"
#include "log.h"
#include "ntp-time.h"
#include "sandbox.h"
#include "temperature-sensor.h"
#include "systemd.h"
#include <kj/async-io.h>
#include <kj/debug.h>
#include <kj/main.h>
#include <cerrno>
#include <pwd.h>
#include <ifaddrs.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace horloge;

namespace {

struct Account {
  uid_t uid;
  gid_t gid;
};

// The account a role runs as. Started unprivileged, every role is us.
Account accountOf(const Config& config, Role role) {
  // Unless we run as clockd's own user (systemd User=, IPC sockets from .socket units).
  const passwd* me = getpwnam(config.user(Role::CLOCKD).c_str());
  if (geteuid() != 0 && (me == nullptr || me->pw_uid != geteuid())) return {geteuid(), getegid()};
  const passwd* pw = getpwnam(config.user(role).c_str());
  if (pw == nullptr) {
    log::error(kj::str("user '", config.user(role), "' for ", roleName(role),
                       " does not exist"));
    exit(1);
  }
  return {pw->pw_uid, pw->pw_gid};
}

// The discipline's settings and what the state directory remembers from a previous run.
clockd::HubOptions hubOptions(const Config& config) {
  clockd::HubOptions o;
  o.sync.maxHoldover = config.maxHoldover;
  o.discipline.stepThreshold = config.makestepThreshold;
  o.discipline.maxSlewRate = config.maxSlewRate;
  o.discipline.maxClockError = config.maxClockError;
  o.discipline.stepLimit = config.makestepLimit;
  o.driftfile = config.driftfile;
  if (!o.driftfile.empty()) {
    if (auto drift = clockd::readDrift(o.driftfile)) o.drift = *drift;
  }
  o.statePath = config.statedir + "/clockd.state";
  o.bootId = clockd::currentBootId();
  o.updatesDone = clockd::updatesAtStart(clockd::readStepState(o.statePath), o.bootId);
  o.temperaturePath = config.statedir + "/clockd.temperature";
  if (auto m = clockd::readTemperatureMemory(o.temperaturePath)) o.temperatureMemory = *m;
  if (o.updatesDone > 0) {
    log::info(kj::str("restarted in the same boot after ", o.updatesDone,
                      " clock updates: the makestep window stays as it was"));
  }
  // An explicit `leapfile` is authoritative; without one, the later-expiring shipped copy.
  auto leap = clockd::chooseLeapFile(
      config.leapfile.empty()
          ? std::vector<std::string>{clockd::SHIPPED_LEAPFILE, clockd::TZDATA_LEAPFILE}
          : std::vector<std::string>{config.leapfile});
  o.leapPath = kj::str(leap.path);
  o.leapAlarm = kj::str(leap.alarm);
  if (leap.table) {
    log::info(kj::str("leap seconds: ", o.leapPath, ", expires ",
                      clockd::utcDate(leap.table->expiresUnix)));
    o.leap = kj::mv(*leap.table);
  }
  return o;
}

struct TemperatureInput {
  kj::Maybe<kj::Own<clockd::TemperatureSensor>> sensor;
  kj::String source;   // for the status; "": none
};

// `tempsensor`: the file named, none, or by default the SoC's thermal zone when there is one.
// Under `clock sim` the virtual crystal's own temperature is the one that matters.
TemperatureInput openTemperatureInput(const Config& config) {
  TemperatureInput in;
  if (config.clock == ClockBackend::SIM) {
    if (!config.tempSensor.empty() && config.tempSensor != "none") {
      log::info("tempsensor is not read under clock sim: the sim clock has its own temperature");
    }
    in.source = kj::str(config.simThermal ? "sim clock" : "");
  } else if (config.tempSensor == "none" ||
             (config.tempSensor.empty() &&
              access(clockd::DEFAULT_TEMPERATURE_SENSOR.cStr(), F_OK) != 0)) {
    in.source = kj::str("");
  } else {
    kj::StringPtr path = config.tempSensor.empty() ? clockd::DEFAULT_TEMPERATURE_SENSOR
                                                   : kj::StringPtr(config.tempSensor.c_str());
    in.sensor = kj::heap<clockd::TemperatureSensor>(path);
    in.source = kj::str(path);
  }
  if (in.source.size() == 0) log::info("no temperature sensor: holdover keeps the frequency");
  else log::info(kj::str("temperature from ", in.source, " every ", config.tempInterval, " s"));
  return in;
}

// Every address of this host as a downstream would see it in a refid: a server whose refid is
// one of these follows us.
std::vector<uint32_t> ownAddressRefids() {
  std::vector<uint32_t> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) < 0) return out;
  for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    auto text = numericAddress(i->ifa_addr);
    if (!text.empty()) {
      out.push_back(clockd::refidOfAddress(text));
    }
  }
  freeifaddrs(list);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  Config config = startDaemon(Role::CLOCKD, argc, argv);
  int64_t started = realtimeNs();
  return runDaemon([&]() {
    auto io = kj::setupAsyncIo();
    Account refclockd = accountOf(config, Role::REFCLOCKD);
    Account netd = accountOf(config, Role::NETD);
    Account monitord = accountOf(config, Role::MONITORD);
    Account self = accountOf(config, Role::CLOCKD);

    // 1. Open what we need: one socket per role, owned by that role's user.
    // Nobody else may write where the sockets and the state live (they could swap them).
    ipc::secureDirectory(config.rundir.c_str(), 0755, {0, 0, 0755}, "rundir");
    ipc::secureDirectory(config.statedir.c_str(), 0750, {self.uid, self.gid, 0750}, "statedir");
    auto refclockSock = ipc::listenUnix(io, ipc::socketPath(config, ipc::REFCLOCK_SOCKET),
                                        {refclockd.uid, refclockd.gid, 0600});
    auto netdSock = ipc::listenUnix(io, ipc::socketPath(config, ipc::NETD_SOCKET),
                                    {netd.uid, netd.gid, 0600});
    auto statusSock = ipc::listenUnix(io, ipc::socketPath(config, ipc::STATUS_SOCKET),
                                      {monitord.uid, monitord.gid, 0660});
    kj::Maybe<kj::Own<kj::ConnectionReceiver>> ntskeSock;
    uid_t ntskdUid = 0;
    if (config.nts.enabled) {
      Account ntskd = accountOf(config, Role::NTSKD);
      ntskdUid = ntskd.uid;
      ntskeSock = ipc::listenUnix(io, ipc::socketPath(config, ipc::NTSKE_SOCKET),
                                  {ntskd.uid, ntskd.gid, 0600});
    }

    // Our addresses as refids, for loop detection (read before lockdown: netlink).
    std::vector<uint32_t> ownRefids = ownAddressRefids();
    // The temperature sensor, opened now: the sandbox's user may not open it afterwards.
    TemperatureInput temperature = openTemperatureInput(config);

    auto user = lockdownUserName(config, Role::CLOCKD);
    // 2. Drop everything but CAP_SYS_TIME, and that only when we really drive the clock.
    lockdown(Role::CLOCKD, {config.user(Role::CLOCKD), config.clock == ClockBackend::SYSTEM,
                            config.seccomp});

    clockd::HubOptions options = hubOptions(config);
    options.ownRefids = ownRefids;
    options.user = kj::str(user);
    // NTS: made after lockdown, so that the key file belongs to clockd's user.
    kj::Maybe<kj::Own<clockd::NtsKeyStore>> ntsKeys;
    if (config.nts.enabled) {
      auto store = kj::heap<clockd::NtsKeyStore>(
          config.statedir + "/nts-keys", static_cast<int64_t>(config.nts.rotate * ntp::NS_PER_S),
          realtimeNs());
      options.ntsKeys = store.get();
      ntsKeys = kj::mv(store);
    }
    options.temperatureSensor = kj::mv(temperature.sensor);
    options.temperatureSource = kj::mv(temperature.source);
    options.temperatureInterval = config.tempInterval;
    clockd::SimClockParams sim{config.simFrequency, config.simWander, config.simOffset, 0,
                               config.simSeed, config.simFrequencyStep, config.simFrequencyStepAt};
    sim.startAt = static_cast<double>(config.simStart);
    sim.thermal.enabled = config.simThermal;
    sim.thermal.diurnal = config.simDiurnal;
    sim.thermal.load = config.simLoad;
    sim.thermal.loadPeriod = config.simLoadPeriod;
    sim.thermal.lag = config.simLag;
    sim.thermal.linear = config.simLinear;
    sim.thermal.quadratic = config.simQuadratic;
    auto clock = clockd::makeClock(config.clock, sim, clockd::realKernel(),
                                   {config.statedir + "/sim-clock.state", options.bootId});
    log::info(kj::str("serving on ", config.rundir, " with the ", clock->name(), " clock"));
    clockd::Hub hub(io.provider->getTimer(), kj::mv(clock), kj::mv(options), started);

    auto only = [](uid_t u) { return kj::heapArray<uid_t>({u, 0}); };
    auto& timer = io.provider->getTimer();
    auto serving =
        ipc::serve(timer, *refclockSock, ipc::REFCLOCK_SOCKET, only(refclockd.uid),
                   [&]() { return hub.newRefclockFeed(); })
            .exclusiveJoin(ipc::serve(timer, *netdSock, ipc::NETD_SOCKET, only(netd.uid),
                                      [&]() { return hub.newNetdFeed(); }))
            // Read-only: the socket's group permission decides who may read.
            .exclusiveJoin(ipc::serve(timer, *statusSock, ipc::STATUS_SOCKET, nullptr,
                                      [&]() { return hub.newStatusReader(); }))
            .exclusiveJoin(hub.run())
            .exclusiveJoin([&]() -> kj::Promise<void> {
              KJ_IF_MAYBE(sock, ntskeSock) {
                return ipc::serve(timer, **sock, ipc::NTSKE_SOCKET, only(ntskdUid),
                                  [&]() { return hub.newNtskeFeed(); });
              }
              return kj::NEVER_DONE;
            }())
            .exclusiveJoin(systemd::watchdogLoop(io.provider->getTimer()));
    systemd::notifyReady("waiting for reference clock samples");
    serving.wait(io.waitScope);
    return 1;   // serving never ends but by an exception
  });
}
