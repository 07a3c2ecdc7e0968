#include "registration/registration_lease.hpp"

#include <algorithm>
#include <bit>

#include "supervisor/backoff.hpp"

namespace sup::registration {
namespace {

// Full jitter may draw 0: never retry in a tight loop.
constexpr std::uint64_t kMinRetryMs = 10;

BackoffSpec retry_backoff(const LeaseSettings& settings) {
  BackoffSpec spec;
  spec.initial_ms = std::min(kInitialRetryMs, settings.heartbeat_ms);
  spec.max_ms = settings.heartbeat_ms;
  spec.multiplier = 2.0;
  return spec;
}

}  // namespace

std::string_view to_string(State state) {
  switch (state) {
    case State::Disabled:
      return "disabled";
    case State::Registering:
      return "registering";
    case State::Registered:
      return "registered";
    case State::Failed:
      return "failed";
  }
  return "unknown";
}

std::uint32_t attempt_timeout_ms(const LeaseSettings& settings) {
  std::uint64_t lease_ms = std::uint64_t{settings.lease_seconds} * 1000;
  std::uint64_t margin = lease_ms > settings.heartbeat_ms ? lease_ms - settings.heartbeat_ms : 1;
  return static_cast<std::uint32_t>(std::min<std::uint64_t>(kMaxAttemptMs, margin));
}

RegistrationLease::RegistrationLease(LeaseSettings settings, std::string relay_path)
    : settings_(std::move(settings)), rng_(settings_.jitter_seed) {
  status_.state = State::Registering;
  status_.relay_path = std::move(relay_path);
}

Step RegistrationLease::acknowledged(std::int64_t now_ms, std::int64_t now_unix_ms,
                                     const Ack& ack) {
  if (!ack.ok) {
    std::string why = "the relay refused the registration";
    if (!ack.error_code.empty()) why += ": " + ack.error_code;
    if (!ack.error_message.empty()) why += ": " + ack.error_message;
    if (!ack.retryable) why += " (not retryable)";
    return failed(now_ms, std::move(why));
  }
  if (!ack.target_id.empty() && ack.target_id != settings_.target_id)
    return failed(now_ms, "the relay acknowledged target \"" + ack.target_id + "\", not \"" +
                              settings_.target_id + "\"");

  Step step{Step::Renewed};
  if (status_.consecutive_failures > 0)
    step = {Step::Recovered, true, 0, status_.consecutive_failures};
  else if (status_.registrations == 0)
    step.kind = Step::Registered;
  step.next_in_ms = settings_.heartbeat_ms;

  status_.state = State::Registered;
  status_.last_error.clear();
  status_.consecutive_failures = 0;
  status_.lease_expires_at_unix_ms =
      now_unix_ms + static_cast<std::int64_t>(settings_.lease_seconds) * 1000;
  ++status_.registrations;
  next_attempt_at_ms_ = now_ms + step.next_in_ms;
  return step;
}

Step RegistrationLease::failed(std::int64_t now_ms, std::string why) {
  std::uint32_t failures = status_.consecutive_failures + 1;
  bool changed = why != status_.last_error;
  std::uint64_t delay =
      std::max(kMinRetryMs, core::backoff_delay_ms(retry_backoff(settings_), failures, rng_));

  status_.state = State::Failed;
  status_.last_error = std::move(why);
  status_.consecutive_failures = failures;
  next_attempt_at_ms_ = now_ms + static_cast<std::int64_t>(delay);
  return {Step::Failed, changed || std::has_single_bit(failures), static_cast<std::int64_t>(delay),
          failures};
}

}  // namespace sup::registration
