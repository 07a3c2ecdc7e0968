// Server-Sent Events, the pure part (docs/http.md, "GET /events"): the
// framing of one event, a comment (the heartbeat), the client's
// Last-Event-ID read as an event sequence, and what a resuming stream
// replays. No sockets, no threads: unit-tested directly
// (tests/unit/http_sse_test.cpp); src/http/event_streams.cpp is the shell.
//
//   std::string frame = sse_event(42, "", R"({"event_type":"child_started"})");
//   // "id: 42\ndata: {\"event_type\":\"child_started\"}\n\n"
//   auto after = parse_last_event_id(header);        // nullopt: from now
//   ReplayPlan plan = plan_replay(*after, {.oldest = 10, .newest = 90});
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "sup/error.hpp"

namespace sup::http {

// One event: `id:` (0: none), `event:` (empty: none, the browser's
// "message"), and `data:` once per line of `data` (CR, LF and CRLF all end
// a line), then the blank line that dispatches it.
std::string sse_event(std::uint64_t id, std::string_view event, std::string_view data);
// A comment line (": text"): ignored by the browser, keeps proxies from
// closing an idle stream. Line breaks in `text` become spaces.
std::string sse_comment(std::string_view text);
// The `retry:` field: how long the browser waits before reconnecting.
std::string sse_retry(std::uint32_t milliseconds);

// The Last-Event-ID header (or the last_event_id query parameter) as an
// event sequence: empty or absent means "from now" (nullopt); otherwise
// 1 to 20 decimal digits within uint64, else InvalidArgument naming
// `field`.
Expected<std::optional<std::uint64_t>> parse_last_event_id(std::string_view text,
                                                           std::string_view field);

// The sequences a stream still holds for replay (both 0: none yet).
struct HeldRange {
  std::uint64_t oldest = 0;
  std::uint64_t newest = 0;
};

// What a stream resuming after `last_event_id` sends before the live
// events: the held events after `replay_after`, preceded by a `gap` event
// when events it missed are no longer held (`lost_from`..`lost_to`), or a
// `reset` when the id is beyond the newest event (the daemon restarted and
// numbers from 1 again): then everything held is replayed.
struct ReplayPlan {
  std::uint64_t replay_after = 0;
  std::uint64_t lost_from = 0;  // 0: nothing lost
  std::uint64_t lost_to = 0;
  bool reset = false;
  bool operator==(const ReplayPlan&) const = default;
};
ReplayPlan plan_replay(std::uint64_t last_event_id, HeldRange held);

}  // namespace sup::http
