#include "daemon/systemd_notifier.hpp"

#include <systemd/sd-daemon.h>

#include <algorithm>
#include <cstdlib>
#include <vector>

namespace sup::daemon {
namespace {

std::string join(const std::vector<std::string>& items) {
  std::string joined;
  for (const auto& item : items) {
    if (!joined.empty()) joined += ", ";
    joined += item;
  }
  return joined;
}

}  // namespace

void SystemdNotifier::send(const std::string& message) {
  sd_notify(/*unset_environment=*/0, message.c_str());
}

bool SystemdNotifier::enabled() {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  return socket && *socket;
}

void SystemdNotifier::status(std::string_view line) {
  send("STATUS=" + std::string(line));
}

std::optional<std::chrono::milliseconds> SystemdNotifier::watchdog_interval() {
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(/*unset_environment=*/0, &usec) <= 0 || usec == 0) return std::nullopt;
  return std::chrono::milliseconds(std::max<std::uint64_t>(1, usec / 2 / 1000));
}

std::string format_status_line(const Health& health, const ChildrenSummary& children) {
  std::string line = health.status;
  if (!health.suspects.empty()) line += " (suspects: " + join(health.suspects) + ")";
  line += ": " + std::to_string(children.running) + "/" + std::to_string(children.target_count) +
          " running, " + std::to_string(children.restarting) + " restarting, " +
          std::to_string(children.quarantined) + " quarantined, " +
          std::to_string(children.failed) + " failed; dashboard " +
          std::string(to_string(health.endpoint.link)) + " (" +
          std::to_string(health.endpoint.clients) + " clients)";
  // systemd shows STATUS= on one line; keep it so even if a suspect id had a newline.
  for (char& c : line)
    if (c == '\n' || c == '\r') c = ' ';
  return line;
}

bool WatchdogGate::should_ping(std::int64_t now_ms, std::uint64_t control_loop_iterations) {
  if (last_ping_ms_ && now_ms - *last_ping_ms_ < interval_ms_) return false;
  if (last_iterations_ && control_loop_iterations <= *last_iterations_) {
    stalled_ = true;
    return false;
  }
  stalled_ = false;
  last_ping_ms_ = now_ms;
  last_iterations_ = control_loop_iterations;
  return true;
}

}  // namespace sup::daemon
