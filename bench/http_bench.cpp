// The HTTP API and the metrics of the real `supervisor` daemon under load
// (docs/benchmarks.md): the daemon runs as a separate process with a
// generated config (HTTP on free loopback ports); this program is the
// loopback client. One JSON object per figure per line.
//
//   http_bench                                  # 10,000 restarting children
//   http_bench --children=1000 --seconds=5 --rate=1000
//
// While --children drill children crash every --crash-ms and restart, it
// sends GET /health/ready at --rate requests per second (a new connection
// each, as a load balancer's probe does) for --seconds and reports the
// latency percentiles; then it scrapes GET /metrics --scrapes times and
// reports the scrape time and size. The machine's load average is printed
// with the figures.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "bench_report.hpp"
#include "http_client.hpp"

using namespace std::chrono_literals;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  std::string daemon;
  int children = 10'000;
  int crash_ms = 2'000;
  int rate = 1'000;
  int seconds = 10;
  int scrapes = 30;
};

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "http_bench: %s\n", message.c_str());
  std::exit(1);
}

std::string daemon_path(const Options& opt) {
  if (!opt.daemon.empty()) return opt.daemon;
  std::error_code error;
  auto self = std::filesystem::read_symlink("/proc/self/exe", error);
  return (self.parent_path().parent_path() / "src" / "daemon" / "supervisor").string();
}

// The daemon under test, in a directory of its own, logging JSON to a file.
class Daemon {
 public:
  Daemon(const std::string& binary, json config) {
    char dir_template[] = "/tmp/sup-http-bench.XXXXXX";
    if (::mkdtemp(dir_template) == nullptr) die("mkdtemp failed");
    dir_ = dir_template;
    config["dashboard"]["path"] = dir_ + "/supervisor.sock";
    config["state_dir"] = dir_;
    std::ofstream(dir_ + "/config.json") << config.dump(1);
    pid_ = ::fork();
    if (pid_ < 0) die("fork failed");
    if (pid_ == 0) {
      int log = ::open((dir_ + "/daemon.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (log >= 0) {
        ::dup2(log, STDOUT_FILENO);
        ::dup2(log, STDERR_FILENO);
      }
      ::unsetenv("NOTIFY_SOCKET");
      std::string path = dir_ + "/config.json";
      ::execl(binary.c_str(), "supervisor", "--config", path.c_str(), static_cast<char*>(nullptr));
      std::_Exit(127);
    }
  }
  ~Daemon() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    auto deadline = Clock::now() + 120s;
    int status = 0;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (Clock::now() > deadline) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(10ms);
    }
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  // The API port from the `http listening` line.
  std::uint16_t wait_http_port(std::chrono::seconds limit) {
    auto deadline = Clock::now() + limit;
    while (Clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        die("the daemon exited early; its log: " + dir_ + "/daemon.log");
      }
      std::ifstream log(dir_ + "/daemon.log");
      for (std::string line; std::getline(log, line);) {
        json record = json::parse(line, nullptr, false);
        if (record.is_object() && record.value("msg", "") == "http listening")
          return static_cast<std::uint16_t>(std::stoul(record.value("HTTP_PORT", "0")));
      }
      std::this_thread::sleep_for(20ms);
    }
    die("no `http listening` line in time");
  }

 private:
  std::string dir_;
  pid_t pid_ = -1;
};

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

double load_average() {
  double load[1] = {0};
  return ::getloadavg(load, 1) == 1 ? load[0] : -1;
}

