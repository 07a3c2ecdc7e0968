// A token bucket: `rate` tokens per second, at most `burst` banked. The
// relay gives each client one to bound its request rate.
//
//   sup::relay::TokenBucket bucket(200, 200);
//   if (!bucket.try_take(std::chrono::steady_clock::now())) reply_rate_limited();
#pragma once

#include <algorithm>
#include <chrono>

namespace sup::relay {

class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;

  TokenBucket(double rate, double burst) : rate_(rate), burst_(burst), tokens_(burst) {}

  bool try_take(Clock::time_point now) {
    if (last_ != Clock::time_point{}) {
      double elapsed = std::chrono::duration<double>(now - last_).count();
      tokens_ = std::min(burst_, tokens_ + std::max(0.0, elapsed) * rate_);
    }
    last_ = now;
    if (tokens_ < 1.0) return false;
    tokens_ -= 1.0;
    return true;
  }

 private:
  double rate_;
  double burst_;
  double tokens_;
  Clock::time_point last_{};
};

}  // namespace sup::relay
