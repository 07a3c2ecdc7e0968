#include "bench_report.hpp"

#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

namespace sup::bench {

Reporter::Reporter(std::string bench, std::vector<std::pair<std::string, std::string>> context)
    : bench_(std::move(bench)), context_(std::move(context)) {}

void Reporter::figure(const std::string& metric, double value, const std::string& unit) const {
  std::ostringstream line;
  line << R"({"bench":")" << bench_ << R"(","metric":")" << metric << R"(","value":)";
  if (std::isfinite(value)) {
    line << std::fixed;
    line.precision(value == std::floor(value) ? 0 : 3);
    line << value;
  } else {
    line << "null";
  }
  line << R"(,"unit":")" << unit << '"';
  for (const auto& [key, text] : context_) line << ",\"" << key << "\":\"" << text << '"';
  line << "}\n";
  std::fputs(line.str().c_str(), stdout);
  std::fflush(stdout);
}

double percentile(std::vector<double>& samples, double q) {
  if (samples.empty()) return 0;
  std::sort(samples.begin(), samples.end());
  auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(samples.size())));
  return samples[std::clamp<std::size_t>(rank, 1, samples.size()) - 1];
}

std::int64_t resident_bytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0)
      return std::stoll(line.substr(6)) * 1024;  // "VmRSS:  1234 kB"
  }
  return -1;
}

std::int64_t heap_in_use_bytes() {
  struct mallinfo2 info = mallinfo2();
  return static_cast<std::int64_t>(info.uordblks + info.hblkhd);
}

std::map<std::string, std::int64_t> cpu_ns_by_thread_name() {
  std::map<std::string, std::int64_t> cpu;
  std::error_code error;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task", error)) {
    std::ifstream comm(task.path() / "comm");
    std::ifstream schedstat(task.path() / "schedstat");
    std::string name;
    std::int64_t on_cpu_ns = 0;
    if (std::getline(comm, name) && (schedstat >> on_cpu_ns)) cpu[name] += on_cpu_ns;
  }
  return cpu;
}

std::int64_t steady_ns() {
  using namespace std::chrono;
  return duration_cast<nanoseconds>(steady_clock::now().time_since_epoch()).count();
}

std::optional<int> parse_command_line(CLI::App& app,
                                      const std::vector<std::pair<std::string, int*>>& counts,
                                      int argc, char** argv) {
  for (const auto& [name, value] : counts)
    app.add_option(name, *value)
        ->check(CLI::Range(1, std::numeric_limits<int>::max()))
        ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error) == 0 ? 0 : 2;
  }
  return std::nullopt;
}

}  // namespace sup::bench
