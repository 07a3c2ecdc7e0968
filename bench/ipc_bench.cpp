// Dashboard IPC benchmarks against the real `supervisor` daemon, as an
// operator's tools see it: the daemon binary runs as a separate process with
// a generated config, and this program talks to its Unix socket
// (dashboard-ipc.v1, docs/ipc.md) like supctl or a dashboard would. Prints
// one JSON object per figure per line (see bench_report.hpp).
//
//   ipc_bench                               # every scenario, each with a fresh daemon
//   ipc_bench --scenario=state --children=10000
//   ipc_bench --daemon=/path/to/supervisor --scenario=relay_kill
//
// Scenarios:
//   state       `state` round trip with --children idle "heartbeat" tasks: the
//               request is written, the whole response line read.
//   fanout      --subscribers event subscribers, one of them never reads;
//               crash drills produce the events. Counts events delivered
//               to the others per second.
//   relay_kill  `command.kill_child relay` while a dashboard (this program)
//               is attached; time until the dashboard, reconnecting by
//               itself, is subscribed again and health.dashboard_link is
//               "connected".
//   storm_health  crash drills (as fanout) with one subscriber that never
//               reads (it asked for the whole replay) and --subscribers - 1
//               that read everything: another client's `health` round trip
//               (p50/p99) for --probe-seconds, and the daemon's RSS before
//               and after.
//   state_crowd --crowd clients asking `state` back to back on --children
//               children: another client's `health` and
//               `command.restart_child` round trips (p50/p99).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "bench_report.hpp"

namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using sup::bench::percentile;
using sup::bench::steady_ns;

struct BenchOptions {
  std::string scenario;  // empty: all of them
  std::string daemon;    // path of the `supervisor` binary
  int children = 10'000;
  int state_requests = 300;
  int subscribers = 64;
  int fanout_drills = 20;
  int fanout_period_ms = 20;  // each drill crashes this long after it starts
  int fanout_seconds = 10;
  int relay_kills = 20;
  int probe_seconds = 10;
  int crowd = 50;
};

const std::vector<std::string> kScenarios = {"state", "fanout", "relay_kill", "storm_health",
                                             "state_crowd"};

// "prefix<n>". (Spelled out: g++ 12 at -O3 warns falsely about
// `"a" + std::to_string(n)`, -Wrestrict, GCC bug 105329.)
std::string numbered(std::string_view prefix, std::int64_t n) {
  std::string text(prefix);
  text += std::to_string(n);
  return text;
}

// CPU seconds (user + system) of process `pid`, from /proc/<pid>/stat.
double process_cpu_seconds(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), {});
  auto fields_start = text.rfind(')');  // the command name may hold spaces
  if (fields_start == std::string::npos) return 0;
  std::istringstream fields(text.substr(fields_start + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; fields >> field; ++i) {
    if (i == 14 || i == 15) ticks += std::stod(field);  // utime, stime
    if (i == 15) break;
  }
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// Resident set of process `pid` in MiB, from /proc/<pid>/status.
double process_rss_mib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;  // kB
  }
  return 0;
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "ipc_bench: %s\n", what.c_str());
  std::exit(1);
}

// ---- a blocking line-oriented client ----------------------------------------

class Client {
 public:
  Client() = default;
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  Client(Client&& other) noexcept
      : fd_(std::exchange(other.fd_, -1)), buffer_(std::move(other.buffer_)) {}
  ~Client() { close(); }

