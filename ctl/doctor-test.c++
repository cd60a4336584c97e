// `horlogectl doctor` on fake roots: a Raspberry Pi set up as docs/raspberry-pi.md says, and a
// fresh one with every mistake the guide warns about, as files under a temporary directory
// (/proc, /sys, /dev, /boot/firmware, /etc), with the PPS counter advancing while doctor waits.
#include "doctor.h"
#include <capnp/message.h>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <fstream>
#include <map>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

namespace horloge::ctl {
namespace {

constexpr int64_t S = 1'000'000'000;
// 2026-12-01: the shipped leap-seconds.list is valid (it expires on 2027-06-28).
constexpr int64_t NOW = 1'796'083'200 * S;

struct FakeRoot {
  std::string dir;
  FakeRoot() {
    char tmpl[] = "/tmp/horloge-doctor-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    dir = tmpl;
  }
  ~FakeRoot() { REQUIRE(system(("rm -rf " + dir).c_str()) == 0); }

  void mkdirs(const std::string& path) {
    std::string at;
    for (size_t i = 1; i <= path.size(); ++i) {
      if (i == path.size() || path[i] == '/') mkdir((dir + path.substr(0, i)).c_str(), 0755);
    }
  }
  void file(const std::string& path, const std::string& text, mode_t mode = 0644) {
    mkdirs(path.substr(0, path.rfind('/')));
    std::ofstream(dir + path, std::ios::binary) << text;
    REQUIRE(chmod((dir + path).c_str(), mode) == 0);
  }
  void link(const std::string& path, const std::string& target) {
    mkdirs(path.substr(0, path.rfind('/')));
    unlink((dir + path).c_str());
    REQUIRE(symlink(target.c_str(), (dir + path).c_str()) == 0);
  }
  void process(int pid, const std::string& comm, const std::string& cmdline,
               std::vector<std::string> fds = {}) {
    std::string p = "/proc/" + std::to_string(pid);
    file(p + "/comm", comm + "\n");
    std::string argv = cmdline;
    for (char& c: argv) if (c == ' ') c = '\0';
    file(p + "/cmdline", argv + std::string(1, '\0'));
    mkdirs(p + "/fd");
    for (size_t i = 0; i < fds.size(); ++i) link(p + "/fd/" + std::to_string(i + 3), fds[i]);
  }
};

// A self-signed certificate valid from `from` to `to` (Unix seconds).
std::string certificate(int64_t from, int64_t to) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  REQUIRE(key != nullptr);
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  time_t t = 0;
  X509_time_adj_ex(X509_getm_notBefore(x), 0, long(from), &t);
  X509_time_adj_ex(X509_getm_notAfter(x), 0, long(to), &t);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("horloge"), -1, -1, 0);
  X509_set_issuer_name(x, X509_get_subject_name(x));
  X509_set_pubkey(x, key);
  REQUIRE(X509_sign(x, key, EVP_sha256()) > 0);
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, x);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string pem(data, n);
  BIO_free(bio);
  X509_free(x);
  EVP_PKEY_free(key);
  return pem;
}

std::string shippedLeapFile() {
  std::ifstream f(std::string(HORLOGE_SOURCE_DIR) + "/packaging/leap-seconds.list");
  REQUIRE(f);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

void users(FakeRoot& r) {
  std::string gid = std::to_string(getegid());   // the fake devices' group: dialout
  r.file("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n"
                        "_horloge-clockd:x:990:990::/:/usr/sbin/nologin\n"
                        "_horloge-netd:x:991:991::/:/usr/sbin/nologin\n"
                        "_horloge-refclockd:x:992:992::/:/usr/sbin/nologin\n"
                        "_horloge-monitord:x:993:993::/:/usr/sbin/nologin\n");
  r.file("/etc/group", "root:x:0:\ndialout:x:" + gid + ":_horloge-refclockd\n"
                       "_horloge-refclockd:x:992:\n");
}

void fillLocked(ipc::SystemStatus::Builder s, const char* fault = "") {
  s.setGeneratedNs(NOW);
  auto c = s.initClock();
  c.setState(ipc::SyncState::LOCKED);
  c.setRefid("PPS");
  c.initServer().setStratum(1);
  c.getServer().setRootDispersion(1);
  s.initRefclockd().setConnected(true);
  auto list = s.getRefclockd().initBody(2);
  list[0].setName("nmea:/dev/serial0");
  list[0].setLocked(true);
  list[0].setSamples(600);
  list[1].setName("pps:/dev/pps0");
  list[1].setLocked(fault[0] == 0);
  list[1].setFault(fault);
  s.initNetd().setConnected(true);
}

struct Result {
  std::map<std::string, std::vector<const Finding*>> by;
  kj::Array<Finding> all;
  kj::String text;
  const Finding& one(const std::string& check) {
    INFO(check);
    REQUIRE(by[check].size() == 1);
    return *by[check][0];
  }
};

Result doctor(FakeRoot& r, kj::Function<void()> duringWait, kj::Maybe<kj::String> nft,
              capnp::MallocMessageBuilder* status, int64_t now = NOW) {
  DoctorEnv env;
  env.root = kj::str(r.dir.c_str());
  env.nowNs = now;
  env.sleep = [&](int64_t) { duringWait(); };
  env.nftTables = [&]() -> kj::Maybe<kj::String> {
    KJ_IF_MAYBE(n, nft) return kj::str(*n);
    return nullptr;
  };
  env.status = [&](kj::String& why) -> kj::Maybe<ipc::SystemStatus::Reader> {
    if (status == nullptr) {
      why = kj::str("/run/horloge/status.sock: not answering");
      return nullptr;
    }
    return status->getRoot<ipc::SystemStatus>().asReader();
  };
  Result res;
  res.all = runDoctor(env);
  for (auto& f: res.all) res.by[f.check.cStr()].push_back(&f);
  res.text = renderFindings(res.all);
  MESSAGE(std::string(res.text.cStr()));
  return res;
}

}  // namespace

