#include "supctl/wire_view.hpp"

namespace sup::cli {
namespace {

using nlohmann::json;

std::string text(const json& object, std::string_view key) {
  if (!object.is_object()) return {};
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

}  // namespace

wire::DashboardState parse_state(const json& result) {
  return wire::read_dashboard_state(wire::nested(result, "state"));
}

wire::Health parse_health(const json& result) {
  return wire::read_health(result);
}

wire::EventRecord parse_event(const json& push) {
  return wire::read_event(wire::nested(push, "event"));
}

wire::LogRecord parse_log(const json& push) {
  return wire::read_log(wire::nested(push, "log"));
}

wire::CommandResult parse_command_result(const json& result) {
  return wire::read_command_result(wire::nested(result, "result"));
}

wire::ErrorObject parse_daemon_error(const json& error) {
  return wire::read_error(error);
}

wire::Subscription parse_subscription(const json& result) {
  return wire::read_subscription(result);
}

HelloView parse_hello(const json& result) {
  const json& registration = wire::nested(result, "registration");
  return {text(result, "protocol_version"), text(registration, "target_id"),
          text(registration, "display_name")};
}

std::string type_of(const json& message) {
  return text(message, "type");
}

std::string to_line(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace sup::cli
