#include "config/http_config.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>

#include "config/json_fields.hpp"

namespace sup::config {
namespace {

constexpr std::string_view kHttpKeys[] = {
    "enabled",        "listen",           "admin_listen",       "token_file",
    "max_body_bytes", "max_header_bytes", "request_timeout_ms", "max_connections",
    "threads",        "max_event_streams"};
constexpr std::string_view kMetricsKeys[] = {"enabled", "listen", "refresh_ms"};

void read_address(const ObjectReader& reader, std::string_view key, std::string& out) {
  reader.read(key, out);
  if (auto parsed = parse_listen_address(out, reader.field_path(key)); !parsed)
    reader.fail(key, parsed.error().message);
}

}  // namespace

bool ListenAddress::loopback() const {
  if (host == "localhost" || host == "::1") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  return false;
}

std::string ListenAddress::to_string() const {
  std::string shown = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return shown + ":" + std::to_string(port);
}

Expected<ListenAddress> parse_listen_address(std::string_view text, std::string_view field_path) {
  auto refuse = [&](std::string why) {
    return make_error(ErrorCode::InvalidConfig,
                      "\"" + std::string(text) + "\" is not a listen address: " + why +
                          " (expected HOST:PORT, e.g. \"127.0.0.1:8080\" or \"[::1]:8080\")",
                      std::string(field_path));
  };
  std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return refuse("no HOST:PORT");
  std::string_view host = text.substr(0, colon);
  std::string_view port_text = text.substr(colon + 1);
  ListenAddress address;
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return refuse("unclosed [");
    address.host = std::string(host.substr(1, host.size() - 2));
    in6_addr v6{};
    if (inet_pton(AF_INET6, address.host.c_str(), &v6) != 1) return refuse("bad IPv6 address");
  } else {
    address.host = std::string(host);
    in_addr v4{};
    if (address.host != "localhost" && inet_pton(AF_INET, address.host.c_str(), &v4) != 1)
      return refuse("the host must be an IPv4 literal, [IPv6] or localhost");
  }
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc{} || end != port_text.data() + port_text.size() ||
      port > 65535)
    return refuse("the port must be 0..65535");
  address.port = static_cast<std::uint16_t>(port);
  return address;
}

void read_http(const ObjectReader& root, HttpConfig& out, ErrorSlot& errors) {
  const nlohmann::json* node = root.find("http");
  if (!node) return;
  ObjectReader http(*node, "http", errors);
  http.allow_only(kHttpKeys);
  http.read("enabled", out.enabled);
  read_address(http, "listen", out.listen);
  read_address(http, "admin_listen", out.admin_listen);
  http.read("token_file", out.token_file);
  http.read("max_body_bytes", out.max_body_bytes, Range<std::uint32_t>{1024, 64u << 20});
  http.read("max_header_bytes", out.max_header_bytes, Range<std::uint32_t>{1024, 1u << 20});
  http.read("request_timeout_ms", out.request_timeout_ms, Range<std::uint32_t>{100, 600'000});
  http.read("max_connections", out.max_connections, Range<std::uint32_t>{1, 100'000});
  http.read("threads", out.threads, Range<std::uint32_t>{1, 64});
  http.read("max_event_streams", out.max_event_streams, Range<std::uint32_t>{1, 10'000});
  if (!errors.ok() || !out.enabled || !out.token_file.empty()) return;
  for (std::string_view key : {"listen", "admin_listen"}) {
    const std::string& text = key == "listen" ? out.listen : out.admin_listen;
    auto address = parse_listen_address(text, http.field_path(key));
    if (address && !address->loopback())
      return http.fail("token_file", "is required: http." + std::string(key) + " \"" + text +
                                         "\" is not a loopback address, and every mutating "
                                         "and admin endpoint off loopback needs a bearer token");
  }
}

void read_metrics(const ObjectReader& root, MetricsConfig& out, ErrorSlot& errors) {
  const nlohmann::json* node = root.find("metrics");
  if (!node) return;
  ObjectReader metrics(*node, "metrics", errors);
  metrics.allow_only(kMetricsKeys);
  metrics.read("enabled", out.enabled);
  read_address(metrics, "listen", out.listen);
  metrics.read("refresh_ms", out.refresh_ms, Range<std::uint32_t>{50, 600'000});
}

}  // namespace sup::config
