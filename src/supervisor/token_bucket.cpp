#include "supervisor/token_bucket.hpp"

#include <algorithm>
#include <cmath>

namespace sup::core {

TokenBucket::TokenBucket(const BudgetSpec& spec, std::int64_t now_ms)
    : spec_(spec), level_(spec.capacity), updated_at_ms_(now_ms) {}

double TokenBucket::level_at(std::int64_t now_ms) const {
  double elapsed_sec =
      static_cast<double>(std::max<std::int64_t>(0, now_ms - updated_at_ms_)) / 1000.0;
  return std::min(spec_.capacity, level_ + elapsed_sec * spec_.refill_per_sec);
}

bool TokenBucket::try_take(std::int64_t now_ms) {
  level_ = level_at(now_ms);
  updated_at_ms_ = now_ms;
  if (level_ < 1.0) return false;
  level_ -= 1.0;
  return true;
}

double TokenBucket::available(std::int64_t now_ms) const {
  return std::floor(level_at(now_ms));
}

void TokenBucket::refill_fully(std::int64_t now_ms) {
  level_ = spec_.capacity;
  updated_at_ms_ = now_ms;
}

}  // namespace sup::core
