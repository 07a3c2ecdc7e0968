// One dashboard connection: reads request lines (bounded, rate limited),
// has them answered off the I/O thread one at a time (snapshots on a lane
// of their own, so they never hold up other clients' cheap requests), and writes responses
// and pushed events/log records through a bounded outgoing queue. Events
// are pulled from the relay's EventFeed only while the queue has room, so a
// replay or a storm is paced by the client's reading; log records are
// pushed, and a client that lets them overflow its queue is dropped with
// slow_consumer. One that sends an over-long line gets line_too_long and
// is closed. Everything here
// runs on the relay's I/O thread.
//
//   auto session = std::make_shared<ClientSession>(context, std::move(socket), peer);
//   sessions.insert(session);
//   session->start();
#pragma once

#include <array>
#include <atomic>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "dashboard_relay/event_feed.hpp"
#include "dashboard_relay/io_mailbox.hpp"
#include "dashboard_relay/line_cache.hpp"
#include "dashboard_relay/shared_answers.hpp"
#include "dashboard_relay/throttled_log.hpp"
#include "dashboard_relay/token_bucket.hpp"
#include "dashboard_relay/worker_pool.hpp"
#include "ipc/control_plane.hpp"
#include "ipc/dispatcher.hpp"
#include "ipc/protocol.hpp"

namespace sup::relay {

// What the relay counts (read from any thread).
struct RelayCounters {
  std::atomic<std::uint64_t> accepted{0};
  std::atomic<std::uint64_t> rejected_too_many_clients{0};
  std::atomic<std::uint64_t> dropped_slow_consumers{0};
  std::atomic<std::uint64_t> event_gaps{0};  // a client fell off the feed's ring
  std::atomic<std::uint64_t> closed_line_too_long{0};
  std::atomic<std::uint64_t> closed_idle{0};  // line_timeout or idle_timeout
  std::atomic<std::uint64_t> rate_limited{0};
  std::atomic<std::uint64_t> requests{0};
};

// The control plane and the dispatcher over it, shared with request jobs
// (which may outlive the server, see WorkerPool).
struct RequestBackend {
  RequestBackend(std::shared_ptr<ipc::ControlPlane> control_plane, ipc::ServerInfo info,
                 std::shared_ptr<ipc::ExecutionPlane> execution_plane = nullptr)
      : plane(std::move(control_plane)),
        executions(std::move(execution_plane)),
        dispatcher(*plane, std::move(info), executions.get()) {}
  std::shared_ptr<ipc::ControlPlane> plane;
  std::shared_ptr<ipc::ExecutionPlane> executions;  // may be null
  ipc::Dispatcher dispatcher;
};

struct SessionLimits {
  std::size_t max_line_bytes = 1 << 20;
  std::size_t queue_bytes = 8 << 20;
  std::uint32_t requests_per_sec = 200;
  std::chrono::milliseconds line_timeout{5000};
  std::chrono::milliseconds idle_timeout{60000};  // zero: never
};

class ClientSession;

// What the sessions share with their server, which owns it.
struct SessionContext {
  SessionLimits limits;
  std::shared_ptr<RequestBackend> backend;
  // The lanes: every request is read and answered on `requests`, except
  // snapshots (state, logs.tail), handed on to `snapshots`; `state`
  // through `state_answers`, which shares one snapshot among all asking
  // at the same moment.
  WorkerPool* requests = nullptr;
  WorkerPool* snapshots = nullptr;
  std::shared_ptr<SharedAnswers> state_answers;
  std::shared_ptr<IoMailbox> mailbox;
  RelayCounters* counters = nullptr;
  const EventFeed* events = nullptr;
  LineCache* log_lines = nullptr;
  ThrottledLog* problem_log = nullptr;
  std::function<void(ClientSession&)> on_closed;
  std::function<void()> on_subscriptions_changed;
};

class ClientSession : public std::enable_shared_from_this<ClientSession> {
 public:
  using Socket = boost::asio::local::stream_protocol::socket;

  // A session that overflowed or misbehaved gets this long to flush its
  // last error line before the socket is closed regardless.
  static constexpr std::chrono::milliseconds kFlushGrace{500};

  ClientSession(SessionContext& context, Socket socket, ipc::Peer peer);

  void start();
  // Closes at once: no more reads, writes or pushes; tells the server.
  void close();

  bool subscribed_to_events() const { return events_subscribed_; }
  // Queues the events after this client's cursor while its queue has room
  // (I/O thread: the feed got new events, or the client read some).
  void pump_events();
  // Nothing being answered or waiting to be written: a stopping relay may
  // close this session without cutting off a reply.
  bool idle() const {
    return closed_ ||
           (!request_in_flight_ && pending_requests_.empty() && queue_.empty() && !writing_);
  }
  const ipc::Peer& peer() const { return peer_; }

  // Closes the connection (with an idle_timeout error) when a request line
  // has been arriving for longer than limits.line_timeout, or when nothing
  // at all happened on it for limits.idle_timeout. Called by the server's
  // maintenance tick.
  void check_timeouts(std::chrono::steady_clock::time_point now);

 private:
  // Paced: replies and pulled events, whose producers wait for room.
  // Pushed: log records, which arrive whether or not there is room.
  enum class Kind : unsigned char { Paced, Pushed };

  void read_more();
  void on_read(const boost::system::error_code& error, std::size_t bytes);
  void take_line(std::string line);
  void dispatch_next();
  void on_reply(ipc::Reply reply);

  void subscribe_events(std::uint64_t after_sequence);
  void follow_logs(const ipc::LogFollow& follow);
  void push_log(std::uint64_t generation, const ipc::LogEntryPtr& entry);
  void release_subscriptions();

  void enqueue(SharedLine line, Kind kind);
  void enqueue_error(const ipc::ProtocolError& error);
  void write_more();
  void on_written(const boost::system::error_code& error);

  void reject_long_line();
  void close_idle(std::string why);
  void drop_slow_consumer();
  void close_after_flush();
  std::vector<LogField> peer_fields() const;

  SessionContext& context_;
  Socket socket_;
  ipc::Peer peer_;
  TokenBucket bucket_;
  boost::asio::steady_timer close_timer_;

  std::array<char, 16 * 1024> read_buffer_{};
  std::string partial_line_;
  // When partial_line_ got its first byte, when the last request was
  // answered, and when the client last did anything (sent bytes, or had a
  // request answered): the timeouts count from them.
  std::chrono::steady_clock::time_point line_started_;
  std::chrono::steady_clock::time_point last_reply_;
  std::chrono::steady_clock::time_point last_activity_;
  std::deque<std::string> pending_requests_;
  bool reading_ = false;
  bool request_in_flight_ = false;

  std::deque<SharedLine> queue_;
  std::vector<SharedLine> writing_lines_;
  std::size_t queued_bytes_ = 0;  // queue_ and writing_lines_
  bool writing_ = false;

  bool events_subscribed_ = false;
  std::uint64_t events_cursor_ = 0;  // the last event sequence queued
  ipc::Subscription logs_;
  bool following_logs_ = false;
  // Bumped on every (re)subscription, so records posted for an earlier one
  // are recognised and dropped.
  std::uint64_t logs_generation_ = 0;

  bool closing_ = false;  // flushing a last error; nothing else goes out
  bool closed_ = false;
};

}  // namespace sup::relay
