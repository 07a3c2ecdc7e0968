#include "http/server.hpp"

#include <array>
#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <deque>
#include <optional>
#include <thread>

namespace sup::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

// After an error answer, what the client still sends is read and dropped
// (at most this much, for at most kDrainTime) so that closing does not
// reset the connection before the client read the answer.
constexpr std::size_t kMaxDrainBytes = 8 << 20;
constexpr std::chrono::milliseconds kDrainTime{1000};

struct Shared {
  ServerLimits limits;
  Handler handler;
  std::atomic<bool> stopped{false};
  std::atomic<std::uint64_t> accepted{0};
  std::atomic<std::uint64_t> refused{0};
  std::atomic<std::uint64_t> timed_out{0};
  std::atomic<std::uint64_t> too_large{0};
  std::atomic<std::uint64_t> malformed{0};
  std::atomic<std::uint64_t> open{0};
  std::atomic<std::uint64_t> streams{0};
  std::atomic<std::uint64_t> streams_dropped_slow{0};
};

bool is_parse_error(const beast::error_code& ec) {
  return ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category();
}

std::string peer_of(const tcp::socket& socket) {
  beast::error_code ec;
  tcp::endpoint remote = socket.remote_endpoint(ec);
  if (ec) return "unknown";
  return remote.address().to_string() + ":" + std::to_string(remote.port());
}

