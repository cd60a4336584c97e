#include "doctor.h"
#include "ipc.h"
#include "leap-file.h"
#include "ntp-time.h"
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <dirent.h>
#include <fstream>
#include <map>
#include <optional>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <set>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace horloge::ctl {

namespace {

constexpr int64_t S = ntp::NS_PER_S;
constexpr int64_t DAY = 86400;
constexpr int64_t PPS_WAIT_NS = 2'200'000'000;   // two pulses and a bit

bool startsWith(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }

std::string baseName(const std::string& p) { return p.substr(p.rfind('/') + 1); }

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\0')) s.pop_back();
  return s;
}

struct Account {
  uint32_t uid = 0, gid = 0;
  std::set<uint32_t> groups;   // primary and supplementary
};

class Doctor {
public:
  explicit Doctor(DoctorEnv& env): env(env) {}

  kj::Array<Finding> run() {
    checkConfig();
    model = trim(read("/proc/device-tree/model").value_or(read("/sys/firmware/devicetree/base/model").value_or("")));
    pi = model.find("Raspberry Pi") != std::string::npos;
    loadConfigTxt();
    checkUsers();
    for (auto& r: config.refclocks) {
      if (r.driver == "nmea" || r.driver == "pps") checkDevice(r);
    }
    checkPulses();
    for (auto& r: config.refclocks) if (r.driver == "nmea") checkUart(r);
    checkOverlay();
    checkPower();
    checkTemperature();
    checkTimeDaemons();
    checkLeapFile();
    checkFirewall();
    checkCertificate();
    checkStatus();
    return findings.releaseAsArray();
  }

private:
  DoctorEnv& env;
  kj::Vector<Finding> findings;
  Config config;
  bool configOk = false;
  std::string model;
  bool pi = false;
  std::string configTxtPath;             // as the system names it, "" when none
  std::vector<std::string> configTxt;    // its lines that are not comments
  std::map<std::string, Account> accounts;

  void add(Finding::Result r, kj::StringPtr check, kj::String message, kj::String fix = kj::str("")) {
    findings.add(Finding{r, kj::str(check), kj::mv(message), kj::mv(fix)});
  }

  std::string full(const std::string& path) const {
    std::string root = env.root.cStr();
    if (root.empty() || root == "/") return path;
    while (!root.empty() && root.back() == '/') root.pop_back();
    return root + path;
  }

  std::optional<std::string> read(const std::string& path, size_t limit = 1 << 16) const {
    std::ifstream f(full(path), std::ios::binary);
    if (!f) return std::nullopt;
    std::string out(limit, '\0');
    f.read(out.data(), limit);
    out.resize(f.gcount());
    return out;
  }

