// The per-child limit on output lines passed on to the log: a token bucket
// of lines (OutputRateLimit::lines_per_sec, burst OutputRateLimit::burst_lines)
// per child incarnation, stdout and stderr together. Each child has its own
// bucket, so a child flooding its output uses up only its own share and the
// lines of the others still come through. Dropped lines are counted and
// reported at most once per kReportIntervalMs ("dropped N lines"), and what
// is left unreported when the output ends.
//
// Time is passed in (monotonic ms): a plain value, tested without clocks.
//
//   OutputLimiter limiter(limit, now_ms);
//   if (limiter.admit(now_ms)) deliver(line);
//   ...at limiter.report_due_at():
//   if (auto dropped = limiter.take_due_report(now_ms)) log("dropped N lines");
#pragma once

#include <cstdint>
#include <optional>

#include "sup/child_spec.hpp"
#include "supervisor/token_bucket.hpp"

namespace sup::process {

class OutputLimiter {
 public:
  static constexpr std::int64_t kReportIntervalMs = 1000;

  OutputLimiter(const sup::OutputRateLimit& limit, std::int64_t now_ms);

  // True: pass the line on. False: it is dropped (and counted).
  bool admit(std::int64_t now_ms);

  // When the drops not reported yet are due to be reported (the first of
  // them plus kReportIntervalMs); nullopt when there are none.
  std::optional<std::int64_t> report_due_at() const;
  // The drops not reported yet, if their report is due at `now_ms`.
  std::optional<std::uint64_t> take_due_report(std::int64_t now_ms);
  // At the end of the output: every drop not reported yet (0 if none).
  std::uint64_t take_final_report();

 private:
  bool unlimited_;
  sup::core::TokenBucket bucket_;
  std::uint64_t unreported_ = 0;
  std::int64_t first_unreported_ms_ = 0;
};

}  // namespace sup::process