  bool connect(const std::string& path) {
    close();
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::snprintf(address.sun_path, sizeof address.sun_path, "%s", path.c_str());
    if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      close();
      return false;
    }
    buffer_.clear();
    return true;
  }

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  int fd() const { return fd_; }

  bool send_line(const std::string& line) {
    std::string framed = line + "\n";
    std::size_t sent = 0;
    while (sent < framed.size()) {
      ssize_t n = ::send(fd_, framed.data() + sent, framed.size() - sent, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      sent += static_cast<std::size_t>(n);
    }
    return true;
  }

  // The next whole line (without '\n'), or nullopt on EOF, error or timeout.
  // Reads straight into the buffer and hands a line that ends it over
  // without a copy: a 4 MB state answer costs the client no more than the
  // kernel's copy, so the figure is the daemon's.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout = 10s) {
    constexpr std::size_t kChunk = 256 * 1024;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (auto newline = buffer_.find('\n', scanned_); newline != std::string::npos) {
        std::string line;
        if (newline + 1 == buffer_.size()) {
          buffer_.pop_back();
          line = std::exchange(buffer_, {});
        } else {
          line = buffer_.substr(0, newline);
          buffer_.erase(0, newline + 1);
        }
        scanned_ = 0;
        return line;
      }
      scanned_ = buffer_.size();
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      pollfd p{fd_, POLLIN, 0};
      if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0)
        return std::nullopt;
      std::size_t filled = buffer_.size();
      if (buffer_.capacity() < filled + kChunk) buffer_.reserve(2 * (filled + kChunk));
      buffer_.resize(filled + kChunk);
      ssize_t n = ::recv(fd_, buffer_.data() + filled, kChunk, 0);
      buffer_.resize(filled + static_cast<std::size_t>(std::max<ssize_t>(n, 0)));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return std::nullopt;
    }
  }

  // Sends a request and returns its response line, skipping pushes.
  std::optional<std::string> call(const std::string& id, const std::string& method,
                                  const json& params = json::object(),
                                  std::chrono::milliseconds timeout = 10s) {
    json request = {{"request_id", id}, {"method", method}, {"params", params}};
    if (!send_line(request.dump())) return std::nullopt;
    std::string marker = "\"request_id\":\"" + id + "\"";
    for (;;) {
      auto line = read_line(timeout);
      if (!line) return std::nullopt;
      if (line->find(marker) != std::string::npos) return line;
    }
  }

 private:
  int fd_ = -1;
  std::string buffer_;
  std::size_t scanned_ = 0;
};

json result_of(const std::optional<std::string>& line) {
  if (!line) return json();
  json response = json::parse(*line, nullptr, false);
  if (response.is_discarded() || !response.value("ok", false)) return json();
  return response["result"];
}

// ---- the daemon under test ----------------------------------------------------

class Daemon {
 public:
  Daemon(const std::string& binary, const json& config) {
    char dir_template[] = "/tmp/sup-ipc-bench.XXXXXX";
    if (::mkdtemp(dir_template) == nullptr) die("mkdtemp failed");
    dir_ = dir_template;
    socket_ = dir_ + "/supervisor.sock";
    json full = config;
    full["dashboard"]["path"] = socket_;
    full["state_dir"] = dir_;
    std::ofstream(dir_ + "/config.json") << full.dump(1);

    pid_ = ::fork();
    if (pid_ < 0) die("fork failed");
    if (pid_ == 0) {
      int log =
          ::open((dir_ + "/daemon.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (log >= 0) {
        ::dup2(log, STDOUT_FILENO);
        ::dup2(log, STDERR_FILENO);
      }
      ::setenv("STATE_DIR", dir_.c_str(), 1);
      ::unsetenv("NOTIFY_SOCKET");
      std::string config_path = dir_ + "/config.json";
      ::execl(binary.c_str(), "supervisor", "--config", config_path.c_str(),
              static_cast<char*>(nullptr));
      std::_Exit(127);
    }
  }

  ~Daemon() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      auto deadline = std::chrono::steady_clock::now() + 60s;
      int status = 0;
      while (::waitpid(pid_, &status, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() > deadline) {
          ::kill(pid_, SIGKILL);
          ::waitpid(pid_, &status, 0);
          break;
        }
        std::this_thread::sleep_for(10ms);
      }
    }
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  const std::string& socket_path() const { return socket_; }
  pid_t pid() const { return pid_; }

  // Until health says "ready" (every child started).
  bool wait_ready(std::chrono::seconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    Client client;
    int n = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        std::ifstream log(dir_ + "/daemon.log");
        std::string text((std::istreambuf_iterator<char>(log)), {});
        die("the daemon exited early:\n" + text.substr(0, 4000));
      }
      if (client.fd() < 0 && !client.connect(socket_)) {
        std::this_thread::sleep_for(20ms);
        continue;
      }
      json health = result_of(client.call(numbered("ready-", n++), "health"));
      if (health.is_null()) {
        client.close();
      } else if (health.value("status", "") == "ready") {
        return true;
      }
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }

 private:
  std::string dir_;
  std::string socket_;
  pid_t pid_ = -1;
};

