#include "supctl/sequence_tracker.hpp"

namespace sup::cli {

SequenceTracker::Observation SequenceTracker::observe(std::uint64_t sequence) {
  Observation observation;
  if (last_ && sequence <= *last_) {
    observation.fresh = false;
    return observation;
  }
  if (last_ && sequence > *last_ + 1) observation.gap = SequenceGap{*last_ + 1, sequence - 1};
  last_ = sequence;
  return observation;
}

}  // namespace sup::cli
