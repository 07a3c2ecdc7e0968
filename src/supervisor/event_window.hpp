// Counts events inside a sliding time window.
//
// Serves both crash-loop detection (N failures inside window W quarantine a
// child) and a supervisor's intensity/period (more than `intensity` restarts
// inside `period_ms` blow its fuse). Keeps at most `limit` timestamps, and
// only those still inside the window: a huge limit (a root that must never
// fuse) costs memory for the events of one window, not for every event ever
// recorded, and record() stays O(1) amortized.
//
//   EventWindow failures(/*limit=*/5, /*window_ms=*/10'000);
//   if (failures.record(now_ms)) quarantine("crash loop");
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sup::core {

class EventWindow {
 public:
  // limit == 0 disables the window: record() never reports it full.
  EventWindow(std::uint32_t limit, std::uint32_t window_ms);

  // Records one event; true when `limit` events now fall inside the window.
  // Times are monotonic: never earlier than the previous record().
  bool record(std::int64_t now_ms);
  std::uint32_t count(std::int64_t now_ms) const;
  void clear() {
    head_ = 0;
    size_ = 0;
  }

 private:
  std::int64_t at(std::size_t i) const { return ring_[(head_ + i) % ring_.size()]; }
  bool inside(std::int64_t at_ms, std::int64_t now_ms) const { return now_ms - at_ms < window_ms_; }
  void grow();

  std::uint32_t limit_;
  std::uint32_t window_ms_;
  // Circular buffer of the recorded times still inside the window, oldest
  // at head_. Allocated on the first record: most windows never see one.
  std::vector<std::int64_t> ring_;
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

}  // namespace sup::core
