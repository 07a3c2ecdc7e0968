// A token bucket: the per-child restart budget.
//
// Tokens refill continuously at `refill_per_sec` up to `capacity`; a restart
// needs one whole token. Time is passed in (monotonic ms) so the bucket is a
// plain value, testable without clocks.
//
//   TokenBucket budget({.capacity = 3, .refill_per_sec = 0.1}, now_ms);
//   if (!budget.try_take(now_ms)) quarantine();
#pragma once

#include <cstdint>

#include "sup/child_spec.hpp"

namespace sup::core {

class TokenBucket {
 public:
  TokenBucket(const BudgetSpec& spec, std::int64_t now_ms);

  // Spends one token if a whole one is available.
  bool try_take(std::int64_t now_ms);
  // Whole tokens available now: what a restart can spend.
  double available(std::int64_t now_ms) const;
  void refill_fully(std::int64_t now_ms);
  const BudgetSpec& spec() const { return spec_; }

 private:
  double level_at(std::int64_t now_ms) const;

  BudgetSpec spec_;
  double level_;
  std::int64_t updated_at_ms_;
};

}  // namespace sup::core
