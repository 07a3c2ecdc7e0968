// Bounds a planned shutdown: if it has not finished when the bound expires,
// `on_expired` runs (in the daemon: log which phase hung, then exit 70)
// instead of hanging until systemd's SIGKILL, which would leave no word of
// what was stuck.
//
//   sup::daemon::ShutdownDeadline deadline(std::chrono::milliseconds(30'000), report_and_exit);
//   runtime->shutdown([&](sup::ShutdownPhase phase) { deadline.enter(phase); ... });
//   deadline.finish();
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "sup/state.hpp"

namespace sup::daemon {

class ShutdownDeadline {
 public:
  // Called on the deadline's own thread with the phase that was current.
  using OnExpired = std::function<void(ShutdownPhase)>;

  ShutdownDeadline(std::chrono::milliseconds bound, OnExpired on_expired);
  ~ShutdownDeadline();  // finish()
  ShutdownDeadline(const ShutdownDeadline&) = delete;
  ShutdownDeadline& operator=(const ShutdownDeadline&) = delete;

  void enter(ShutdownPhase phase);
  // The shutdown is over; `on_expired` will not run (if it has not yet).
  void finish();

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  ShutdownPhase phase_ = ShutdownPhase::Draining;
  bool finished_ = false;
  std::thread watcher_;
};

}  // namespace sup::daemon
