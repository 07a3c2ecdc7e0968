// A stand-in for the daemon's socket in supctl's tests: a Unix socket in a
// fresh temp dir whose requests are answered by the test's handler, that can
// push to its clients, and that can die (connections closed, socket
// removed, like a killed relay) and come back.
//
//   FakeDaemon daemon([](const json& request) -> Lines {
//     if (request["method"] == "state") return {ok_response(request, demo_state())};
//     return {};  // no answer: the client times out
//   });
//   run supctl --socket daemon.path() ...; daemon.stop(); daemon.start();
#pragma once

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "json/json_writer.hpp"
#include "wire/dashboard_records.hpp"

namespace sup::cli::testing {

using nlohmann::json;
using Lines = std::vector<json>;

inline json ok_response(const json& request, json result) {
  return {
      {"request_id", request.value("request_id", "")}, {"ok", true}, {"result", std::move(result)}};
}

inline json error_response(const json& request, std::string code, std::string stage,
                           std::string message, std::string field_path = {}) {
  json error = {{"code", code},
                {"stage", stage},
                {"target_id", "test"},
                {"message", message},
                {"retryable", false}};
  if (!field_path.empty()) error["field_path"] = field_path;
  return {{"request_id", request.value("request_id", "")}, {"ok", false}, {"error", error}};
}

// Polls `condition` until it holds or `timeout` passes (generous: CI is loaded).
inline bool eventually(const std::function<bool()>& condition,
                       std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return condition();
}

class FakeDaemon {
 public:
  using Handler = std::function<Lines(const json& request)>;

  explicit FakeDaemon(Handler handler) : handler_(std::move(handler)) {
    char pattern[] = "/tmp/supctl-test-XXXXXX";
    if (!::mkdtemp(pattern)) throw std::runtime_error("mkdtemp failed");
    dir_ = pattern;
    path_ = dir_ + "/supervisor.sock";
    if (::pipe(wake_) != 0) throw std::runtime_error("pipe failed");
    listen_now();
    thread_ = std::thread([this] { serve(); });
  }

  ~FakeDaemon() {
    run_on_server([this] { done_ = true; });
    thread_.join();
    close_all();
    ::close(wake_[0]);
    ::close(wake_[1]);
    std::filesystem::remove_all(dir_);
  }

  const std::string& path() const { return path_; }
  const std::string& dir() const { return dir_; }

  // Sends `line` to every connected client.
  void push(const json& line) {
    run_on_server([this, text = line.dump() + "\n"] {
      for (int client : clients_) send_all(client, text);
    });
  }
  // Sends raw bytes (not necessarily JSON) to every client.
  void push_raw(const std::string& bytes) {
    run_on_server([this, bytes] {
      for (int client : clients_) send_all(client, bytes);
    });
  }
  // Closes every connection and removes the socket, as a killed relay does.
  void stop() {
    run_on_server([this] { close_all(); });
  }
  void start() {
    run_on_server([this] { listen_now(); });
  }

  std::vector<json> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  std::vector<json> requests_for(const std::string& method) const {
    std::vector<json> matching;
    for (const json& request : requests())
      if (request.value("method", "") == method) matching.push_back(request);
    return matching;
  }
  std::size_t connections_accepted() const {
    std::lock_guard lock(mutex_);
    return accepted_;
  }

