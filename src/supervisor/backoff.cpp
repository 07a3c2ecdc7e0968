#include "supervisor/backoff.hpp"

#include <algorithm>
#include <cmath>

namespace sup::core {

std::uint64_t backoff_ceiling_ms(const BackoffSpec& spec, std::uint32_t attempt) {
  if (attempt == 0) return 0;
  double ceiling = spec.initial_ms * std::pow(std::max(1.0, spec.multiplier), attempt - 1);
  return static_cast<std::uint64_t>(std::min<double>(ceiling, spec.max_ms));
}

std::uint64_t backoff_delay_ms(const BackoffSpec& spec, std::uint32_t attempt,
                               std::mt19937_64& rng) {
  std::uint64_t ceiling = backoff_ceiling_ms(spec, attempt);
  if (ceiling == 0) return 0;
  return std::uniform_int_distribution<std::uint64_t>(0, ceiling)(rng);
}

}  // namespace sup::core
