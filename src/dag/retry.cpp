#include "dag/retry.hpp"

#include <algorithm>
#include <cmath>

namespace sup::dag {

RetryPolicy default_retry_policy(Risk risk) {
  // The table in docs/dag.md ("Retry"); change both together.
  switch (risk) {
    case Risk::Low:
      return {.max_attempts = 5,
              .initial_ms = 100,
              .max_ms = 10'000,
              .multiplier = 2.0,
              .non_retryable_exit_codes = {}};
    case Risk::Medium:
      return {.max_attempts = 4,
              .initial_ms = 200,
              .max_ms = 30'000,
              .multiplier = 2.0,
              .non_retryable_exit_codes = {}};
    case Risk::High:
      return {.max_attempts = 3,
              .initial_ms = 1'000,
              .max_ms = 60'000,
              .multiplier = 2.0,
              .non_retryable_exit_codes = {}};
    case Risk::Critical:
      return {.max_attempts = 2,
              .initial_ms = 5'000,
              .max_ms = 300'000,
              .multiplier = 3.0,
              .non_retryable_exit_codes = {}};
  }
  return {};
}

std::uint64_t backoff_ceiling_ms(const RetryPolicy& policy, std::uint64_t failed_attempt) {
  const double cap = policy.max_ms;
  const double initial = std::min<double>(policy.initial_ms, cap);
  if (initial <= 0 || failed_attempt <= 1) return static_cast<std::uint64_t>(initial);
  // Compare exponents, not products: multiplier^(n-1) overflows to infinity
  // long before attempt 10^6, and a multiplier below 1 (not accepted by the
  // parser) is treated as 1.
  const double multiplier =
      std::isfinite(policy.multiplier) ? std::max(policy.multiplier, 1.0) : 1.0;
  const double exponent = static_cast<double>(failed_attempt - 1);
  if (multiplier == 1.0) return static_cast<std::uint64_t>(initial);
  if (exponent * std::log(multiplier) >= std::log(cap / initial))
    return static_cast<std::uint64_t>(cap);
  return static_cast<std::uint64_t>(std::min(cap, initial * std::pow(multiplier, exponent)));
}

std::uint64_t backoff_delay_ms(const RetryPolicy& policy, std::uint64_t failed_attempt,
                               double uniform) {
  // !(x >= 0) also catches NaN.
  if (!(uniform >= 0.0)) uniform = 0.0;
  if (uniform >= 1.0) uniform = std::nextafter(1.0, 0.0);
  const auto ceiling = backoff_ceiling_ms(policy, failed_attempt);
  const auto delay = static_cast<std::uint64_t>(uniform * static_cast<double>(ceiling));
  return ceiling == 0 ? 0 : std::min(delay, ceiling - 1);
}

RetryDecision decide_retry(const RetryPolicy& policy, std::uint64_t failed_attempt,
                           const AttemptOutcome& outcome, double uniform) {
  using Kind = AttemptOutcome::Kind;
  if (outcome.kind == Kind::Succeeded)
    return {.retry = false, .delay_ms = 0, .reason = "succeeded"};
  if (outcome.kind == Kind::Cancelled)
    return {.retry = false, .delay_ms = 0, .reason = "cancelled: never retried"};
  if (outcome.kind == Kind::Exited &&
      std::find(policy.non_retryable_exit_codes.begin(), policy.non_retryable_exit_codes.end(),
                outcome.exit_code) != policy.non_retryable_exit_codes.end())
    return {.retry = false,
            .delay_ms = 0,
            .reason = "non-retryable exit code " + std::to_string(outcome.exit_code)};
  if (failed_attempt >= policy.max_attempts)
    return {.retry = false,
            .delay_ms = 0,
            .reason = std::to_string(failed_attempt) + " of " +
                      std::to_string(policy.max_attempts) + " attempts failed"};
  return {
      .retry = true, .delay_ms = backoff_delay_ms(policy, failed_attempt, uniform), .reason = {}};
}

}  // namespace sup::dag
