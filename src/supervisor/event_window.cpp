#include "supervisor/event_window.hpp"

#include <algorithm>

namespace sup::core {

EventWindow::EventWindow(std::uint32_t limit, std::uint32_t window_ms)
    : limit_(limit), window_ms_(window_ms) {}

bool EventWindow::record(std::int64_t now_ms) {
  if (limit_ == 0) return false;
  while (size_ > 0 && !inside(at(0), now_ms)) {
    head_ = (head_ + 1) % ring_.size();
    --size_;
  }
  if (size_ == limit_) {  // keep the last `limit_` only
    head_ = (head_ + 1) % ring_.size();
    --size_;
  }
  if (size_ == ring_.size()) grow();
  ring_[(head_ + size_) % ring_.size()] = now_ms;
  ++size_;
  return size_ >= limit_;
}

void EventWindow::grow() {
  std::size_t capacity = std::min<std::size_t>(limit_, std::max<std::size_t>(4, ring_.size() * 2));
  std::vector<std::int64_t> larger(capacity);
  for (std::size_t i = 0; i < size_; ++i) larger[i] = at(i);
  ring_ = std::move(larger);
  head_ = 0;
}

std::uint32_t EventWindow::count(std::int64_t now_ms) const {
  // Times are ascending, so the ones inside the window are a suffix.
  std::size_t low = 0;
  std::size_t high = size_;
  while (low < high) {
    std::size_t mid = low + (high - low) / 2;
    if (inside(at(mid), now_ms)) {
      high = mid;
    } else {
      low = mid + 1;
    }
  }
  return static_cast<std::uint32_t>(size_ - low);
}

}  // namespace sup::core
