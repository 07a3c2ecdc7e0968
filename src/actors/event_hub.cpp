#include "actors/event_hub.hpp"

namespace sup::actors {

EventHub::SubscriberId EventHub::subscribe(Subscriber subscriber, std::uint64_t after_sequence) {
  if (after_sequence != UINT64_MAX) {
    for (const auto& event : ring_)
      if (event.sequence > after_sequence) subscriber(event);
  }
  SubscriberId id = next_id_++;
  subscribers_.emplace(id, std::move(subscriber));
  return id;
}

const Event& EventHub::publish(Event event) {
  event.sequence = next_sequence_++;
  ring_.push_back(std::move(event));
  if (ring_.size() > capacity_) ring_.pop_front();
  const Event& stored = ring_.back();
  for (const auto& [id, subscriber] : subscribers_) subscriber(stored);
  return stored;
}

}  // namespace sup::actors
