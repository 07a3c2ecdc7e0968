// Notices lost and repeated events in the daemon's event stream.
//
// Event sequences increase by one per event for the life of a daemon, so a
// jump means the client missed events (its link dropped for longer than the
// daemon's replay ring covers, or the daemon dropped a slow client), and a
// step back means a replay overlapped what was already shown.
//
//   SequenceTracker tracker;
//   auto seen = tracker.observe(event.sequence);
//   if (seen.gap) std::cout << "missed events " << seen.gap->first << "-" << seen.gap->last;
//   if (seen.fresh) show(event);
#pragma once

#include <cstdint>
#include <optional>

namespace sup::cli {

struct SequenceGap {
  std::uint64_t first = 0;
  std::uint64_t last = 0;
};

class SequenceTracker {
 public:
  struct Observation {
    bool fresh = true;  // false: already seen (a replay overlap); skip it
    std::optional<SequenceGap> gap;
  };

  SequenceTracker() = default;
  // Starts from a known position: events after `last_seen` are expected next.
  explicit SequenceTracker(std::uint64_t last_seen) : last_(last_seen) {}

  Observation observe(std::uint64_t sequence);
  std::optional<std::uint64_t> last() const { return last_; }

  // The daemon restarted and counts from `last_sequence` again; what follows
  // it is new even though the numbers are lower than what was seen.
  void rebase(std::uint64_t last_sequence) { last_ = last_sequence; }

 private:
  std::optional<std::uint64_t> last_;
};

}  // namespace sup::cli
