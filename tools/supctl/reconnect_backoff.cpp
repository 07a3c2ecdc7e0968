#include "supctl/reconnect_backoff.hpp"

#include <algorithm>

namespace sup::cli {

std::chrono::milliseconds ReconnectBackoff::next() {
  const std::chrono::milliseconds current = delay_;
  delay_ = std::min(delay_ * 2, kCap);
  ++attempts_;
  return current;
}

void ReconnectBackoff::reset() {
  delay_ = kInitial;
  attempts_ = 0;
}

}  // namespace sup::cli