  std::vector<std::string> list(const std::string& dir) const {
    std::vector<std::string> out;
    DIR* d = opendir(full(dir).c_str());
    if (d == nullptr) return out;
    while (dirent* e = readdir(d)) {
      if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) out.push_back(e->d_name);
    }
    closedir(d);
    std::sort(out.begin(), out.end());
    return out;
  }

  // A path read under the root, as the system names it.
  std::string unprefixed(const std::string& path) const {
    std::string prefix = full("");
    return !prefix.empty() && startsWith(path, prefix) ? path.substr(prefix.size()) : path;
  }

  bool exists(const std::string& path) const {
    struct stat st;
    return lstat(full(path).c_str(), &st) == 0;
  }

  std::optional<std::string> linkTarget(const std::string& path) const {
    char buf[4096];
    ssize_t n = readlink(full(path).c_str(), buf, sizeof(buf) - 1);
    if (n < 0) return std::nullopt;
    return std::string(buf, n);
  }

  // `path` with its symbolic links followed inside the root; nullopt when it does not exist.
  std::optional<std::string> resolve(std::string path) const {
    for (int hops = 0; hops < 16; ++hops) {
      struct stat st;
      if (lstat(full(path).c_str(), &st) < 0) return std::nullopt;
      if (!S_ISLNK(st.st_mode)) return path;
      auto target = linkTarget(path);
      if (!target) return std::nullopt;
      path = (*target)[0] == '/' ? *target : path.substr(0, path.rfind('/') + 1) + *target;
    }
    return std::nullopt;
  }

  // ---- configuration and accounts

  void checkConfig() {
    try {
      config = loadConfig(full(env.configPath.cStr()));
      configOk = true;
    } catch (const ConfigError& e) {
      add(Finding::FAIL, "config", kj::str(e.what()),
          kj::str("correct that line: every daemon refuses to start until then (man horloge.conf)"));
      return;
    }
    kj::Vector<kj::String> what;
    for (auto& r: config.refclocks) {
      what.add(r.driver == "shm" ? kj::str("refclock shm ", r.unit)
                                 : kj::str("refclock ", r.driver.c_str(), r.device.empty() ? "" : " ",
                                           r.device.c_str()));
    }
    if (!config.servers.empty()) what.add(kj::str(config.servers.size(), " server(s)"));
    const char* clock = config.clock == ClockBackend::SYSTEM ? "system"
                        : config.clock == ClockBackend::OBSERVE ? "observe" : "sim";
    what.add(kj::str("clock ", clock));
    if (config.refclocks.empty() && config.servers.empty()) {
      add(Finding::WARN, "config", kj::str(env.configPath, ": no refclock and no server: the time "
                                           "served is always unsynchronised (LI=3)"),
          kj::str("uncomment the `refclock nmea` and `refclock pps` lines (docs/raspberry-pi.md)"));
      return;
    }
    add(Finding::PASS, "config", kj::str(env.configPath, ": ", kj::strArray(what, ", ")));
  }

  void loadAccounts() {
    std::map<uint32_t, std::string> groupNames;
    std::istringstream passwd(read("/etc/passwd").value_or(""));
    std::string line;
    while (std::getline(passwd, line)) {
      std::vector<std::string> f;
      std::istringstream fields(line);
      std::string x;
      while (std::getline(fields, x, ':')) f.push_back(x);
      if (f.size() < 4) continue;
      Account a;
      a.uid = uint32_t(strtoul(f[2].c_str(), nullptr, 10));
      a.gid = uint32_t(strtoul(f[3].c_str(), nullptr, 10));
      a.groups.insert(a.gid);
      accounts[f[0]] = a;
    }
    std::istringstream group(read("/etc/group").value_or(""));
    while (std::getline(group, line)) {
      std::vector<std::string> f;
      std::istringstream fields(line);
      std::string x;
      while (std::getline(fields, x, ':')) f.push_back(x);
      if (f.size() < 3) continue;
      uint32_t gid = uint32_t(strtoul(f[2].c_str(), nullptr, 10));
      if (f.size() < 4) continue;
      std::istringstream members(f[3]);
      while (std::getline(members, x, ',')) {
        auto it = accounts.find(x);
        if (it != accounts.end()) it->second.groups.insert(gid);
      }
    }
  }

  std::optional<uint32_t> groupId(const std::string& name) const {
    std::istringstream group(read("/etc/group").value_or(""));
    std::string line;
    while (std::getline(group, line)) {
      if (startsWith(line, name + ":")) {
        auto a = line.find(':', name.size() + 1);
        if (a != std::string::npos) return uint32_t(strtoul(line.c_str() + a + 1, nullptr, 10));
      }
    }
    return std::nullopt;
  }

  void checkUsers() {
    loadAccounts();
    kj::Vector<kj::String> missing;
    for (int r = 0; r < ROLE_COUNT; ++r) {
      // ntskd runs only with NTS on: elsewhere its user is not needed.
      if (static_cast<Role>(r) == Role::NTSKD && !config.nts.enabled) continue;
      if (!accounts.count(config.users[r])) missing.add(kj::str(config.users[r].c_str()));
    }
    if (missing.size() > 0) {
      add(Finding::FAIL, "users", kj::str("no such user: ", kj::strArray(missing, ", ")),
          kj::str("systemd-sysusers (the package's /usr/lib/sysusers.d/horloge.conf makes them)"));
      return;
    }
    add(Finding::PASS, "users", kj::str("the daemons' users exist (", config.user(Role::REFCLOCKD).c_str(),
                                        " reads the receivers)"));
  }

  // ---- devices

  void checkDevice(const RefclockConf& r) {
    bool pps = r.driver == "pps";
    auto check = kj::str(pps ? "pps device" : "serial device");
    auto dev = kj::str(r.device.c_str());
    auto real = resolve(r.device);
    if (!real) {
      if (pps) {
        add(Finding::FAIL, check, kj::str("PPS device ", dev, " is missing"),
            kj::str("add `dtoverlay=pps-gpio,gpiopin=18` (the GPIO of the PPS wire) to ",
                    configTxtPath.empty() ? "/boot/firmware/config.txt" : configTxtPath.c_str(),
                    ", then reboot"));
      } else if (startsWith(baseName(r.device), "ttyUSB") || startsWith(baseName(r.device), "ttyACM")) {
        add(Finding::FAIL, check, kj::str("serial device ", dev, " is missing"),
            kj::str("plug the USB receiver in (`dmesg | tail` names the tty it gets)"));
      } else {
        add(Finding::FAIL, check, kj::str("serial device ", dev, " is missing"),
            kj::str("add `enable_uart=1` to ", configTxtPath.empty() ? "/boot/firmware/config.txt"
                                                                     : configTxtPath.c_str(),
                    ", then reboot"));
      }
      return;
    }
    struct stat st;
    if (stat(full(*real).c_str(), &st) < 0) {
      add(Finding::FAIL, check, kj::str(dev, ": ", strerror(errno)), kj::str("ls -l ", dev));
      return;
    }
    auto shown = *real == r.device ? kj::str(dev) : kj::str(dev, " -> ", real->c_str());
    auto it = accounts.find(config.user(Role::REFCLOCKD));
    if (it != accounts.end()) {
      // PPS needs read-write (the RFC 2783 ioctls), a serial line read.
      auto& a = it->second;
      mode_t need = pps ? 6 : 4;
      mode_t bits = st.st_uid == a.uid ? (st.st_mode >> 6) & 7
                    : a.groups.count(st.st_gid) ? (st.st_mode >> 3) & 7 : st.st_mode & 7;
      if ((bits & need) != need && a.uid != 0) {
        char mode[8];
        snprintf(mode, sizeof(mode), "%04o", unsigned(st.st_mode & 07777));
        bool dialout = groupId("dialout") == std::optional<uint32_t>(st.st_gid);
        add(Finding::FAIL, check,
            kj::str(shown, " (uid ", st.st_uid, ", gid ", st.st_gid, ", mode ", mode, ") is not ",
                    pps ? "readable and writable" : "readable", " by ",
                    config.user(Role::REFCLOCKD).c_str()),
            pps && !dialout ? kj::str("udevadm trigger -s pps (the package's 60-horloge.rules "
                                      "gives /dev/pps* to dialout, 0660)")
                            : kj::str("usermod -aG dialout ", config.user(Role::REFCLOCKD).c_str(),
                                      " && systemctl restart horloge-refclockd"));
        return;
      }
    }
    kj::String note = kj::str("");
    auto target = baseName(*real);
    if (!pps && startsWith(target, "ttyS") && hasBluetooth()) {
      add(Finding::WARN, check,
          kj::str(shown, ": the mini UART, whose baud rate follows the core clock (Bluetooth has "
                         "the PL011, ttyAMA0)"),
          kj::str("add `dtoverlay=disable-bt` to ", configTxtName(), ", `systemctl disable hciuart`, "
                  "reboot: serial0 then is ttyAMA0"));
      return;
    }
    add(Finding::PASS, check, kj::str(shown, " is present and ", pps ? "readable and writable" : "readable",
                                      " by ", config.user(Role::REFCLOCKD).c_str()));
  }

  kj::String configTxtName() const {
    return kj::str(configTxtPath.empty() ? "/boot/firmware/config.txt" : configTxtPath.c_str());
  }

  bool hasBluetooth() const {
    return startsWith(model, "Raspberry Pi 3") || startsWith(model, "Raspberry Pi 4") ||
           model.find("Zero W") != std::string::npos || model.find("Zero 2 W") != std::string::npos ||
           model.find("Compute Module 4") != std::string::npos;
  }

  void checkPulses() {
    struct Watch { std::string device, counter; std::optional<long long> before; };
    std::vector<Watch> watches;
    for (auto& r: config.refclocks) {
      if (r.driver != "pps") continue;
      auto real = resolve(r.device);
      if (!real) continue;   // said by the device check
      Watch w{r.device, "/sys/class/pps/" + baseName(*real) + "/assert", std::nullopt};
      w.before = sequence(w.counter);
      watches.push_back(w);
    }
    if (watches.empty()) return;
    env.sleep(PPS_WAIT_NS);
    for (auto& w: watches) {
      auto after = sequence(w.counter);
      auto dev = kj::str(w.device.c_str());
      if (!w.before || !after) {
        add(Finding::SKIP, "pps pulses", kj::str("no counter at /sys", w.counter.substr(4).c_str(),
                                                 ": not a kernel PPS device?"));
        continue;
      }
      long long n = *after - *w.before;
      double hz = double(n) / (double(PPS_WAIT_NS) / S);
      char rate[32];
      snprintf(rate, sizeof(rate), "%.2f", hz);
      if (n == 0) {
        add(Finding::FAIL, "pps pulses", kj::str("no pulse on ", dev, " in ", PPS_WAIT_NS / 1'000'000,
                                                 " ms"),
            kj::str("wait for the receiver's fix (most pulse only then); check the PPS wire is on "
                    "the GPIO the overlay names (`ppstest ", dev, "`)"));
      } else if (n < 2 || n > 3) {
        add(Finding::WARN, "pps pulses", kj::str(n, " pulses on ", dev, " in ", PPS_WAIT_NS / 1'000'000,
                                                 " ms (", rate, " Hz): not one a second"),
            kj::str("set the receiver's time pulse to 1 Hz (u-blox: UBX-CFG-TP5)"));
      } else {
        add(Finding::PASS, "pps pulses", kj::str(dev, ": pulses at about 1 Hz (", n, " in ",
                                                 PPS_WAIT_NS / 1'000'000, " ms)"));
      }
    }
  }

  // The sequence number in /sys/class/pps/ppsN/assert ("SECONDS.NANOSECONDS#SEQUENCE").
  std::optional<long long> sequence(const std::string& path) const {
    auto text = read(path);
    if (!text) return std::nullopt;
    auto hash = text->find('#');
    if (hash == std::string::npos) return std::nullopt;
    return strtoll(text->c_str() + hash + 1, nullptr, 10);
  }

  // ---- the UART

  void loadConfigTxt() {
    for (const char* p: {"/boot/firmware/config.txt", "/boot/config.txt"}) {
      auto text = read(p);
      if (!text) continue;
      // Bookworm's /boot/config.txt only says where the real one is.
      if (std::string(p) == "/boot/config.txt" && text->find("/boot/firmware/config.txt") != std::string::npos) continue;
      configTxtPath = p;
      std::istringstream in(*text);
      std::string line;
      while (std::getline(in, line)) {
        line = trim(line.substr(0, line.find('#')));
        while (!line.empty() && (line[0] == ' ' || line[0] == '\t')) line.erase(0, 1);
        if (!line.empty()) configTxt.push_back(line);
      }
      return;
    }
  }

  std::optional<std::string> configTxtLine(const std::string& prefix) const {
    for (auto& l: configTxt) if (startsWith(l, prefix)) return l;
    return std::nullopt;
  }

  bool onUart(const std::string& device, const std::string& real) const {
    auto b = baseName(device), r = baseName(real);
    return startsWith(b, "serial") || startsWith(r, "ttyAMA") || startsWith(r, "ttyS");
  }

  struct Process { int pid; std::string comm, cmdline; };

  std::vector<Process> processes() const {
    std::vector<Process> out;
    for (auto& name: list("/proc")) {
      if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
      Process p{atoi(name.c_str()), trim(read("/proc/" + name + "/comm").value_or("")), ""};
      p.cmdline = read("/proc/" + name + "/cmdline").value_or("");
      std::replace(p.cmdline.begin(), p.cmdline.end(), '\0', ' ');
      p.cmdline = trim(p.cmdline);
      out.push_back(p);
    }
    return out;
  }

  void checkUart(const RefclockConf& r) {
    auto real = resolve(r.device).value_or(r.device);
    if (!onUart(r.device, real)) return;
    auto tty = baseName(real);
    auto dev = kj::str(r.device.c_str());
    if (pi) {
      auto enable = configTxtLine("enable_uart=");
      if (!enable || *enable != "enable_uart=1") {
        add(Finding::FAIL, "uart enabled", kj::str(configTxtName(), " has no `enable_uart=1`"),
            kj::str("add `enable_uart=1` to ", configTxtName(), ", then reboot"));
      } else {
        add(Finding::PASS, "uart enabled", kj::str(configTxtName(), ": enable_uart=1"));
      }
      if (hasBluetooth()) {
        if (configTxtLine("dtoverlay=disable-bt") || configTxtLine("dtoverlay=pi3-disable-bt") ||
            configTxtLine("dtoverlay=miniuart-bt")) {
          add(Finding::PASS, "bluetooth", kj::str("Bluetooth is off the PL011 UART (", model.c_str(), ")"));
        } else {
          add(Finding::WARN, "bluetooth",
              kj::str("on a ", model.c_str(), " Bluetooth holds the PL011 (ttyAMA0); serial0 is the "
                      "mini UART, whose baud rate follows the core clock"),
              kj::str("add `dtoverlay=disable-bt` to ", configTxtName(), ", `systemctl disable "
                      "hciuart`, reboot"));
        }
      }
    }
    // The kernel console on the receiver's line answers it and eats its bytes.
    auto cmdline = trim(read("/proc/cmdline").value_or(""));
    bool console = false;
    std::istringstream words(cmdline);
    std::string w;
    while (words >> w) {
      if (!startsWith(w, "console=")) continue;
      auto name = w.substr(8, w.find(',') - 8);
      if (name == baseName(r.device) || name == tty || name == "serial0") console = true;
    }
    if (console) {
      add(Finding::FAIL, "uart console", kj::str("the kernel console is on ", dev, " (",
                                                 cmdline.c_str(), ")"),
          kj::str("remove `console=serial0,115200` from /boot/firmware/cmdline.txt (raspi-config: "
                  "Interface Options, Serial Port, login shell No, hardware Yes), then reboot"));
    } else {
      add(Finding::PASS, "uart console", kj::str("no kernel console on ", dev));
    }
    // A login prompt, or any other program, reading the same line.
    kj::Vector<kj::String> holders;
    bool getty = false;
    for (auto& p: processes()) {
      if (startsWith(p.comm, "horloge-")) continue;
      bool holds = false;
      if ((p.comm == "agetty" || p.comm == "getty") &&
          (p.cmdline.find(tty) != std::string::npos ||
           p.cmdline.find(baseName(r.device)) != std::string::npos)) {
        holds = getty = true;
      }
      for (auto& fd: list("/proc/" + std::to_string(p.pid) + "/fd")) {
        auto target = linkTarget("/proc/" + std::to_string(p.pid) + "/fd/" + fd);
        if (target && (*target == real || *target == r.device)) holds = true;
      }
      if (holds) holders.add(kj::str(p.comm.c_str(), " (pid ", p.pid, ")"));
    }
    bool enabled = exists("/etc/systemd/system/getty.target.wants/serial-getty@" + tty + ".service");
    if (getty || enabled) {
      add(Finding::FAIL, "uart getty",
          kj::str(getty ? "a login prompt reads " : "a login prompt is enabled on ", tty.c_str(),
                  holders.size() ? kj::str(": ", kj::strArray(holders, ", ")) : kj::str("")),
          kj::str("systemctl disable --now serial-getty@", tty.c_str(), ".service"));
    } else if (holders.size() > 0) {
      add(Finding::WARN, "uart holders",
          kj::str(kj::strArray(holders, ", "), " also has ", tty.c_str(), " open: two readers split "
                  "the receiver's bytes"),
          kj::str("stop it, or let gpsd read the receiver and use `refclock shm`/`refclock sock` "
                  "(docs/raspberry-pi.md)"));
    } else {
      add(Finding::PASS, "uart getty", kj::str("no login prompt or other program on ", tty.c_str()));
    }
  }

  void checkOverlay() {
    bool wantsPps = false;
    for (auto& r: config.refclocks) wantsPps = wantsPps || r.driver == "pps";
    if (!pi) {
      add(Finding::SKIP, "pps overlay", kj::str("not a Raspberry Pi"));
      return;
    }
    auto line = configTxtLine("dtoverlay=pps-gpio");
    if (line) {
      add(Finding::PASS, "pps overlay", kj::str(configTxtName(), ": ", line->c_str()));
    } else if (wantsPps) {
      add(Finding::FAIL, "pps overlay", kj::str(configTxtName(), " loads no pps-gpio overlay"),
          kj::str("add `dtoverlay=pps-gpio,gpiopin=18` (the GPIO of the PPS wire) to ",
                  configTxtName(), ", then reboot"));
    } else {
      add(Finding::SKIP, "pps overlay", kj::str("no `refclock pps` configured"));
    }
  }

  // ---- the board

  void checkPower() {
    auto text = read("/sys/devices/platform/soc/soc:firmware/get_throttled");
    if (!text) {
      // Kernels without the firmware attribute still have the under-voltage sensor.
      for (auto& h: list("/sys/class/hwmon")) {
        if (trim(read("/sys/class/hwmon/" + h + "/name").value_or("")) != "rpi_volt") continue;
        auto alarm = trim(read("/sys/class/hwmon/" + h + "/in0_lcrit_alarm").value_or("0"));
        if (alarm == "1") {
          add(Finding::FAIL, "power", kj::str("under-voltage now (rpi_volt)"), powerFix());
        } else {
          add(Finding::PASS, "power", kj::str("no under-voltage now (rpi_volt)"));
        }
        return;
      }
      add(Finding::SKIP, "power", kj::str("no Raspberry Pi firmware flags here"));
      return;
    }
    unsigned long flags = strtoul(trim(*text).c_str(), nullptr, 16);
    char hex[16];
    snprintf(hex, sizeof(hex), "0x%lx", flags);
    kj::Vector<kj::String> now, since;
    if (flags & 0x1) now.add(kj::str("under-voltage"));
    if (flags & 0x2) now.add(kj::str("ARM frequency capped"));
    if (flags & 0x4) now.add(kj::str("throttled"));
    if (flags & 0x8) now.add(kj::str("soft temperature limit"));
    if (flags & 0x10000) since.add(kj::str("under-voltage"));
    if (flags & 0x20000) since.add(kj::str("frequency capping"));
    if (flags & 0x40000) since.add(kj::str("throttling"));
    if (flags & 0x80000) since.add(kj::str("soft temperature limit"));
    if (flags & 0x1) {
      add(Finding::FAIL, "power", kj::str("under-voltage now (throttled=", hex, ": ",
                                          kj::strArray(now, ", "), ")"), powerFix());
    } else if (now.size() > 0) {
      add(Finding::WARN, "power", kj::str(kj::strArray(now, ", "), " now (throttled=", hex, ")"),
          kj::str("cool the board (a case with airflow or a heatsink); check the power supply"));
    } else if (since.size() > 0) {
      add(Finding::WARN, "power", kj::str("since boot: ", kj::strArray(since, ", "), " (throttled=",
                                          hex, ")"), powerFix());
    } else {
      add(Finding::PASS, "power", kj::str("no under-voltage or throttling since boot (throttled=",
                                          hex, ")"));
    }
  }

  static kj::String powerFix() {
    return kj::str("use the official power supply (5.1 V 3 A; Pi 5: 5 A) and a short thick cable; "
                   "the receiver's current counts too");
  }

  void checkTemperature() {
    auto text = read("/sys/class/thermal/thermal_zone0/temp");
    if (!text) {
      add(Finding::SKIP, "temperature", kj::str("no thermal zone here"));
      return;
    }
    double c = strtod(text->c_str(), nullptr) / 1000;
    char t[16];
    snprintf(t, sizeof(t), "%.1f", c);
    if (c >= 80) {
      add(Finding::FAIL, "temperature", kj::str("SoC at ", t, " °C: the firmware throttles at 80-85 °C"),
          kj::str("a heatsink or fan, and a case with airflow"));
    } else if (c >= 70) {
      add(Finding::WARN, "temperature", kj::str("SoC at ", t, " °C; the crystal moves about 0.25 ppm "
                                                "per °C, so swings cost accuracy in holdover"),
          kj::str("a heatsink, and a case out of the sun"));
    } else {
      add(Finding::PASS, "temperature", kj::str("SoC at ", t, " °C"));
    }
  }

  void checkTimeDaemons() {
    struct Known { const char* comm; const char* name; const char* fix; };
    static const Known known[] = {
      {"chronyd", "chronyd", "apt purge chrony (or: systemctl disable --now chrony)"},
      {"ntpd", "ntpd", "apt purge ntp ntpsec (or: systemctl disable --now ntpsec)"},
      {"systemd-timesyn", "systemd-timesyncd", "systemctl disable --now systemd-timesyncd"},
      {"openntpd", "openntpd", "apt purge openntpd"},
      {"ptp4l", "ptp4l", "systemctl disable --now ptp4l"},
      {"phc2sys", "phc2sys", "systemctl disable --now phc2sys"},
    };
    bool any = false;
    for (auto& p: processes()) {
      for (auto& k: known) {
        if (p.comm != k.comm) continue;
        any = true;
        add(Finding::FAIL, "time daemons", kj::str(k.name, " (pid ", p.pid, ") also sets the clock: "
                                                   "two disciplines fight"),
            kj::str(k.fix));
      }
    }
    if (!any) add(Finding::PASS, "time daemons", kj::str("no chronyd, ntpd or systemd-timesyncd running"));
  }

  void checkLeapFile() {
    std::vector<std::string> paths;
    if (!config.leapfile.empty()) paths.push_back(full(config.leapfile));
    else paths = {full(clockd::SHIPPED_LEAPFILE), full(clockd::TZDATA_LEAPFILE)};
    auto choice = clockd::chooseLeapFile(paths);
    auto fix = kj::str("apt update && apt install tzdata (or a newer horloge), then "
                       "systemctl restart horloge-clockd");
    if (!choice.table) {
      add(Finding::FAIL, "leap file", kj::str("no usable leap second table: ", choice.alarm.c_str()),
          kj::mv(fix));
      return;
    }
    int64_t now = env.nowNs / S;
    auto path = unprefixed(choice.path);
    auto expires = clockd::utcDate(choice.table->expiresUnix);
    if (choice.table->expiresUnix <= now) {
      add(Finding::FAIL, "leap file", kj::str(path.c_str(), " expired on ", expires.c_str(),
                                              ": a leap second after it cannot be announced"),
          kj::mv(fix));
    } else if (choice.table->expiresUnix - now < 30 * DAY) {
      add(Finding::WARN, "leap file", kj::str(path.c_str(), " expires on ", expires.c_str(), ", in ",
                                              (choice.table->expiresUnix - now) / DAY, " days"),
          kj::mv(fix));
    } else {
      add(Finding::PASS, "leap file", kj::str(path.c_str(), " expires on ", expires.c_str()));
    }
  }

  void checkFirewall() {
    auto fix = kj::str("set mgmt_v4/mgmt_v6 in a copy of /usr/share/horloge/horloge.nft, then "
                       "`cp` it to /etc/nftables.conf && systemctl enable --now nftables");
    KJ_IF_MAYBE(tables, env.nftTables()) {
      if (tables->size() == 0) {
        add(Finding::WARN, "firewall", kj::str("no nftables ruleset is loaded"), kj::mv(fix));
      } else if (std::string(tables->cStr()).find("table inet horloge") != std::string::npos) {
        add(Finding::PASS, "firewall", kj::str("the receive-only ruleset (table inet horloge) is loaded"));
      } else {
        add(Finding::WARN, "firewall", kj::str("nftables is loaded without horloge's receive-only "
                                               "table (inet horloge)"), kj::mv(fix));
      }
    } else {
      add(Finding::WARN, "firewall", kj::str("`nft list tables` failed: nftables not installed, or "
                                             "doctor not run as root"),
          kj::str("apt install nftables, then: ", fix));
    }
  }

  void checkCertificate() {
    if (config.monitorCert.empty()) {
      add(Finding::SKIP, "certificate", kj::str("no `monitor cert`: monitord makes a self-signed one at each start"));
      return;
    }
    auto cert = kj::str(config.monitorCert.c_str());
    auto text = read(config.monitorCert);
    auto fix = kj::str("rm /etc/horloge/tls/horloge.crt /etc/horloge/tls/horloge.key && "
                       "dpkg-reconfigure horloge (a new self-signed pair), or install yours there; "
                       "then systemctl restart horloge-monitord");
    if (!text) {
      add(Finding::FAIL, "certificate", kj::str(cert, " cannot be read"), kj::mv(fix));
      return;
    }
    BIO* bio = BIO_new_mem_buf(text->data(), int(text->size()));
    X509* x = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    if (x == nullptr) {
      add(Finding::FAIL, "certificate", kj::str(cert, " is not a PEM certificate"), kj::mv(fix));
      return;
    }
    tm notAfter{};
    bool ok = ASN1_TIME_to_tm(X509_get0_notAfter(x), &notAfter) == 1;
    X509_free(x);
    if (!ok) {
      add(Finding::FAIL, "certificate", kj::str(cert, ": unreadable expiry"), kj::mv(fix));
      return;
    }
    int64_t expires = timegm(&notAfter), now = env.nowNs / S;
    auto date = clockd::utcDate(expires);
    if (expires <= now) {
      add(Finding::FAIL, "certificate", kj::str(cert, " expired on ", date.c_str()), kj::mv(fix));
    } else if (expires - now < 30 * DAY) {
      add(Finding::WARN, "certificate", kj::str(cert, " expires on ", date.c_str(), ", in ",
                                                (expires - now) / DAY, " days"), kj::mv(fix));
    } else {
      add(Finding::PASS, "certificate", kj::str(cert, " valid until ", date.c_str()));
    }
  }

  // ---- what clockd says

  void checkStatus() {
    kj::String why = kj::str("");
    KJ_IF_MAYBE(status, env.status(why)) {
      auto c = status->getClock();
      auto server = c.getServer();
      double maxError = ntp::secondsFromShort(server.getRootDelay()) / 2 +
                        ntp::secondsFromShort(server.getRootDispersion());
      char err[32];
      snprintf(err, sizeof(err), "%.3g", maxError * 1e6);
      auto state = ipc::syncStateName(c.getState());
      if (c.getGpsAlarm().size() > 0) {
        add(Finding::FAIL, "clock", kj::str("GPS alarm: ", printable(c.getGpsAlarm())),
            kj::str("check the antenna and the receiver (horlogectl gnss); the noselect servers "
                    "disagree with it"));
      } else if (c.getState() == ipc::SyncState::LOCKED) {
        add(Finding::PASS, "clock", kj::str("locked to ", printable(c.getRefid()), ", stratum ",
                                            server.getStratum(), ", max error ", err, " us"));
      } else {
        add(c.getState() == ipc::SyncState::HOLDOVER ? Finding::WARN : Finding::FAIL, "clock",
            kj::str(state, ": ", printable(c.getReason())),
            kj::str("see the receivers below and `horlogectl gnss`; a cold receiver needs minutes "
                    "for its first fix"));
      }
      for (auto [name, up]: {std::pair<kj::StringPtr, bool>{"refclockd", status->getRefclockd().getConnected()},
                             std::pair<kj::StringPtr, bool>{"netd", status->getNetd().getConnected()}}) {
        if (!up) {
          add(Finding::FAIL, "daemons", kj::str(name, " is not connected to clockd"),
              kj::str("systemctl status horloge-", name, "; journalctl -u horloge-", name));
        }
      }
      if (status->getRefclockd().getConnected()) {
        for (auto rc: status->getRefclockd().getBody()) {
          auto name = printable(rc.getName());
          if (rc.getFault().size() > 0) {
            add(rc.getLocked() ? Finding::WARN : Finding::FAIL, "receiver",
                kj::str(name, ": ", printable(rc.getFault())),
                kj::str("docs/raspberry-pi.md, \"When something is wrong\""));
          } else {
            add(Finding::PASS, "receiver", kj::str(name, ": ", rc.getLocked() ? "delivering" : "idle",
                                                   ", ", rc.getSamples(), " samples"));
          }
        }
      }
      return;
    }
    add(Finding::FAIL, "clock", kj::str("clockd does not answer: ", why),
        kj::str("systemctl status horloge-clockd; journalctl -u horloge-clockd"));
  }
};

}  // namespace

