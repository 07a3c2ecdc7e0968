// A stand-in for the seed relay's registration side
// (developerworks/rust-supervisor-relay, src/registration.rs and
// registry.rs), for the integration tests: its registration socket and its
// registry of targets. Test-thread assertions only (the serving thread
// records, the test checks).
#pragma once

#include <doctest/doctest.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "harness.hpp"

namespace sup::it {

// One accepted RegistrationRequest and when it arrived.
struct RelayRegistration {
  Json request;
  Clock::time_point at;
};

// The seed relay's registration socket and registry: accepts one
// connection at a time, reads one line, checks it as the relay's
// deny_unknown_fields RegistrationRequest would, writes the relay's ack and
// closes. kill() stops it the way SIGKILL would: no more accepts, the
// socket file left behind (a connect is then refused).
class StandInRelay {
 public:
  explicit StandInRelay(std::string path) : path_(std::move(path)) {
    ::unlink(path_.c_str());  // as the seed relay's bind does with an old file
    listener_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(listener_ >= 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, path_.data(), path_.size());
    REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
    REQUIRE(::listen(listener_, 16) == 0);
    REQUIRE(::pipe2(stop_pipe_, O_CLOEXEC) == 0);
    thread_ = std::thread([this] { serve(); });
  }
  ~StandInRelay() { kill(); }

  void kill() {
    if (!thread_.joinable()) return;
    char byte = 1;
    REQUIRE(::write(stop_pipe_[1], &byte, 1) == 1);
    thread_.join();
    ::close(listener_);
    ::close(stop_pipe_[0]);
    ::close(stop_pipe_[1]);
  }

  std::vector<RelayRegistration> registrations() const {
    std::lock_guard lock(mutex_);
    return registrations_;
  }
  // The registry's active targets: target_id → the latest request.
  std::optional<RelayRegistration> listed(const std::string& target_id) const {
    std::lock_guard lock(mutex_);
    for (auto it = registrations_.rbegin(); it != registrations_.rend(); ++it)
      if (it->request["target_id"] == target_id) return *it;
    return std::nullopt;
  }
  std::vector<std::string> refusals() const {
    std::lock_guard lock(mutex_);
    return refusals_;
  }

 private:
  // Why the seed's serde types would refuse the line ("" when they accept it).
  static std::string refusal_of(const Json& request) {
    if (!request.is_object()) return "not an object";
    const std::set<std::string> fields{"target_id", "display_name", "ipc_path", "lease_seconds",
                                       "supported_commands"};
    for (const auto& [key, value] : request.items())
      if (!fields.count(key)) return "unknown field " + key;
    for (const auto& key : fields)
      if (!request.contains(key)) return "missing field " + key;
    if (!request["target_id"].is_string() || request["target_id"].get<std::string>().empty())
      return "target_id";
    if (!request["display_name"].is_string()) return "display_name";
    if (!request["ipc_path"].is_string() || request["ipc_path"].get<std::string>().front() != '/')
      return "ipc_path must be absolute";
    if (!request["lease_seconds"].is_number_unsigned() || request["lease_seconds"] == 0)
      return "lease_seconds";
    if (!request["supported_commands"].is_array()) return "supported_commands";
    for (const auto& command : request["supported_commands"]) {
      if (!command.is_object() || command.size() != 3 || !command["name"].is_string() ||
          !command["idempotent"].is_boolean() || !command["timeout_seconds"].is_number_unsigned() ||
          command["timeout_seconds"] == 0)
        return "supported command " + command.dump();
    }
    return "";
  }

  void serve() {
    for (;;) {
      pollfd fds[2] = {{listener_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0) continue;
      if (fds[1].revents) return;
      int connection = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (connection < 0) continue;
      timeval timeout{2, 0};
      ::setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
      std::string line;
      char byte = 0;
      while (::recv(connection, &byte, 1, 0) == 1 && byte != '\n') line.push_back(byte);
      Json request = Json::parse(line, nullptr, false);
      std::string refusal = request.is_discarded() ? "invalid JSON" : refusal_of(request);
      Json ack;
      if (refusal.empty()) {
        ack = {{"ok", true},
               {"target_id", request["target_id"]},
               {"status", "registered"},
               {"retryable", false}};
        std::lock_guard lock(mutex_);
        registrations_.push_back({request, Clock::now()});
      } else {
        ack = {{"ok", false},
               {"error", {{"code", "invalid_registration_json"}, {"message", refusal}}},
               {"retryable", false}};
        std::lock_guard lock(mutex_);
        refusals_.push_back(refusal + ": " + line);
      }
      std::string out = ack.dump() + "\n";
      ::send(connection, out.data(), out.size(), MSG_NOSIGNAL);
      ::close(connection);
    }
  }

  std::string path_;
  int listener_ = -1;
  int stop_pipe_[2] = {-1, -1};
  mutable std::mutex mutex_;
  std::vector<RelayRegistration> registrations_;
  std::vector<std::string> refusals_;
  std::thread thread_;
};

}  // namespace sup::it
