// Who is on the other end of the socket, both ways, with a second uid for
// real (65534): supctl refuses a server that is neither root nor its own uid
// (nor --trust-uid), and an unprivileged uid cannot take the slots an
// operator needs. Every case here switches uid, which needs root: run as
// another user they are skipped (doctest::skip), and ctest reports the
// executable skipped (tests/doctest_main.cpp).
#include <doctest/doctest.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "harness.hpp"
#include "serving_daemon.hpp"

using namespace std::chrono_literals;
using sup::it::Clock;
using sup::it::Json;
using sup::it::scaled;

namespace {

constexpr uid_t kNobody = 65534;
constexpr gid_t kRootGroup = 0;
// Switching uid needs root: the cases that do it are skipped without it.
bool cannot_switch_uid() {
  return geteuid() != 0;
}

sockaddr_un address_of(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
  return address;
}

// A process of uid 65534 listening at `path`, as an impostor would: it
// answers nothing and reports every byte it receives through a pipe.
class Impostor {
 public:
  explicit Impostor(const std::string& path) {
    const sockaddr_un address = address_of(path);
    int report[2];
    REQUIRE(pipe2(report, O_CLOEXEC) == 0);
    pid_ = fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      close(report[0]);
      if (setgroups(0, nullptr) != 0 || setgid(kRootGroup) != 0 || setuid(kNobody) != 0) _exit(2);
      int listener = socket(AF_UNIX, SOCK_STREAM, 0);
      if (listener < 0 ||
          bind(listener, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 ||
          listen(listener, 16) != 0)
        _exit(3);
      (void)!write(report[1], "L", 1);  // listening
      // No allocation after fork(): the test process may have threads.
      pollfd fds[64] = {{listener, POLLIN, 0}};
      nfds_t used = 1;
      char buffer[4096];
      for (;;) {
        if (poll(fds, used, -1) <= 0) continue;
        if (fds[0].revents & POLLIN) {
          int peer = accept(listener, nullptr, nullptr);
          if (peer >= 0 && used < 64) fds[used++] = {peer, POLLIN, 0};
        }
        for (nfds_t i = 1; i < used; ++i) {
          if (!(fds[i].revents & (POLLIN | POLLHUP))) continue;
          ssize_t n = read(fds[i].fd, buffer, sizeof buffer);
          if (n > 0) {
            (void)!write(report[1], buffer, static_cast<std::size_t>(n));
          } else {
            close(fds[i].fd);
            fds[i].fd = -1;  // poll ignores it
          }
        }
      }
    }
    close(report[1]);
    report_ = report[0];
    char listening = 0;
    REQUIRE_MESSAGE(read(report_, &listening, 1) == 1, "the impostor could not listen");
  }

  ~Impostor() {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    close(report_);
  }

  // Everything received so far, waiting up to `wait` for more.
  std::string received(std::chrono::milliseconds wait) {
    const auto deadline = Clock::now() + wait;
    char buffer[4096];
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      pollfd entry{report_, POLLIN, 0};
      if (poll(&entry, 1, static_cast<int>(std::max<long>(0, left.count()))) <= 0) break;
      ssize_t n = read(report_, buffer, sizeof buffer);
      if (n <= 0) break;
      received_.append(buffer, static_cast<std::size_t>(n));
    }
    return received_;
  }

 private:
  pid_t pid_ = -1;
  int report_ = -1;
  std::string received_;
};

}  // namespace

TEST_CASE("supctl refuses a socket served by another uid, sending it nothing" *
          doctest::skip(cannot_switch_uid())) {
  sup::it::TempDir dir;
  REQUIRE(chmod(dir.path().c_str(), 0777) == 0);  // the impostor may create its socket
  const std::string path = dir.file("impostor.sock");
  Impostor impostor(path);

  const std::string secret = "the-secret-reason-4711";
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"restart", "beat", "--reason", secret},
        std::vector<std::string>{"--json", "health"},
        std::vector<std::string>{"events", "--since", "0"}}) {
    auto run = sup::it::run_supctl(path, args);
    INFO(run.describe());
    CHECK(run.code() == 6);
    CHECK(run.err.find("uid 65534") != std::string::npos);
    CHECK(run.err.find("--trust-uid 65534") != std::string::npos);
  }
  CHECK_MESSAGE(impostor.received(200ms).empty(),
                "the impostor was sent: " << impostor.received(0ms));

  // Vouched for, the same server is talked to (it never answers: timeout).
  auto trusted = sup::it::run_supctl(path, {"--trust-uid", "65534", "--timeout", "500", "health"});
  INFO(trusted.describe());
  CHECK(trusted.code() == 5);
  CHECK(impostor.received(scaled(5s)).find("\"health\"") != std::string::npos);
}

TEST_CASE("supctl talks to the real daemon run by root, whatever uid it runs as" *
          doctest::skip(cannot_switch_uid())) {
  sup::it::TempDir dir;
  REQUIRE(chmod(dir.path().c_str(), 0755) == 0);
  auto daemon = sup::it::require_serving_daemon(dir, sup::it::base_config(dir));
  sup::it::SpawnOptions options;
  options.argv = {
      "setpriv",  "--reuid=65534",       "--regid=0", "--clear-groups", sup::it::supctl_binary(),
      "--socket", daemon->socket_path(), "--json",    "health"};
  auto run = sup::it::run_command(options, scaled(20s));
  CHECK_MESSAGE(run.code() == 0, run.describe());
}

