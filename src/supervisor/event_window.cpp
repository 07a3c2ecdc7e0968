#include "supervisor/event_window.hpp"

#include <algorithm>

namespace sup::core {

EventWindow::EventWindow(std::uint32_t limit, std::uint32_t window_ms)
    : limit_(limit), window_ms_(window_ms) {}

bool EventWindow::record(std::int64_t now_ms) {
  if (limit_ == 0) return false;
  if (ring_.size() < limit_) {
    ring_.push_back(now_ms);
  } else {
    ring_[next_] = now_ms;
    next_ = (next_ + 1) % limit_;
  }
  return count(now_ms) >= limit_;
}

std::uint32_t EventWindow::count(std::int64_t now_ms) const {
  auto inside = std::count_if(ring_.begin(), ring_.end(),
                              [&](std::int64_t at) { return now_ms - at < window_ms_; });
  return static_cast<std::uint32_t>(inside);
}

}  // namespace sup::core
