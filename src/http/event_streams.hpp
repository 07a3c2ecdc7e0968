// GET /events: the daemon's event stream as Server-Sent Events (docs/http.md,
// "GET /events"). One subscription to the runtime feeds every stream: the
// runtime's thread only queues the event (bounded) and posts one drain to
// the HTTP server's I/O threads, which encode it once (the socket's event
// record, as a push carries it) into a ring of frames and hand the frame to
// every open stream. The ring holds what the runtime's event journal holds
// (the subscription starts at its oldest event), so a browser reconnecting
// with Last-Event-ID gets what it missed, a `gap` event for what is no
// longer held, then the live events. Each stream has a bounded queue in
// the server: a client that does not keep up is dropped and counted, and
// nobody waits for it.
//
//   EventStreams streams({.target_id = "local"});
//   streams.attach_io([&server](auto work) { server.post(std::move(work)); });
//   streams.attach(handle);                       // once the runtime runs
//   respond(streams.open(last_event_id));         // a stream, or 503
//   streams.detach();                             // before the runtime goes
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "http/server.hpp"
#include "sup/handle.hpp"

namespace sup::http {

struct EventStreamsOptions {
  std::string target_id;           // the events' target_id (dashboard.target_id)
  std::size_t max_streams = 64;    // beyond: 503 too_many_streams
  std::size_t ring_events = 4096;  // kept for Last-Event-ID (the journal's ring)
  std::size_t ring_bytes = 16u << 20;
  std::size_t max_pending_events = 4096;    // runtime → I/O hand-over; beyond, the oldest go
  std::size_t max_queued_bytes = 1u << 20;  // per stream; beyond: the client is dropped
  std::chrono::milliseconds heartbeat{15'000};
  std::uint32_t retry_ms = 2000;  // the browser's reconnect delay (`retry:`)
};

struct EventStreamsCounters {
  std::uint64_t open = 0;             // streams registered now
  std::uint64_t opened = 0;           // ever
  std::uint64_t refused = 0;          // over max_streams
  std::uint64_t dropped_pending = 0;  // events the I/O threads never took (too far behind)
};

class EventStreams {
 public:
  explicit EventStreams(EventStreamsOptions options);
  ~EventStreams();  // detach()
  EventStreams(const EventStreams&) = delete;
  EventStreams& operator=(const EventStreams&) = delete;

  // Where the encoding and the fan-out run: the HTTP server's I/O threads.
  void attach_io(std::function<void(std::function<void()>)> post);
  // Subscribes from the oldest event the journal holds.
  Status attach(Handle handle);
  // Unsubscribes and ends every stream; streams opened later stay empty
  // until the next attach. Idempotent.
  void detach();

  // The answer to GET /events resuming after `last_event_id` (nullopt:
  // from now): a stream, or 503 too_many_streams.
  Response open(std::optional<std::uint64_t> last_event_id);
  EventStreamsCounters counters() const;

  struct State;

 private:
  std::shared_ptr<State> state_;
  EventSubscription subscription_;
};

}  // namespace sup::http