kj::StringPtr resultName(Finding::Result r) {
  switch (r) {
    case Finding::PASS: return "PASS";
    case Finding::WARN: return "WARN";
    case Finding::FAIL: return "FAIL";
    case Finding::SKIP: return "SKIP";
  }
  return "?";
}

kj::Array<Finding> runDoctor(DoctorEnv& env) { return Doctor(env).run(); }

kj::String renderFindings(kj::ArrayPtr<const Finding> findings) {
  size_t width = 0;
  for (auto& f: findings) width = kj::max(width, f.check.size());
  kj::Vector<char> out;
  for (auto& f: findings) {
    out.addAll(resultName(f.result));
    out.addAll("  "_kj);
    out.addAll(f.check);
    for (size_t n = f.check.size(); n < width + 2; ++n) out.add(' ');
    out.addAll(printable(f.message));
    out.add('\n');
    if (f.fix.size() > 0 && (f.result == Finding::WARN || f.result == Finding::FAIL)) {
      for (size_t n = 0; n < width + 8; ++n) out.add(' ');
      out.addAll("fix: "_kj);
      out.addAll(printable(f.fix));
      out.add('\n');
    }
  }
  out.add('\0');
  return kj::String(out.releaseAsArray());
}

View findingsView(kj::ArrayPtr<const Finding> findings) {
  View v{"doctor", kj::heapArray<Column>({{"check", "Check"}, {"result", "Result"},
                                          {"message", "Message"}, {"fix", "Fix"}}), {}};
  for (auto& f: findings) {
    v.row(text(f.check), text(resultName(f.result)), text(f.message), text(f.fix));
  }
  return v;
}

}  // namespace horloge::ctl