TEST_CASE("doctor: a Pi 4 set up as docs/raspberry-pi.md says passes every check") {
  FakeRoot r;
  users(r);
  r.file("/etc/horloge/horloge.conf",
         "refclock nmea /dev/serial0 baud 9600\nrefclock pps /dev/pps0\nclock system\n"
         "makestep 1 3\nmonitor cert /etc/horloge/tls/horloge.crt key /etc/horloge/tls/horloge.key\n");
  r.file("/etc/horloge/tls/horloge.crt", certificate(NOW / S - 86400, NOW / S + 3650 * 86400));
  r.file("/usr/share/horloge/leap-seconds.list", shippedLeapFile());
  r.file("/proc/device-tree/model", std::string("Raspberry Pi 4 Model B Rev 1.4") + '\0');
  r.file("/boot/firmware/config.txt", "[all]\nenable_uart=1\ndtoverlay=disable-bt\n"
                                      "dtoverlay=pps-gpio,gpiopin=18\n# dtoverlay=other\n");
  r.file("/boot/config.txt", "DO NOT EDIT THIS FILE\n\nThe file you are looking for has moved to "
                             "/boot/firmware/config.txt\n");
  r.file("/proc/cmdline", "console=tty1 root=PARTUUID=4e639091-02 rootfstype=ext4 fsck.repair=yes rootwait\n");
  r.link("/dev/serial0", "ttyAMA0");
  r.file("/dev/ttyAMA0", "", 0660);
  r.file("/dev/pps0", "", 0660);
  r.file("/sys/class/pps/pps0/assert", "1796083199.999999870#4100\n");
  r.file("/sys/devices/platform/soc/soc:firmware/get_throttled", "0x0\n");
  r.file("/sys/class/thermal/thermal_zone0/temp", "48312\n");
  r.process(1, "systemd", "/sbin/init");
  r.process(812, "horloge-refcloc", "/usr/libexec/horloge/horloge-refclockd", {"/dev/ttyAMA0", "/dev/pps0"});
  r.process(700, "gpsd", "/usr/sbin/gpsd -n /dev/ttyUSB1");
  capnp::MallocMessageBuilder status;
  fillLocked(status.initRoot<ipc::SystemStatus>());
  auto res = doctor(r, [&]() { r.file("/sys/class/pps/pps0/assert", "1796083201.999999911#4102\n"); },
                    kj::str("table inet horloge\n"), &status);
  for (auto& f: res.all) {
    INFO(f.check.cStr(), ": ", f.message.cStr());
    CHECK(f.result == Finding::PASS);
  }
  CHECK(std::string(res.one("serial device").message.cStr()) ==
        "/dev/serial0 -> /dev/ttyAMA0 is present and readable by _horloge-refclockd");
  CHECK(std::string(res.one("pps pulses").message.cStr()) ==
        "/dev/pps0: pulses at about 1 Hz (2 in 2200 ms)");
  CHECK(std::string(res.one("leap file").message.cStr()) ==
        "/usr/share/horloge/leap-seconds.list expires on 2027-06-28");
  CHECK(std::string(res.one("pps overlay").message.cStr()) ==
        "/boot/firmware/config.txt: dtoverlay=pps-gpio,gpiopin=18");
  CHECK(res.by["receiver"].size() == 2);
}

