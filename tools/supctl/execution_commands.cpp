#include "supctl/execution_commands.hpp"

#include <algorithm>
#include <fstream>
#include <functional>
#include <iterator>
#include <sstream>
#include <thread>

#include "common/clock.hpp"
#include "supctl/execution_format.hpp"
#include "supctl/identity.hpp"
#include "supctl/reconnect_backoff.hpp"
#include "supctl/text_format.hpp"
#include "supctl/wire_view.hpp"

namespace sup::cli {
namespace {

using nlohmann::json;
using std::chrono::steady_clock;

// Without an event for this long, --wait asks for the execution's state
// (an event lost to a gap must not leave it waiting forever).
constexpr std::chrono::seconds kPollInterval{2};
// How long --wait keeps trying to reach a daemon that went away (a crash
// and restart take seconds; systemd restarts within this).
constexpr std::chrono::minutes kReconnectPatience{5};

std::string method_of(ExecutionOp op) {
  return "executions." + std::string(to_string(op));
}

void print_now(CommandContext& context, const std::string& line) {
  context.print(line);
  context.io().out.flush();
}

std::optional<std::string> read_spec(CommandContext& context, const std::string& file) {
  if (file == "-") return std::string(std::istreambuf_iterator<char>(context.io().in), {});
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    context.fail(ExitCode::Usage, "cannot read " + file);
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

json command_params(CommandContext& context, const std::string& subject) {
  const GlobalOptions& options = context.options();
  return {{"command_id", options.command_id.empty() ? random_command_id() : options.command_id},
          {"requested_by", options.requested_by},
          {"reason",
           options.reason.empty() ? "no reason given (supctl " + subject + ")" : options.reason},
          {"requested_at_unix_nanos", unix_now_nanos()}};
}

std::optional<wire::Execution> fetch(CommandContext& context, IpcClient& client,
                                     const std::string& id, json* raw = nullptr) {
  auto result = context.ask(client, "executions.get", {{"execution_id", id}}, "execution");
  if (!result) return std::nullopt;
  if (raw) *raw = wire::nested(*result, "execution");
  return parse_execution(*result);
}

// Subscribes from now, then reads the execution: no transition after the
// snapshot can be missed.
std::optional<wire::Execution> subscribe_and_fetch(CommandContext& context, IpcClient& client,
                                                   const std::string& id) {
  if (!context.ask(client, "events.subscribe", json::object(), "subscription")) return std::nullopt;
  return fetch(context, client, id);
}

ExitCode outcome(CommandContext& context, const ExecutionProgress& progress,
                 const std::string& id) {
  if (context.options().json) {
    context.print_json({{"type", "execution_finished"},
                        {"execution_id", id},
                        {"state", progress.state()},
                        {"completed_nodes", progress.completed()},
                        {"nodes", progress.total()}});
  } else {
    print_now(context, progress.summary());
  }
  return progress.state() == "COMPLETED" ? ExitCode::Ok : ExitCode::NotDone;
}

// A new connection to a daemon that went away, once it is back.
std::optional<IpcClient> reconnect(CommandContext& context) {
  context.note("the connection to the supervisor dropped; waiting for it to come back...");
  const auto give_up = steady_clock::now() + kReconnectPatience;
  ReconnectBackoff backoff;
  while (steady_clock::now() < give_up) {
    std::this_thread::sleep_for(backoff.next());
    auto client = context.dial(context.deadline());
    if (client) return std::move(*client);
  }
  context.fail(ExitCode::Unreachable, "the supervisor did not come back within " +
                                          std::to_string(kReconnectPatience.count()) + " minutes");
  return std::nullopt;
}

// Prints a line per transition of execution `id` until it is finished.
ExitCode follow(CommandContext& context, IpcClient client, ExecutionProgress progress,
                const std::string& id) {
  const bool as_json = context.options().json;
  while (!progress.finished()) {
    auto message = client.receive(deadline_in(kPollInterval));
    if (!message && message.error().code == link_error::kTimeout) {
      auto snapshot = fetch(context, client, id);
      if (!snapshot) return context.failure();
      progress.refresh(*snapshot);
      continue;
    }
    if (!message) {
      auto again = reconnect(context);
      if (!again) return context.failure();
      client = std::move(*again);
      auto snapshot = subscribe_and_fetch(context, client, id);
      if (!snapshot) return context.failure();
      progress.refresh(*snapshot);
      if (!as_json)
        print_now(context, "supervisor is back; execution " + id + " is " + progress.state() +
                               ", " + std::to_string(progress.completed()) + "/" +
                               std::to_string(progress.total()) + " nodes completed");
      continue;
    }
    if (message->kind != Message::Push) continue;
    auto transition = parse_transition(message->body);
    if (!transition || transition->execution_id != id) continue;
    auto line = progress.apply(*transition);
    if (!line) continue;
    if (as_json) {
      context.print_json(message->body);
    } else {
      print_now(context, *line);
    }
  }
  return outcome(context, progress, id);
}

}  // namespace

ExitCode execute_dag(CommandContext& context, const ExecuteOptions& options) {
  auto text = read_spec(context, options.file);
  if (!text) return context.failure();
  json spec = json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (spec.is_discarded() || !spec.is_object())
    return context.fail(ExitCode::Usage,
                        options.file + " is not a DAG: a JSON object is expected (docs/dag.md)");
  json params = json::object();
  for (const std::string& pair : options.params) {
    auto equals = pair.find('=');
    if (equals == std::string::npos || equals == 0)
      return context.fail(ExitCode::Usage, "--param takes KEY=VALUE, got \"" + pair + "\"");
    params[pair.substr(0, equals)] = pair.substr(equals + 1);
  }

  auto client = context.connect();
  if (!client) return context.failure();
  // Before the submission, so the first transition is already streamed.
  if (options.wait && !context.ask(*client, "events.subscribe", json::object(), "subscription"))
    return context.failure();

  json request = command_params(context, "execute " + options.file);
  request["spec"] = std::move(spec);
  if (!params.empty()) request["params"] = std::move(params);
  if (!options.execution_id.empty()) request["execution_id"] = options.execution_id;
  auto reply = client->call(method_of(ExecutionOp::Submit), request, context.deadline());
  if (!reply) {
    context.report_link_failure(reply.error(), "executions.submit");
    if (!options.execution_id.empty())
      context.note("retrying with the same --id is safe: the supervisor starts an id once");
    return context.failure();
  }
  if (!reply->ok) return context.report_refusal(*reply, "executions.submit");
  const wire::CommandResult result = parse_command_result(reply->body);
  const wire::ExecutionOutcome execution = result.execution.value_or(wire::ExecutionOutcome{});
  const std::string& id = execution.execution_id;
  const bool existing = execution.existing;
  if (context.options().json) {
    context.print_json(reply->body);
  } else {
    std::string line = "submitted execution " + sanitize(id);
    if (existing)
      line = "execution " + sanitize(id) + " was submitted before; nothing new started" +
             (options.wait ? ": following it" : "");
    print_now(context, line);
  }
  if (!options.wait) return ExitCode::Ok;

  auto snapshot = fetch(context, *client, id);
  if (!snapshot) return context.failure();
  return follow(context, std::move(*client), ExecutionProgress(*snapshot), id);
}

ExitCode show_execution(CommandContext& context, const std::string& execution_id) {
  auto client = context.connect();
  if (!client) return context.failure();
  json raw;
  auto view = fetch(context, *client, execution_id, &raw);
  if (!view) return context.failure();
  if (context.options().json) {
    context.print_json(raw);
    return ExitCode::Ok;
  }
  for (const std::string& line : execution_report(*view, unix_now_ms(), context.io().out_columns))
    context.print(line);
  return ExitCode::Ok;
}

ExitCode list_executions(CommandContext& context, const std::string& state) {
  auto client = context.connect();
  if (!client) return context.failure();
  json params = json::object();
  if (!state.empty()) params["state"] = state;
  auto result = context.ask(*client, method_of(ExecutionOp::List), params, "executions");
  if (!result) return context.failure();
  if (context.options().json) {
    context.print_json(result->value("executions", json::array()));
    return ExitCode::Ok;
  }
  for (const std::string& line :
       executions_table(parse_executions(*result), unix_now_ms(), context.io().out_columns))
    context.print(line);
  return ExitCode::Ok;
}

ExitCode control_execution(CommandContext& context, ExecutionOp op,
                           const std::string& execution_id) {
  auto client = context.connect();
  if (!client) return context.failure();
  const std::string verb(to_string(op));
  json params = command_params(context, verb + " " + execution_id);
  params["execution_id"] = execution_id;
  auto result = context.ask(*client, method_of(op), params, "command_result");
  if (!result) return context.failure();
  const wire::CommandResult outcome = parse_command_result(*result);
  if (context.options().json) {
    context.print_json(*result);
  } else if (outcome.accepted) {
    context.print(verb + " " + sanitize(execution_id) + ": done, the execution is " +
                  sanitize(outcome.execution ? outcome.execution->state : std::string()));
  } else {
    context.print(verb + " " + sanitize(execution_id) + ": not done: " + sanitize(outcome.reason));
  }
  return outcome.accepted ? ExitCode::Ok : ExitCode::NotDone;
}

ExitCode show_node_output(CommandContext& context, const std::string& execution_id,
                          const std::string& node_id, std::uint32_t lines) {
  auto client = context.connect();
  if (!client) return context.failure();
  auto result = context.ask(
      *client, method_of(ExecutionOp::Logs),
      {{"execution_id", execution_id}, {"node_id", node_id}, {"lines", lines}}, "execution_logs");
  if (!result) return context.failure();
  if (context.options().json) {
    context.print_json(*result);
    return ExitCode::Ok;
  }
  const wire::ExecutionLogs logs = wire::read_execution_logs(*result);
  if (logs.truncated) context.note("older lines are not shown");
  for (const wire::ExecutionLogLine& line : logs.lines) {
    std::string prefix =
        "[" + std::to_string(line.attempt) + (line.stream == "stderr" ? " err] " : "] ");
    context.print(prefix + sanitize(line.text));
  }
  return ExitCode::Ok;
}

namespace {

// A command_result's outcome: printed as JSON, or by `print_done` / "not
// done: reason"; Ok when accepted, NotDone when rejected.
ExitCode report_outcome(CommandContext& context, const json& answer, const std::string& what,
                        const std::function<void(const wire::CommandResult&)>& print_done) {
  const wire::CommandResult outcome = parse_command_result(answer);
  if (context.options().json) {
    context.print_json(answer);
  } else if (outcome.accepted) {
    print_done(outcome);
  } else {
    context.print(what + ": not done: " + sanitize(outcome.reason));
  }
  return outcome.accepted ? ExitCode::Ok : ExitCode::NotDone;
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out += ", ";
    out += sanitize(item);
  }
  return out;
}

std::string maintenance_line(const wire::MaintenanceMode& mode) {
  if (!mode.enabled) return "maintenance mode: off";
  return "maintenance mode: ON for " +
         format_age(unix_now_ms(), mode.changed_at_unix_nanos / 1'000'000) + ", by " +
         sanitize(mode.requested_by) + ": " + sanitize(mode.reason) +
         " (submissions are queued, not started)";
}

}  // namespace

ExitCode retry_execution(CommandContext& context, const std::string& execution_id,
                         const std::string& from_node) {
  auto client = context.connect();
  if (!client) return context.failure();
  json params = command_params(context, "executions retry " + execution_id);
  params["execution_id"] = execution_id;
  params["node_id"] = from_node;
  auto result = context.ask(*client, method_of(ExecutionOp::Retry), params, "command_result");
  if (!result) return context.failure();
  const std::string what = "retry " + sanitize(execution_id) + " --from " + sanitize(from_node);
  return report_outcome(context, *result, what, [&](const wire::CommandResult& outcome) {
    const wire::ExecutionOutcome execution = outcome.execution.value_or(wire::ExecutionOutcome{});
    context.print(what + ": done, the execution is " + sanitize(execution.state) +
                  "; running again: " + joined(execution.nodes));
  });
}

ExitCode resume_all_executions(CommandContext& context) {
  auto client = context.connect();
  if (!client) return context.failure();
  json params = command_params(context, "executions resume-all");
  auto result = context.ask(*client, method_of(ExecutionOp::ResumeAll), params, "command_result");
  if (!result) return context.failure();
  return report_outcome(context, *result, "resume-all", [&](const wire::CommandResult& outcome) {
    const std::vector<wire::ResumeOutcome> list =
        outcome.resumed.value_or(std::vector<wire::ResumeOutcome>{});
    std::size_t resumed = static_cast<std::size_t>(std::count_if(
        list.begin(), list.end(), [](const wire::ResumeOutcome& o) { return o.resumed; }));
    context.print("resume-all: " + std::to_string(resumed) + " of " + std::to_string(list.size()) +
                  " stuck executions resumed");
    for (const wire::ResumeOutcome& item : list)
      context.print("  " + sanitize(item.execution_id) + " (" + sanitize(item.reason) + "): " +
                    (item.resumed ? "resumed" : "not resumed") + ": " + sanitize(item.detail));
  });
}

ExitCode set_maintenance(CommandContext& context, bool enabled) {
  const std::string what = std::string("maintenance ") + (enabled ? "on" : "off");
  if (context.options().reason.empty())
    return context.fail(ExitCode::Usage,
                        what + " needs --reason TEXT (it is shown with the mode and audited)");
  auto client = context.connect();
  if (!client) return context.failure();
  json params = command_params(context, what);
  params["enabled"] = enabled;
  auto result =
      context.ask(*client, method_of(ExecutionOp::SetMaintenance), params, "command_result");
  if (!result) return context.failure();
  return report_outcome(context, *result, what, [&](const wire::CommandResult& outcome) {
    context.print(maintenance_line(outcome.maintenance.value_or(wire::MaintenanceMode{})));
    if (!outcome.started.empty())
      context.print("queued executions started: " + joined(outcome.started));
  });
}

ExitCode show_maintenance(CommandContext& context) {
  auto client = context.connect();
  if (!client) return context.failure();
  auto result =
      context.ask(*client, method_of(ExecutionOp::Maintenance), json::object(), "maintenance");
  if (!result) return context.failure();
  const json& mode = wire::nested(*result, "maintenance");
  if (context.options().json) {
    context.print_json(mode);
  } else {
    context.print(maintenance_line(wire::read_maintenance(mode)));
  }
  return ExitCode::Ok;
}

std::optional<bool> is_execution(CommandContext& context, const std::string& id) {
  auto client = context.connect();
  if (!client) return std::nullopt;
  auto reply = client->call("executions.get", {{"execution_id", id}}, context.deadline());
  if (!reply) {
    context.report_link_failure(reply.error(), "executions.get");
    return std::nullopt;
  }
  return reply->ok;
}

}  // namespace sup::cli
