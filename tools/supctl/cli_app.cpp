#include "supctl/cli_app.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <functional>
#include <ostream>
#include <vector>

#include "supctl/checkpoint_commands.hpp"
#include "supctl/dashboard_app.hpp"
#include "supctl/execution_commands.hpp"
#include "supctl/identity.hpp"
#include "supctl/query_commands.hpp"
#include "supctl/stream_commands.hpp"
#include "supctl/tree_commands.hpp"

#ifndef SUPCTL_VERSION
#define SUPCTL_VERSION "unknown"
#endif

namespace sup::cli {
namespace {

constexpr std::int64_t kMaxTimeoutMs = 86'400'000;

constexpr const char* kFooter =
    "Exit codes: 0 ok; 1 not done (NotFound, Rejected, or declined at the prompt); 2 usage;\n"
    "3 supervisor not running or unreachable; 4 refused by the supervisor (protocol error);\n"
    "5 timeout; 6 the socket's server is not trusted (see --trust-uid). Details: docs/supctl.md";

std::string reject_blank(std::string& value) {
  return value.find_first_not_of(" \t\r\n") == std::string::npos ? "must not be blank" : "";
}

struct Parsed {
  GlobalOptions global;
  std::int64_t timeout_ms = 5000;
  std::string child;
  AddOptions add;
  LogsOptions logs;
  EventsOptions events;
  std::uint64_t since = 0;
  bool once = false;
  ExecuteOptions execute;
  std::string execution_id;
  std::string node;
  std::string status_filter;
  std::string maintenance_mode;
  CheckpointOptions checkpoint;
};

std::string op_summary(ExecutionOp op) {
  return std::string(execution_op_info(op).summary);
}

// pause/resume take a child's id or an execution's: an id the daemon knows
// as an execution is the execution.
ExitCode pause_or_resume(CommandContext& context, const TreeCommand& command,
                         const std::string& id) {
  auto execution = is_execution(context, id);
  if (!execution) return context.failure();
  if (!*execution) return run_tree_command(context, command, id);
  return control_execution(
      context,
      command.info->kind == CommandKind::PauseChild ? ExecutionOp::Pause : ExecutionOp::Resume, id);
}

// The subcommands that ask y/N first: "add, remove, kill, shutdown-tree".
std::string confirmed_commands() {
  std::string names = command_info(CommandKind::AddChild).needs_confirmation ? "add" : "";
  for (const TreeCommand& command : tree_commands())
    if (command.info->needs_confirmation) names += (names.empty() ? "" : ", ") + command.name;
  return names;
}

// `checkpoint list|inspect|validate|export|export-all|import|cleanup|snapshot|restore`,
// on a state dir's store (no daemon needed).
template <class On>
void add_checkpoint_subcommands(CLI::App& app, Parsed& parsed, On& on) {
  CheckpointOptions& options = parsed.checkpoint;
  CLI::App* checkpoint = app.add_subcommand(
      "checkpoint",
      "Read, check, export and import the execution store of a state dir (works while the "
      "daemon is down)");
  checkpoint->require_subcommand(1);
  auto add_store_options = [&options](CLI::App* verb) {
    auto* state_dir = verb->add_option("--state-dir", options.state_dir,
                                       "The daemon's state dir (store: DIR/store)");
    auto* store = verb->add_option("--store", options.store_path,
                                   "The store directory itself (the daemon's store.path)");
    state_dir->excludes(store);
  };

  CLI::App* list = checkpoint->add_subcommand(
      "list", "Executions (id, state, records, last update); with --execution its checkpoints");
  add_store_options(list);
  auto* list_execution =
      list->add_option("--execution", options.execution, "List this execution's checkpoints");
  auto* list_recent = list->add_option("--recent", options.recent, "Only the N most recent")
                          ->check(CLI::PositiveNumber);
  list->add_option("--type", options.type, "FULL: the whole-store snapshots, newest first")
      ->excludes(list_execution)
      ->excludes(list_recent);
  on(list, [&options](CommandContext& context) {
    return options.type.empty() ? list_checkpoints(context, options)
                                : list_snapshots(context, options);
  });

  CLI::App* inspect = checkpoint->add_subcommand(
      "inspect", "One checkpoint (EXECUTION:SEQ) with its payload, or one execution (ID) with all");
  add_store_options(inspect);
  inspect->add_option("id", options.id, "EXECUTION_ID:SEQ or EXECUTION_ID")->required();
  on(inspect, [&options](CommandContext& context) { return inspect_checkpoint(context, options); });

  CLI::App* validate = checkpoint->add_subcommand(
      "validate", "Check checksums, keys and summaries; exit 1 naming every bad record");
  add_store_options(validate);
  auto* all = validate->add_flag("--all", options.all, "Every execution (the default)");
  auto* recent =
      validate
          ->add_option("--recent", options.recent, "Only the N most recently updated executions")
          ->check(CLI::PositiveNumber);
  auto* execution = validate->add_option("--execution", options.execution, "Only this execution");
  all->excludes(recent)->excludes(execution);
  recent->excludes(execution);
  on(validate,
     [&options](CommandContext& context) { return validate_checkpoints(context, options); });

  // `export` and `export-all` are one verb: the runbooks spell it export-all.
  for (const char* name : {"export", "export-all"}) {
    CLI::App* export_verb = checkpoint->add_subcommand(
        name, "Write every execution and its artifact blobs to a .tar.gz (a backup)");
    add_store_options(export_verb);
    export_verb->add_option("--output", options.output, "The archive to write (never overwritten)")
        ->required();
    on(export_verb,
       [&options](CommandContext& context) { return export_checkpoints(context, options); });
  }

  CLI::App* import_verb = checkpoint->add_subcommand(
      "import", "Check an export archive and install it in a state dir that has no store");
  add_store_options(import_verb);
  import_verb->add_option("archive", options.archive, "The .tar.gz written by export")->required();
  on(import_verb,
     [&options](CommandContext& context) { return import_checkpoints(context, options); });

  CLI::App* cleanup = checkpoint->add_subcommand(
      "cleanup", "Remove finished executions older than N days (never an unfinished one)");
  add_store_options(cleanup);
  cleanup
      ->add_option("--max-age-days", options.max_age_days,
                   "Finished executions last updated longer ago than this go")
      ->required();
  on(cleanup,
     [&options](CommandContext& context) { return cleanup_checkpoints(context, options); });

  CLI::App* snapshot = checkpoint->add_subcommand(
      "snapshot", "Keep the whole store as a named FULL snapshot (STATE_DIR/snapshots)");
  add_store_options(snapshot);
  snapshot->add_option("--type", options.type, "FULL (the only kind, the default)");
  snapshot->add_option("--name", options.name, "The snapshot's name")->required();
  on(snapshot,
     [&options](CommandContext& context) { return snapshot_checkpoints(context, options); });

  CLI::App* restore = checkpoint->add_subcommand(
      "restore", "Replace the store with a FULL snapshot (daemon stopped; old store kept aside)");
  add_store_options(restore);
  restore->add_option("--checkpoint-id", options.checkpoint_id, "The FULL snapshot's name")
      ->required();
  restore->add_flag("--verify", options.verify, "Validate every record of the restored store");
  on(restore, [&options](CommandContext& context) { return restore_checkpoint(context, options); });
}

// Adds the subcommands; `run` is set to the chosen command once parsed.
void add_subcommands(CLI::App& app, Parsed& parsed, std::function<ExitCode(CommandContext&)>& run) {
  auto on = [&run](CLI::App* command, std::function<ExitCode(CommandContext&)> action) {
    command->callback([&run, action = std::move(action)] { run = action; });
  };

  on(app.add_subcommand("state", "Summary of the tree and the children table"), show_state);
  on(app.add_subcommand("health",
                        "Health: status, uptime, control loop, dashboard link, "
                        "reasons and suspects"),
     show_health);
  on(app.add_subcommand("children",
                        "Children table: ID, KIND, STATE, RESTARTS, TOKENS, BACKOFF, "
                        "LAST EXIT, PID, UPTIME"),
     show_children);

  CLI::App* add =
      app.add_subcommand("add", std::string(command_info(CommandKind::AddChild).summary));
  auto* spec = add->add_option("--spec", parsed.add.spec,
                               "The child spec as JSON, with the keys of a child in the config "
                               "(docs/config.md)");
  auto* spec_file = add->add_option("--spec-file", parsed.add.spec_file,
                                    "A file holding the child spec (- reads stdin)");
  spec->excludes(spec_file);
  add->add_option("--parent", parsed.add.parent, "The supervisor to add under (default: root)");
  on(add, [&parsed](CommandContext& context) {
    if (parsed.add.spec.empty() && parsed.add.spec_file.empty())
      return context.fail(ExitCode::Usage, "add needs --spec JSON or --spec-file FILE");
    return add_child(context, parsed.add);
  });

  for (const TreeCommand& command : tree_commands()) {
    const bool also_execution = command.info->kind == CommandKind::PauseChild ||
                                command.info->kind == CommandKind::ResumeChild;
    std::string summary(command.info->summary);
    if (also_execution)
      summary += "; given an execution's id: " +
                 op_summary(command.info->kind == CommandKind::PauseChild ? ExecutionOp::Pause
                                                                          : ExecutionOp::Resume);
    CLI::App* sub = app.add_subcommand(command.name, summary);
    if (command.info->subject == CommandSubject::Child)
      sub->add_option("child", parsed.child,
                      also_execution ? "The child's id, or an execution's" : "The child's id")
          ->required();
    on(sub, [&parsed, &command, also_execution](CommandContext& context) {
      if (also_execution) return pause_or_resume(context, command, parsed.child);
      return run_tree_command(context, command, parsed.child);
    });
  }

  CLI::App* execute = app.add_subcommand(
      "execute", op_summary(ExecutionOp::Submit) +
                     "; with --wait, a line per node transition and the execution's outcome as "
                     "exit code (0 COMPLETED, 1 FAILED)");
  execute->add_option("file", parsed.execute.file, "The DAG, JSON (docs/dag.md); - reads stdin")
      ->required();
  execute->add_flag("--wait", parsed.execute.wait, "Follow the execution to its end");
  execute->add_option("--param", parsed.execute.params,
                      "KEY=VALUE, a param of the execution (string), repeatable");
  execute->add_option("--id", parsed.execute.execution_id,
                      "The execution's id (default: generated); submitting an id again "
                      "returns that execution instead of starting a second");
  on(execute, [&parsed](CommandContext& context) { return execute_dag(context, parsed.execute); });

  CLI::App* status = app.add_subcommand("status", op_summary(ExecutionOp::Get));
  status->add_option("execution", parsed.execution_id, "The execution's id")->required();
  on(status,
     [&parsed](CommandContext& context) { return show_execution(context, parsed.execution_id); });

  CLI::App* executions = app.add_subcommand("executions", op_summary(ExecutionOp::List));
  executions->add_option("--status", parsed.status_filter,
                         "Only executions in this state (PENDING, RUNNING, PAUSED, RESUMED, "
                         "COMPLETED, FAILED, ...), or STUCK (with the reason)");
  CLI::App* resume_all =
      executions->add_subcommand("resume-all", op_summary(ExecutionOp::ResumeAll));
  on(resume_all, resume_all_executions);
  CLI::App* retry = executions->add_subcommand("retry", op_summary(ExecutionOp::Retry));
  retry->add_option("execution", parsed.execution_id, "The execution's id")->required();
  retry->add_option("--from", parsed.node, "The node to re-run, with its descendants")->required();
  on(retry, [&parsed](CommandContext& context) {
    return retry_execution(context, parsed.execution_id, parsed.node);
  });
  // Without one of its own subcommands, `executions` lists.
  executions->callback([&run, &parsed, resume_all, retry] {
    if (resume_all->count() > 0 || retry->count() > 0) return;
    run = [&parsed](CommandContext& context) {
      return list_executions(context, parsed.status_filter);
    };
  });

  CLI::App* maintenance = app.add_subcommand(
      "maintenance", op_summary(ExecutionOp::Maintenance) +
                         "; on|off --reason TEXT: " + op_summary(ExecutionOp::SetMaintenance));
  maintenance->add_option("mode", parsed.maintenance_mode, "on or off; none: show the mode")
      ->check(CLI::IsMember({"on", "off"}));
  on(maintenance, [&parsed](CommandContext& context) {
    if (parsed.maintenance_mode.empty()) return show_maintenance(context);
    return set_maintenance(context, parsed.maintenance_mode == "on");
  });

  CLI::App* cancel = app.add_subcommand("cancel", op_summary(ExecutionOp::Cancel));
  cancel->add_option("execution", parsed.execution_id, "The execution's id")->required();
  on(cancel, [&parsed](CommandContext& context) {
    return control_execution(context, ExecutionOp::Cancel, parsed.execution_id);
  });

  CLI::App* logs =
      app.add_subcommand("logs", "Log records, a child's output among them; with ID NODE: " +
                                     op_summary(ExecutionOp::Logs));
  logs->add_option("child", parsed.logs.child,
                   "Only this child's records (default: all); or an execution's id, with NODE");
  logs->add_option("node", parsed.node, "A node of the execution named first: its output");
  logs->add_flag("-f,--follow", parsed.logs.follow, "Keep printing new records");
  logs->add_option("-n,--lines", parsed.logs.lines, "How many past records")->capture_default_str();
  on(logs, [&parsed](CommandContext& context) {
    if (!parsed.node.empty()) {
      if (parsed.logs.follow)
        return context.fail(ExitCode::Usage, "--follow is for a child's logs, not a node's");
      return show_node_output(context, parsed.logs.child, parsed.node,
                              static_cast<std::uint32_t>(std::min<std::uint64_t>(
                                  parsed.logs.lines, std::uint64_t{10000})));
    }
    return show_logs(context, parsed.logs);
  });

  CLI::App* events = app.add_subcommand("events", "The event stream, one line per event");
  events->add_flag("-f,--follow", parsed.events.follow, "Keep printing new events");
  auto* since = events->add_option("--since", parsed.since, "Every event after this sequence");
  events->add_option("-n,--last", parsed.events.last, "Without --since: how many recent events")
      ->capture_default_str();
  on(events, [&parsed, since](CommandContext& context) {
    if (since->count() > 0) parsed.events.since = parsed.since;
    return show_events(context, parsed.events);
  });

  CLI::App* dashboard = app.add_subcommand("dashboard", "Live view of the tree (q quits)");
  dashboard->add_flag("--once", parsed.once, "Print one frame as plain text and exit");
  on(dashboard, [&parsed](CommandContext& context) { return run_dashboard(context, parsed.once); });

  add_checkpoint_subcommands(app, parsed, on);
}

}  // namespace

int run_supctl(int argc, const char* const* argv, Io io) {
  Parsed parsed;
  parsed.global.socket_path = default_socket_path();
  parsed.global.requested_by = default_requested_by();

  CLI::App app{"supctl: operate the `supervisor` daemon through its socket", "supctl"};
  app.set_version_flag("--version", std::string("supctl ") + SUPCTL_VERSION);
  app.footer(kFooter);
  app.require_subcommand(1);
  // Global options are accepted after the subcommand too: `supctl state --json`.
  app.fallthrough();
  const CLI::Validator non_blank(reject_blank, "NON-BLANK");

  app.add_option("--socket", parsed.global.socket_path,
                 "The daemon's socket ($SUPERVISOR_SOCKET, else /tmp/supervisor.sock)")
      ->capture_default_str();
  app.add_option("--trust-uid", parsed.global.trust.extra_uid,
                 "Also trust a socket served by this uid (by default only root and your own "
                 "uid; supctl refuses any other server before sending anything)");
  app.add_flag("--json", parsed.global.json,
               "Raw JSON results for scripts (one object per line when streaming)");
  app.add_option("--timeout", parsed.timeout_ms, "Milliseconds to wait for an answer")
      ->check(CLI::Range(std::int64_t{1}, kMaxTimeoutMs))
      ->capture_default_str();
  app.add_option("--requested-by", parsed.global.requested_by,
                 "Who asks, for the audit log (default: $USER@host)")
      ->check(non_blank);
  app.add_option("--reason", parsed.global.reason,
                 "Why, for the audit log (default: \"no reason given (supctl <command>)\")")
      ->check(non_blank);
  app.add_option("--command-id", parsed.global.command_id,
                 "Id of the command (default: random); reusing it makes a retry safe")
      ->check(non_blank);
  app.add_flag(
      "-y,--yes", parsed.global.yes,
      "Answer yes to the y/N question of a dangerous command (" + confirmed_commands() + ")");

  // The last of a repeated option wins, so an alias can set defaults
  // (alias supctl='supctl --timeout 2000') that a command line overrides.
  for (CLI::Option* option : app.get_options())
    option->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);

  std::function<ExitCode(CommandContext&)> run;
  add_subcommands(app, parsed, run);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    const int code = app.exit(error, io.out, io.err);
    return code == 0 ? 0 : static_cast<int>(ExitCode::Usage);
  }
  parsed.global.timeout = std::chrono::milliseconds(parsed.timeout_ms);
  CommandContext context(std::move(parsed.global), io);
  try {
    return static_cast<int>(run(context));
  } catch (const nlohmann::json::exception& error) {
    return static_cast<int>(
        context.fail(ExitCode::ProtocolError,
                     std::string("unexpected data from the supervisor: ") + error.what()));
  }
}

}  // namespace sup::cli
