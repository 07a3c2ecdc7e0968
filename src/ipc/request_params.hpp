// Validation of the `params` of each method, strict like the config: wrong
// types, blank strings, unknown keys (with a "did you mean" hint) and
// missing required keys are errors whose field_path names the field
// ("params.command_id", "params.spec.backoff.max_ms").
//
//   auto parsed = sup::ipc::parse_command_params(*request.method, request.params, "sup@host");
//   if (auto* error = std::get_if<sup::ipc::ProtocolError>(&parsed)) return reply(*error);
//   plane.execute(std::get<sup::ipc::Command>(parsed));
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "ipc/control_plane.hpp"
#include "ipc/protocol.hpp"
#include "spec/child_spec_check.hpp"

namespace sup::ipc {

template <class T>
using ParamsResult = std::variant<T, ProtocolError>;

inline constexpr std::uint32_t kMaxTailLines = 10'000;
// The limits of every entry (spec::check_command_meta's).
inline constexpr std::size_t kMaxCommandIdBytes = spec::kMaxCommandIdBytes;
inline constexpr std::size_t kMaxRequestedByBytes = spec::kMaxRequestedByBytes;
inline constexpr std::size_t kMaxReasonBytes = spec::kMaxReasonBytes;

// Every method accepts params.target_id; when present it must name this
// daemon, so a command meant for another supervisor is never applied here.

// state, health: only target_id.
ParamsResult<std::monostate> parse_query_params(const nlohmann::json& params,
                                                std::string_view target_id);

struct SubscribeParams {
  std::optional<std::uint64_t> after_sequence;
};
ParamsResult<SubscribeParams> parse_subscribe_params(const nlohmann::json& params,
                                                     std::string_view target_id);

struct TailParams {
  std::optional<std::string> child_id;
  std::uint32_t lines = 100;
  bool follow = false;
};
ParamsResult<TailParams> parse_tail_params(const nlohmann::json& params,
                                           std::string_view target_id);

// command.*: errors are invalid_command_params, or validation_failed (field path params.confirmed)
// for a dangerous command without confirmed: true (checked last, so a client confirming a malformed
// command learns about the malformation first).
ParamsResult<Command> parse_command_params(const MethodInfo& method, const nlohmann::json& params,
                                           std::string_view target_id);

}  // namespace sup::ipc
