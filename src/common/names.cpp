// One table per enum: the spelling in logs, JSON and config, both ways.
#include <array>
#include <optional>
#include <string_view>
#include <utility>

#include "sup/child_spec.hpp"
#include "sup/command.hpp"
#include "sup/handle.hpp"
#include "sup/log.hpp"
#include "sup/state.hpp"
#include "sup/task_exit.hpp"

namespace sup {
namespace {

template <class Enum, std::size_t N>
using NameTable = std::array<std::pair<Enum, std::string_view>, N>;

template <class Enum, std::size_t N>
std::string_view name_of(const NameTable<Enum, N>& table, Enum value) {
  for (const auto& [candidate, name] : table)
    if (candidate == value) return name;
  return "unknown";
}

template <class Enum, std::size_t N>
std::optional<Enum> value_of(const NameTable<Enum, N>& table, std::string_view text) {
  for (const auto& [candidate, name] : table)
    if (name == text) return candidate;
  return std::nullopt;
}

constexpr NameTable<TaskExit::Kind, 6> kTaskExitNames{{
    {TaskExit::Completed, "TaskExit::Completed"},
    {TaskExit::Failed, "TaskExit::Failed"},
    {TaskExit::Panicked, "TaskExit::Panicked"},
    {TaskExit::Cancelled, "TaskExit::Cancelled"},
    {TaskExit::TimedOut, "TaskExit::TimedOut"},
    {TaskExit::Killed, "TaskExit::Killed"},
}};

constexpr NameTable<Strategy, 3> kStrategyNames{{
    {Strategy::OneForOne, "one_for_one"},
    {Strategy::OneForAll, "one_for_all"},
    {Strategy::RestForOne, "rest_for_one"},
}};

constexpr NameTable<RestartType, 3> kRestartTypeNames{{
    {RestartType::Permanent, "permanent"},
    {RestartType::Transient, "transient"},
    {RestartType::Temporary, "temporary"},
}};

constexpr NameTable<ChildKind, 5> kChildKindNames{{
    {ChildKind::Task, "task"},
    {ChildKind::Process, "process"},
    {ChildKind::Drill, "drill"},
    {ChildKind::Endpoint, "relay"},
    {ChildKind::Supervisor, "supervisor"},
}};

constexpr NameTable<DrillKind, 6> kDrillKindNames{{
    {DrillKind::CrashAfter, "crash_after"},
    {DrillKind::Panic, "panic"},
    {DrillKind::Flaky, "flaky"},
    {DrillKind::BlockForever, "block_forever"},
    {DrillKind::IgnoreCancel, "ignore_cancel"},
    {DrillKind::Busy, "busy"},
}};

constexpr NameTable<ChildState, 8> kChildStateNames{{
    {ChildState::Starting, "Starting"},
    {ChildState::Running, "Running"},
    {ChildState::Restarting, "Restarting"},
    {ChildState::Stopping, "Stopping"},
    {ChildState::Stopped, "Stopped"},
    {ChildState::Paused, "Paused"},
    {ChildState::Failed, "Failed"},
    {ChildState::Quarantined, "Quarantined"},
}};

constexpr NameTable<Readiness, 3> kReadinessNames{{
    {Readiness::Unknown, "unknown"},
    {Readiness::Ready, "ready"},
    {Readiness::NotReady, "not_ready"},
}};

constexpr NameTable<ShutdownPhase, 4> kShutdownPhaseNames{{
    {ShutdownPhase::Draining, "ShutdownPhase::Draining"},
    {ShutdownPhase::StoppingChildren, "ShutdownPhase::StoppingChildren"},
    {ShutdownPhase::FlushingState, "ShutdownPhase::FlushingState"},
    {ShutdownPhase::Completed, "ShutdownPhase::Completed"},
}};

constexpr NameTable<CommandResult::Kind, 3> kCommandResultNames{{
    {CommandResult::Accepted, "CommandResult::Accepted"},
    {CommandResult::NotFound, "CommandResult::NotFound"},
    {CommandResult::Rejected, "CommandResult::Rejected"},
}};

constexpr NameTable<EndpointLink, 3> kEndpointLinkNames{{
    {EndpointLink::Disconnected, "disconnected"},
    {EndpointLink::Listening, "listening"},
    {EndpointLink::Connected, "connected"},
}};

constexpr NameTable<LogLevel, 6> kLogLevelNames{{
    {LogLevel::Trace, "trace"},
    {LogLevel::Debug, "debug"},
    {LogLevel::Info, "info"},
    {LogLevel::Warn, "warn"},
    {LogLevel::Error, "error"},
    {LogLevel::Critical, "critical"},
}};

}  // namespace

std::string_view to_string(TaskExit::Kind kind) {
  return name_of(kTaskExitNames, kind);
}
std::optional<TaskExit::Kind> task_exit_kind_from_string(std::string_view text) {
  return value_of(kTaskExitNames, text);
}
std::string_view to_string(Strategy value) {
  return name_of(kStrategyNames, value);
}
std::string_view to_string(RestartType value) {
  return name_of(kRestartTypeNames, value);
}
std::string_view to_string(ChildKind value) {
  return name_of(kChildKindNames, value);
}
std::string_view to_string(DrillKind value) {
  return name_of(kDrillKindNames, value);
}
std::optional<Strategy> strategy_from_string(std::string_view text) {
  return value_of(kStrategyNames, text);
}
std::optional<RestartType> restart_type_from_string(std::string_view text) {
  return value_of(kRestartTypeNames, text);
}
std::optional<ChildKind> child_kind_from_string(std::string_view text) {
  return value_of(kChildKindNames, text);
}
std::optional<DrillKind> drill_kind_from_string(std::string_view text) {
  return value_of(kDrillKindNames, text);
}
std::string_view to_string(ChildState state) {
  return name_of(kChildStateNames, state);
}
std::string_view to_string(Readiness readiness) {
  return name_of(kReadinessNames, readiness);
}
std::string_view to_string(ShutdownPhase phase) {
  return name_of(kShutdownPhaseNames, phase);
}
std::string_view to_string(CommandResult::Kind kind) {
  return name_of(kCommandResultNames, kind);
}
std::string_view to_string(EndpointLink link) {
  return name_of(kEndpointLinkNames, link);
}
std::string_view to_string(LogLevel level) {
  return name_of(kLogLevelNames, level);
}
std::optional<LogLevel> log_level_from_string(std::string_view text) {
  if (text == "warning") return LogLevel::Warn;
  return value_of(kLogLevelNames, text);
}

}  // namespace sup
