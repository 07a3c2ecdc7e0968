#include "actors/event_hub.hpp"

namespace sup::actors {

EventHub::SubscriberId EventHub::subscribe(Subscriber subscriber, std::uint64_t after_sequence) {
  if (after_sequence != UINT64_MAX) {
    for (std::size_t i = 0; i < ring_.size(); ++i) {
      const Event& event = ring_[(oldest_ + i) % ring_.size()];
      if (event.sequence > after_sequence) subscriber(event);
    }
  }
  SubscriberId id = next_id_++;
  subscribers_.emplace(id, std::move(subscriber));
  return id;
}

const Event& EventHub::publish(Event event) {
  event.sequence = next_sequence_++;
  Event* slot = nullptr;
  if (ring_.size() < capacity_) {
    slot = &ring_.emplace_back(std::move(event));
  } else {
    slot = &ring_[oldest_];
    *slot = std::move(event);
    oldest_ = (oldest_ + 1) % ring_.size();
  }
  const Event& stored = *slot;
  for (const auto& [id, subscriber] : subscribers_) subscriber(stored);
  return stored;
}

}  // namespace sup::actors