namespace {

// A process of uid 65534 (group 0, so it may connect to the 0660 socket)
// that keeps up to 500 connections open, each with half a request line,
// reconnecting whenever one is refused or closed, until destroyed.
class HalfLineCrowd {
 public:
  explicit HalfLineCrowd(const std::string& path) {
    const sockaddr_un address = address_of(path);
    pid_ = fork();
    REQUIRE(pid_ >= 0);
    if (pid_ != 0) return;
    if (setgroups(0, nullptr) != 0 || setgid(kRootGroup) != 0 || setuid(kNobody) != 0) _exit(2);
    constexpr int kConnections = 500;
    static pollfd fds[kConnections];  // no allocation after fork()
    static const char kHalfLine[] = R"({"request_id": "x", "method": "hea)";
    for (auto& entry : fds) entry = {-1, POLLIN, 0};
    char sink[4096];
    for (;;) {
      for (auto& entry : fds) {
        if (entry.fd >= 0) continue;
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (fd < 0) break;
        if (connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
          close(fd);
          break;
        }
        (void)!send(fd, kHalfLine, sizeof kHalfLine - 1, MSG_NOSIGNAL);
        entry.fd = fd;
      }
      poll(fds, kConnections, 50);
      for (auto& entry : fds) {
        if (entry.fd < 0 || !(entry.revents & (POLLIN | POLLHUP | POLLERR))) continue;
        if (read(entry.fd, sink, sizeof sink) > 0) continue;  // an error push; EOF follows
        close(entry.fd);
        entry.fd = -1;
      }
    }
  }
  ~HalfLineCrowd() {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }

 private:
  pid_t pid_ = -1;
};

// supctl health as root, `times` times while the crowd presses; the
// failures, described.
std::vector<std::string> operator_health_failures(const sup::it::Daemon& daemon, int times) {
  std::vector<std::string> failures;
  for (int i = 0; i < times; ++i) {
    auto run = daemon.supctl({"--json", "health"});
    if (run.code() != 0) failures.push_back(run.describe());
  }
  return failures;
}

bool crowd_was_refused(const sup::it::Daemon& daemon) {
  return daemon
      .wait_for_log(
          [](const sup::it::LogLine& line) {
            return line.get("msg") == "dashboard client refused: too many clients" &&
                   line.get("PEER_UID") == "65534";
          },
          scaled(20s))
      .has_value();
}

Json crowded_config(const sup::it::TempDir& dir, int per_uid) {
  REQUIRE(chmod(dir.path().c_str(), 0755) == 0);  // the crowd reaches the socket
  Json config = sup::it::base_config(dir);
  config["dashboard"]["max_clients"] = 64;
  config["dashboard"]["reserved_clients"] = 8;
  config["dashboard"]["max_clients_per_uid"] = per_uid;
  return config;
}

}  // namespace

TEST_CASE("another uid's 500 half-line connections never lock the operator out (reserve)" *
          doctest::skip(cannot_switch_uid())) {
  sup::it::TempDir dir;
  // The per-uid limit out of the way: the reserve alone keeps root's slots.
  auto daemon = sup::it::require_serving_daemon(dir, crowded_config(dir, 64));
  HalfLineCrowd crowd(daemon->socket_path());
  REQUIRE_MESSAGE(crowd_was_refused(*daemon), "the crowd never filled its share of the slots");
  auto failures = operator_health_failures(*daemon, 30);
  CHECK_MESSAGE(failures.empty(), failures.size() << " of 30 failed; first: " << failures.front());
  auto health = daemon->result_of("health");
  REQUIRE(health);
  MESSAGE("clients while the crowd pressed: " << (*health)["dashboard_clients"]);
  CHECK((*health)["dashboard_clients"].get<int>() <= 64 - 8 + 1);
}

TEST_CASE("one uid holds at most max_clients_per_uid connections" *
          doctest::skip(cannot_switch_uid())) {
  sup::it::TempDir dir;
  auto daemon = sup::it::require_serving_daemon(dir, crowded_config(dir, 10));
  HalfLineCrowd crowd(daemon->socket_path());
  REQUIRE_MESSAGE(crowd_was_refused(*daemon), "the crowd was never refused");
  auto refusal = daemon->wait_for_log(
      [](const sup::it::LogLine& line) {
        return line.get("REASON").find("dashboard.max_clients_per_uid") != std::string::npos;
      },
      scaled(10s));
  CHECK(refusal);
  auto health = daemon->result_of("health");
  REQUIRE(health);
  CHECK((*health)["dashboard_clients"].get<int>() <= 10 + 1);
  auto failures = operator_health_failures(*daemon, 10);
  CHECK_MESSAGE(failures.empty(), failures.size() << " of 10 failed; first: " << failures.front());
}
