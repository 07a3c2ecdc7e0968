// The `supervisor` daemon: loads and validates its config, runs the tree
// under systemd (sd_notify, watchdog, journald) and walks the shutdown
// phases on SIGTERM/SIGINT. Exit codes are listed in docs/config.md.
//
//   supervisor --config /etc/supervisor/supervisor.json
//   supervisor --check-config --config new.json    # OK, or the error and exit 78
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/clock.hpp"
#include "daemon/builtin_tasks.hpp"
#include "daemon/crash_handler.hpp"
#include "daemon/daemon_setup.hpp"
#include "daemon/execution_link.hpp"
#include "daemon/log_setup.hpp"
#include "daemon/relay_registrar.hpp"
#include "daemon/serving.hpp"
#include "daemon/shutdown_deadline.hpp"
#include "daemon/systemd_notifier.hpp"
#include "dashboard_relay/relay.hpp"
#include "dashboard_relay/socket_path.hpp"
#include "executions/execution_service.hpp"
#include "sup/log.hpp"
#include "sup/runtime.hpp"

namespace {

using namespace std::chrono_literals;
using sup::daemon::kExitConfig;
using sup::daemon::kExitOk;
using sup::daemon::kExitSoftware;
using sup::daemon::kExitUsage;

// Short enough to notice a fuse and feed the watchdog promptly; shorter
// until the tree is up, so READY=1 goes out without delay.
constexpr auto kSignalPoll = 100ms;
constexpr auto kStartupPoll = 5ms;
constexpr std::int64_t kStatusRefreshMs = 2000;

sigset_t handled_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  return signals;
}

// Config errors are one plain line on stderr whatever the log format, so
// that `field_path="..."` reads (and greps) the same everywhere. The exit
// status follows from the error's code (78 for every config error).
int fail_config(const std::string& source, const sup::Error& error) {
  std::string line = "supervisor: invalid config (" + source + "): " + error.describe() + "\n";
  std::fputs(line.c_str(), stderr);
  return sup::daemon::exit_code_for(error);
}

sup::daemon::PanicStyle panic_style_for(sup::daemon::LogDestination destination) {
  switch (destination) {
    case sup::daemon::LogDestination::Journal:
      return sup::daemon::PanicStyle::Journal;
    case sup::daemon::LogDestination::StderrJson:
      return sup::daemon::PanicStyle::Json;
    case sup::daemon::LogDestination::StderrText:
      break;
  }
  return sup::daemon::PanicStyle::Text;
}

void log_phase(sup::ShutdownPhase phase) {
  std::string name(sup::to_string(phase));
  sup::log(sup::LogLevel::Info, name, {{"SHUTDOWN_PHASE", name}});
}

struct Stop {
  enum Cause { Signal, TreeShutDown, Fused };
  Cause cause = Signal;
  std::string reason;
};

