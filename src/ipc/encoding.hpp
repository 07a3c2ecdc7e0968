// The lines the server writes: responses, pushes and the records inside
// them, each a complete JSON object followed by '\n'. The records are the
// shared wire types (wire/dashboard_records.hpp); this file maps the
// runtime's types onto them (the seed's spellings: lifecycle states,
// severities, statuses) and frames them.
//
//   std::string line = sup::ipc::response_line("r1", "health", target_id, [&](sup::JsonWriter& w) {
//     sup::wire::write_fields(w, sup::ipc::to_wire(plane.health()));
//   });
//   // {"request_id":"r1","ok":true,"result":{"type":"health","target_id":"...",...}}\n
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ipc/log_history.hpp"
#include "ipc/protocol.hpp"
#include "json/json_writer.hpp"
#include "registration/registration_lease.hpp"
#include "sup/command.hpp"
#include "sup/state.hpp"
#include "wire/dashboard_records.hpp"

namespace sup::ipc {

// {"request_id":..,"ok":true,"result":{"type":..,"target_id":.., <fields>}}\n
template <class WriteFields>
std::string response_line(std::string_view request_id, std::string_view type,
                          std::string_view target_id, WriteFields&& write_fields) {
  JsonWriter w;
  w.begin_object().field("request_id", request_id).field("ok", true).key("result").begin_object();
  w.field("type", type).field("target_id", target_id);
  write_fields(w);
  w.end_object().end_object();
  return w.take_line();
}

// The request_id of an error about a line that could not be read far
// enough to find its own: the seed's placeholder (request_id is always a
// string).
inline constexpr std::string_view kInvalidRequestId = "invalid-request";

// {"request_id":..,"ok":false,"error":{code,stage,target_id,message,retryable,field_path?}}\n
std::string error_response_line(const std::optional<std::string>& request_id,
                                const ProtocolError& error, std::string_view target_id);
// An error not answering a request (too_many_clients, slow_consumer):
// {"type":"error","target_id":..,"error":{...}}\n
std::string error_push_line(const ProtocolError& error, std::string_view target_id);

// {"type":"event","target_id":..,"event":{<EventRecord>}}\n
std::string event_push_line(const Event& event, std::string_view target_id);
// {"type":"log","target_id":..,"log":{<LogRecord>}}\n
std::string log_push_line(const LogEntry& entry, std::string_view target_id);

// The seed's severity of a log level: trace|debug|info|warning|error
// (critical is reported as error).
std::string_view severity_of(LogLevel level);

// What DashboardState says about this target besides the tree.
struct DashboardContext {
  std::string_view target_id;
  std::string_view display_name;
  // The daemon's registration with a relay; null: registration is disabled.
  const registration::RegistrationStatus* registration = nullptr;
  const std::vector<LogEntryPtr>* recent_logs = nullptr;
};

wire::ErrorObject to_wire(const ProtocolError& error, std::string_view target_id);
wire::EventRecord to_wire(const Event& event, std::string_view target_id);
wire::LogRecord to_wire(const LogEntry& entry, std::string_view target_id);
wire::Registration to_wire(const registration::RegistrationStatus& status);
wire::Health to_wire(const Health& health,
                     const registration::RegistrationStatus& relay_registration);
// DashboardState.target.registration_state as the relay sees the lease at
// `now_unix_ms`: `active` while an acknowledged lease holds (a failed
// renewal does not end it), `expired` after it ran out, `pending` before
// any ack (and with registration disabled).
std::string_view registration_state_of(const registration::RegistrationStatus& status,
                                       std::int64_t now_unix_ms);
// The seed's ControlCommandResult: the tree carries a command out before
// answering, so an accepted command is `completed`; NotFound and Rejected
// are `rejected` with an error.
wire::CommandResult to_wire(const CommandResult& result, std::string_view target_id,
                            std::string_view command_id,
                            const std::optional<std::string>& correlation_id,
                            std::int64_t completed_at_unix_nanos);

// The seed's DashboardState of `state`, written without copying the tree.
void write_dashboard_state(JsonWriter& w, const SupervisorState& state,
                           const DashboardContext& context);

}  // namespace sup::ipc