json base_config() {
  return {{"strategy", "one_for_one"},
          {"intensity", 1'000'000},
          {"period_ms", 1'000},
          {"log", {{"level", "info"}, {"format", "text"}}},
          {"dashboard",
           {{"enabled", true},
            {"max_clients", 256},
            // The benchmark measures the server, not its rate limiter.
            {"requests_per_sec", 1'000'000}}},
          {"children", json::array()}};
}

std::string daemon_path(const BenchOptions& opt) {
  if (!opt.daemon.empty()) return opt.daemon;
  std::error_code error;
  auto self = std::filesystem::read_symlink("/proc/self/exe", error);
  return (self.parent_path().parent_path() / "src" / "daemon" / "supervisor").string();
}

// ---- state round trip -------------------------------------------------------------

int run_state(const BenchOptions& opt, const sup::bench::Reporter& out) {
  json config = base_config();
  for (int i = 0; i < opt.children; ++i) {
    config["children"].push_back(
        {{"id", numbered("hb-", i)}, {"kind", "task"}, {"task", "heartbeat"}});
  }
  Daemon daemon(daemon_path(opt), config);
  std::int64_t began = steady_ns();
  if (!daemon.wait_ready(120s)) die("state: the daemon did not become ready");
  out.figure("daemon_ready_with_children", static_cast<double>(steady_ns() - began) / 1e6, "ms");

  Client client;
  if (!client.connect(daemon.socket_path())) die("state: cannot connect");
  // Warm-up, and a check that every child is in the answer.
  json first = result_of(client.call("warm", "state", json::object(), 30s));
  if (first.is_null() || first["state"]["child_runtime_records"].size() !=
                             static_cast<std::size_t>(opt.children) + 1) {
    die("state: unexpected answer");
  }
  std::vector<double> round_trip_ms;
  std::size_t bytes = 0;
  for (int i = 0; i < opt.state_requests; ++i) {
    std::string request = numbered(R"({"request_id":"s)", i) + R"(","method":"state","params":{}})";
    std::int64_t t = steady_ns();
    if (!client.send_line(request)) die("state: send failed");
    auto line = client.read_line(30s);
    double ms = static_cast<double>(steady_ns() - t) / 1e6;
    if (!line || line->find("\"ok\":true") == std::string::npos) die("state: no answer");
    bytes = line->size();
    round_trip_ms.push_back(ms);
  }
  out.figure("state_children", opt.children + 1, "count");
  out.figure("state_response_size", static_cast<double>(bytes) / 1024.0, "KiB");
  out.figure("state_round_trip_p50", percentile(round_trip_ms, 0.50), "ms");
  out.figure("state_round_trip_p99", percentile(round_trip_ms, 0.99), "ms");
  out.figure("state_round_trip_max", percentile(round_trip_ms, 1.0), "ms");

  // The same with 8 clients asking at once (dashboards plus supctl).
  std::vector<Client> clients(8);
  for (auto& c : clients)
    if (!c.connect(daemon.socket_path())) die("state: cannot connect");
  std::vector<double> concurrent_ms;
  for (int round = 0; round < opt.state_requests / 8; ++round) {
    std::int64_t t = steady_ns();
    for (std::size_t k = 0; k < clients.size(); ++k) {
      clients[k].send_line(numbered(R"({"request_id":"c)", round) +
                           R"(","method":"state","params":{}})");
    }
    for (auto& c : clients) {
      if (!c.read_line(30s)) die("state: no answer (concurrent)");
      concurrent_ms.push_back(static_cast<double>(steady_ns() - t) / 1e6);
    }
  }
  out.figure("state_round_trip_8_clients_p50", percentile(concurrent_ms, 0.50), "ms");
  out.figure("state_round_trip_8_clients_p99", percentile(concurrent_ms, 0.99), "ms");
  return 0;
}

// ---- event fan-out ------------------------------------------------------------------

// Lines holding an event push in `data`; `partial` carries an unfinished
// line over to the next read.
std::size_t count_events(std::string_view data, std::string& partial) {
  std::size_t events = 0;
  partial.append(data);
  std::size_t start = 0;
  for (std::size_t newline; (newline = partial.find('\n', start)) != std::string::npos;
       start = newline + 1) {
    if (partial.compare(start, 15, R"({"type":"event")") == 0) ++events;
  }
  partial.erase(0, start);
  return events;
}

int run_fanout(const BenchOptions& opt, const sup::bench::Reporter& out) {
  json config = base_config();
  for (int i = 0; i < opt.fanout_drills; ++i) {
    config["children"].push_back(
        {{"id", numbered("drill-", i)},
         {"kind", "drill"},
         {"drill", {{"kind", "crash_after"}, {"ms", opt.fanout_period_ms}}},
         {"budget", {{"capacity", 1'000'000}, {"refill_per_sec", 1'000'000}}},
         {"backoff", {{"initial_ms", 0}, {"max_ms", 0}}},
         {"crash_loop", {{"max_failures", 0}}}});
  }
  Daemon daemon(daemon_path(opt), config);
  if (!daemon.wait_ready(60s)) die("fanout: the daemon did not become ready");

  // Subscriber 0 never reads again after subscribing: the stalled one.
  std::vector<Client> subscribers(static_cast<std::size_t>(opt.subscribers));
  for (std::size_t i = 0; i < subscribers.size(); ++i) {
    if (!subscribers[i].connect(daemon.socket_path())) die("fanout: cannot connect");
    if (result_of(subscribers[i].call("sub", "events.subscribe")).is_null())
      die("fanout: subscribe failed");
  }
  // The newest event sequence, from a subscription of its own.
  auto last_sequence = [&] {
    Client probe;
    if (!probe.connect(daemon.socket_path())) return std::uint64_t{0};
    json result = result_of(probe.call("seq", "events.subscribe"));
    return result.is_null() ? std::uint64_t{0} : result.value("last_sequence", std::uint64_t{0});
  };

  int epoll = ::epoll_create1(EPOLL_CLOEXEC);
  for (std::size_t i = 1; i < subscribers.size(); ++i) {
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u64 = i;
    ::epoll_ctl(epoll, EPOLL_CTL_ADD, subscribers[i].fd(), &event);
  }
  std::vector<std::size_t> delivered(subscribers.size(), 0);
  std::vector<std::string> partial(subscribers.size());
  std::vector<bool> closed(subscribers.size(), false);
  std::uint64_t first_sequence = last_sequence();
  double daemon_cpu_before = process_cpu_seconds(daemon.pid());
  double client_cpu_before = process_cpu_seconds(::getpid());
  std::int64_t began = steady_ns();
  std::int64_t until = began + static_cast<std::int64_t>(opt.fanout_seconds) * 1'000'000'000;
  char chunk[1 << 16];
  std::array<epoll_event, 64> ready{};
  while (steady_ns() < until) {
    int n = ::epoll_wait(epoll, ready.data(), static_cast<int>(ready.size()), 100);
    for (int k = 0; k < n; ++k) {
      std::size_t i = ready[static_cast<std::size_t>(k)].data.u64;
      ssize_t got = ::recv(subscribers[i].fd(), chunk, sizeof chunk, MSG_DONTWAIT);
      if (got > 0) {
        delivered[i] +=
            count_events(std::string_view(chunk, static_cast<std::size_t>(got)), partial[i]);
      } else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
        closed[i] = true;
        ::epoll_ctl(epoll, EPOLL_CTL_DEL, subscribers[i].fd(), nullptr);
      }
    }
  }
  double seconds = static_cast<double>(steady_ns() - began) / 1e9;
  double daemon_cpu = process_cpu_seconds(daemon.pid()) - daemon_cpu_before;
  double client_cpu = process_cpu_seconds(::getpid()) - client_cpu_before;
  std::uint64_t produced = last_sequence() - first_sequence;
  ::close(epoll);

  std::size_t total = 0;
  std::size_t slowest = SIZE_MAX;
  int dropped = 0;
  for (std::size_t i = 1; i < subscribers.size(); ++i) {
    total += delivered[i];
    slowest = std::min(slowest, delivered[i]);
    dropped += closed[i] ? 1 : 0;
  }
  // Was the stalled one dropped? Its socket then reads the rest and EOF.
  bool stalled_dropped = false;
  for (auto deadline = steady_ns() + 5'000'000'000LL; steady_ns() < deadline;) {
    pollfd p{subscribers[0].fd(), POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    ssize_t got = ::recv(subscribers[0].fd(), chunk, sizeof chunk, MSG_DONTWAIT);
    if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
      stalled_dropped = true;
      break;
    }
  }
  out.figure("fanout_subscribers", opt.subscribers, "count");
  out.figure("fanout_events_produced_per_sec", static_cast<double>(produced) / seconds, "events/s");
  out.figure("fanout_delivered_total_per_sec", static_cast<double>(total) / seconds, "events/s");
  out.figure("fanout_delivered_slowest_subscriber_per_sec", static_cast<double>(slowest) / seconds,
             "events/s");
  out.figure("fanout_reading_subscribers_dropped", dropped, "count");
  // Both share the 2 cores: a saturated client would be the limit, not the daemon.
  out.figure("fanout_daemon_cpu", 100.0 * daemon_cpu / seconds, "percent_of_one_core");
  out.figure("fanout_client_cpu", 100.0 * client_cpu / seconds, "percent_of_one_core");
  out.figure("fanout_stalled_subscriber_dropped", stalled_dropped ? 1 : 0, "bool");
  return dropped == 0 ? 0 : 1;
}

