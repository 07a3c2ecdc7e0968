// What supctl reads from the daemon's answers (docs/ipc.md): the shared wire
// types (wire/dashboard_records.hpp, the ones the daemon writes), taken out
// of the messages as the daemon sends them: the state nested under
// result.state, a command's result under result.result, a pushed event
// under push.event, a log record under push.log.
//
// Reading is lenient: a missing or wrongly typed field takes its default and
// unknown fields are ignored; nothing here throws.
//
//   wire::DashboardState state = parse_state(reply.body);
//   for (const wire::ChildRecord& child : state.child_runtime_records) std::cout << child.id;
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "wire/dashboard_records.hpp"

namespace sup::cli {

// The hello result: what the dashboard's title shows.
struct HelloView {
  std::string protocol_version;
  std::string target_id;
  std::string display_name;
};

// {type:"state", state:{...}}
wire::DashboardState parse_state(const nlohmann::json& result);
// {type:"health", ...}
wire::Health parse_health(const nlohmann::json& result);
// {type:"event", event:{...}}
wire::EventRecord parse_event(const nlohmann::json& push);
// {type:"log", log:{...}}
wire::LogRecord parse_log(const nlohmann::json& push);
// {type:"command_result", result:{...}}
wire::CommandResult parse_command_result(const nlohmann::json& result);
// The error object of a failed response or an error push.
wire::ErrorObject parse_daemon_error(const nlohmann::json& error);
// {type:"subscription", subscription:"events"|"logs", ...}
wire::Subscription parse_subscription(const nlohmann::json& result);
HelloView parse_hello(const nlohmann::json& result);

// The "type" tag of a result or push; empty when absent.
std::string type_of(const nlohmann::json& message);
// Compact single-line JSON; invalid UTF-8 is replaced, never thrown on.
std::string to_line(const nlohmann::json& value);

}  // namespace sup::cli
