// Talking to systemd (Type=notify): READY=1 once the tree is up, STATUS=
// with a one-line summary, WATCHDOG=1 while the control loop makes
// progress, STOPPING=1 when a shutdown begins. Every call is a no-op when
// NOTIFY_SOCKET is not set.
//
//   sup::daemon::SystemdNotifier notifier;
//   notifier.ready();
//   notifier.status(sup::daemon::format_status_line(health, state.children));
//   if (gate.should_ping(mono_now_ms(), health.control_loop_iterations)) notifier.watchdog();
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "sup/state.hpp"

namespace sup::daemon {

class SystemdNotifier {
 public:
  void ready() { send("READY=1"); }
  void status(std::string_view line);
  void watchdog() { send("WATCHDOG=1"); }
  void stopping() { send("STOPPING=1"); }

  // NOTIFY_SOCKET is set: worth building a STATUS= line.
  static bool enabled();

  // Half of WATCHDOG_USEC when systemd's watchdog is on for this process
  // (sd_watchdog_enabled), as sd_watchdog_enabled(3) recommends.
  static std::optional<std::chrono::milliseconds> watchdog_interval();

 private:
  static void send(const std::string& message);
};

// "ready: 5/6 running, 1 restarting, 1 quarantined, 0 failed; dashboard listening (0 clients)";
// a degraded tree names its suspects: "degraded (suspects: indexer): ...".
std::string format_status_line(const Health& health, const ChildrenSummary& children);

// Decides when to send WATCHDOG=1: once per interval, and only if the
// control loop advanced since the last ping, so a stalled loop stops the
// pings and systemd kills and restarts the daemon.
class WatchdogGate {
 public:
  explicit WatchdogGate(std::chrono::milliseconds interval) : interval_ms_(interval.count()) {}

  bool should_ping(std::int64_t now_ms, std::uint64_t control_loop_iterations);
  // True while pings are withheld because the loop did not advance.
  bool stalled() const { return stalled_; }

 private:
  std::int64_t interval_ms_;
  std::optional<std::int64_t> last_ping_ms_;
  std::optional<std::uint64_t> last_iterations_;
  bool stalled_ = false;
};

}  // namespace sup::daemon
