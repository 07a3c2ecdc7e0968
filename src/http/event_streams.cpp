#include "http/event_streams.hpp"

#include <deque>
#include <mutex>
#include <vector>

#include "http/routing.hpp"
#include "http/sse.hpp"
#include "ipc/encoding.hpp"
#include "json/json_writer.hpp"
#include "wire/dashboard_records.hpp"

namespace sup::http {
namespace {

// The data of one event: the seed's EventRecord, as the socket's event
// push nests it (docs/ipc.md).
std::string event_record_json(const Event& event, std::string_view target_id) {
  JsonWriter w;
  wire::write(w, ipc::to_wire(event, target_id));
  return w.take();
}

}  // namespace

struct EventStreams::State : std::enable_shared_from_this<EventStreams::State> {
  explicit State(EventStreamsOptions o) : options(std::move(o)) {}

  struct Frame {
    std::uint64_t sequence = 0;
    std::string text;
  };

  const EventStreamsOptions options;
  mutable std::mutex mutex;
  std::function<void(std::function<void()>)> post;
  std::deque<Event> pending;
  bool drain_scheduled = false;
  std::deque<Frame> ring;  // increasing sequences
  std::size_t ring_bytes = 0;
  std::vector<std::shared_ptr<ResponseStream>> streams;
  std::size_t opening = 0;  // answered with a stream whose head is not written yet
  EventStreamsCounters counts;

  // The runtime's thread: queue, and post a drain unless one is on its way.
  // (Posting under the lock: detach() clears `post` before the server goes.)
  void on_event(const Event& event) {
    std::lock_guard lock(mutex);
    if (pending.size() >= options.max_pending_events) {
      pending.pop_front();
      ++counts.dropped_pending;
    }
    pending.push_back(event);
    if (drain_scheduled || !post) return;
    drain_scheduled = true;
    post([self = shared_from_this()] { self->drain(); });
  }

  // An I/O thread. Only one drain runs at a time (drain_scheduled stays set
  // until it finds nothing left), so frames enter the ring in order.
  void drain() {
    while (true) {
      std::deque<Event> batch;
      {
        std::lock_guard lock(mutex);
        if (pending.empty()) {
          drain_scheduled = false;
          return;
        }
        batch.swap(pending);
      }
      std::vector<Frame> frames;
      frames.reserve(batch.size());
      for (const Event& event : batch)
        frames.push_back({event.sequence, sse_event(event.sequence, "",
                                                    event_record_json(event, options.target_id))});
      std::lock_guard lock(mutex);
      for (Frame& frame : frames) {
        for (auto& stream : streams) stream->send(frame.text);
        ring_bytes += frame.text.size();
        ring.push_back(std::move(frame));
        while (ring.size() > options.ring_events || ring_bytes > options.ring_bytes) {
          ring_bytes -= ring.front().text.size();
          ring.pop_front();
        }
      }
      prune();
    }
  }

  void prune() {
    std::erase_if(streams, [](const auto& stream) { return stream->ended(); });
    counts.open = streams.size();
  }

  // An I/O thread, once the head is written: the replay, then live.
  void register_stream(const std::shared_ptr<ResponseStream>& stream,
                       std::optional<std::uint64_t> last_event_id) {
    std::lock_guard lock(mutex);
    stream->send(sse_retry(options.retry_ms));
    if (last_event_id) {
      HeldRange held;
      if (!ring.empty()) held = {ring.front().sequence, ring.back().sequence};
      ReplayPlan plan = plan_replay(*last_event_id, held);
      if (plan.reset)
        stream->send(sse_event(0, "reset",
                               R"({"last_event_id":)" + std::to_string(*last_event_id) +
                                   R"(,"newest":)" + std::to_string(held.newest) + "}"));
      if (plan.lost_from != 0)
        stream->send(sse_event(0, "gap",
                               R"({"from":)" + std::to_string(plan.lost_from) + R"(,"to":)" +
                                   std::to_string(plan.lost_to) + "}"));
      for (const Frame& frame : ring)
        if (frame.sequence > plan.replay_after) stream->send(frame.text);
    }
    streams.push_back(stream);
    ++counts.opened;
    prune();
  }

  void end_all() {
    std::lock_guard lock(mutex);
    for (auto& stream : streams) stream->end();
    streams.clear();
    pending.clear();
    counts.open = 0;
  }
};

EventStreams::EventStreams(EventStreamsOptions options)
    : state_(std::make_shared<State>(std::move(options))) {}

EventStreams::~EventStreams() {
  detach();
}

void EventStreams::attach_io(std::function<void(std::function<void()>)> post) {
  std::lock_guard lock(state_->mutex);
  state_->post = std::move(post);
}

Status EventStreams::attach(Handle handle) {
  auto subscription = handle.subscribe_events(
      [state = std::weak_ptr<State>(state_)](const Event& event) {
        if (auto alive = state.lock()) alive->on_event(event);
      },
      0);
  if (!subscription) return subscription.error();
  subscription_ = std::move(*subscription);
  return {};
}

void EventStreams::detach() {
  subscription_.reset();
  state_->end_all();
}

Response EventStreams::open(std::optional<std::uint64_t> last_event_id) {
  {
    std::lock_guard lock(state_->mutex);
    state_->prune();
    if (state_->streams.size() + state_->opening >= state_->options.max_streams) {
      ++state_->counts.refused;
      ApiError error =
          api_error(503, "too_many_streams",
                    "http.max_event_streams (" + std::to_string(state_->options.max_streams) +
                        ") event streams are open; retry later");
      return Response{error.status, "application/json", error_body(error) + "\n"};
    }
    ++state_->opening;
  }
  // Gives the slot back when the stream is registered or never opens.
  struct Opening {
    std::shared_ptr<State> state;
    ~Opening() {
      std::lock_guard lock(state->mutex);
      --state->opening;
    }
  };
  auto opening = std::shared_ptr<Opening>(new Opening{state_});
  StreamOptions stream{.max_queued_bytes = state_->options.max_queued_bytes,
                       .heartbeat = state_->options.heartbeat,
                       .heartbeat_piece = sse_comment("keepalive"),
                       .opened = [opening, last_event_id](std::shared_ptr<ResponseStream> s) {
                         opening->state->register_stream(s, last_event_id);
                       }};
  Response response{200, "text/event-stream; charset=utf-8", {}, {{"X-Accel-Buffering", "no"}}};
  response.stream = std::move(stream);
  return response;
}

EventStreamsCounters EventStreams::counters() const {
  std::lock_guard lock(state_->mutex);
  return state_->counts;
}

}  // namespace sup::http
