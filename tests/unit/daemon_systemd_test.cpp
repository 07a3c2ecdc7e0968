#include <doctest/doctest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "daemon/systemd_notifier.hpp"

using namespace std::chrono_literals;

namespace {

// A unix datagram socket standing in for systemd's NOTIFY_SOCKET.
class FakeNotifySocket {
 public:
  FakeNotifySocket() {
    char dir_template[] = "/tmp/daemon_notify.XXXXXX";
    REQUIRE(mkdtemp(dir_template) != nullptr);
    dir_ = dir_template;
    path_ = dir_ + "/notify";
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path_.c_str(), sizeof address.sun_path - 1);
    REQUIRE(bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    setenv("NOTIFY_SOCKET", path_.c_str(), 1);
  }
  ~FakeNotifySocket() {
    unsetenv("NOTIFY_SOCKET");
    close(fd_);
    unlink(path_.c_str());
    rmdir(dir_.c_str());
  }

  // The next datagram, waiting generously for a loaded machine.
  std::string receive() {
    pollfd ready{fd_, POLLIN, 0};
    REQUIRE(poll(&ready, 1, 10'000) == 1);
    char buffer[4096];
    ssize_t n = recv(fd_, buffer, sizeof buffer, 0);
    REQUIRE(n >= 0);
    return std::string(buffer, static_cast<std::size_t>(n));
  }

 private:
  std::string dir_;
  std::string path_;
  int fd_ = -1;
};

}  // namespace

TEST_CASE("the notifier sends READY, STATUS, WATCHDOG and STOPPING to NOTIFY_SOCKET") {
  FakeNotifySocket systemd;
  sup::daemon::SystemdNotifier notifier;
  CHECK(sup::daemon::SystemdNotifier::enabled());
  notifier.ready();
  CHECK(systemd.receive() == "READY=1");
  notifier.status("ready: 3/3 running");
  CHECK(systemd.receive() == "STATUS=ready: 3/3 running");
  notifier.watchdog();
  CHECK(systemd.receive() == "WATCHDOG=1");
  notifier.stopping();
  CHECK(systemd.receive() == "STOPPING=1");
}

TEST_CASE("without NOTIFY_SOCKET the notifier does nothing") {
  unsetenv("NOTIFY_SOCKET");
  CHECK_FALSE(sup::daemon::SystemdNotifier::enabled());
  sup::daemon::SystemdNotifier notifier;
  notifier.ready();  // must neither fail nor block
  notifier.stopping();
}

TEST_CASE("the watchdog interval is half of WATCHDOG_USEC") {
  unsetenv("WATCHDOG_PID");
  setenv("WATCHDOG_USEC", "10000000", 1);
  CHECK(sup::daemon::SystemdNotifier::watchdog_interval() == std::chrono::milliseconds(5000));
  setenv("WATCHDOG_PID", "1", 1);  // meant for another process
  CHECK_FALSE(sup::daemon::SystemdNotifier::watchdog_interval().has_value());
  unsetenv("WATCHDOG_PID");
  unsetenv("WATCHDOG_USEC");
  CHECK_FALSE(sup::daemon::SystemdNotifier::watchdog_interval().has_value());
}

TEST_CASE("the watchdog pings once per interval, only while the control loop advances") {
  sup::daemon::WatchdogGate gate(500ms);
  CHECK(gate.should_ping(1000, 10));        // first check pings
  CHECK_FALSE(gate.should_ping(1200, 20));  // too early
  CHECK(gate.should_ping(1500, 30));
  CHECK_FALSE(gate.should_ping(2100, 30));  // stalled: no progress since the last ping
  CHECK(gate.stalled());
  CHECK_FALSE(gate.should_ping(5000, 30));
  CHECK(gate.should_ping(5100, 31));  // progress again: ping at once
  CHECK_FALSE(gate.stalled());
}

TEST_CASE("the status line summarizes the tree on one line") {
  sup::Health health;
  health.status = "ready";
  health.endpoint.link = sup::EndpointLink::Listening;
  sup::ChildrenSummary children;
  children.running = 5;
  children.target_count = 6;
  children.restarting = 1;
  children.quarantined = 1;
  CHECK(sup::daemon::format_status_line(health, children) ==
        "ready: 5/6 running, 1 restarting, 1 quarantined, 0 failed; dashboard listening "
        "(0 clients)");

  health.status = "degraded";
  health.suspects = {"indexer", "evil\nid"};
  health.endpoint = {sup::EndpointLink::Connected, 2};
  CHECK(
      sup::daemon::format_status_line(health, children) ==
      "degraded (suspects: indexer, evil id): 5/6 running, 1 restarting, 1 quarantined, 0 failed; "
      "dashboard connected (2 clients)");
}
