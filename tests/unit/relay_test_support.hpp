// Helpers for the relay tests: a temp directory, a blocking Unix socket
// client with deadlines, and a SocketServer running on its own thread
// against the fake control plane.
#pragma once

#include <doctest/doctest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>

#include "dashboard_relay/socket_server.hpp"
#include "ipc/fake_control_plane.hpp"

namespace relay_test {

using nlohmann::json;
using namespace std::chrono_literals;

// Generous: the CI machine is a loaded 2-core box.
constexpr auto kTimeout = 10s;

class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/sup-relay-test-XXXXXX";
    REQUIRE(::mkdtemp(pattern) != nullptr);
    path_ = pattern;
    // Traversable by the unprivileged uid of the permission test.
    ::chmod(path_.c_str(), 0755);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline sockaddr_un address_of(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
  return address;
}

// A client like a dashboard's, but blocking with deadlines.
class Client {
 public:
  explicit Client(const std::string& path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address = address_of(path);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  }
  ~Client() {
    if (fd_ >= 0) ::close(fd_);
  }
  Client(Client&& other) noexcept
      : fd_(std::exchange(other.fd_, -1)),
        connected_(other.connected_),
        buffer_(std::move(other.buffer_)) {}
  Client(const Client&) = delete;

  bool connected() const { return connected_; }
  int fd() const { return fd_; }

  // False once the server has closed the connection.
  bool send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }
  bool send_json(const json& request) { return send(request.dump() + "\n"); }

  std::optional<std::string> read_line(std::chrono::milliseconds timeout = kTimeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::size_t scanned = 0;  // a 5 MB answer arrives in many pieces: scan each once
    while (true) {
      if (auto newline = buffer_.find('\n', scanned); newline != std::string::npos) {
        std::string line = buffer_.substr(0, newline);
        buffer_.erase(0, newline + 1);
        return line;
      }
      scanned = buffer_.size();
      if (!fill(deadline)) return std::nullopt;
    }
  }
  std::optional<json> read_json(std::chrono::milliseconds timeout = kTimeout) {
    auto line = read_line(timeout);
    if (!line) return std::nullopt;
    return json::parse(*line);
  }
  // The next response (it carries request_id), skipping pushes.
  std::optional<json> read_response(std::chrono::milliseconds timeout = kTimeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      auto message = read_json(std::max(left, 0ms));
      if (!message || message->contains("request_id")) return message;
    }
  }
  json request(const json& request) {
    REQUIRE(send_json(request));
    auto response = read_response();
    REQUIRE(response);
    return *response;
  }
  // Reads (and discards) until the server closes the connection.
  bool wait_closed(std::chrono::milliseconds timeout = kTimeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (fill(deadline)) buffer_.clear();
    return closed_;
  }

 private:
  bool fill(std::chrono::steady_clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char chunk[65536];
    ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
    if (n <= 0) {
      closed_ = true;
      return false;
    }
    buffer_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  bool closed_ = false;
  std::string buffer_;
};

inline json hello_request(const std::string& id = "h") {
  return {{"request_id", id}, {"method", "hello"}};
}

inline sup::config::DashboardConfig test_config(const TempDir& dir) {
  sup::config::DashboardConfig config;
  config.path = dir.file("sup.sock");
  config.target_id = "sup@test";
  return config;
}

// A bound SocketServer serving on its own thread; stopped and joined on
// destruction.
class RunningServer {
 public:
  explicit RunningServer(sup::config::DashboardConfig config,
                         std::shared_ptr<sup::ipc::FakeControlPlane> fake =
                             std::make_shared<sup::ipc::FakeControlPlane>(),
                         sup::relay::EventFeedLimits event_feed = {})
      : plane(std::move(fake)), path(config.path) {
    sup::relay::ServerOptions options;
    options.dashboard = std::move(config);
    options.event_feed = event_feed;
    server = std::make_unique<sup::relay::SocketServer>(std::move(options), plane);
    auto bound = server->bind();
    REQUIRE_MESSAGE(bound.has_value(), bound.error().describe());
    thread = std::thread([this] { end = server->run(); });
  }
  ~RunningServer() { stop(); }

  // Returns once run() has returned.
  void stop() {
    if (!thread.joinable()) return;
    server->stop();
    thread.join();
  }

  template <class Predicate>
  bool eventually(Predicate predicate, std::chrono::milliseconds timeout = kTimeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!predicate()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(2ms);
    }
    return true;
  }

  std::shared_ptr<sup::ipc::FakeControlPlane> plane;
  std::string path;
  std::unique_ptr<sup::relay::SocketServer> server;
  std::thread thread;
  std::atomic<sup::relay::RunEnd> end{sup::relay::RunEnd::Stopped};
};

}  // namespace relay_test
