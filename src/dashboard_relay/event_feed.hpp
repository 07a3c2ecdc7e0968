// The relay's one event stream: a single subscription to the runtime,
// whose events are encoded once into a bounded ring of push lines, from
// which every subscribed client pulls at its own pace (a cursor each). A
// client that reads slowly falls behind, never holds memory beyond its own
// queue, and costs the others nothing; one that falls off the end of the
// ring continues from its oldest event, and the jump in `sequence` tells it
// what it missed (docs/ipc.md).
//
// The runtime calls on_event() on its own thread; everything else runs on
// the relay's I/O thread.
//
//   auto feed = std::make_shared<EventFeed>(mailbox, target_id, EventFeedLimits{},
//                                           [&] { for (auto& s : sessions) s->pump_events(); });
//   subscription = plane->subscribe_events([feed](const Event& e) { feed->on_event(e); }, 0);
//   ...
//   if (auto next = feed->next_after(cursor)) queue(next->line), cursor = next->sequence;
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "dashboard_relay/io_mailbox.hpp"
#include "dashboard_relay/line_cache.hpp"
#include "sup/state.hpp"

namespace sup::relay {

struct EventFeedLimits {
  std::size_t events = 4096;          // kept for replay, as the runtime's own ring
  std::size_t bytes = 16u << 20;      // of encoded lines, whichever bound comes first
  std::size_t pending_events = 4096;  // handed over but not yet taken by the I/O thread
};

// Shared: the runtime's callback holds it, and may outlive the server by a
// moment (unsubscribing is asynchronous).
class EventFeed : public std::enable_shared_from_this<EventFeed> {
 public:
  struct Entry {
    std::uint64_t sequence = 0;
    SharedLine line;
  };

  EventFeed(std::shared_ptr<IoMailbox> mailbox, std::string target_id, EventFeedLimits limits,
            std::function<void()> on_new_events);

  // Any thread; never blocks beyond a short lock. When the I/O thread falls
  // more than limits.pending_events behind, the oldest pending ones go.
  void on_event(const Event& event);

  // I/O thread: the oldest kept event with a sequence above `cursor`
  // (past events no longer kept: a gap).
  std::optional<Entry> next_after(std::uint64_t cursor) const;
  // Events the I/O thread never took because it was too far behind.
  std::uint64_t dropped_pending() const;

 private:
  void take_pending();

  std::shared_ptr<IoMailbox> mailbox_;
  std::string target_id_;
  EventFeedLimits limits_;
  std::function<void()> on_new_events_;

  mutable std::mutex mutex_;  // guards pending_ and dropped_pending_
  std::deque<Event> pending_;
  std::uint64_t dropped_pending_ = 0;

  std::deque<Entry> ring_;  // increasing sequences
  std::size_t ring_bytes_ = 0;
};

}  // namespace sup::relay
