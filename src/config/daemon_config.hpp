// The daemon's configuration: the JSON file (comments allowed), validated
// strictly, plus the environment overrides LOG_LEVEL, LOG_FORMAT, STATE_DIR.
//
// Every key is documented in docs/config.md. Any problem is one
// sup::Error{ErrorCode::InvalidConfig} whose field_path names the field
// ("children[2].backoff.max_ms", "dashboard.path", or the environment
// variable's name); JSON syntax errors give line and column instead.
//
//   auto config = sup::config::load_config_file("/etc/supervisor/supervisor.json");
//   if (config) {
//     if (auto env = sup::config::apply_env_overrides(*config, ::getenv); !env) config =
//     env.error();
//   }
//   if (!config) { std::cerr << config.error().describe() << "\n"; return 78; }
//   options.root = config->root;
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "config/child_spec_parser.hpp"
#include "config/http_config.hpp"
#include "sup/child_spec.hpp"
#include "sup/error.hpp"
#include "sup/log.hpp"

namespace sup::config {

// dashboard.registration: the daemon registers its dashboard socket with a
// seed relay's registration socket and renews the lease (docs/ipc.md,
// "Registration with a relay"). Off unless enabled.
struct RegistrationConfig {
  bool enabled = false;
  std::string path = "/run/rust-supervisor/dashboard-relay-registration.sock";
  std::string display_name;  // default: dashboard.target_id
  std::uint32_t lease_seconds = 30;
  std::uint32_t heartbeat_ms = 10'000;  // renewal interval; shorter than the lease
};

struct DashboardConfig {
  bool enabled = true;
  std::string path = "/tmp/supervisor.sock";
  std::uint32_t mode = 0660;  // config: string "0660" (octal) or integer
  std::uint32_t max_clients = 64;
  std::uint32_t max_line_bytes = 1 << 20;  // longest accepted request line
  std::uint32_t client_queue_bytes =
      8 << 20;                           // per-client outgoing queue; a slower client is dropped
  std::uint32_t requests_per_sec = 200;  // per-client request rate (token bucket, burst = this)
  // Admission: root and the daemon's uid may use every slot; other uids
  // share max_clients - reserved_clients, at most max_clients_per_uid each.
  std::uint32_t max_clients_per_uid = 16;
  std::uint32_t reserved_clients = 8;
  // A request line must arrive whole within this (slowloris, half lines).
  std::uint32_t line_timeout_ms = 5000;
  // A connection with nothing subscribed or in flight that sends nothing
  // for this long is closed; 0: never.
  std::uint32_t idle_timeout_ms = 60000;
  std::string target_id;  // identity in the protocol; default "supervisor@<hostname>"
  RegistrationConfig registration = {};
};

struct LogConfig {
  sup::LogLevel level = sup::LogLevel::Info;
  std::string format = "text";  // "text" | "json"
};

struct RuntimeConfig {
  unsigned worker_threads = 0;
  std::uint32_t tick_ms = 10;
  std::uint32_t blocking_threshold_ms = 500;
  std::uint64_t jitter_seed = 0;
};

struct AuditConfig {
  // While $STATE_DIR/audit.log cannot be written, refuse commands (all but
  // shutdown_tree) instead of carrying them out unaudited.
  bool refuse_commands_on_failure = true;
};

// The durable store of DAG executions (docs/state-store.md).
struct StoreConfig {
  std::string path = "store";  // relative: under state_dir
  std::uint64_t max_bytes = std::uint64_t{1} << 30;
};

struct ExecutionsConfig {
  // Node attempts running at once over all executions.
  std::uint32_t max_parallel_nodes = 16;
  // An unfinished execution without a transition for longer than this is
  // listed as STUCK (docs/dag.md, "Stuck executions"); 0: only nodes past
  // their timeout are.
  std::uint64_t stuck_after_ms = 600'000;
};

struct DaemonConfig {
  sup::SupervisorSpec root;  // config keys: "strategy", "intensity", "period_ms", "children"
  DashboardConfig dashboard;
  LogConfig log;
  RuntimeConfig runtime;
  sup::OutputRateLimit process_output;  // config key "process_output"
  AuditConfig audit;
  StoreConfig store;
  ExecutionsConfig executions;
  HttpConfig http;
  MetricsConfig metrics;
  std::string state_dir = "/var/lib/supervisor";
  std::uint32_t shutdown_timeout_ms = 30000;  // whole shutdown bound
};

// Parses and validates a whole config. When dashboard.enabled and the tree
// has no child of kind "relay", the default relay child is inserted first
// under the root (it starts first and stops last).
sup::Expected<DaemonConfig> parse_config(std::string_view json_text);
sup::Expected<DaemonConfig> load_config_file(const std::string& path);

// LOG_LEVEL, LOG_FORMAT, STATE_DIR; an empty variable counts as unset. A
// bad value is an error whose field_path is the variable's name.
sup::Status apply_env_overrides(DaemonConfig& config,
                                const std::function<const char*(const char*)>& getenv_fn);

// The relay child inserted when the config declares none.
sup::ChildSpec default_relay_child();

}  // namespace sup::config
