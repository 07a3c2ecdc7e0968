// The daemon's startup steps that do not need a running tree: the effective
// config (file or embedded default, environment overrides, task names), the
// state directory, and the RuntimeOptions built from them. main() turns
// their errors into exit codes (docs/config.md lists them).
//
//   sup::TaskRegistry tasks;
//   sup::daemon::register_builtin_tasks(tasks);
//   auto config = sup::daemon::load_daemon_config(path, tasks, ::getenv);
//   if (!config) return fail(config.error(), sup::daemon::kExitConfig);
//   if (auto dir = sup::daemon::prepare_state_dir(config->state_dir); !dir) return ...
//   kExitCantCreate; auto runtime = sup::Runtime::start(sup::daemon::make_runtime_options(*config,
//   std::move(tasks)));
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "config/daemon_config.hpp"
#include "sup/error.hpp"
#include "sup/runtime.hpp"
#include "sup/task.hpp"

namespace sup::daemon {

// Exit codes, from sysexits.h; a crash is death by the original signal.
inline constexpr int kExitOk = 0;
inline constexpr int kExitUsage = 64;       // bad command line
inline constexpr int kExitSoftware = 70;    // root fuse, start failure, shutdown over its bound
inline constexpr int kExitCantCreate = 73;  // state_dir cannot be created or written
inline constexpr int kExitConfig = 78;      // invalid config, dashboard.path in use

// The exit status for an error that stops the daemon before it runs:
// InvalidConfig and InvalidArgument (a child spec of the config refused by
// any layer) → 78; IoError and StoreFull → 73; anything else → 70.
int exit_code_for(const Error& error);

// The config compiled into the binary from config/supervisor.json.
std::string_view embedded_default_config();

// `path` empty: the embedded default. Applies LOG_LEVEL, LOG_FORMAT,
// STATE_DIR and checks that every task child names a task in `tasks`.
Expected<config::DaemonConfig> load_daemon_config(
    const std::string& path, const TaskRegistry& tasks,
    const std::function<const char*(const char*)>& getenv_fn);

// Every child of kind "task", at any depth, names a registered task; the
// error's field_path is that child's "task" key.
Status check_task_names(const SupervisorSpec& root, const TaskRegistry& tasks);

// Creates `state_dir` (and parents) if needed and checks we can write in it.
Status prepare_state_dir(const std::string& state_dir);

// The runtime's options: the tree, the tasks, the runtime tuning and the
// audit log in state_dir. The relay factory is the caller's (it links the
// dashboard relay; this library does not).
RuntimeOptions make_runtime_options(const config::DaemonConfig& config, TaskRegistry tasks);

}  // namespace sup::daemon
