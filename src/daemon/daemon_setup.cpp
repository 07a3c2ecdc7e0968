#include "daemon/daemon_setup.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "config/json_fields.hpp"
#include "daemon/builtin_tasks.hpp"

namespace sup::daemon {
namespace {

void check_tasks_in(const std::vector<ChildSpec>& children, const std::string& children_path,
                    const TaskRegistry& tasks, std::optional<Error>& error) {
  for (std::size_t i = 0; i < children.size() && !error; ++i) {
    const ChildSpec& child = children[i];
    std::string path = config::index_path(children_path, i);
    if (child.kind == ChildKind::Task && !tasks.find(child.task)) {
      error = make_error(ErrorCode::InvalidConfig,
                         "no task named \"" + child.task +
                             "\" is registered (built-in tasks: " + builtin_task_names() + ")",
                         config::join_path(path, "task"));
    }
    check_tasks_in(child.children, config::join_path(path, "children"), tasks, error);
  }
}

}  // namespace

Expected<config::DaemonConfig> load_daemon_config(
    const std::string& path, const TaskRegistry& tasks,
    const std::function<const char*(const char*)>& getenv_fn) {
  auto loaded = path.empty() ? config::parse_config(embedded_default_config())
                             : config::load_config_file(path);
  if (!loaded) return loaded.error();
  if (auto env = config::apply_env_overrides(*loaded, getenv_fn); !env) return env.error();
  if (auto names = check_task_names(loaded->root, tasks); !names) return names.error();
  return loaded;
}

Status check_task_names(const SupervisorSpec& root, const TaskRegistry& tasks) {
  std::optional<Error> error;
  check_tasks_in(root.children, "children", tasks, error);
  if (error) return *error;
  return {};
}

Status prepare_state_dir(const std::string& state_dir) {
  std::error_code ec;
  std::filesystem::create_directories(state_dir, ec);
  if (ec)
    return make_error(ErrorCode::IoError,
                      "cannot create state_dir " + state_dir + ": " + ec.message());
  if (access(state_dir.c_str(), W_OK | X_OK) != 0)
    return make_error(ErrorCode::IoError,
                      "cannot write in state_dir " + state_dir + ": " + std::strerror(errno));
  return {};
}

int exit_code_for(const Error& error) {
  switch (error.code) {
    case ErrorCode::InvalidConfig:
    case ErrorCode::InvalidArgument:
      return kExitConfig;
    case ErrorCode::IoError:
    case ErrorCode::StoreFull:
      return kExitCantCreate;
    default:
      return kExitSoftware;
  }
}

RuntimeOptions make_runtime_options(const config::DaemonConfig& config, TaskRegistry tasks) {
  RuntimeOptions options;
  options.root = config.root;
  options.tasks = std::move(tasks);
  options.worker_threads = config.runtime.worker_threads;
  options.tick_ms = config.runtime.tick_ms;
  options.blocking_threshold_ms = config.runtime.blocking_threshold_ms;
  options.jitter_seed = config.runtime.jitter_seed;
  options.audit_log_path = (std::filesystem::path(config.state_dir) / "audit.log").string();
  options.process_output = config.process_output;
  options.process_record_dir = (std::filesystem::path(config.state_dir) / "processes").string();
  options.refuse_commands_without_audit = config.audit.refuse_commands_on_failure;
  return options;
}

}  // namespace sup::daemon
