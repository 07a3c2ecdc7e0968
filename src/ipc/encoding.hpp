// The lines the server writes: responses, pushes and the records inside
// them, each a complete JSON object followed by '\n'.
//
//   std::string line = sup::ipc::response_line("r1", "health", target_id, [&](sup::ipc::JsonWriter&
//   w) {
//     sup::ipc::write_health_fields(w, plane.health());
//   });
//   // {"request_id":"r1","ok":true,"result":{"type":"health","target_id":"...",...}}\n
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "json/json_writer.hpp"
#include "ipc/log_history.hpp"
#include "ipc/protocol.hpp"
#include "sup/command.hpp"
#include "sup/state.hpp"

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

// {"request_id":..|null,"ok":false,"error":{code,stage,target_id,message,retryable,field_path?}}\n
std::string error_response_line(const std::optional<std::string>& request_id,
                                const ProtocolError& error, std::string_view target_id);
// An error not answering a request (too_many_clients, slow_consumer):
// {"type":"error","target_id":..,"error":{...}}\n
std::string error_push_line(const ProtocolError& error, std::string_view target_id);

// {"type":"event","target_id":..,"sequence":..,...}\n
std::string event_push_line(const Event& event, std::string_view target_id);
// {"type":"log","target_id":..,"sequence":..,...}\n
std::string log_push_line(const LogEntry& entry, std::string_view target_id);

// Records as they appear inside results and pushes.
void write_event(JsonWriter& w, const Event& event, std::string_view target_id);
void write_log_entry(JsonWriter& w, const LogEntry& entry, std::string_view target_id);
void write_state_fields(JsonWriter& w, const SupervisorState& state);
void write_health_fields(JsonWriter& w, const Health& health);
void write_command_result_fields(JsonWriter& w, const CommandResult& result,
                                 std::string_view command_id, std::int64_t completed_at_unix_nanos);

}  // namespace sup::ipc
