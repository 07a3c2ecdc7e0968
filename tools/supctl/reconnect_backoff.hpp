// Delays between reconnection attempts: 100 ms, doubling, capped at 2 s.
//
// Deterministic on purpose: an operator reads "next in 400 ms" on the
// dashboard and should see it happen; a host has a handful of dashboards, not
// a herd that jitter would need to spread.
//
//   ReconnectBackoff backoff;
//   while (!try_connect()) sleep_for(backoff.next());
//   backoff.reset();
#pragma once

#include <chrono>

namespace sup::cli {

class ReconnectBackoff {
 public:
  static constexpr std::chrono::milliseconds kInitial{100};
  static constexpr std::chrono::milliseconds kCap{2000};

  // The delay before the next attempt; each call doubles it up to the cap.
  std::chrono::milliseconds next();
  // Attempts handed out since the last reset (the one `next()` just
  // scheduled is number `attempts()`).
  unsigned attempts() const { return attempts_; }
  void reset();

 private:
  std::chrono::milliseconds delay_ = kInitial;
  unsigned attempts_ = 0;
};

}  // namespace sup::cli
