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

// A tree like the default config's: the relay, a task, a process, two
// drills (one quarantined), and a nested supervisor with two workers.
inline json demo_state(std::int64_t now_ms) {
  auto record = [now_ms](std::string id, std::string path, std::string kind, std::string state,
                         int restarts, double tokens, double capacity) {
    json r = {
        {"id", id},
        {"path", path},
        {"parent", parent_of(path)},
        {"kind", kind},
        {"restart", "permanent"},
        {"state", state},
        {"restart_count", restarts},
        {"restart_budget", {{"tokens", tokens}, {"capacity", capacity}, {"refill_per_sec", 0.1}}},
        {"backoff_ms", 0},
        {"started_at", now_ms - 65'000},
        {"generation", restarts + 1},
        {"attempt", 0},
        {"liveness", {{"heartbeat_stale", false}, {"readiness", "unknown"}}},
        {"quarantine_reason", ""}};
    return r;
  };
  json records = json::array();
  records.push_back(record("relay", "root/relay", "relay", "Running", 0, 5, 5));
  records.push_back(record("heartbeat", "root/heartbeat", "task", "Running", 0, 5, 5));
  json ticker = record("ticker", "root/ticker", "process", "Running", 0, 5, 5);
  ticker["pid"] = 4242;
  records.push_back(ticker);
  json flaky = record("flaky", "root/flaky", "drill", "Restarting", 7, 2.53, 5);
  flaky["backoff_ms"] = 1600;
  flaky["last_exit"] = {
      {"kind", "TaskExit::Failed"}, {"reason", "flaky drill failed"}, {"at", now_ms - 2'000}};
  records.push_back(flaky);
  json crasher = record("crasher", "root/crasher", "drill", "Quarantined", 3, 0.004, 3);
  crasher["last_exit"] = {
      {"kind", "TaskExit::Panicked"}, {"reason", "crash_after drill"}, {"at", now_ms - 5'000}};
  crasher["quarantine_reason"] = "restart budget exhausted";
  crasher.erase("started_at");
  records.push_back(crasher);
  records.push_back(record("workers", "root/workers", "supervisor", "Running", 0, 5, 5));
  records.push_back(record("worker-a", "root/workers/worker-a", "process", "Running", 1, 4, 5));
  json worker_b = record("worker-b", "root/workers/worker-b", "process", "Running", 1, 4, 5);
  worker_b["last_exit"] = {
      {"kind", "TaskExit::Failed"}, {"reason", "exit status 3"}, {"at", now_ms - 12'000}};
  records.push_back(worker_b);
  return {{"type", "state"},
          {"target_id", "test"},
          {"children",
           {{"running", 6},
            {"failed", 0},
            {"restarting", 1},
            {"quarantined", 1},
            {"stopped", 0},
            {"target_count", 7}}},
          {"child_runtime_records", records},
          {"state_generation", 42},
          {"captured_at", now_ms}};
}

inline json demo_health(std::string status = "ready") {
  json health = {{"type", "health"},
                 {"target_id", "test"},
                 {"status", status},
                 {"uptime_secs", 3725},
                 {"control_loop_iterations", 372500},
                 {"iterations_per_sec", 99.5},
                 {"dashboard_link", "connected"},
                 {"reasons", json::array()},
                 {"suspects", json::array()},
                 {"dashboard_clients", 1}};
  if (status == "degraded") {
    health["reasons"] = {"child 'blocker' has blocked a runtime thread for 1.2s"};
    health["suspects"] = {"blocker"};
  }
  return health;
}

inline json demo_event(std::uint64_t sequence, std::string type = "child_exited",
                       std::string child = "flaky", std::string severity = "warning") {
  return {{"type", "event"},
          {"target_id", "test"},
          {"sequence", sequence},
          {"correlation_id", "c-" + std::to_string(sequence)},
          {"event_type", type},
          {"severity", severity},
          {"target_path", "root/" + child},
          {"child_id", child},
          {"occurred_at_unix_nanos", std::int64_t{1'700'000'000'000} * 1'000'000 +
                                         static_cast<std::int64_t>(sequence) * 1'000'000'000},
          {"config_version", 1},
          {"payload", {{"exit_kind", "TaskExit::Failed"}, {"reason", "flaky drill failed"}}}};
}

}  // namespace sup::cli::testing
