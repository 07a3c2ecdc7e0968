#include "dashboard_relay/event_feed.hpp"

#include <algorithm>

#include "ipc/encoding.hpp"

namespace sup::relay {

EventFeed::EventFeed(std::shared_ptr<IoMailbox> mailbox, std::string target_id,
                     EventFeedLimits limits, std::function<void()> on_new_events)
    : mailbox_(std::move(mailbox)),
      target_id_(std::move(target_id)),
      limits_(limits),
      on_new_events_(std::move(on_new_events)) {}

// One wake-up per batch, not one per event: a crash storm costs the I/O
// thread one hop per burst however many events it holds.
void EventFeed::on_event(const Event& event) {
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    wake = pending_.empty();
    pending_.push_back(event);
    if (pending_.size() > limits_.pending_events) {
      pending_.pop_front();
      ++dropped_pending_;
    }
  }
  if (wake) mailbox_->post([self = shared_from_this()] { self->take_pending(); });
}

void EventFeed::take_pending() {
  std::deque<Event> taken;
  {
    std::lock_guard lock(mutex_);
    taken.swap(pending_);
  }
  if (taken.empty()) return;
  for (const Event& event : taken) {
    if (!ring_.empty() && event.sequence <= ring_.back().sequence) continue;  // replayed twice
    auto line = std::make_shared<const std::string>(ipc::event_push_line(event, target_id_));
    ring_bytes_ += line->size();
    ring_.push_back({event.sequence, std::move(line)});
  }
  while (ring_.size() > 1 && (ring_.size() > limits_.events || ring_bytes_ > limits_.bytes)) {
    ring_bytes_ -= ring_.front().line->size();
    ring_.pop_front();
  }
  on_new_events_();
}

std::optional<EventFeed::Entry> EventFeed::next_after(std::uint64_t cursor) const {
  auto it = std::partition_point(ring_.begin(), ring_.end(),
                                 [cursor](const Entry& entry) { return entry.sequence <= cursor; });
  if (it == ring_.end()) return std::nullopt;
  return *it;
}

std::uint64_t EventFeed::dropped_pending() const {
  std::lock_guard lock(mutex_);
  return dropped_pending_;
}

}  // namespace sup::relay
