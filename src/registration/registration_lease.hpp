// When to (re-)register with the relay, and what to report: the lease and
// renewal state machine of the daemon's registration, with no I/O and no
// clock (every call takes the time).
//
// - The first attempt is due at once. An acknowledged registration holds
//   for lease_seconds; the next attempt (the renewal) is due one heartbeat
//   later, well before the lease runs out.
// - A failed attempt (no socket, refused, timed out, a refusal or a bad
//   ack) is retried after a full-jitter backoff (core::backoff_delay_ms)
//   starting at kInitialRetryMs and capped at one heartbeat, so a relay
//   that comes back is found again within a heartbeat.
// - Failures are never fatal; the shell logs the first of a streak and
//   then the 2nd, 4th, 8th, ... (`should_log`), and the recovery.
//
//   RegistrationLease lease(settings, relay_path);
//   lease.start(now_ms);
//   if (now_ms >= lease.next_attempt_at_ms()) {
//     Step step = ack ? lease.acknowledged(now_ms, now_unix_ms, *ack)
//                     : lease.failed(now_ms, "connect: No such file or directory");
//   }
//   RegistrationStatus status = lease.status();  // for health and state
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>

#include "registration/registration_protocol.hpp"

namespace sup::registration {

inline constexpr std::uint32_t kInitialRetryMs = 100;
// An exchange (connect, request, ack) longer than this has failed.
inline constexpr std::uint32_t kMaxAttemptMs = 5000;

enum class State : std::uint8_t { Disabled, Registering, Registered, Failed };
std::string_view to_string(State state);  // "disabled", "registering", "registered", "failed"

struct LeaseSettings {
  std::string target_id;  // the ack must name it (when it names one)
  std::uint32_t lease_seconds = 30;
  std::uint32_t heartbeat_ms = 10'000;  // < lease_seconds * 1000 (the config checks)
  std::uint64_t jitter_seed = 0;
};

// How long one exchange may take: at most kMaxAttemptMs, and short enough
// that a renewal started at the heartbeat ends before the lease does.
std::uint32_t attempt_timeout_ms(const LeaseSettings& settings);

// What health and state report as `dashboard_registration` (its wire form
// is wire::Registration, mapped in ipc/encoding).
struct RegistrationStatus {
  State state = State::Disabled;
  std::string relay_path;
  std::string last_error;  // of the latest failed attempt; cleared by an ack
  std::optional<std::int64_t> lease_expires_at_unix_ms;  // of the latest ack
  std::uint32_t consecutive_failures = 0;
  std::uint64_t registrations = 0;  // acknowledged attempts (the first and every renewal)
};

// What an attempt's end means for the log.
struct Step {
  enum Kind : std::uint8_t { Registered, Renewed, Recovered, Failed } kind;
  bool should_log = true;       // Failed: the 1st, 2nd, 4th, ... of a streak
  std::int64_t next_in_ms = 0;  // until the next attempt
  std::uint32_t failures = 0;   // Failed: the streak so far; Recovered: the streak ended
};

class RegistrationLease {
 public:
  RegistrationLease(LeaseSettings settings, std::string relay_path);

  std::int64_t next_attempt_at_ms() const { return next_attempt_at_ms_; }
  // The first attempt is due at `now_ms`.
  void start(std::int64_t now_ms) { next_attempt_at_ms_ = now_ms; }

  // The relay answered with an ack (ok or a refusal).
  Step acknowledged(std::int64_t now_ms, std::int64_t now_unix_ms, const Ack& ack);
  // The exchange failed before an ack: `why` becomes last_error.
  Step failed(std::int64_t now_ms, std::string why);

  const RegistrationStatus& status() const { return status_; }

 private:
  LeaseSettings settings_;
  RegistrationStatus status_;
  std::int64_t next_attempt_at_ms_ = 0;
  std::mt19937_64 rng_;
};

}  // namespace sup::registration
