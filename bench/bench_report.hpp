// What every benchmark shares: one JSON object per figure on stdout, latency
// percentiles, the process's resident memory, and a steady clock in ns.
//
//   sup::bench::Reporter out("supervision", {{"log_sink", "null"}});
//   out.figure("restart_latency_p50", sup::bench::percentile(samples_us, 0.50), "us");
//   //
//   {"bench":"supervision","metric":"restart_latency_p50","value":8.1,"unit":"us","log_sink":"null"}
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sup::bench {

class Reporter {
 public:
  // `context`: extra string fields appended to every line (e.g. the log sink).
  Reporter(std::string bench, std::vector<std::pair<std::string, std::string>> context = {});

  void figure(const std::string& metric, double value, const std::string& unit) const;

 private:
  std::string bench_;
  std::vector<std::pair<std::string, std::string>> context_;
};

// Nearest-rank percentile (q in [0, 1]) of `samples`; sorts them. 0 when empty.
double percentile(std::vector<double>& samples, double q);

// VmRSS of this process in bytes, from /proc/self/status.
std::int64_t resident_bytes();

// Bytes of heap in use (glibc mallinfo2: arena and mmapped chunks).
std::int64_t heap_in_use_bytes();

// CPU time (ns, from /proc/self/task/*/schedstat) spent by this process's
// threads, summed by thread name ("caf.actor", "caf.multiplexer", ...).
std::map<std::string, std::int64_t> cpu_ns_by_thread_name();

// Adds `counts` to `app` as positive-integer options (--name=N) and parses
// the command line. Empty to run; else the exit status (0 after --help, 2
// after a usage error), CLI11 having printed the help or the error.
std::optional<int> parse_command_line(CLI::App& app,
                                      const std::vector<std::pair<std::string, int*>>& counts,
                                      int argc, char** argv);

// steady_clock nanoseconds: comparable across threads and with other
// processes' CLOCK_MONOTONIC.
std::int64_t steady_ns();

}  // namespace sup::bench
