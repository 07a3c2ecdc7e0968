// The test's own client of the daemon socket: newline-delimited JSON over a
// Unix stream socket, independent of supctl so the two can check each
// other. Responses are matched by request_id; pushes (events, log records,
// errors) that arrive meanwhile are kept in order for next_push().
//
//   auto client = sup::it::SocketClient::connect(path, sup::it::deadline_in(5s));
//   REQUIRE(client);
//   auto response = client->call("health", {}, sup::it::deadline_in(5s));
//   CHECK((*response)["result"]["status"] == "ready");
//   client->call("events.subscribe", {{"after_sequence", 0}}, ...);
//   auto event = client->next_push(sup::it::deadline_in(5s));
#pragma once

#include <chrono>
#include <deque>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "sup/error.hpp"

namespace sup::it {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;

inline Clock::time_point deadline_in(std::chrono::milliseconds timeout) {
  return Clock::now() + timeout;
}

class SocketClient {
 public:
  // Retries while the socket is missing or refuses (a relay restarting)
  // until `deadline`; the error names the last errno.
  static Expected<SocketClient> connect(const std::string& path, Clock::time_point deadline);
  // One attempt: a connected non-blocking fd, or -errno.
  static int connect_once(const std::string& path);

  explicit SocketClient(int fd);
  SocketClient(SocketClient&& other) noexcept;
  SocketClient& operator=(SocketClient&& other) noexcept;
  SocketClient(const SocketClient&) = delete;
  SocketClient& operator=(const SocketClient&) = delete;
  ~SocketClient();

  int fd() const { return fd_; }

  // Writes all of `bytes`; false when the peer closed or `deadline` passed.
  bool send_all(std::string_view bytes, Clock::time_point deadline);
  // Sends a request line; returns its request_id.
  std::optional<std::string> send_request(std::string_view method, const Json& params,
                                          Clock::time_point deadline);

  // The next line (without '\n'); nullopt on timeout or when the peer
  // closed the connection (closed() then says so).
  std::optional<std::string> read_line(Clock::time_point deadline);
  // The next line parsed as JSON (a non-JSON line becomes a string value).
  std::optional<Json> read_message(Clock::time_point deadline);
  bool closed() const { return closed_; }

  // The response to a new request; pushes read on the way are kept.
  std::optional<Json> call(std::string_view method, const Json& params, Clock::time_point deadline);
  // The response whose request_id is `request_id`, keeping pushes on the way.
  std::optional<Json> await_response(const std::string& request_id, Clock::time_point deadline);
  std::optional<Json> next_push(Clock::time_point deadline);

 private:
  int fd_ = -1;
  bool closed_ = false;
  std::string buffer_;
  std::deque<Json> pushes_;
  unsigned next_request_ = 0;
};

// {"command_id": <unique>, "target": target, "reason", "requested_by",
// "confirmed": true} plus `extra` (which may override any of them).
Json command_params(const std::string& target, const Json& extra = Json::object());

// A response's error code ("" when it is not an error response).
std::string error_code(const Json& response);

}  // namespace sup::it