// A streamed response's state. `queue`, `writing`, `ending`, `closed` and
// the timer belong to the session's strand; the atomics are read anywhere.
struct Feed {
  explicit Feed(StreamOptions o) : options(std::move(o)) {}
  StreamOptions options;
  std::deque<std::string> queue;
  bool writing = false;
  bool ending = false;  // end() asked: finish once the queue is written
  bool closed = false;
  std::optional<net::steady_timer> heartbeat;
  std::atomic<std::size_t> queued_bytes{0};
  std::atomic<bool> ended{false};
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<Shared> shared, Port port)
      : stream_(std::move(socket)), shared_(std::move(shared)), port_(port) {
    peer_ = peer_of(stream_.socket());
  }
  ~Session() {
    --shared_->open;
    if (feed_ && !feed_->closed) --shared_->streams;
  }

  // ResponseStream, through SessionStream (any thread).
  bool stream_send(std::string piece) {
    if (feed_->ended) return false;
    std::size_t size = piece.size();
    if (feed_->queued_bytes.fetch_add(size) + size > feed_->options.max_queued_bytes) {
      feed_->queued_bytes -= size;
      if (!feed_->ended.exchange(true)) {
        ++shared_->streams_dropped_slow;
        net::post(stream_.get_executor(), [self = shared_from_this()] { self->close_stream(); });
      }
      return false;
    }
    net::post(stream_.get_executor(),
              [self = shared_from_this(), piece = std::move(piece)]() mutable {
                if (self->feed_->closed) return;
                self->feed_->queue.push_back(std::move(piece));
                self->write_next_piece();
              });
    return true;
  }
  void stream_end() {
    feed_->ended = true;
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      self->feed_->ending = true;
      self->write_next_piece();
    });
  }
  bool stream_ended() const { return feed_->ended; }

  void start() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read(); });
  }

 private:
  void read() {
    if (shared_->stopped) return;
    parser_.emplace();
    parser_->body_limit(shared_->limits.max_body_bytes);
    parser_->header_limit(static_cast<std::uint32_t>(shared_->limits.max_header_bytes));
    stream_.expires_after(shared_->limits.request_timeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      beast::bind_front_handler(&Session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec == beast::error::timeout) {
      ++shared_->timed_out;  // the stream closed the socket
      return;
    }
    if (ec == bhttp::error::body_limit) {
      ++shared_->too_large;
      return refuse(api_error(413, "payload_too_large",
                              "the body exceeds http.max_body_bytes (" +
                                  std::to_string(shared_->limits.max_body_bytes) + " bytes)"));
    }
    if (ec == bhttp::error::header_limit) {
      ++shared_->too_large;
      return refuse(api_error(431, "headers_too_large",
                              "the headers exceed http.max_header_bytes (" +
                                  std::to_string(shared_->limits.max_header_bytes) + " bytes)"));
    }
    if (ec && is_parse_error(ec) && ec != bhttp::error::end_of_stream &&
        ec != bhttp::error::partial_message) {
      ++shared_->malformed;
      return refuse(
          api_error(400, "malformed_request", "not an HTTP/1.1 request: " + ec.message()));
    }
    if (ec) return;  // the client went away
    bhttp::request<bhttp::string_body>& message = parser_->get();
    keep_alive_ = message.keep_alive();
    head_ = message.method() == bhttp::verb::head;
    Request request;
    request.port = port_;
    request.method = std::string(message.method_string());
    request.target = std::string(message.target());
    request.authorization = std::string(message[bhttp::field::authorization]);
    request.content_type = std::string(message[bhttp::field::content_type]);
    request.body = std::move(message.body());
    request.peer = peer_;
    request.last_event_id = std::string(message["Last-Event-ID"]);
    stream_.expires_never();  // while the handler works
    auto answered = std::make_shared<std::atomic<bool>>(false);
    Respond respond = [self = shared_from_this(), answered](Response response) {
      if (answered->exchange(true)) return;
      net::post(self->stream_.get_executor(), [self, response = std::move(response)]() mutable {
        self->write(std::move(response), !self->keep_alive_);
      });
    };
    shared_->handler(std::move(request), std::move(respond));
  }

  void refuse(const ApiError& error) {
    keep_alive_ = false;
    Response response{error.status, "application/json", error_body(error)};
    write(std::move(response), true);
  }

  void write(Response response, bool close) {
    if (shared_->stopped) return;
    if (response.stream) return start_stream(std::move(response));
    response_ = {};
    response_.version(11);
    response_.result(response.status);
    response_.set(bhttp::field::server, "supervisor");
    response_.set(bhttp::field::content_type, response.content_type);
    response_.set(bhttp::field::cache_control, "no-store");
    for (const auto& [name, value] : response.headers) response_.set(name, value);
    response_.body() = std::move(response.body);
    response_.keep_alive(!close);
    response_.prepare_payload();
    if (head_) {
      std::size_t length = response_.body().size();
      response_.body().clear();
      response_.content_length(length);
    }
    stream_.expires_after(shared_->limits.request_timeout);
    bhttp::async_write(stream_, response_,
                       [self = shared_from_this(), close](beast::error_code ec, std::size_t) {
                         if (ec) return;
                         if (close) return self->finish();
                         self->read();
                       });
  }

  // A streamed response: the head (chunked, never kept alive), then the
  // pieces as they are sent, one chunk each.
  void start_stream(Response response) {
    feed_ = std::make_unique<Feed>(std::move(*response.stream));
    ++shared_->streams;
    stream_head_ = {};
    stream_head_.version(11);
    stream_head_.result(response.status);
    stream_head_.set(bhttp::field::server, "supervisor");
    stream_head_.set(bhttp::field::content_type, response.content_type);
    stream_head_.set(bhttp::field::cache_control, "no-cache");
    for (const auto& [name, value] : response.headers) stream_head_.set(name, value);
    stream_head_.keep_alive(false);
    stream_head_.chunked(true);
    head_serializer_.emplace(stream_head_);
    stream_.expires_after(shared_->limits.request_timeout);
    bhttp::async_write_header(stream_, *head_serializer_,
                              [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                if (ec) return self->close_stream();
                                self->stream_.expires_never();
                                self->watch_client();
                                self->arm_heartbeat();
                                if (auto opened = std::move(self->feed_->options.opened))
                                  opened(std::make_shared<SessionStream>(self));
                                self->write_next_piece();
                              });
  }

  void write_next_piece() {
    Feed& feed = *feed_;
    if (feed.writing || feed.closed) return;
    if (feed.queue.empty()) {
      if (feed.ending) finish_stream();
      return;
    }
    feed.writing = true;
    stream_.expires_after(shared_->limits.request_timeout);
    net::async_write(stream_, bhttp::make_chunk(net::buffer(feed.queue.front())),
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       Feed& feed = *self->feed_;
                       feed.writing = false;
                       if (ec) return self->close_stream();
                       self->stream_.expires_never();
                       feed.queued_bytes -= feed.queue.front().size();
                       feed.queue.pop_front();
                       self->write_next_piece();
                     });
  }

  // The last chunk, then the connection closes.
  void finish_stream() {
    feed_->writing = true;
    stream_.expires_after(shared_->limits.request_timeout);
    net::async_write(
        stream_, bhttp::make_chunk_last(),
        [self = shared_from_this()](beast::error_code, std::size_t) { self->close_stream(); });
  }

  // The client sends nothing on an event stream; a read ending (EOF, reset)
  // means it left.
  void watch_client() {
    stream_.socket().async_read_some(
        net::buffer(drain_buffer_), [self = shared_from_this()](beast::error_code ec, std::size_t) {
          if (ec) return self->close_stream();
          self->watch_client();
        });
  }

  void arm_heartbeat() {
    Feed& feed = *feed_;
    if (feed.options.heartbeat_piece.empty() || feed.closed) return;
    if (!feed.heartbeat) feed.heartbeat.emplace(stream_.get_executor());
    feed.heartbeat->expires_after(feed.options.heartbeat);
    feed.heartbeat->async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec || self->feed_->closed) return;
      self->stream_send(self->feed_->options.heartbeat_piece);
      self->arm_heartbeat();
    });
  }

  void close_stream() {
    Feed& feed = *feed_;
    feed.ended = true;
    if (feed.closed) return;
    feed.closed = true;
    --shared_->streams;
    if (feed.heartbeat) feed.heartbeat->cancel();
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
  }

  class SessionStream : public ResponseStream {
   public:
    explicit SessionStream(std::weak_ptr<Session> session) : session_(std::move(session)) {}
    bool send(std::string piece) override {
      auto session = session_.lock();
      return session && session->stream_send(std::move(piece));
    }
    void end() override {
      if (auto session = session_.lock()) session->stream_end();
    }
    bool ended() const override {
      auto session = session_.lock();
      return !session || session->stream_ended();
    }

   private:
    // Weak: the connection's pending read (watch_client) keeps the session
    // alive while the client is there. A stream the application still
    // holds must not keep a session, whose socket and timers belong to the
    // server's io_context, alive past that context (a use after free at
    // shutdown, found by ASan).
    std::weak_ptr<Session> session_;
  };

  // Half-close, then drain what the client still sends before closing.
  void finish() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(kDrainTime);
    drain();
  }

  void drain() {
    stream_.async_read_some(net::buffer(drain_buffer_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->drained_ += n;
                              if (ec || self->drained_ > kMaxDrainBytes) {
                                beast::error_code ignored;
                                self->stream_.socket().close(ignored);
                                return;
                              }
                              self->drain();
                            });
  }

  beast::tcp_stream stream_;
  std::shared_ptr<Shared> shared_;
  Port port_;
  std::string peer_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  bhttp::response<bhttp::string_body> response_;
  bool keep_alive_ = true;
  bool head_ = false;
  std::unique_ptr<Feed> feed_;  // a streamed response
  bhttp::response<bhttp::empty_body> stream_head_;
  std::optional<bhttp::response_serializer<bhttp::empty_body>> head_serializer_;
  std::array<char, 16 << 10> drain_buffer_{};
  std::size_t drained_ = 0;
};

