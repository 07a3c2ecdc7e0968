// The Beast server's limits with a real loopback socket: bodies, headers,
// the request timer (a slow client), connections, malformed requests, and
// answers given later from another thread.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "http/server.hpp"

using namespace std::chrono_literals;
using sup::http::Port;

namespace {

// A blocking loopback client; reads until the peer closes or `deadline`.
class Client {
 public:
  explicit Client(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~Client() { ::close(fd_); }
  bool connected() const { return connected_; }
  void send(const std::string& data) {
    std::size_t sent = 0;
    while (sent < data.size()) {
      ssize_t n = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return;
      sent += static_cast<std::size_t>(n);
    }
  }
  // Everything until the peer closes (or `timeout`); `closed` says which.
  std::string read_all(std::chrono::milliseconds timeout, bool* closed = nullptr) {
    std::string out;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      char buffer[4096];
      ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) {
        if (closed) *closed = true;
        return out;
      }
      out.append(buffer, static_cast<std::size_t>(n));
    }
    if (closed) *closed = false;
    return out;
  }
  // One response with Content-Length (keep-alive connections).
  std::string read_response(std::chrono::milliseconds timeout) {
    std::string out;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      std::size_t end = out.find("\r\n\r\n");
      if (end != std::string::npos) {
        std::size_t at = out.find("Content-Length: ");
        std::size_t length = at == std::string::npos ? 0 : std::stoul(out.substr(at + 16));
        if (out.size() >= end + 4 + length) return out;
      }
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      char buffer[4096];
      ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) return out;
      out.append(buffer, static_cast<std::size_t>(n));
    }
    return out;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

std::unique_ptr<sup::http::Server> start(sup::http::ServerLimits limits,
                                         sup::http::Handler handler) {
  auto address = sup::config::parse_listen_address("127.0.0.1:0", "http.listen");
  REQUIRE(address);
  auto server =
      sup::http::Server::start({{Port::Api, *address, "http.listen"}}, limits, std::move(handler));
  REQUIRE_MESSAGE(server, server.error().describe());
  REQUIRE((*server)->port_of(Port::Api) != 0);
  return std::move(*server);
}

sup::http::Handler echo_handler() {
  return [](sup::http::Request request, sup::http::Respond respond) {
    respond({200, "text/plain", request.method + " " + request.target + " " + request.body});
  };
}

std::string status_line(const std::string& response) {
  return response.substr(0, response.find("\r\n"));
}

}  // namespace

TEST_CASE("a request is answered, and the connection kept alive for the next") {
  auto server = start({}, echo_handler());
  Client client(server->port_of(Port::Api));
  REQUIRE(client.connected());
  client.send("POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello");
  std::string first = client.read_response(5s);
  CHECK(status_line(first) == "HTTP/1.1 200 OK");
  CHECK(first.find("POST /x hello") != std::string::npos);
  client.send("GET /y HTTP/1.1\r\nHost: t\r\n\r\n");
  CHECK(client.read_response(5s).find("GET /y ") != std::string::npos);
}

TEST_CASE("an answer given later from another thread reaches the client") {
  std::vector<std::thread> workers;
  std::mutex mutex;
  auto server = start({}, [&](sup::http::Request, sup::http::Respond respond) {
    std::lock_guard lock(mutex);
    workers.emplace_back([respond] {
      std::this_thread::sleep_for(50ms);  // the work being done elsewhere
      respond({202, "application/json", "{}"});
      respond({500, "application/json", "{}"});  // a second answer is ignored
    });
  });
  Client client(server->port_of(Port::Api));
  client.send("GET /later HTTP/1.1\r\nHost: t\r\n\r\n");
  CHECK(status_line(client.read_response(5s)) == "HTTP/1.1 202 Accepted");
  for (auto& worker : workers) worker.join();
}

TEST_CASE("a body over the limit is 413, headers over theirs 431, both closed") {
  auto server = start({.max_body_bytes = 1024, .max_header_bytes = 1024}, echo_handler());
  {
    Client client(server->port_of(Port::Api));
    client.send("POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 4096\r\n\r\n" +
                std::string(4096, 'a'));
    bool closed = false;
    std::string response = client.read_all(5s, &closed);
    CHECK(status_line(response) == "HTTP/1.1 413 Payload Too Large");
    CHECK(response.find(R"("code":"payload_too_large")") != std::string::npos);
    CHECK(closed);
  }
  {
    Client client(server->port_of(Port::Api));
    client.send("GET /x HTTP/1.1\r\nHost: t\r\nX-Big: " + std::string(4096, 'b') + "\r\n\r\n");
    bool closed = false;
    std::string response = client.read_all(5s, &closed);
    CHECK(status_line(response) == "HTTP/1.1 431 Request Header Fields Too Large");
    CHECK(closed);
  }
  CHECK(server->counters().too_large == 2);
}