// ---- relay kill -> dashboard connected again ------------------------------------

// Subscribes on `client` and returns once health says "connected".
bool attach_dashboard(Client& client, const std::string& path, std::int64_t deadline_ns,
                      int& request) {
  while (steady_ns() < deadline_ns) {
    if (client.fd() < 0 && !client.connect(path)) {
      std::this_thread::sleep_for(1ms);
      continue;
    }
    if (result_of(client.call(numbered("a", request++), "events.subscribe", json::object(), 2s))
            .is_null()) {
      client.close();
      continue;
    }
    while (steady_ns() < deadline_ns) {
      json health = result_of(client.call(numbered("h", request++), "health", json::object(), 2s));
      if (health.is_null()) break;
      if (health.value("dashboard_link", "") == "connected") return true;
      std::this_thread::sleep_for(1ms);
    }
    client.close();
  }
  return false;
}

int run_relay_kill(const BenchOptions& opt, const sup::bench::Reporter& out) {
  json config = base_config();
  config["children"].push_back(
      {{"id", "relay"},
       {"kind", "relay"},
       {"backoff", {{"initial_ms", 0}, {"max_ms", 0}}},
       {"budget", {{"capacity", 1'000'000}, {"refill_per_sec", 1'000'000}}},
       {"crash_loop", {{"max_failures", 0}}}});
  for (int i = 0; i < 100; ++i) {
    config["children"].push_back(
        {{"id", numbered("hb-", i)}, {"kind", "task"}, {"task", "heartbeat"}});
  }
  Daemon daemon(daemon_path(opt), config);
  if (!daemon.wait_ready(60s)) die("relay_kill: the daemon did not become ready");

  Client dashboard;
  int request = 0;
  if (!attach_dashboard(dashboard, daemon.socket_path(), steady_ns() + 10'000'000'000LL, request)) {
    die("relay_kill: the dashboard never got connected");
  }
  std::vector<double> reconnect_ms;
  for (int round = 0; round < opt.relay_kills; ++round) {
    json params = {{"command_id", numbered("kill-", round) + numbered("-", steady_ns())},
                   {"requested_by", "ipc_bench"},
                   {"reason", "relay kill drill"},
                   {"target", "relay"},
                   {"confirmed", true}};
    std::int64_t killed_at = steady_ns();
    // The relay dies under the request: the answer may never come.
    dashboard.send_line(json({{"request_id", numbered("k", round)},
                              {"method", "command.kill_child"},
                              {"params", params}})
                            .dump());
    // Until the old connection is gone (the dashboard notices the relay died).
    while (dashboard.read_line(10s)) {
    }
    dashboard.close();
    if (!attach_dashboard(dashboard, daemon.socket_path(), killed_at + 10'000'000'000LL, request)) {
      die("relay_kill: not connected again within 10 s");
    }
    reconnect_ms.push_back(static_cast<double>(steady_ns() - killed_at) / 1e6);
    std::this_thread::sleep_for(200ms);
  }
  // Each round really restarted the relay.
  json state = result_of(dashboard.call("final-state", "state"));
  std::uint64_t relay_restarts = 0;
  if (!state.is_null()) {
    for (const auto& record : state["state"]["child_runtime_records"]) {
      if (record.value("id", "") == "relay")
        relay_restarts = record.value("restart_count", std::uint64_t{0});
    }
  }
  if (relay_restarts < reconnect_ms.size())
    die("relay_kill: the relay was not restarted each round");
  out.figure("relay_kill_to_connected_p50", percentile(reconnect_ms, 0.50), "ms");
  out.figure("relay_kill_to_connected_max", percentile(reconnect_ms, 1.0), "ms");
  out.figure("relay_kill_rounds", static_cast<double>(reconnect_ms.size()), "count");
  return 0;
}

// ---- cheap requests under load ------------------------------------------------------

// `method` round trips on one connection of its own, back to back, until
// `until` (steady_ns); milliseconds each.
std::vector<double> probe(const std::string& socket, const std::string& method,
                          const std::function<json(int)>& params, std::int64_t until) {
  Client client;
  if (!client.connect(socket)) die("probe: cannot connect");
  std::vector<double> ms;
  for (int i = 0; steady_ns() < until; ++i) {
    std::int64_t t = steady_ns();
    json result = result_of(client.call(numbered("p", i), method, params(i), 30s));
    if (result.is_null()) die("probe: no answer to " + method);
    ms.push_back(static_cast<double>(steady_ns() - t) / 1e6);
    std::this_thread::sleep_for(5ms);  // a probe, not a flood
  }
  return ms;
}

json no_params(int) {
  return json::object();
}

int run_storm_health(const BenchOptions& opt, const sup::bench::Reporter& out) {
  json config = base_config();
  for (int i = 0; i < opt.fanout_drills; ++i) {
    config["children"].push_back(
        {{"id", numbered("drill-", i)},
         {"kind", "drill"},
         {"drill", {{"kind", "crash_after"}, {"ms", opt.fanout_period_ms}}},
         {"budget", {{"capacity", 1'000'000}, {"refill_per_sec", 1'000'000}}},
         {"backoff", {{"initial_ms", 0}, {"max_ms", 0}}},
         {"crash_loop", {{"max_failures", 0}}}});
  }
  Daemon daemon(daemon_path(opt), config);
  if (!daemon.wait_ready(60s)) die("storm_health: the daemon did not become ready");
  double rss_before = process_rss_mib(daemon.pid());
  // Subscribes, asks for the whole replay and every log record, and never
  // reads again.
  Client stalled;
  if (!stalled.connect(daemon.socket_path())) die("storm_health: cannot connect");
  stalled.send_line(
      R"({"request_id":"s","method":"events.subscribe","params":{"after_sequence":0}})");
  // And --subscribers - 1 dashboards that read everything.
  std::vector<Client> readers(static_cast<std::size_t>(std::max(0, opt.subscribers - 1)));
  for (auto& reader : readers) {
    if (!reader.connect(daemon.socket_path()) ||
        result_of(reader.call("sub", "events.subscribe")).is_null())
      die("storm_health: subscribe failed");
  }
  std::int64_t until = steady_ns() + static_cast<std::int64_t>(opt.probe_seconds) * 1'000'000'000;
  std::thread reading([&] {
    std::vector<pollfd> fds;
    for (auto& reader : readers) fds.push_back({reader.fd(), POLLIN, 0});
    char sink[1 << 16];
    while (steady_ns() < until) {
      if (::poll(fds.data(), fds.size(), 100) <= 0) continue;
      for (auto& entry : fds)
        if (entry.revents & POLLIN) (void)!::recv(entry.fd, sink, sizeof sink, MSG_DONTWAIT);
    }
  });
  auto health_ms = probe(daemon.socket_path(), "health", no_params, until);
  double rss_after = process_rss_mib(daemon.pid());
  reading.join();
  Client counter;
  std::uint64_t events = 0;
  if (counter.connect(daemon.socket_path()))
    events = result_of(counter.call("n", "events.subscribe")).value("last_sequence", 0ULL);
  out.figure("storm_events_total", static_cast<double>(events), "count");
  out.figure("storm_health_requests", static_cast<double>(health_ms.size()), "count");
  out.figure("storm_health_p50", percentile(health_ms, 0.50), "ms");
  out.figure("storm_health_p99", percentile(health_ms, 0.99), "ms");
  out.figure("storm_health_max", percentile(health_ms, 1.0), "ms");
  out.figure("storm_daemon_rss_before", rss_before, "MiB");
  out.figure("storm_daemon_rss_after", rss_after, "MiB");
  return 0;
}

int run_state_crowd(const BenchOptions& opt, const sup::bench::Reporter& out) {
  json config = base_config();
  for (int i = 0; i < opt.children; ++i) {
    config["children"].push_back(
        {{"id", numbered("hb-", i)}, {"kind", "task"}, {"task", "heartbeat"}});
  }
  Daemon daemon(daemon_path(opt), config);
  if (!daemon.wait_ready(120s)) die("state_crowd: the daemon did not become ready");
  std::int64_t until = steady_ns() + static_cast<std::int64_t>(opt.probe_seconds) * 1'000'000'000;
  std::atomic<std::uint64_t> snapshots{0};
  std::vector<std::thread> crowd;
  for (int c = 0; c < opt.crowd; ++c) {
    crowd.emplace_back([&, c] {
      Client client;
      if (!client.connect(daemon.socket_path())) return;
      // Not parsed: a 4 MB answer parsed 50 times over would load the
      // machine more than the daemon does.
      for (int i = 0; steady_ns() < until; ++i) {
        auto line = client.call(numbered("s", c * 1'000'000 + i), "state", json::object(), 60s);
        if (!line || line->find("\"ok\":true") == std::string::npos) return;
        ++snapshots;
      }
    });
  }
  std::this_thread::sleep_for(500ms);  // the crowd is asking
  std::vector<double> restart_ms;
  std::thread restarter([&] {
    restart_ms = probe(
        daemon.socket_path(), "command.restart_child",
        [](int i) {
          return json{{"command_id", numbered("bench-restart-", i) + numbered("-", steady_ns())},
                      {"requested_by", "ipc_bench"},
                      {"reason", "state_crowd"},
                      {"target", "hb-0"}};
        },
        until);
  });
  auto health_ms = probe(daemon.socket_path(), "health", no_params, until);
  restarter.join();
  for (auto& thread : crowd) thread.join();
  out.figure("crowd_clients", opt.crowd, "count");
  out.figure("crowd_children", opt.children, "count");
  out.figure("crowd_state_answers_per_sec",
             static_cast<double>(snapshots.load()) / opt.probe_seconds, "answers/s");
  out.figure("crowd_health_p50", percentile(health_ms, 0.50), "ms");
  out.figure("crowd_health_p99", percentile(health_ms, 0.99), "ms");
  out.figure("crowd_health_max", percentile(health_ms, 1.0), "ms");
  out.figure("crowd_restart_p50", percentile(restart_ms, 0.50), "ms");
  out.figure("crowd_restart_p99", percentile(restart_ms, 0.99), "ms");
  out.figure("crowd_restart_max", percentile(restart_ms, 1.0), "ms");
  return 0;
}

// ---- driver -----------------------------------------------------------------------

// Empty to run; else the exit status (CLI11 has printed the help or the error).
std::optional<int> parse_args(int argc, char** argv, BenchOptions& opt) {
  CLI::App app("Dashboard IPC benchmarks against the real supervisor daemon", "ipc_bench");
  app.add_option("--scenario", opt.scenario, "one scenario (default: all)")
      ->check(CLI::IsMember(kScenarios));
  app.add_option("--daemon", opt.daemon, "the supervisor binary (default: this build's)");
  const std::vector<std::pair<std::string, int*>> counts = {
      {"--children", &opt.children},
      {"--state-requests", &opt.state_requests},
      {"--subscribers", &opt.subscribers},
      {"--fanout-drills", &opt.fanout_drills},
      {"--fanout-ms", &opt.fanout_period_ms},
      {"--fanout-seconds", &opt.fanout_seconds},
      {"--relay-kills", &opt.relay_kills},
      {"--probe-seconds", &opt.probe_seconds},
      {"--crowd", &opt.crowd}};
  return sup::bench::parse_command_line(app, counts, argc, argv);
}

int run_scenario(const BenchOptions& opt) {
  sup::bench::Reporter out("ipc", {{"daemon", "process"}});
  if (opt.scenario == "state") return run_state(opt, out);
  if (opt.scenario == "fanout") return run_fanout(opt, out);
  if (opt.scenario == "storm_health") return run_storm_health(opt, out);
  if (opt.scenario == "state_crowd") return run_state_crowd(opt, out);
  return run_relay_kill(opt, out);
}

}  // namespace

int main(int argc, char** argv) {
  BenchOptions opt;
  if (auto exit_status = parse_args(argc, argv, opt)) return *exit_status;
  ::signal(SIGPIPE, SIG_IGN);
  if (!std::filesystem::exists(daemon_path(opt))) {
    std::fprintf(stderr,
                 "ipc_bench: no daemon at %s (build the `supervisor` target or pass --daemon=)\n",
                 daemon_path(opt).c_str());
    return 2;
  }
  if (!opt.scenario.empty()) return run_scenario(opt);
  int failures = 0;
  for (const auto& scenario : kScenarios) {
    opt.scenario = scenario;
    if (run_scenario(opt) != 0) ++failures;
  }
  return failures == 0 ? 0 : 1;
}
