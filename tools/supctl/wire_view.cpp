#include "supctl/wire_view.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace sup::cli {
namespace {

using nlohmann::json;

const json* member(const json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

std::string text(const json& object, std::string_view key) {
  const json* value = member(object, key);
  return value && value->is_string() ? value->get<std::string>() : std::string{};
}

bool flag(const json& object, std::string_view key) {
  const json* value = member(object, key);
  return value && value->is_boolean() && value->get<bool>();
}

std::optional<double> number(const json& object, std::string_view key) {
  const json* value = member(object, key);
  if (!value || !value->is_number()) return std::nullopt;
  const double number = value->get<double>();
  return std::isfinite(number) ? std::optional<double>(number) : std::nullopt;
}

std::optional<std::int64_t> integer(const json& object, std::string_view key) {
  const json* value = member(object, key);
  if (!value) return std::nullopt;
  if (value->is_number_integer()) {
    if (value->is_number_unsigned() &&
        value->get<std::uint64_t>() >
            static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      return std::numeric_limits<std::int64_t>::max();
    return value->get<std::int64_t>();
  }
  if (auto real = number(object, key)) {
    constexpr double kLimit = 9.2e18;
    return static_cast<std::int64_t>(std::clamp(*real, -kLimit, kLimit));
  }
  return std::nullopt;
}

std::uint64_t count(const json& object, std::string_view key) {
  if (const json* value = member(object, key); value && value->is_number_unsigned())
    return value->get<std::uint64_t>();
  const std::int64_t signed_value = integer(object, key).value_or(0);
  return signed_value > 0 ? static_cast<std::uint64_t>(signed_value) : 0;
}

std::vector<std::string> texts(const json& object, std::string_view key) {
  std::vector<std::string> out;
  const json* value = member(object, key);
  if (!value || !value->is_array()) return out;
  for (const json& item : *value)
    out.push_back(item.is_string() ? item.get<std::string>() : to_line(item));
  return out;
}

Fields fields_of(const json& object, std::string_view key) {
  Fields out;
  const json* value = member(object, key);
  if (!value || !value->is_object()) return out;
  for (const auto& [name, item] : value->items())
    out.emplace_back(name, item.is_string() ? item.get<std::string>() : to_line(item));
  return out;
}

const json& child(const json& object, std::string_view key) {
  static const json kNull;
  const json* value = member(object, key);
  return value ? *value : kNull;
}

ChildView parse_child(const json& record) {
  ChildView view;
  view.id = text(record, "id");
  view.path = text(record, "path");
  view.parent = text(record, "parent");
  view.kind = text(record, "kind");
  view.restart = text(record, "restart");
  view.state = text(record, "state");
  view.restart_count = count(record, "restart_count");
  if (const json& exit = child(record, "last_exit"); exit.is_object())
    view.last_exit = ExitView{text(exit, "kind"), text(exit, "reason"), integer(exit, "at")};
  const json& budget = child(record, "restart_budget");
  view.tokens = number(budget, "tokens").value_or(0);
  view.capacity = number(budget, "capacity").value_or(0);
  view.refill_per_sec = number(budget, "refill_per_sec").value_or(0);
  view.backoff_ms = count(record, "backoff_ms");
  view.started_at_ms = integer(record, "started_at");
  view.pid = integer(record, "pid");
  view.generation = count(record, "generation");
  view.attempt = count(record, "attempt");
  const json& liveness = child(record, "liveness");
  view.last_heartbeat_at_ms = integer(liveness, "last_heartbeat_at");
  view.heartbeat_stale = flag(liveness, "heartbeat_stale");
  view.readiness = text(liveness, "readiness");
  view.quarantine_reason = text(record, "quarantine_reason");
  return view;
}

}  // namespace

std::size_t ChildView::depth() const {
  const auto separators = static_cast<std::size_t>(std::count(path.begin(), path.end(), '/'));
  return separators > 0 ? separators - 1 : 0;
}

StateView parse_state(const json& result) {
  StateView view;
  const json& children = child(result, "children");
  view.children = {count(children, "running"),    count(children, "failed"),
                   count(children, "restarting"), count(children, "quarantined"),
                   count(children, "stopped"),    count(children, "target_count")};
  if (const json& records = child(result, "child_runtime_records"); records.is_array())
    for (const json& record : records)
      if (record.is_object()) view.records.push_back(parse_child(record));
  view.state_generation = count(result, "state_generation");
  view.captured_at_ms = integer(result, "captured_at").value_or(0);
  return view;
}

HealthView parse_health(const json& result) {
  HealthView view;
  view.status = text(result, "status");
  view.uptime_secs = count(result, "uptime_secs");
  view.control_loop_iterations = count(result, "control_loop_iterations");
  view.iterations_per_sec = number(result, "iterations_per_sec").value_or(0);
  view.dashboard_link = text(result, "dashboard_link");
  view.reasons = texts(result, "reasons");
  view.suspects = texts(result, "suspects");
  view.dashboard_clients = count(result, "dashboard_clients");
  return view;
}

EventView parse_event(const json& event) {
  EventView view;
  view.sequence = count(event, "sequence");
  view.event_type = text(event, "event_type");
  view.severity = text(event, "severity");
  view.child_id = text(event, "child_id");
  view.target_path = text(event, "target_path");
  view.occurred_at_nanos = integer(event, "occurred_at_unix_nanos").value_or(0);
  view.payload = fields_of(event, "payload");
  return view;
}

LogView parse_log(const json& record) {
  LogView view;
  if (member(record, "sequence")) view.sequence = count(record, "sequence");
  view.severity = text(record, "severity");
  view.message = text(record, "message");
  view.fields = fields_of(record, "fields");
  view.occurred_at_nanos = integer(record, "occurred_at_unix_nanos").value_or(0);
  return view;
}

CommandResultView parse_command_result(const json& result) {
  return {text(result, "command_id"), text(result, "status"), text(result, "reason"),
          flag(result, "accepted"), flag(result, "idempotent")};
}

DaemonErrorView parse_daemon_error(const json& error) {
  return {text(error, "code"), text(error, "stage"), text(error, "message"),
          text(error, "field_path"), flag(error, "retryable")};
}

SubscriptionView parse_subscription(const json& result) {
  return {count(result, "last_sequence")};
}

HelloView parse_hello(const json& result) {
  const json& registration = child(result, "registration");
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
