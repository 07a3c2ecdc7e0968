// The config keys of the HTTP API and the metrics endpoint (`http.*`,
// `metrics.*`, docs/config.md) and the listen-address rules they share.
//
//   auto address = sup::config::parse_listen_address("127.0.0.1:8080");
//   if (address && !address->loopback()) ...  // a bearer token is required
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "sup/error.hpp"

namespace sup::config {

class ObjectReader;
class ErrorSlot;

// "HOST:PORT": an IPv4 literal, "[IPv6]" or "localhost", and a port
// 0..65535 (0: any free port, reported in the log once bound).
struct ListenAddress {
  std::string host;  // without brackets
  std::uint16_t port = 0;
  bool loopback() const;  // 127.0.0.0/8, ::1, localhost
  std::string to_string() const;
};
// InvalidConfig naming `field_path` when `text` is not such an address.
Expected<ListenAddress> parse_listen_address(std::string_view text, std::string_view field_path);

struct HttpConfig {
  bool enabled = true;
  std::string listen = "127.0.0.1:8080";        // probes, /execute, /status, /metrics
  std::string admin_listen = "127.0.0.1:8081";  // /admin/...
  // Bearer tokens, one `name:token` per line (mode 0600 or stricter);
  // required when either address is not loopback.
  std::string token_file;
  std::uint32_t max_body_bytes = 1 << 20;
  std::uint32_t max_header_bytes = 16 << 10;
  // A request (headers and body) must arrive whole within this; a response
  // must be taken by the client within it too.
  std::uint32_t request_timeout_ms = 10'000;
  std::uint32_t max_connections = 256;  // per port; more are closed at once
  std::uint32_t threads = 2;            // the server's own I/O threads
  // GET /events streams open at once (each also counts as a connection).
  std::uint32_t max_event_streams = 64;
};

struct MetricsConfig {
  bool enabled = true;
  std::string listen = "127.0.0.1:9090";  // prometheus-cpp's own exposer
  // How often the supervision and store gauges are refreshed from the
  // daemon (one state snapshot each time).
  std::uint32_t refresh_ms = 1000;
};

void read_http(const ObjectReader& root, HttpConfig& out, ErrorSlot& errors);
void read_metrics(const ObjectReader& root, MetricsConfig& out, ErrorSlot& errors);

}  // namespace sup::config
