// The HTTP/1.1 server (Boost.Beast on Asio) on threads of its own: never
// the control loop's, CAF's or the execution service's. It reads one
// request at a time per connection under the limits (body, headers, one
// timer for the whole request, connections per listener), hands it to the
// handler on an I/O thread, and writes whatever the handler answers,
// whenever and from whichever thread it answers. No Beast in this header.
//
//   auto server = Server::start({{Port::Api, api_address}}, limits,
//                               [](Request request, Respond respond) {
//                                 respond({.status = 200, .body = R"({"status":"ok"})"});
//                               });
//   server->port_of(Port::Api);  // the bound port (listen port 0: any)
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/http_config.hpp"
#include "http/routing.hpp"
#include "sup/error.hpp"

namespace sup::http {

struct Request {
  Port port = Port::Api;
  std::string method;
  std::string target;
  std::string authorization;  // the Authorization header, if any
  std::string content_type;
  std::string body;
  std::string peer;           // "127.0.0.1:53312"
  std::string last_event_id;  // the Last-Event-ID header, if any
};

// The writing end of a streamed response (Server-Sent Events). Pieces go
// out in order, each as one chunk of a chunked body, until either side ends
// the stream; the connection is then closed.
class ResponseStream {
 public:
  virtual ~ResponseStream() = default;
  // Any thread; never blocks. Queues `piece` behind the unsent ones; when
  // that would hold more than the stream's max_queued_bytes the client is
  // too slow: the stream ends (ServerCounters::streams_dropped_slow). False
  // once the stream has ended (the client left, the server stops, dropped).
  virtual bool send(std::string piece) = 0;
  // Any thread: ends the stream after what is queued.
  virtual void end() = 0;
  virtual bool ended() const = 0;
};

struct StreamOptions {
  std::size_t max_queued_bytes = 1 << 20;
  // `heartbeat_piece` is sent every `heartbeat` (a comment for SSE), so
  // proxies keep an idle stream open and a vanished client is noticed.
  std::chrono::milliseconds heartbeat{15'000};
  std::string heartbeat_piece{};
  // Called once, on an I/O thread, when the head has been written: what
  // feeds the stream keeps it from here on.
  std::function<void(std::shared_ptr<ResponseStream>)> opened{};
};

struct Response {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers{};
  // Set: `body` is ignored; the head goes out (chunked) and then whatever
  // is sent on the stream handed to `stream->opened`.
  std::optional<StreamOptions> stream{};
};

// Called once, from any thread.
using Respond = std::function<void(Response)>;
// Called on an I/O thread: answer at once, or hand the work elsewhere and
// call `respond` from there (never block this thread).
using Handler = std::function<void(Request, Respond)>;

struct ServerLimits {
  std::size_t max_body_bytes = 1 << 20;     // 413 beyond
  std::size_t max_header_bytes = 16 << 10;  // 431 beyond
  // Headers and body must arrive whole within this (else the connection
  // is closed); a response must be taken within it too.
  std::chrono::milliseconds request_timeout{10'000};
  std::size_t max_connections = 256;  // per listener; beyond: 503 and close
  unsigned threads = 2;
};

struct Listener {
  Port port = Port::Api;
  config::ListenAddress address;
  std::string config_key;  // "http.listen": named when it cannot bind
};

struct ServerCounters {
  std::uint64_t connections = 0;  // open now
  std::uint64_t accepted = 0;
  std::uint64_t refused_connections = 0;   // over max_connections
  std::uint64_t timed_out = 0;             // request not whole in time
  std::uint64_t too_large = 0;             // body or headers over the limit
  std::uint64_t malformed = 0;             // not HTTP/1.1
  std::uint64_t streams = 0;               // streamed responses open now
  std::uint64_t streams_dropped_slow = 0;  // ended: the client did not keep up
};

class Server {
 public:
  // Binds every listener (InvalidConfig naming its config key when it
  // cannot), then serves on `limits.threads` threads.
  static Expected<std::unique_ptr<Server>> start(std::vector<Listener> listeners,
                                                 ServerLimits limits, Handler handler);
  // stop(), then frees the I/O context.
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Closes the listeners and every connection and joins the threads; a
  // `respond` called later does nothing. Idempotent.
  void stop();

  // Runs `work` on one of the I/O threads (nothing, once stopped).
  void post(std::function<void()> work);

  std::uint16_t port_of(Port port) const;
  ServerCounters counters() const;

  struct Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sup::http
