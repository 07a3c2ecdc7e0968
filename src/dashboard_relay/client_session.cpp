#include "dashboard_relay/client_session.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/write.hpp>

#include "ipc/encoding.hpp"
#include "ipc/protocol.hpp"

namespace sup::relay {
namespace {

// Buffers handed to one gathered write.
constexpr std::size_t kMaxBuffersPerWrite = 64;

// Requests whose answer copies a large part of the runtime's state: they
// take their own lane.
bool takes_snapshot(const ipc::MethodInfo& method) {
  if (method.execution) return method.execution->reads_history;
  return method.kind == ipc::MethodKind::State || method.kind == ipc::MethodKind::LogsTail;
}

// An answer that comes later (an executions.* method waiting for a
// commit) is handed where it goes; the lane thread does not wait for it.
void send(ipc::Reply reply, const ipc::ReplyCallback& answer) {
  if (reply.deferred) return reply.deferred(answer);
  answer(std::move(reply));
}

bool is_blank(std::string_view line) {
  return line.find_first_not_of(" \t\r") == std::string_view::npos;
}

}  // namespace

ClientSession::ClientSession(SessionContext& context, Socket socket, ipc::Peer peer)
    : context_(context),
      socket_(std::move(socket)),
      peer_(peer),
      bucket_(context.limits.requests_per_sec, context.limits.requests_per_sec),
      close_timer_(socket_.get_executor()),
      last_activity_(std::chrono::steady_clock::now()) {}

void ClientSession::start() {
  read_more();
}

std::vector<LogField> ClientSession::peer_fields() const {
  return {{"PEER_PID", std::to_string(peer_.pid)}, {"PEER_UID", std::to_string(peer_.uid)}};
}

// Reading pauses while a request is being answered or waiting, and while the
// client has more than half its queue unread: requests are pulled, so a
// client that does not read its answers is slowed down, not dropped.
void ClientSession::read_more() {
  if (reading_ || closing_ || request_in_flight_ || !pending_requests_.empty() ||
      queued_bytes_ > context_.limits.queue_bytes / 2)
    return;
  reading_ = true;
  socket_.async_read_some(
      boost::asio::buffer(read_buffer_),
      [self = shared_from_this()](const boost::system::error_code& error, std::size_t bytes) {
        self->on_read(error, bytes);
      });
}

void ClientSession::on_read(const boost::system::error_code& error, std::size_t bytes) {
  reading_ = false;
  if (closing_) return;
  if (error) return close();  // EOF, reset, or aborted by close()
  last_activity_ = std::chrono::steady_clock::now();
  std::string_view data(read_buffer_.data(), bytes);
  while (!data.empty()) {
    std::size_t newline = data.find('\n');
    std::string_view piece = data.substr(0, newline);
    // Checked before appending, so an endless line costs at most the limit.
    if (partial_line_.size() + piece.size() > context_.limits.max_line_bytes)
      return reject_long_line();
    if (partial_line_.empty() && !piece.empty()) line_started_ = last_activity_;
    partial_line_ += piece;
    if (newline == std::string_view::npos) break;
    data.remove_prefix(newline + 1);
    take_line(std::exchange(partial_line_, {}));
  }
  dispatch_next();
}

void ClientSession::take_line(std::string line) {
  if (is_blank(line)) return;
  if (line.back() == '\r') line.pop_back();
  context_.counters->requests.fetch_add(1, std::memory_order_relaxed);
  if (!bucket_.try_take(TokenBucket::Clock::now())) {
    context_.counters->rate_limited.fetch_add(1, std::memory_order_relaxed);
    // The line is not parsed (that is the work being limited), so the
    // answer cannot carry its request_id.
    return enqueue_error({ipc::ErrorCode::RateLimited,
                          "more than " + std::to_string(context_.limits.requests_per_sec) +
                              " requests per second; retry later"});
  }
  pending_requests_.push_back(std::move(line));
}

void ClientSession::dispatch_next() {
  if (closing_ || request_in_flight_) return;
  if (pending_requests_.empty()) return read_more();
  request_in_flight_ = true;
  std::string line = std::move(pending_requests_.front());
  pending_requests_.pop_front();
  auto answer = [mailbox = context_.mailbox, weak = weak_from_this()](ipc::Reply reply) {
    mailbox->post([weak, reply = std::move(reply)]() mutable {
      if (auto self = weak.lock()) self->on_reply(std::move(reply));
    });
  };
  context_.requests->post([backend = context_.backend, snapshots = context_.snapshots->poster(),
                           state_answers = context_.state_answers, answer = std::move(answer),
                           line = std::move(line), peer = peer_] {
    auto decoded = ipc::decode_request(line);
    auto* request = std::get_if<ipc::Request>(&decoded);
    if (!request) return answer(backend->dispatcher.handle_line(line, peer));  // the error reply
    if (!takes_snapshot(*request->method))
      return send(backend->dispatcher.dispatch(*request, peer), answer);
    if (request->method->kind == ipc::MethodKind::State)
      return state_answers->ask(std::move(*request), peer, std::move(answer));
    snapshots.post([backend, answer, request = std::move(*request), peer] {
      send(backend->dispatcher.dispatch(request, peer), answer);
    });
  });
}

void ClientSession::on_reply(ipc::Reply reply) {
  request_in_flight_ = false;
  last_reply_ = last_activity_ = std::chrono::steady_clock::now();
  if (closing_) return;
  enqueue(std::make_shared<const std::string>(std::move(reply.line)), Kind::Paced);
  // After the response is queued, so the client reads it before any push.
  if (reply.subscribe_events_after) subscribe_events(*reply.subscribe_events_after);
  if (reply.follow_logs) follow_logs(*reply.follow_logs);
  dispatch_next();
}

void ClientSession::subscribe_events(std::uint64_t after_sequence) {
  if (closing_) return;
  events_cursor_ = after_sequence;
  if (!std::exchange(events_subscribed_, true)) context_.on_subscriptions_changed();
  pump_events();
}

// Up to half the queue, as for reading requests (read_more): the other
// half is room for replies.
void ClientSession::pump_events() {
  if (!events_subscribed_ || closing_) return;
  while (queued_bytes_ < context_.limits.queue_bytes / 2) {
    auto next = context_.events->next_after(events_cursor_);
    if (!next) return;
    if (next->sequence > events_cursor_ + 1)
      context_.counters->event_gaps.fetch_add(1, std::memory_order_relaxed);
    events_cursor_ = next->sequence;
    enqueue(std::move(next->line), Kind::Paced);
  }
}

// The callbacks run on logging threads: they only post.
void ClientSession::follow_logs(const ipc::LogFollow& follow) {
  if (closing_) return;
  logs_.reset();
  std::uint64_t generation = ++logs_generation_;
  following_logs_ = true;
  logs_ = context_.backend->plane->follow_logs(follow.child_id, follow.after_sequence,
                                               [mailbox = context_.mailbox, weak = weak_from_this(),
                                                generation](const ipc::LogEntryPtr& entry) {
                                                 mailbox->post([weak, generation, entry] {
                                                   if (auto self = weak.lock())
                                                     self->push_log(generation, entry);
                                                 });
                                               });
}

void ClientSession::push_log(std::uint64_t generation, const ipc::LogEntryPtr& entry) {
  if (closing_ || generation != logs_generation_) return;
  const auto& target_id = context_.backend->dispatcher.info().target_id;
  enqueue(context_.log_lines->get(entry->sequence,
                                  [&] { return ipc::log_push_line(*entry, target_id); }),
          Kind::Pushed);
}

void ClientSession::release_subscriptions() {
  logs_.reset();
  following_logs_ = false;
  ++logs_generation_;
  if (std::exchange(events_subscribed_, false)) context_.on_subscriptions_changed();
}

// Paced lines are always queued: their producers wait for room instead
// (reading pauses, see read_more; events are pulled, see pump_events). A
// pushed line (a log record) that would overflow the queue drops the client.
void ClientSession::enqueue(SharedLine line, Kind kind) {
  if (closing_) return;
  if (kind == Kind::Pushed && queued_bytes_ + line->size() > context_.limits.queue_bytes)
    return drop_slow_consumer();
  queued_bytes_ += line->size();
  queue_.push_back(std::move(line));
  write_more();
}

void ClientSession::enqueue_error(const ipc::ProtocolError& error) {
  enqueue(std::make_shared<const std::string>(ipc::error_response_line(
              std::nullopt, error, context_.backend->dispatcher.info().target_id)),
          Kind::Paced);
}

void ClientSession::write_more() {
  if (writing_ || queue_.empty() || closed_) return;
  writing_ = true;
  std::vector<boost::asio::const_buffer> buffers;
  while (!queue_.empty() && writing_lines_.size() < kMaxBuffersPerWrite) {
    writing_lines_.push_back(std::move(queue_.front()));
    queue_.pop_front();
    buffers.emplace_back(boost::asio::buffer(*writing_lines_.back()));
  }
  boost::asio::async_write(socket_, buffers,
                           [self = shared_from_this()](const boost::system::error_code& error,
                                                       std::size_t) { self->on_written(error); });
}

void ClientSession::on_written(const boost::system::error_code& error) {
  writing_ = false;
  for (const auto& line : writing_lines_) queued_bytes_ -= line->size();
  writing_lines_.clear();
  if (closed_) return;
  if (error || (closing_ && queue_.empty())) return close();
  write_more();
  dispatch_next();  // first: requests are read before the queue refills with events
  pump_events();
}

void ClientSession::reject_long_line() {
  context_.counters->closed_line_too_long.fetch_add(1, std::memory_order_relaxed);
  auto fields = peer_fields();
  fields.push_back({"MAX_LINE_BYTES", std::to_string(context_.limits.max_line_bytes)});
  context_.problem_log->log(LogLevel::Warn, "dashboard client closed: request line too long",
                            std::move(fields));
  partial_line_.clear();
  pending_requests_.clear();
  enqueue_error({ipc::ErrorCode::LineTooLong, "request line longer than " +
                                                  std::to_string(context_.limits.max_line_bytes) +
                                                  " bytes; closing the connection"});
  close_after_flush();
}

void ClientSession::check_timeouts(std::chrono::steady_clock::time_point now) {
  if (closing_) return;
  const auto& limits = context_.limits;
  // The server waits on the client only when none of its requests is being
  // answered; a line pipelined behind slow answers counts from the last one.
  const bool waiting_on_client = !request_in_flight_ && pending_requests_.empty();
  if (!partial_line_.empty() && waiting_on_client &&
      now - std::max(line_started_, last_reply_) > limits.line_timeout)
    return close_idle("a request line was still incomplete after " +
                      std::to_string(limits.line_timeout.count()) +
                      " ms (dashboard.line_timeout_ms)");
  const bool quiet = !events_subscribed_ && !following_logs_ && waiting_on_client &&
                     queue_.empty() && !writing_ && partial_line_.empty();
  if (quiet && limits.idle_timeout.count() > 0 && now - last_activity_ > limits.idle_timeout)
    close_idle("no request for " + std::to_string(limits.idle_timeout.count()) +
               " ms (dashboard.idle_timeout_ms)");
}

void ClientSession::close_idle(std::string why) {
  context_.counters->closed_idle.fetch_add(1, std::memory_order_relaxed);
  auto fields = peer_fields();
  fields.push_back({"REASON", why});
  context_.problem_log->log(LogLevel::Info, "dashboard client closed: idle", std::move(fields));
  partial_line_.clear();
  // A push, as too_many_clients: it answers no request.
  enqueue(std::make_shared<const std::string>(
              ipc::error_push_line({ipc::ErrorCode::IdleTimeout, why + "; closing the connection"},
                                   context_.backend->dispatcher.info().target_id)),
          Kind::Paced);
  close_after_flush();
}

void ClientSession::drop_slow_consumer() {
  context_.counters->dropped_slow_consumers.fetch_add(1, std::memory_order_relaxed);
  auto fields = peer_fields();
  fields.push_back({"QUEUED_BYTES", std::to_string(queued_bytes_)});
  context_.problem_log->log(LogLevel::Warn,
                            "dashboard client dropped: it is not reading its queue (slow_consumer)",
                            std::move(fields));
  // What is already being written stays (a line must not be cut); the rest
  // goes, and the error is the last thing the client may still read.
  for (const auto& line : queue_) queued_bytes_ -= line->size();
  queue_.clear();
  enqueue_error({ipc::ErrorCode::SlowConsumer, "outgoing queue exceeded " +
                                                   std::to_string(context_.limits.queue_bytes) +
                                                   " bytes; dropping the connection"});
  close_after_flush();
}

void ClientSession::close_after_flush() {
  if (closing_) return;
  closing_ = true;
  release_subscriptions();
  if (!writing_ && queue_.empty()) return close();
  write_more();
  close_timer_.expires_after(kFlushGrace);
  close_timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& error) {
    if (auto self = weak.lock(); self && !error) self->close();
  });
}

void ClientSession::close() {
  if (closed_) return;
  closed_ = true;
  closing_ = true;
  release_subscriptions();
  close_timer_.cancel();
  boost::system::error_code ignored;
  socket_.close(ignored);
  queue_.clear();
  pending_requests_.clear();
  context_.on_closed(*this);
}

}  // namespace sup::relay
