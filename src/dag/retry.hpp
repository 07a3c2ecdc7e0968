// Retry of a failed node attempt: exponential backoff with full jitter,
// capped, with risk-adaptive defaults. Pure: the random input is a number
// the caller draws, so delays are reproducible in tests.
//
//   RetryPolicy policy = default_retry_policy(Risk::High);
//   RetryDecision d = decide_retry(policy, /*failed_attempt=*/1, outcome, rng_uniform());
//   if (d.retry) schedule_after(d.delay_ms);
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dag/risk.hpp"

namespace sup::dag {

struct RetryPolicy {
  // Attempts in all, the first one included (1: never retried).
  std::uint32_t max_attempts = 1;
  // Ceiling of the delay after the first failure; grows by `multiplier` per
  // further failure up to `max_ms`.
  std::uint32_t initial_ms = 0;
  std::uint32_t max_ms = 0;
  double multiplier = 2.0;
  // Process exit statuses that mean "retrying cannot help": fail at once.
  std::vector<int> non_retryable_exit_codes;
};

// The defaults per risk (docs/dag.md, "Retry"): riskier nodes retry fewer
// times and wait longer, so a failing critical step is neither hammered nor
// retried into an outage.
RetryPolicy default_retry_policy(Risk risk);

// Ceiling of the backoff after `failed_attempt` (1-based) failed:
// min(max_ms, initial_ms * multiplier^(failed_attempt - 1)), saturating
// (no overflow, NaN or infinity for any attempt number).
std::uint64_t backoff_ceiling_ms(const RetryPolicy& policy, std::uint64_t failed_attempt);

// Full jitter: `uniform` in [0, 1) scales the ceiling (values outside are
// clamped into it), so the delay is in [0, ceiling).
std::uint64_t backoff_delay_ms(const RetryPolicy& policy, std::uint64_t failed_attempt,
                               double uniform);

// How one attempt ended, as far as retrying cares.
struct AttemptOutcome {
  enum class Kind : std::uint8_t {
    Succeeded,
    Exited,     // a process exited with a non-zero status (exit_code)
    Signaled,   // a process died of a signal
    TimedOut,   // timeout_ms passed (the engine killed it)
    Panicked,   // an in-process task threw
    Cancelled,  // the execution was cancelled: never retried
  };
  Kind kind = Kind::Succeeded;
  int exit_code = 0;
};

struct RetryDecision {
  bool retry = false;
  std::uint64_t delay_ms = 0;
  // Why not, when not: "non-retryable exit code 2", "3 of 3 attempts failed".
  std::string reason;
};

// What to do after attempt `failed_attempt` (1-based) ended with `outcome`
// (not Succeeded): retry after a jittered delay, or fail the node now.
RetryDecision decide_retry(const RetryPolicy& policy, std::uint64_t failed_attempt,
                           const AttemptOutcome& outcome, double uniform);

}  // namespace sup::dag