TEST_CASE("doctor: a fresh Pi 3 with every mistake the guide warns about") {
  FakeRoot r;
  users(r);
  r.file("/etc/horloge/horloge.conf",
         "refclock nmea /dev/serial0\nrefclock pps /dev/pps0\nclock system\n"
         "monitor cert /etc/horloge/tls/horloge.crt key /etc/horloge/tls/horloge.key\n");
  r.file("/etc/horloge/tls/horloge.crt", certificate(NOW / S - 3650 * 86400, NOW / S - 86400));
  r.file("/usr/share/horloge/leap-seconds.list", shippedLeapFile());
  r.file("/proc/device-tree/model", std::string("Raspberry Pi 3 Model B Plus Rev 1.3") + '\0');
  r.file("/boot/firmware/config.txt", "dtparam=audio=on\n#enable_uart=1\n");
  r.file("/proc/cmdline", "coherent_pool=1M console=serial0,115200 console=tty1 root=PARTUUID=1 rootwait\n");
  r.link("/dev/serial0", "ttyS0");
  r.file("/dev/ttyS0", "", 0600);
  r.process(523, "agetty", "/sbin/agetty -o -p -- \\u --keep-baud 115200,57600,38400,9600 ttyS0 vt220",
            {"/dev/ttyS0"});
  r.link("/etc/systemd/system/getty.target.wants/serial-getty@ttyS0.service",
         "/lib/systemd/system/serial-getty@.service");
  r.process(600, "chronyd", "/usr/sbin/chronyd -F 1");
  r.process(610, "systemd-timesyn", "/lib/systemd/systemd-timesyncd");
  r.file("/sys/devices/platform/soc/soc:firmware/get_throttled", "0x50005\n");
  r.file("/sys/class/thermal/thermal_zone0/temp", "82100\n");
  // 2028: the shipped table has expired.
  auto res = doctor(r, []() {}, kj::str(""), nullptr, NOW + 400 * 86400 * S);

  auto& serial = res.one("serial device");
  CHECK(serial.result == Finding::FAIL);
  CHECK(std::string(serial.message.cStr()).find("/dev/serial0 -> /dev/ttyS0 (uid ") == 0);
  CHECK(std::string(serial.message.cStr()).find("mode 0600) is not readable by _horloge-refclockd") !=
        std::string::npos);
  CHECK(std::string(serial.fix.cStr()) ==
        "usermod -aG dialout _horloge-refclockd && systemctl restart horloge-refclockd");
  auto& pps = res.one("pps device");
  CHECK(pps.result == Finding::FAIL);
  CHECK(std::string(pps.message.cStr()) == "PPS device /dev/pps0 is missing");
  CHECK(std::string(pps.fix.cStr()) == "add `dtoverlay=pps-gpio,gpiopin=18` (the GPIO of the PPS "
                                       "wire) to /boot/firmware/config.txt, then reboot");
  CHECK(res.by.count("pps pulses") == 0);   // nothing to count on a missing device
  CHECK(res.one("uart enabled").result == Finding::FAIL);
  CHECK(res.one("bluetooth").result == Finding::WARN);
  CHECK(std::string(res.one("bluetooth").fix.cStr()).find("dtoverlay=disable-bt") != std::string::npos);
  auto& console = res.one("uart console");
  CHECK(console.result == Finding::FAIL);
  CHECK(std::string(console.fix.cStr()).find("remove `console=serial0,115200` from "
                                             "/boot/firmware/cmdline.txt") == 0);
  auto& getty = res.one("uart getty");
  CHECK(getty.result == Finding::FAIL);
  CHECK(std::string(getty.message.cStr()) == "a login prompt reads ttyS0: agetty (pid 523)");
  CHECK(std::string(getty.fix.cStr()) == "systemctl disable --now serial-getty@ttyS0.service");
  CHECK(res.one("pps overlay").result == Finding::FAIL);
  auto& power = res.one("power");
  CHECK(power.result == Finding::FAIL);
  CHECK(std::string(power.message.cStr()) == "under-voltage now (throttled=0x50005: under-voltage, throttled)");
  CHECK(res.one("temperature").result == Finding::FAIL);
  CHECK(res.by["time daemons"].size() == 2);
  for (auto* f: res.by["time daemons"]) CHECK(f->result == Finding::FAIL);
  CHECK(std::string(res.by["time daemons"][1]->fix.cStr()) == "systemctl disable --now systemd-timesyncd");
  auto& leap = res.one("leap file");
  CHECK(leap.result == Finding::FAIL);
  CHECK(std::string(leap.message.cStr()) == "/usr/share/horloge/leap-seconds.list expired on "
                                           "2027-06-28: a leap second after it cannot be announced");
  CHECK(res.one("firewall").result == Finding::WARN);
  CHECK(res.one("certificate").result == Finding::FAIL);
  auto& clock = res.one("clock");
  CHECK(clock.result == Finding::FAIL);
  CHECK(std::string(clock.message.cStr()) == "clockd does not answer: /run/horloge/status.sock: not answering");
  // Every WARN and FAIL says what to do, on its own line.
  for (auto& f: res.all) {
    if (f.result == Finding::WARN || f.result == Finding::FAIL) {
      INFO(f.check.cStr());
      CHECK(f.fix.size() > 0);
      CHECK(std::string(f.fix.cStr()).find('\n') == std::string::npos);
    }
  }
  CHECK(std::string(res.text.cStr()).find("FAIL  pps device     PPS device /dev/pps0 is missing\n"
                                          "                     fix: add `dtoverlay=pps-gpio") !=
        std::string::npos);
}

