// Logs a recurring problem at most once per interval, with a count of the
// occurrences in between, so a client misbehaving in a loop (reconnecting
// with 10 MiB lines, say) cannot flood the journal. One per problem kind.
//
//   sup::relay::ThrottledLog rejected(std::chrono::seconds(1));
//   rejected.log(sup::LogLevel::Warn, "dashboard client refused: too many clients", {});
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sup/log.hpp"

namespace sup::relay {

class ThrottledLog {
 public:
  using Clock = std::chrono::steady_clock;

  explicit ThrottledLog(Clock::duration interval) : interval_(interval) {}

  void log(LogLevel level, std::string_view message, std::vector<LogField> fields) {
    auto now = Clock::now();
    if (last_ != Clock::time_point{} && now - last_ < interval_) {
      ++suppressed_;
      return;
    }
    if (suppressed_ > 0) fields.push_back({"SUPPRESSED", std::to_string(suppressed_)});
    last_ = now;
    suppressed_ = 0;
    sup::log(level, message, std::span<const LogField>(fields));
  }

 private:
  Clock::duration interval_;
  Clock::time_point last_{};
  std::uint64_t suppressed_ = 0;
};

}  // namespace sup::relay