// The sum of a family's samples in an exposition text (no labels parsed).
double sum_of(const std::string& text, const std::string& name) {
  double sum = 0;
  std::size_t at = 0;
  while ((at = text.find("\n" + name, at)) != std::string::npos) {
    std::size_t end = text.find('\n', at + 1);
    std::string line = text.substr(at + 1, end - at - 1);
    if (line.size() > name.size() && (line[name.size()] == '{' || line[name.size()] == ' '))
      sum += std::strtod(line.c_str() + line.rfind(' ') + 1, nullptr);
    at = end == std::string::npos ? text.size() : end;
  }
  return sum;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  CLI::App app{"http_bench: /health/ready and /metrics of the real daemon under restarts"};
  app.add_option("--daemon", opt.daemon, "the supervisor binary");
  if (auto exit_status = sup::bench::parse_command_line(app,
                                                        {{"children", &opt.children},
                                                         {"crash-ms", &opt.crash_ms},
                                                         {"rate", &opt.rate},
                                                         {"seconds", &opt.seconds},
                                                         {"scrapes", &opt.scrapes}},
                                                        argc, argv))
    return *exit_status;
  ::signal(SIGPIPE, SIG_IGN);

  json config = {{"intensity", 1'000'000},
                 {"period_ms", 1'000},
                 {"log", {{"level", "info"}, {"format", "json"}}},
                 {"http", {{"listen", "127.0.0.1:0"}, {"admin_listen", "127.0.0.1:0"}}},
                 {"metrics", {{"listen", "127.0.0.1:0"}}},
                 {"children", json::array()}};
  for (int i = 0; i < opt.children; ++i) {
    config["children"].push_back({{"id", "c" + std::to_string(i)},
                                  {"kind", "drill"},
                                  {"drill", {{"kind", "crash_after"}, {"ms", opt.crash_ms}}},
                                  {"budget", {{"capacity", 1'000'000}, {"refill_per_sec", 1'000}}},
                                  {"crash_loop", {{"max_failures", 0}}},
                                  {"backoff", {{"initial_ms", 10}, {"max_ms", 100}}}});
  }
  Daemon daemon(daemon_path(opt), config);
  std::uint16_t port = daemon.wait_http_port(120s);

  auto ready_deadline = Clock::now() + 300s;
  while (sup::it::http_get(port, "/health/ready").status != 200) {
    if (Clock::now() > ready_deadline) die("/health/ready never answered 200");
    std::this_thread::sleep_for(100ms);
  }
  sup::bench::Reporter out("http", {{"children", std::to_string(opt.children)},
                                    {"crash_ms", std::to_string(opt.crash_ms)}});
  std::string before = sup::it::http_get(port, "/metrics").body;

  // ---- /health/ready at --rate while the children restart ----
  std::vector<double> latencies;
  int failures = 0;
  int late = 0;
  const auto period = std::chrono::nanoseconds(1'000'000'000LL / opt.rate);
  const auto start = Clock::now();
  const long total = static_cast<long>(opt.rate) * opt.seconds;
  double load_during = 0;
  for (long i = 0; i < total; ++i) {
    auto due = start + i * period;
    if (Clock::now() > due + period) ++late;  // the client itself fell behind
    std::this_thread::sleep_until(due);
    auto sent = Clock::now();
    sup::it::HttpReply reply = sup::it::http_get(port, "/health/ready");
    latencies.push_back(ms_since(sent));
    if (reply.status != 200) ++failures;
    if (i == total / 2) load_during = load_average();
  }
  double elapsed_s = std::chrono::duration<double>(Clock::now() - start).count();
  std::string after = sup::it::http_get(port, "/metrics").body;
  double restarts = sum_of(after, "supervisor_child_restarts_total") -
                    sum_of(before, "supervisor_child_restarts_total");
  out.figure("ready_requests", static_cast<double>(latencies.size()), "requests");
  out.figure("ready_rate_achieved", static_cast<double>(latencies.size()) / elapsed_s, "req/s");
  out.figure("ready_p50", sup::bench::percentile(latencies, 0.50), "ms");
  out.figure("ready_p99", sup::bench::percentile(latencies, 0.99), "ms");
  out.figure("ready_max", sup::bench::percentile(latencies, 1.0), "ms");
  out.figure("ready_not_200", failures, "requests");
  out.figure("ready_client_late", late, "requests");
  out.figure("restarts_during", restarts, "restarts");
  out.figure("restarts_per_second", restarts / elapsed_s, "restarts/s");
  out.figure("load_average_1m", load_during, "load");

  // ---- /metrics scrape with --children children ----
  std::vector<double> scrapes;
  std::size_t bytes = 0;
  for (int i = 0; i < opt.scrapes; ++i) {
    auto sent = Clock::now();
    sup::it::HttpReply reply = sup::it::http_get(port, "/metrics");
    scrapes.push_back(ms_since(sent));
    if (reply.status != 200) die("/metrics answered " + std::to_string(reply.status));
    bytes = reply.body.size();
  }
  out.figure("metrics_scrape_p50", sup::bench::percentile(scrapes, 0.50), "ms");
  out.figure("metrics_scrape_p99", sup::bench::percentile(scrapes, 0.99), "ms");
  out.figure("metrics_bytes", static_cast<double>(bytes), "bytes");
  out.figure("load_average_1m_after", load_average(), "load");
  return 0;
}
