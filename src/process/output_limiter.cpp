#include "process/output_limiter.hpp"

#include <utility>

namespace sup::process {

OutputLimiter::OutputLimiter(const sup::OutputRateLimit& limit, std::int64_t now_ms)
    : unlimited_(limit.lines_per_sec == 0),
      bucket_({.capacity = static_cast<double>(limit.burst_lines),
               .refill_per_sec = static_cast<double>(limit.lines_per_sec)},
              now_ms) {}

bool OutputLimiter::admit(std::int64_t now_ms) {
  if (unlimited_ || bucket_.try_take(now_ms)) return true;
  if (unreported_++ == 0) first_unreported_ms_ = now_ms;
  return false;
}

std::optional<std::int64_t> OutputLimiter::report_due_at() const {
  if (unreported_ == 0) return std::nullopt;
  return first_unreported_ms_ + kReportIntervalMs;
}

std::optional<std::uint64_t> OutputLimiter::take_due_report(std::int64_t now_ms) {
  const auto due = report_due_at();
  if (!due || now_ms < *due) return std::nullopt;
  return std::exchange(unreported_, 0);
}

std::uint64_t OutputLimiter::take_final_report() {
  return std::exchange(unreported_, 0);
}

}  // namespace sup::process
