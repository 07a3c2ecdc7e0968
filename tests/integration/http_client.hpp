// A blocking HTTP/1.1 client on loopback for the integration tests and the
// bench: one request per connection (Connection: close), the whole
// response read and parsed, or the connection's fate when none came.
//
//   auto reply = sup::it::http_get(port, "/health/ready");
//   CHECK(reply.status == 200);
//   auto body = reply.json();
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace sup::it {

struct HttpReply {
  int status = 0;  // 0: no response (connection refused, reset, or timed out)
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  bool closed_by_peer = false;  // the server closed the connection
  std::string error;            // why there is no response

  // The body parsed as JSON (discarded value when it is not).
  nlohmann::json json() const;
  std::string describe() const;  // status, headers and body, for messages
};

// A request written as given (`raw`), then the response read until the
// server closes or `timeout`.
HttpReply http_raw(std::uint16_t port, std::string_view raw,
                   std::chrono::milliseconds timeout = std::chrono::milliseconds(10'000));

HttpReply http_request(std::uint16_t port, std::string_view method, std::string_view target,
                       std::string_view body = {},
                       const std::map<std::string, std::string>& headers = {},
                       std::chrono::milliseconds timeout = std::chrono::milliseconds(10'000));

inline HttpReply http_get(std::uint16_t port, std::string_view target) {
  return http_request(port, "GET", target);
}

// A connected loopback socket (-1 on failure), for tests that write slowly.
int connect_loopback(std::uint16_t port);

}  // namespace sup::it
