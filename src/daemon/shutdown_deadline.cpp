#include "daemon/shutdown_deadline.hpp"

namespace sup::daemon {

ShutdownDeadline::ShutdownDeadline(std::chrono::milliseconds bound, OnExpired on_expired) {
  auto deadline = std::chrono::steady_clock::now() + bound;
  watcher_ = std::thread([this, deadline, on_expired = std::move(on_expired)] {
    std::unique_lock lock(mutex_);
    if (changed_.wait_until(lock, deadline, [this] { return finished_; })) return;
    ShutdownPhase stuck_in = phase_;
    lock.unlock();
    on_expired(stuck_in);
  });
}

ShutdownDeadline::~ShutdownDeadline() {
  finish();
}

void ShutdownDeadline::enter(ShutdownPhase phase) {
  std::lock_guard lock(mutex_);
  phase_ = phase;
}

void ShutdownDeadline::finish() {
  {
    std::lock_guard lock(mutex_);
    finished_ = true;
  }
  changed_.notify_all();
  if (watcher_.joinable()) watcher_.join();
}

}  // namespace sup::daemon
