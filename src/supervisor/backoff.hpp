// Exponential backoff with full jitter (the AWS "full jitter" scheme).
//
// The n-th consecutive restart (attempt n >= 1) waits a uniformly random
// delay in [0, min(max_ms, initial_ms * multiplier^(n-1))]: the ceiling grows
// exponentially while the randomness spreads a thundering herd of children
// that crashed together.
//
//   std::mt19937_64 rng(seed);
//   std::uint64_t delay = backoff_delay_ms(spec.backoff, attempt, rng);
#pragma once

#include <cstdint>
#include <random>

#include "sup/child_spec.hpp"

namespace sup::core {

// The ceiling of the jitter range for `attempt` (>= 1): saturating, at most
// max_ms for any attempt (10^6 included), 0 whenever initial_ms is 0.
std::uint64_t backoff_ceiling_ms(const BackoffSpec& spec, std::uint32_t attempt);

std::uint64_t backoff_delay_ms(const BackoffSpec& spec, std::uint32_t attempt,
                               std::mt19937_64& rng);

}  // namespace sup::core