 private:
  void listen_now() {
    listener_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path_.c_str(), sizeof address.sun_path - 1);
    ::unlink(path_.c_str());
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(listener_, 16) != 0)
      throw std::runtime_error("fake daemon cannot listen");
  }

  void close_all() {
    for (int client : clients_) ::close(client);
    clients_.clear();
    buffers_.clear();
    if (listener_ >= 0) ::close(listener_);
    listener_ = -1;
    ::unlink(path_.c_str());
  }

  static void send_all(int fd, const std::string& bytes) {
    std::size_t sent = 0;
    while (sent < bytes.size()) {
      ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return;
      sent += static_cast<std::size_t>(n);
    }
  }

  void run_on_server(std::function<void()> task) {
    std::unique_lock lock(mutex_);
    const std::uint64_t ticket = ++posted_;
    tasks_.push_back(std::move(task));
    lock.unlock();
    char byte = 1;
    [[maybe_unused]] ssize_t ignored = ::write(wake_[1], &byte, 1);
    lock.lock();
    ran_cv_.wait(lock, [&] { return ran_ >= ticket; });
  }

  void serve() {
    while (!done_) {
      std::vector<pollfd> fds{{wake_[0], POLLIN, 0}, {listener_, POLLIN, 0}};
      for (int client : clients_) fds.push_back({client, POLLIN, 0});
      ::poll(fds.data(), fds.size(), 1000);
      if (fds[0].revents) {
        char drain[64];
        [[maybe_unused]] ssize_t ignored = ::read(wake_[0], drain, sizeof drain);
        std::unique_lock lock(mutex_);
        while (!tasks_.empty()) {
          auto task = std::move(tasks_.front());
          tasks_.pop_front();
          lock.unlock();
          task();
          lock.lock();
          ++ran_;
        }
        ran_cv_.notify_all();
        continue;  // the fd set may have changed
      }
      if (listener_ >= 0 && fds[1].revents & POLLIN) {
        int client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
        if (client >= 0) {
          clients_.push_back(client);
          std::lock_guard lock(mutex_);
          ++accepted_;
        }
      }
      for (std::size_t i = 2; i < fds.size(); ++i)
        if (fds[i].revents) read_client(fds[i].fd);
    }
  }

  void read_client(int client) {
    char chunk[4096];
    ssize_t n = ::recv(client, chunk, sizeof chunk, MSG_DONTWAIT);
    if (n <= 0) {
      ::close(client);
      std::erase(clients_, client);
      buffers_.erase(client);
      return;
    }
    std::string& buffer = buffers_[client];
    buffer.append(chunk, static_cast<std::size_t>(n));
    for (auto newline = buffer.find('\n'); newline != std::string::npos;
         newline = buffer.find('\n')) {
      json request = json::parse(buffer.substr(0, newline), nullptr, false);
      buffer.erase(0, newline + 1);
      {
        std::lock_guard lock(mutex_);
        requests_.push_back(request);
      }
      for (const json& line : handler_(request)) send_all(client, line.dump() + "\n");
    }
  }

  Handler handler_;
  std::string dir_;
  std::string path_;
  int wake_[2] = {-1, -1};
  int listener_ = -1;
  std::vector<int> clients_;
  std::map<int, std::string> buffers_;
  bool done_ = false;
  std::thread thread_;

  mutable std::mutex mutex_;
  std::condition_variable ran_cv_;
  std::deque<std::function<void()>> tasks_;
  std::uint64_t posted_ = 0;
  std::uint64_t ran_ = 0;
  std::vector<json> requests_;
  std::size_t accepted_ = 0;
};

inline std::string parent_of(const std::string& path) {
  const std::string parent_path = path.substr(0, path.rfind('/'));
  return parent_path.substr(parent_path.rfind('/') + 1);  // npos + 1 == 0
}

// A record as the daemon writes it (the shared wire writer), as JSON.
template <class Record>
json wire_json(const Record& record) {
  sup::JsonWriter w;
  sup::wire::write(w, record);
  return json::parse(w.take());
}

