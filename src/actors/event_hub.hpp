// Numbers events, keeps the most recent ones for replay, and fans them out.
//
// Lives inside the control loop (single-threaded use). A subscriber can ask
// for the events after a sequence number it already saw: whatever is still
// in the ring is replayed first, so a dashboard that reconnects sees what it
// missed, or a gap that tells it what was lost.
//
//   EventHub hub(4096);
//   auto id = hub.subscribe([](const Event& e) { queue.push(e); }, last_seen);
//   hub.publish(std::move(event));   // assigns sequence, delivers, stores
//   hub.unsubscribe(id);
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <vector>

#include "sup/state.hpp"

namespace sup::actors {

class EventHub {
 public:
  using Subscriber = std::function<void(const Event&)>;
  using SubscriberId = std::uint64_t;

  // The ring keeps at least the event just published.
  explicit EventHub(std::size_t ring_capacity)
      : capacity_(std::max<std::size_t>(1, ring_capacity)) {}

  // Delivers the stored events with sequence > after_sequence first
  // (UINT64_MAX: none), then every new one.
  SubscriberId subscribe(Subscriber subscriber, std::uint64_t after_sequence);
  void unsubscribe(SubscriberId id) { subscribers_.erase(id); }

  // Assigns the next sequence number; returns the stored event.
  const Event& publish(Event event);
  std::uint64_t last_sequence() const { return next_sequence_ - 1; }

 private:
  std::size_t capacity_;
  // Circular once full (oldest at oldest_): a publish moves into a slot
  // instead of allocating a deque block every other event.
  std::vector<Event> ring_;
  std::size_t oldest_ = 0;
  std::map<SubscriberId, Subscriber> subscribers_;
  SubscriberId next_id_ = 1;
  std::uint64_t next_sequence_ = 1;
};

}  // namespace sup::actors