TEST_CASE("a slow client is cut off at the request timer; others are served meanwhile") {
  auto server = start({.request_timeout = 300ms}, echo_handler());
  Client slow(server->port_of(Port::Api));
  slow.send("GET /slow HTTP/1.1\r\nHost: t\r\n");  // never finishes its headers
  Client other(server->port_of(Port::Api));
  other.send("GET /fast HTTP/1.1\r\nHost: t\r\n\r\n");
  CHECK(status_line(other.read_response(5s)) == "HTTP/1.1 200 OK");
  bool closed = false;
  std::string nothing = slow.read_all(10s, &closed);
  CHECK(closed);
  CHECK(nothing.empty());
  // The stream closes the socket on the timer, then runs the read's handler,
  // which counts it: the client may see the close first.
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (server->counters().timed_out == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(1ms);
  CHECK(server->counters().timed_out >= 1);
}

TEST_CASE("malformed requests are 400 and closed") {
  auto server = start({}, echo_handler());
  Client client(server->port_of(Port::Api));
  client.send("NOT HTTP AT ALL\r\n\r\n");
  bool closed = false;
  std::string response = client.read_all(5s, &closed);
  CHECK(status_line(response) == "HTTP/1.1 400 Bad Request");
  CHECK(response.find(R"("code":"malformed_request")") != std::string::npos);
  CHECK(closed);
}

TEST_CASE("connections over max_connections get 503 and are closed") {
  auto server = start({.max_connections = 2}, echo_handler());
  Client a(server->port_of(Port::Api));
  Client b(server->port_of(Port::Api));
  // Both held open: the server counts them once it accepted them.
  a.send("GET /a HTTP/1.1\r\nHost: t\r\n\r\n");
  b.send("GET /b HTTP/1.1\r\nHost: t\r\n\r\n");
  REQUIRE(status_line(a.read_response(5s)) == "HTTP/1.1 200 OK");
  REQUIRE(status_line(b.read_response(5s)) == "HTTP/1.1 200 OK");
  Client c(server->port_of(Port::Api));
  bool closed = false;
  std::string response = c.read_all(5s, &closed);
  CHECK(status_line(response) == "HTTP/1.1 503 Service Unavailable");
  CHECK(response.find("too_many_connections") != std::string::npos);
  CHECK(closed);
  CHECK(server->counters().refused_connections == 1);
}

TEST_CASE("a port in use is refused naming the config key") {
  auto first = start({}, echo_handler());
  auto address = sup::config::parse_listen_address(
      "127.0.0.1:" + std::to_string(first->port_of(Port::Api)), "http.admin_listen");
  REQUIRE(address);
  auto second =
      sup::http::Server::start({{Port::Admin, *address, "http.admin_listen"}}, {}, echo_handler());
  REQUIRE_FALSE(second);
  CHECK(second.error().field_path == "http.admin_listen");
  CHECK(second.error().code == sup::ErrorCode::InvalidConfig);
}

namespace {

// A handler answering every request with a stream handed to the test.
struct StreamedAnswer {
  std::mutex mutex;
  std::condition_variable opened_cv;
  std::shared_ptr<sup::http::ResponseStream> stream;
  std::string last_event_id;

  sup::http::Handler handler(sup::http::StreamOptions options) {
    return [this, options](sup::http::Request request, sup::http::Respond respond) {
      {
        std::lock_guard lock(mutex);
        last_event_id = request.last_event_id;
      }
      sup::http::Response response{200, "text/event-stream", "ignored"};
      response.stream = options;
      response.stream->opened = [this](std::shared_ptr<sup::http::ResponseStream> s) {
        std::lock_guard lock(mutex);
        stream = std::move(s);
        opened_cv.notify_all();
      };
      respond(std::move(response));
    };
  }

  std::shared_ptr<sup::http::ResponseStream> wait_opened() {
    std::unique_lock lock(mutex);
    opened_cv.wait_for(lock, 10s, [this] { return stream != nullptr; });
    return stream;
  }
};

// Reads until `text` has arrived (or `timeout`).
std::string read_until(Client& client, std::string& seen, std::string_view text,
                       std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (seen.find(text) == std::string::npos && std::chrono::steady_clock::now() < deadline)
    seen += client.read_all(100ms);
  return seen;
}

bool eventually_true(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return condition();
}

}  // namespace

TEST_CASE("a streamed response: chunked head, pieces in order, heartbeats, closed when ended") {
  StreamedAnswer answer;
  auto server = start(
      {}, answer.handler(
              {.max_queued_bytes = 1 << 20, .heartbeat = 50ms, .heartbeat_piece = ": hb\n\n"}));
  Client client(server->port_of(Port::Api));
  client.send("GET /events HTTP/1.1\r\nHost: t\r\nLast-Event-ID: 17\r\n\r\n");
  auto stream = answer.wait_opened();
  REQUIRE(stream != nullptr);
  {
    std::lock_guard lock(answer.mutex);
    CHECK(answer.last_event_id == "17");
  }
  CHECK(server->counters().streams == 1);
  CHECK(stream->send("data: one\n\n"));
  CHECK(stream->send("data: two\n\n"));
  std::string seen;
  read_until(client, seen, ": hb", 5s);
  read_until(client, seen, "data: two", 5s);
  CHECK(status_line(seen) == "HTTP/1.1 200 OK");
  CHECK(seen.find("Transfer-Encoding: chunked") != std::string::npos);
  CHECK(seen.find("Content-Type: text/event-stream") != std::string::npos);
  CHECK(seen.find("Cache-Control: no-cache") != std::string::npos);
  CHECK(seen.find("ignored") == std::string::npos);
  CHECK(seen.find("data: one") < seen.find("data: two"));
  CHECK(seen.find(": hb") != std::string::npos);
  stream->end();
  CHECK_FALSE(stream->send("data: late\n\n"));
  bool closed = false;
  seen += client.read_all(5s, &closed);
  CHECK(closed);
  CHECK(seen.find("\r\n0\r\n\r\n") != std::string::npos);  // the last chunk
  CHECK(seen.find("late") == std::string::npos);
  CHECK(eventually_true([&] { return server->counters().streams == 0; }, 5s));
}

TEST_CASE("a stream whose client leaves ends; one that does not read is dropped and counted") {
  StreamedAnswer leaving;
  auto server = start({}, leaving.handler({.max_queued_bytes = 64 << 10}));
  {
    Client client(server->port_of(Port::Api));
    client.send("GET /events HTTP/1.1\r\nHost: t\r\n\r\n");
    REQUIRE(leaving.wait_opened() != nullptr);
  }  // closed
  CHECK(eventually_true([&] { return leaving.stream->ended(); }, 5s));
  CHECK(eventually_true([&] { return server->counters().streams == 0; }, 5s));

  StreamedAnswer stuck;
  auto slow_server = start({.request_timeout = 60s}, stuck.handler({.max_queued_bytes = 64 << 10}));
  Client sleeper(slow_server->port_of(Port::Api));
  sleeper.send("GET /events HTTP/1.1\r\nHost: t\r\n\r\n");
  auto stream = stuck.wait_opened();
  REQUIRE(stream != nullptr);
  // The socket buffers take a few MB; then the queue fills and the stream
  // is dropped: send() says so at once, nothing blocks.
  const std::string piece(16 << 10, 'x');
  bool dropped = false;
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (!dropped && std::chrono::steady_clock::now() < deadline) {
    dropped = !stream->send(piece);
    if (!dropped) std::this_thread::sleep_for(1ms);
  }
  CHECK(dropped);
  CHECK(stream->ended());
  CHECK(eventually_true([&] { return slow_server->counters().streams_dropped_slow == 1; }, 5s));
  CHECK(eventually_true([&] { return slow_server->counters().streams == 0; }, 5s));
  // Everybody else is still served.
  Client other(slow_server->port_of(Port::Api));
  other.send("GET /events HTTP/1.1\r\nHost: t\r\n\r\n");
  std::string head;
  read_until(other, head, "\r\n\r\n", 5s);
  CHECK(status_line(head) == "HTTP/1.1 200 OK");
}