TEST_CASE("doctor: no pulse, a receiver's fault, and an unusable configuration") {
  FakeRoot r;
  users(r);
  r.file("/etc/horloge/horloge.conf", "refclock pps /dev/pps0\nclock system\n");
  r.file("/usr/share/horloge/leap-seconds.list", shippedLeapFile());
  r.file("/dev/pps0", "", 0660);
  r.file("/sys/class/pps/pps0/assert", "0.000000000#0\n");
  capnp::MallocMessageBuilder status;
  fillLocked(status.initRoot<ipc::SystemStatus>(),
             "no PPS pulse on /dev/pps0 for 12 s: no GPS fix yet, or the PPS wire is not on the "
             "overlay's GPIO");
  auto res = doctor(r, []() {}, nullptr, &status);
  CHECK(res.one("pps pulses").result == Finding::FAIL);
  CHECK(std::string(res.one("pps pulses").fix.cStr()).find("ppstest /dev/pps0") != std::string::npos);
  CHECK(res.one("pps overlay").result == Finding::SKIP);   // not a Pi
  CHECK(res.one("power").result == Finding::SKIP);
  CHECK(res.one("firewall").result == Finding::WARN);      // nft cannot be run
  CHECK(res.by["receiver"].size() == 2);
  CHECK(res.by["receiver"][1]->result == Finding::FAIL);
  CHECK(std::string(res.by["receiver"][1]->message.cStr()).find("pps:/dev/pps0: no PPS pulse") == 0);

  r.file("/etc/horloge/horloge.conf", "refclock PPS /dev/pps0 lock NMEA\n");
  auto bad = doctor(r, []() {}, nullptr, &status);
  auto& config = bad.one("config");
  CHECK(config.result == Finding::FAIL);
  CHECK(std::string(config.message.cStr()).find("/etc/horloge/horloge.conf:1: unknown refclock "
                                                "driver 'PPS'") != std::string::npos);
}

TEST_CASE("doctor: ntskd's user is needed only with NTS on") {
  FakeRoot r;
  users(r);   // the four daemons' users, not ntskd's
  r.file("/usr/share/horloge/leap-seconds.list", shippedLeapFile());
  r.file("/etc/horloge/horloge.conf", "refclock sim\nclock observe\n");
  CHECK(doctor(r, []() {}, nullptr, nullptr).one("users").result == Finding::PASS);
  r.file("/etc/horloge/horloge.conf", "refclock sim\nclock observe\n"
                                      "nts cert /etc/horloge/nts.crt key /etc/horloge/nts.key\n");
  auto res = doctor(r, []() {}, nullptr, nullptr);
  CHECK(res.one("users").result == Finding::FAIL);
  CHECK(std::string(res.one("users").message.cStr()) == "no such user: _horloge-ntskd");
}

TEST_CASE("doctor: -j and -c give one table keyed check, result, message, fix") {
  Finding f[] = {{Finding::FAIL, kj::str("pps device"), kj::str("PPS device /dev/pps0 is missing"),
                  kj::str("add it")},
                 {Finding::PASS, kj::str("users"), kj::str("ok"), kj::str("")}};
  auto v = kj::arr(findingsView(f));
  CHECK(render(v, Format::CSV) == "check,result,message,fix\npps device,FAIL,PPS device /dev/pps0 "
                                  "is missing,add it\nusers,PASS,ok,\n");
  CHECK(render(v, Format::JSON) ==
        "[{\"check\":\"pps device\",\"result\":\"FAIL\",\"message\":\"PPS device /dev/pps0 is "
        "missing\",\"fix\":\"add it\"},\n {\"check\":\"users\",\"result\":\"PASS\",\"message\":"
        "\"ok\",\"fix\":\"\"}]\n");
}

}  // namespace horloge::ctl