class Acceptor : public std::enable_shared_from_this<Acceptor> {
 public:
  Acceptor(net::io_context& io, std::shared_ptr<Shared> shared, Port port)
      : io_(io), acceptor_(net::make_strand(io)), shared_(std::move(shared)), port_(port) {}

  Status bind(const Listener& listener) {
    beast::error_code ec;
    std::string host = listener.address.host == "localhost" ? "127.0.0.1" : listener.address.host;
    tcp::endpoint endpoint(net::ip::make_address(host, ec), listener.address.port);
    auto fail = [&](const char* what) {
      return make_error(
          ErrorCode::InvalidConfig,
          "cannot listen on " + listener.address.to_string() + ": " + what + ": " + ec.message(),
          listener.config_key);
    };
    if (ec) return fail("address");
    if (acceptor_.open(endpoint.protocol(), ec); ec) return fail("socket");
    if (acceptor_.set_option(net::socket_base::reuse_address(true), ec); ec) return fail("option");
    if (acceptor_.bind(endpoint, ec); ec) return fail("bind");
    if (acceptor_.listen(net::socket_base::max_listen_connections, ec); ec) return fail("listen");
    port_number_ = acceptor_.local_endpoint(ec).port();
    return {};
  }

  void accept() {
    acceptor_.async_accept(net::make_strand(io_),
                           beast::bind_front_handler(&Acceptor::on_accept, shared_from_this()));
  }