// A tree like the default config's: the relay, a task, a process, two
// drills (one quarantined), and a nested supervisor with two workers.
// The {type:"state", state:{...}} result, written by the shared writer.
inline json demo_state(std::int64_t now_ms) {
  auto record = [now_ms](std::string id, std::string path, std::string kind, std::string state,
                         std::uint64_t restarts, double tokens, double capacity) {
    sup::wire::ChildRecord r;
    r.id = id;
    r.path = path;
    r.parent = parent_of(path);
    r.kind = kind;
    r.restart = "permanent";
    r.state = state;
    r.restart_count = restarts;
    r.restart_budget = {tokens, capacity, 0.1};
    r.started_at_ms = now_ms - 65'000;
    r.generation = restarts + 1;
    r.liveness.readiness = "unreported";
    return r;
  };
  sup::wire::DashboardState state;
  state.target = {"test", "test", "pending", "connected"};
  auto& records = state.child_runtime_records;
  records.push_back(record("relay", "root/relay", "relay", "Running", 0, 5, 5));
  records.push_back(record("heartbeat", "root/heartbeat", "task", "Running", 0, 5, 5));
  auto ticker = record("ticker", "root/ticker", "process", "Running", 0, 5, 5);
  ticker.pid = 4242;
  records.push_back(ticker);
  auto flaky = record("flaky", "root/flaky", "drill", "Restarting", 7, 2.53, 5);
  flaky.backoff_ms = 1600;
  flaky.last_exit = sup::wire::LastExit{"TaskExit::Failed", "flaky drill failed", now_ms - 2'000};
  records.push_back(flaky);
  auto crasher = record("crasher", "root/crasher", "drill", "Quarantined", 3, 0.004, 3);
  crasher.last_exit =
      sup::wire::LastExit{"TaskExit::Panicked", "crash_after drill", now_ms - 5'000};
  crasher.quarantine_reason = "restart budget exhausted";
  crasher.started_at_ms.reset();
  records.push_back(crasher);
  records.push_back(record("workers", "root/workers", "supervisor", "Running", 0, 5, 5));
  records.push_back(record("worker-a", "root/workers/worker-a", "process", "Running", 1, 4, 5));
  auto worker_b = record("worker-b", "root/workers/worker-b", "process", "Running", 1, 4, 5);
  worker_b.last_exit = sup::wire::LastExit{"TaskExit::Failed", "exit status 3", now_ms - 12'000};
  records.push_back(worker_b);
  state.children = {6, 0, 1, 1, 0, 7};
  state.state_generation = 42;
  state.captured_at_ms = now_ms;
  state.generated_at_unix_nanos = now_ms * 1'000'000;
  return {{"type", "state"}, {"target_id", "test"}, {"state", wire_json(state)}};
}

inline json demo_health(std::string status = "ready") {
  sup::wire::Health health{status,
                           3725,
                           372500,
                           99.5,
                           "connected",
                           {},
                           {},
                           1,
                           0,
                           sup::wire::Registration{"registered", "/run/relay.sock", std::nullopt,
                                                   1'700'000'030'000, 0, 12}};
  if (status == "degraded") {
    health.reasons = {"child 'blocker' has blocked a runtime thread for 1.2s"};
    health.suspects = {"blocker"};
    health.dashboard_registration = {
        "failed", "/run/relay.sock", "connect: Connection refused", 1'700'000'030'000, 3, 12};
  }
  sup::JsonWriter w;
  w.begin_object().field("type", "health").field("target_id", "test");
  sup::wire::write_fields(w, health);
  w.end_object();
  return json::parse(w.take());
}

// The {type:"event", event:{...}} push.
inline json demo_event(std::uint64_t sequence, std::string type = "child_exited",
                       std::string child = "flaky", std::string severity = "warning") {
  sup::wire::EventRecord event;
  event.target_id = "test";
  event.sequence = sequence;
  event.correlation_id = "c-" + std::to_string(sequence);
  event.event_type = type;
  event.severity = severity;
  event.target_path = "root/" + child;
  event.child_id = child;
  event.occurred_at_unix_nanos = std::int64_t{1'700'000'000'000} * 1'000'000 +
                                 static_cast<std::int64_t>(sequence) * 1'000'000'000;
  event.config_version = "1";
  event.payload = {{"exit_kind", "TaskExit::Failed"}, {"reason", "flaky drill failed"}};
  return {{"type", "event"}, {"target_id", "test"}, {"event", wire_json(event)}};
}

}  // namespace sup::cli::testing
