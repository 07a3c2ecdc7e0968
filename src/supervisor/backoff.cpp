#include "supervisor/backoff.hpp"

#include <algorithm>
#include <cmath>

namespace sup::core {

std::uint64_t backoff_ceiling_ms(const BackoffSpec& spec, std::uint32_t attempt) {
  // initial_ms 0 stays 0 at every attempt: 0 * multiplier^n would turn into
  // 0 * inf = NaN once the power overflows (attempt ~1,025 at 2.0).
  if (attempt == 0 || spec.initial_ms == 0) return 0;
  // +inf once the power overflows; with initial_ms > 0 the product is +inf
  // too, never NaN, and saturates at max_ms below.
  double growth = std::pow(std::max(1.0, spec.multiplier), static_cast<double>(attempt - 1));
  double ceiling = spec.initial_ms * growth;
  if (!(ceiling < spec.max_ms)) return spec.max_ms;
  return static_cast<std::uint64_t>(ceiling);
}

std::uint64_t backoff_delay_ms(const BackoffSpec& spec, std::uint32_t attempt,
                               std::mt19937_64& rng) {
  std::uint64_t ceiling = backoff_ceiling_ms(spec, attempt);
  if (ceiling == 0) return 0;
  return std::uniform_int_distribution<std::uint64_t>(0, ceiling)(rng);
}

}  // namespace sup::core