// The main thread's loop: signals, the runtime's end, and systemd's
// READY/STATUS/WATCHDOG, until something asks us to stop.
Stop supervise(sup::Runtime& runtime, const sigset_t& signals, std::int64_t started_at_ms,
               const std::function<void()>& on_ready) {
  sup::daemon::SystemdNotifier notifier;
  sup::Handle handle = runtime.handle();
  std::optional<sup::daemon::WatchdogGate> watchdog;
  if (auto interval = sup::daemon::SystemdNotifier::watchdog_interval())
    watchdog.emplace(*interval);
  bool ready = false;
  std::int64_t next_status_ms = 0;

  // READY=1 once, STATUS= every kStatusRefreshMs, WATCHDOG=1 while the
  // loop makes progress.
  auto report_health = [&](const sup::Health& health, std::int64_t now_ms) {
    if (!ready && (health.status == "ready" || health.status == "degraded")) {
      ready = true;
      notifier.ready();
      sup::log(sup::LogLevel::Info, "supervisor ready",
               {{"STARTUP_MS", std::to_string(now_ms - started_at_ms)}, {"STATUS", health.status}});
      on_ready();
    }
    if (now_ms >= next_status_ms && sup::daemon::SystemdNotifier::enabled()) {
      if (auto state = handle.current_state()) {
        notifier.status(sup::daemon::format_status_line(health, state->children));
        next_status_ms = now_ms + kStatusRefreshMs;
      }
    }
    if (watchdog) {
      bool was_stalled = watchdog->stalled();
      if (watchdog->should_ping(now_ms, health.control_loop_iterations)) {
        notifier.watchdog();
      } else if (watchdog->stalled() && !was_stalled) {
        sup::log(sup::LogLevel::Error,
                 "control loop stalled: withholding WATCHDOG=1 so systemd restarts the daemon",
                 {{"CONTROL_LOOP_ITERATIONS", std::to_string(health.control_loop_iterations)}});
      }
    }
  };

  for (;;) {
    if (auto outcome = runtime.wait(0ms)) {
      if (outcome->kind == sup::RunOutcome::Fused) return {Stop::Fused, outcome->reason};
      return {Stop::TreeShutDown, {}};
    }

    auto answered = handle.health();
    std::int64_t now_ms = sup::mono_now_ms();
    if (answered) {
      report_health(*answered, now_ms);
    } else {
      // A loop that does not answer gets no READY=1, STATUS= or WATCHDOG=1:
      // systemd's watchdog restarts a daemon stuck like this.
      sup::log(sup::LogLevel::Error, "health: " + answered.error().describe(),
               {{"ERROR_CODE", std::string(sup::to_string(answered.error().code))}});
    }

    const timespec poll{0, std::chrono::nanoseconds(ready ? kSignalPoll : kStartupPoll).count()};
    siginfo_t info{};
    int signo = sigtimedwait(&signals, &info, &poll);
    if (signo == SIGTERM || signo == SIGINT) {
      sup::log(sup::LogLevel::Info, "shutdown requested",
               {{"SIGNAL", signo == SIGTERM ? "SIGTERM" : "SIGINT"},
                {"SENDER_PID", std::to_string(info.si_pid)}});
      return {Stop::Signal, {}};
    }
    if (signo == SIGHUP)
      sup::log(sup::LogLevel::Warn,
               "SIGHUP ignored: reloading the config is not supported yet; restart the daemon to "
               "apply config changes");
  }
}

// Past the bound, say where shutdown hung and leave; the exit status tells
// systemd it did not go cleanly.
void abandon_shutdown(std::uint32_t bound_ms, sup::ShutdownPhase stuck_in) {
  sup::log(sup::LogLevel::Error, "shutdown did not complete in time; exiting",
           {{"SHUTDOWN_PHASE", std::string(sup::to_string(stuck_in))},
            {"SHUTDOWN_TIMEOUT_MS", std::to_string(bound_ms)}});
  sup::daemon::seal_log_output();
  _exit(kExitSoftware);
}

sup::daemon::ShutdownDeadline shutdown_deadline(std::uint32_t bound_ms) {
  return sup::daemon::ShutdownDeadline(
      std::chrono::milliseconds(bound_ms),
      [bound_ms](sup::ShutdownPhase stuck_in) { abandon_shutdown(bound_ms, stuck_in); });
}

// Walks the phases; ShutdownPhase::Completed is logged only once the
// runtime is destroyed, and is the last line this process writes.
int shut_down(std::unique_ptr<sup::Runtime> runtime, std::uint32_t bound_ms) {
  sup::daemon::SystemdNotifier notifier;
  notifier.stopping();
  notifier.status("stopping");
  sup::daemon::ShutdownDeadline deadline = shutdown_deadline(bound_ms);
  runtime->shutdown([&deadline](sup::ShutdownPhase phase) {
    deadline.enter(phase);
    if (phase != sup::ShutdownPhase::Completed) log_phase(phase);
  });
  deadline.enter(sup::ShutdownPhase::Completed);
  runtime.reset();
  deadline.finish();
  log_phase(sup::ShutdownPhase::Completed);
  sup::daemon::seal_log_output();
  return kExitOk;
}

