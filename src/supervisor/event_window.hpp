// Counts events inside a sliding time window.
//
// Serves both crash-loop detection (N failures inside window W quarantine a
// child) and a supervisor's intensity/period (more than `intensity` restarts
// inside `period_ms` blow its fuse). Keeps at most `limit` timestamps.
//
//   EventWindow failures(/*limit=*/5, /*window_ms=*/10'000);
//   if (failures.record(now_ms)) quarantine("crash loop");
#pragma once

#include <cstdint>
#include <vector>

namespace sup::core {

class EventWindow {
 public:
  // limit == 0 disables the window: record() never reports it full.
  EventWindow(std::uint32_t limit, std::uint32_t window_ms);

  // Records one event; true when `limit` events now fall inside the window.
  bool record(std::int64_t now_ms);
  std::uint32_t count(std::int64_t now_ms) const;
  void clear() { ring_.clear(); next_ = 0; }

 private:
  std::uint32_t limit_;
  std::uint32_t window_ms_;
  std::vector<std::int64_t> ring_;  // the last `limit_` event times
  std::size_t next_ = 0;
};

}  // namespace sup::core