  void close() {
    net::post(acceptor_.get_executor(), [self = shared_from_this()] {
      beast::error_code ignored;
      self->acceptor_.close(ignored);
    });
  }

  Port port() const { return port_; }
  std::uint16_t port_number() const { return port_number_; }

 private:
  void on_accept(beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || shared_->stopped) return;
    if (!ec) {
      if (shared_->open >= shared_->limits.max_connections) {
        refuse(socket);
      } else {
        ++shared_->open;
        ++shared_->accepted;
        std::make_shared<Session>(std::move(socket), shared_, port_)->start();
      }
    }
    accept();
  }

  // Over max_connections: a short 503 if the socket takes it at once, then close.
  void refuse(tcp::socket& socket) {
    ++shared_->refused;
    static const std::string kBusy = [] {
      std::string body =
          R"({"error":{"code":"too_many_connections","message":"http.max_connections reached"}})"
          "\n";
      return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
             "Connection: close\r\nContent-Length: " +
             std::to_string(body.size()) + "\r\n\r\n" + body;
    }();
    beast::error_code ignored;
    socket.non_blocking(true, ignored);
    socket.write_some(net::buffer(kBusy), ignored);
    socket.close(ignored);
  }

  net::io_context& io_;
  tcp::acceptor acceptor_;
  std::shared_ptr<Shared> shared_;
  Port port_;
  std::uint16_t port_number_ = 0;
};

}  // namespace

struct Server::Impl {
  net::io_context io;
  std::shared_ptr<Shared> shared = std::make_shared<Shared>();
  std::vector<std::shared_ptr<Acceptor>> acceptors;
  std::vector<std::thread> threads;
  bool stopped = false;
};

Expected<std::unique_ptr<Server>> Server::start(std::vector<Listener> listeners,
                                                ServerLimits limits, Handler handler) {
  auto impl = std::make_unique<Impl>();
  impl->shared->limits = limits;
  impl->shared->handler = std::move(handler);
  for (const Listener& listener : listeners) {
    auto acceptor = std::make_shared<Acceptor>(impl->io, impl->shared, listener.port);
    if (Status bound = acceptor->bind(listener); !bound) return bound.error();
    impl->acceptors.push_back(std::move(acceptor));
  }
  for (auto& acceptor : impl->acceptors) acceptor->accept();
  Impl* raw = impl.get();
  for (unsigned i = 0; i < std::max(1u, limits.threads); ++i)
    impl->threads.emplace_back([raw] { raw->io.run(); });
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() {
  stop();
}

void Server::stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  impl_->shared->stopped = true;
  for (auto& acceptor : impl_->acceptors) acceptor->close();
  impl_->io.stop();
  for (std::thread& thread : impl_->threads) thread.join();
}

void Server::post(std::function<void()> work) {
  if (impl_->shared->stopped) return;
  net::post(impl_->io, std::move(work));
}

std::uint16_t Server::port_of(Port port) const {
  for (const auto& acceptor : impl_->acceptors)
    if (acceptor->port() == port) return acceptor->port_number();
  return 0;
}

ServerCounters Server::counters() const {
  const Shared& s = *impl_->shared;
  return {s.open,      s.accepted,  s.refused, s.timed_out,
          s.too_large, s.malformed, s.streams, s.streams_dropped_slow};
}

}  // namespace sup::http