int exit_after_fuse(std::unique_ptr<sup::Runtime> runtime, const std::string& reason,
                    std::uint32_t bound_ms) {
  sup::log(sup::LogLevel::Error,
           "root supervisor gave up (restart intensity exceeded); exiting for systemd to restart "
           "the daemon",
           {{"EXIT_REASON", reason}, {"EXIT_STATUS", std::to_string(kExitSoftware)}});
  sup::daemon::SystemdNotifier notifier;
  notifier.status("fused: " + reason);
  notifier.stopping();
  sup::daemon::ShutdownDeadline deadline = shutdown_deadline(bound_ms);
  runtime.reset();
  return kExitSoftware;
}

// store.path is relative to state_dir (an absolute path is used as is).
sup::executions::ExecutionServiceOptions execution_options(
    const sup::config::DaemonConfig& config) {
  sup::executions::ExecutionServiceOptions options;
  options.state_dir = config.state_dir;
  options.store_path = std::filesystem::path(config.state_dir) / config.store.path;
  options.store_max_bytes = config.store.max_bytes;
  options.max_parallel_nodes = config.executions.max_parallel_nodes;
  options.stuck_after_ms = config.executions.stuck_after_ms;
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  // Before any thread exists, so every thread inherits the mask and these
  // signals reach only the sigtimedwait() below.
  const sigset_t signals = handled_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  // A closed stderr pipe or a vanished socket peer is an EPIPE to handle,
  // not a reason to die. (Process children get default dispositions back.)
  signal(SIGPIPE, SIG_IGN);

  CLI::App app{"supervisor: supervision tree daemon (see docs/operations.md)", "supervisor"};
  std::string config_path;
  bool check_only = false;
  app.add_option("--config", config_path,
                 "JSON config file (comments allowed); default: the built-in demo config")
      ->type_name("FILE");
  app.add_flag("--check-config", check_only, "validate the config, print OK or the error, exit");
  app.set_version_flag("--version", "supervisor " SUP_VERSION);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }

  sup::TaskRegistry tasks;
  sup::daemon::register_builtin_tasks(tasks);
  const std::string source = config_path.empty() ? "built-in default" : config_path;
  auto config = sup::daemon::load_daemon_config(config_path, tasks, std::getenv);
  if (!config) return fail_config(source, config.error());
  if (check_only) {
    std::puts("OK");
    return kExitOk;
  }

  auto destination = sup::daemon::install_log_output(config->log, std::getenv("JOURNAL_STREAM"));
  if (auto crash = sup::daemon::install_crash_handler(panic_style_for(destination)); !crash)
    sup::log(sup::LogLevel::Warn, "crash handler not installed: " + crash.error().describe());
  if (auto dir = sup::daemon::prepare_state_dir(config->state_dir); !dir) {
    sup::log(sup::LogLevel::Error, dir.error().describe() + " (set STATE_DIR or state_dir)",
             {{"STATE_DIR", config->state_dir}});
    return sup::daemon::exit_code_for(dir.error());
  }
  if (config->dashboard.enabled) {
    if (auto path = sup::relay::check_socket_path(config->dashboard.path); !path)
      return fail_config(source, path.error());
  }

  sup::log(sup::LogLevel::Info, "starting supervisor",
           {{"VERSION", SUP_VERSION},
            {"CONFIG", source},
            {"STATE_DIR", config->state_dir},
            {"DASHBOARD_PATH", config->dashboard.enabled ? config->dashboard.path : "disabled"}});
  std::int64_t started_at_ms = sup::mono_now_ms();
  // HTTP and metrics first: probes answer during the resume below, and a
  // port in use stops the daemon before anything runs. It outlives the
  // execution service (answers queued there hold its connections).
  auto serving = sup::daemon::Serving::start(*config);
  if (!serving) return fail_config(source, serving.error());
  sup::executions::ExecutionServiceOptions service_options = execution_options(*config);
  (*serving)->hook(service_options);
  // Resumes every unfinished execution before the runtime starts, so
  // health.status is `ready` only after that resume.
  // Transitions committed before the runtime exists (the resume) become
  // events once it does.
  sup::daemon::ExecutionLink execution_link;
  execution_link.install(service_options);
  auto executions = sup::executions::ExecutionService::start(std::move(service_options));
  if (!executions) {
    sup::log(sup::LogLevel::Error,
             "the execution store could not be opened: " + executions.error().describe(),
             {{"STATE_DIR", config->state_dir},
              {"ERROR_CODE", std::string(sup::to_string(executions.error().code))}});
    return sup::daemon::kExitCantCreate;
  }
  // Declared after the service, so destroyed before it on every path.
  struct StopServing {
    sup::daemon::Serving& serving;
    ~StopServing() { serving.stop(); }
  } stop_serving{**serving};
  (*serving)->attach_executions(**executions);
  sup::log(sup::LogLevel::Info, "executions resumed",
           {{"RESUMED", std::to_string((*executions)->resume_report().resumed)},
            {"NOT_RESUMED", std::to_string((*executions)->resume_report().failed)}});
  sup::RuntimeOptions options = sup::daemon::make_runtime_options(*config, std::move(tasks));
  // Registers our dashboard socket with a seed relay once the tree is ready
  // (the relay then connects to it); its status is in health and state.
  std::shared_ptr<sup::daemon::RelayRegistrar> registrar;
  if (config->dashboard.registration.enabled)
    registrar = std::make_shared<sup::daemon::RelayRegistrar>(sup::daemon::RelayRegistrar::Options{
        config->dashboard.registration, config->dashboard.target_id, config->dashboard.path,
        config->runtime.jitter_seed});
  if (config->dashboard.enabled) {
    // Created once, so logs.tail keeps its history across relay restarts.
    auto history = std::make_shared<sup::relay::LogHistory>();
    history->attach();
    sup::relay::RegistrationStatusSource registration_status;
    if (registrar) registration_status = [registrar] { return registrar->status(); };
    options.endpoint_factory = [dashboard = config->dashboard, history, registration_status,
                                service = executions->get()](sup::Handle handle) {
      auto plane = sup::daemon::ExecutionLink::plane(*service, handle);
      return sup::relay::make_relay_task(dashboard, std::move(handle), history, std::move(plane),
                                         registration_status);
    };
  }
  auto runtime = sup::Runtime::start(std::move(options));
  if (!runtime) {
    if (sup::daemon::exit_code_for(runtime.error()) == kExitConfig)
      return fail_config(source, runtime.error());
    sup::log(sup::LogLevel::Error, "the runtime failed to start: " + runtime.error().describe());
    return sup::daemon::exit_code_for(runtime.error());
  }

  execution_link.attach((*runtime)->handle());
  (*serving)->attach_runtime((*runtime)->handle());
  Stop stop = supervise(**runtime, signals, started_at_ms, [&registrar] {
    if (registrar) registrar->start();
  });
  // No registration while shutting down: the relay lets the lease run out.
  if (registrar) registrar->stop();
  // No event is handed to a runtime that is going away; the tree and the
  // service are about to go: nothing may call into them.
  execution_link.detach();
  (*serving)->stop();
  if (stop.cause == Stop::Fused)
    return exit_after_fuse(std::move(*runtime), stop.reason, config->shutdown_timeout_ms);
  if (stop.cause == Stop::TreeShutDown)
    sup::log(sup::LogLevel::Info, "the tree was shut down by command; exiting");
  return shut_down(std::move(*runtime), config->shutdown_timeout_ms);
}
