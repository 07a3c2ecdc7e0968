#include "supctl/query_commands.hpp"

#include "common/clock.hpp"
#include "supctl/report_format.hpp"

namespace sup::cli {
namespace {

// The result of a parameterless query, printed raw under --json.
std::optional<nlohmann::json> query(CommandContext& context, std::string_view method) {
  auto client = context.connect();
  if (!client) return std::nullopt;
  auto result = context.ask(*client, method, nlohmann::json::object(), method);
  if (result && context.options().json) context.print_json(*result);
  return result;
}

void print_table(CommandContext& context, const wire::DashboardState& state) {
  for (const std::string& line : children_table(state, unix_now_ms(), context.io().out_columns))
    context.print(line);
}

}  // namespace

ExitCode show_state(CommandContext& context) {
  auto result = query(context, "state");
  if (!result) return context.failure();
  if (context.options().json) return ExitCode::Ok;
  const wire::DashboardState state = parse_state(*result);
  context.print(state_summary(state));
  print_table(context, state);
  for (const std::string& note : quarantine_notes(state)) context.print(note);
  return ExitCode::Ok;
}

ExitCode show_children(CommandContext& context) {
  auto result = query(context, "state");
  if (!result) return context.failure();
  if (!context.options().json) print_table(context, parse_state(*result));
  return ExitCode::Ok;
}

ExitCode show_health(CommandContext& context) {
  auto result = query(context, "health");
  if (!result) return context.failure();
  if (!context.options().json)
    for (const std::string& line : health_report(parse_health(*result))) context.print(line);
  return ExitCode::Ok;
}

}  // namespace sup::cli
