#include "config/daemon_config.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <vector>

#include "config/bounded_json.hpp"
#include "config/http_config.hpp"

namespace sup::config {
namespace {

constexpr std::string_view kRootKeys[] = {"strategy",       "intensity", "period_ms",
                                          "children",       "dashboard", "log",
                                          "runtime",        "state_dir", "shutdown_timeout_ms",
                                          "process_output", "audit",     "store",
                                          "executions",     "http",      "metrics"};
constexpr std::string_view kStoreKeys[] = {"path", "max_bytes"};
constexpr std::string_view kExecutionsKeys[] = {"max_parallel_nodes", "stuck_after_ms"};
// Below this an LMDB map cannot hold a useful store (and its cleanup reserve).
constexpr std::uint64_t kMinStoreBytes = std::uint64_t{1} << 20;
constexpr std::string_view kAuditKeys[] = {"refuse_commands_on_failure"};
constexpr std::string_view kDashboardKeys[] = {"enabled",
                                               "path",
                                               "mode",
                                               "max_clients",
                                               "max_line_bytes",
                                               "client_queue_bytes",
                                               "requests_per_sec",
                                               "target_id",
                                               "max_clients_per_uid",
                                               "reserved_clients",
                                               "line_timeout_ms",
                                               "idle_timeout_ms",
                                               "registration"};
constexpr std::string_view kRegistrationKeys[] = {"enabled", "path", "display_name",
                                                  "lease_seconds", "heartbeat_ms"};
constexpr std::string_view kLogKeys[] = {"level", "format"};
constexpr std::string_view kRuntimeKeys[] = {"worker_threads", "tick_ms", "blocking_threshold_ms",
                                             "jitter_seed"};
constexpr std::string_view kProcessOutputKeys[] = {"lines_per_sec", "burst_lines"};
constexpr std::string_view kLogLevelChoices =
    R"("trace", "debug", "info", "warn", "error", "critical")";

// sun_path holds 108 bytes including the terminating NUL.
constexpr std::size_t kMaxSocketPathBytes = 107;
constexpr std::uintmax_t kMaxConfigBytes = 16 << 20;

Error config_error(std::string message, std::string field_path = {}) {
  return make_error(ErrorCode::InvalidConfig, std::move(message), std::move(field_path));
}

Expected<nlohmann::json> parse_json(std::string_view text) {
  return parse_bounded_json(
      text,
      {.max_depth = kMaxJsonDepth, .allow_comments = true, .error_code = ErrorCode::InvalidConfig});
}

void read_mode(const ObjectReader& dashboard, std::uint32_t& out) {
  const nlohmann::json* value = dashboard.find("mode");
  if (!value) return;
  std::uint32_t mode = 0;
  if (value->is_string()) {
    const auto& text = value->get_ref<const std::string&>();
    bool octal = !text.empty() && text.size() <= 4 &&
                 std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '7'; });
    if (!octal)
      return dashboard.fail(
          "mode", "must be an octal permission string like \"0660\", got \"" + text + "\"");
    mode = static_cast<std::uint32_t>(std::stoul(text, nullptr, 8));
  } else if (value->is_number_unsigned()) {
    mode = static_cast<std::uint32_t>(std::min<std::uint64_t>(value->get<std::uint64_t>(), 07777));
  } else {
    return dashboard.fail("mode", "must be an octal string like \"0660\" or an integer, got " +
                                      std::string(json_type_name(*value)));
  }
  // Decimal 660 written where octal was meant lands here too (it is 01224).
  if (mode > 0777)
    return dashboard.fail("mode", "must be a permission of at most 0777 (integer 511), got " +
                                      value->dump() + "; write octal as a string like \"0660\"");
  out = mode;
}

// A Unix socket path: absolute, and short enough for sun_path.
void read_socket_path(const ObjectReader& object, std::string& out, ErrorSlot& errors) {
  object.read("path", out);
  if (errors.ok() && (out.front() != '/' || out.size() > kMaxSocketPathBytes))
    object.fail("path", "must be an absolute path of at most " +
                            std::to_string(kMaxSocketPathBytes) + " bytes, got \"" + out + "\"");
}

void read_registration(const ObjectReader& dashboard, const DashboardConfig& config,
                       RegistrationConfig& out, ErrorSlot& errors) {
  const nlohmann::json* node = dashboard.find("registration");
  if (!node) return;
  ObjectReader registration(*node, dashboard.field_path("registration"), errors);
  registration.allow_only(kRegistrationKeys);
  registration.read("enabled", out.enabled);
  read_socket_path(registration, out.path, errors);
  if (errors.ok() && out.path == config.path)
    registration.fail("path",
                      "is dashboard.path, the daemon's own socket; the relay's "
                      "registration socket is another one");
  registration.read("display_name", out.display_name);
  registration.read("lease_seconds", out.lease_seconds, Range<std::uint32_t>{1, 86'400});
  registration.read("heartbeat_ms", out.heartbeat_ms, Range<std::uint32_t>{100, 3'600'000});
  if (errors.ok() && std::uint64_t{out.heartbeat_ms} >= std::uint64_t{out.lease_seconds} * 1000)
    registration.fail("heartbeat_ms", "must be shorter than lease_seconds (" +
                                          std::to_string(out.lease_seconds) +
                                          " s), so the lease is renewed before it runs out");
  if (errors.ok() && out.enabled && !config.enabled)
    registration.fail("enabled",
                      "needs dashboard.enabled = true: the relay connects to dashboard.path");
}

void read_dashboard(const ObjectReader& root, DashboardConfig& out, ErrorSlot& errors) {
  const nlohmann::json* node = root.find("dashboard");
  if (!node) return;
  ObjectReader dashboard(*node, "dashboard", errors);
  dashboard.allow_only(kDashboardKeys);
  dashboard.read("enabled", out.enabled);
  read_socket_path(dashboard, out.path, errors);
  read_mode(dashboard, out.mode);
  dashboard.read("max_clients", out.max_clients, Range<std::uint32_t>{1, 4096});
  dashboard.read("max_line_bytes", out.max_line_bytes, Range<std::uint32_t>{1024, 64u << 20});
  dashboard.read("client_queue_bytes", out.client_queue_bytes,
                 Range<std::uint32_t>{64u << 10, 1u << 30});
  if (errors.ok() && out.client_queue_bytes < out.max_line_bytes)
    dashboard.fail("client_queue_bytes",
                   "must be at least max_line_bytes (" + std::to_string(out.max_line_bytes) + ")");
  dashboard.read("requests_per_sec", out.requests_per_sec, Range<std::uint32_t>{1, 1'000'000});
  dashboard.read("target_id", out.target_id);
  dashboard.read("max_clients_per_uid", out.max_clients_per_uid, Range<std::uint32_t>{1, 4096});
  // Unless given, the reserve leaves at least one slot to everyone else.
  out.reserved_clients = std::min(out.reserved_clients, out.max_clients - 1);
  dashboard.read("reserved_clients", out.reserved_clients, Range<std::uint32_t>{0, 4095});
  if (errors.ok() && out.reserved_clients >= out.max_clients)
    dashboard.fail("reserved_clients",
                   "must be less than max_clients (" + std::to_string(out.max_clients) + ")");
  dashboard.read("line_timeout_ms", out.line_timeout_ms, Range<std::uint32_t>{100, 3'600'000});
  dashboard.read("idle_timeout_ms", out.idle_timeout_ms, Range<std::uint32_t>{0, 86'400'000});
  read_registration(dashboard, out, out.registration, errors);
}

void read_log(const ObjectReader& root, LogConfig& out, ErrorSlot& errors) {
  const nlohmann::json* node = root.find("log");
  if (!node) return;
  ObjectReader log(*node, "log", errors);
  log.allow_only(kLogKeys);
  log.read_enum("level", out.level, &log_level_from_string, kLogLevelChoices);
  log.read("format", out.format);
  if (errors.ok() && out.format != "text" && out.format != "json")
    log.fail("format", "unknown value \"" + out.format + "\"; expected one of \"text\", \"json\"");
}

void read_audit(const ObjectReader& root, AuditConfig& out, ErrorSlot& errors) {
  const nlohmann::json* node = root.find("audit");
  if (!node) return;
  ObjectReader audit(*node, "audit", errors);
  audit.allow_only(kAuditKeys);
  audit.read("refuse_commands_on_failure", out.refuse_commands_on_failure);
}

void read_store(const ObjectReader& root, StoreConfig& out, ErrorSlot& errors) {
  const nlohmann::json* node = root.find("store");
  if (!node) return;
  ObjectReader store(*node, "store", errors);
  store.allow_only(kStoreKeys);
  store.read("path", out.path);
  if (out.path.empty() || out.path.find_first_not_of(" \t") == std::string::npos)
    store.fail("path", "must not be blank");
  store.read("max_bytes", out.max_bytes);
  if (out.max_bytes < kMinStoreBytes)
    store.fail("max_bytes", "must be at least " + std::to_string(kMinStoreBytes));
}

void read_executions(const ObjectReader& root, ExecutionsConfig& out, ErrorSlot& errors) {
  const nlohmann::json* node = root.find("executions");
  if (!node) return;
  ObjectReader executions(*node, "executions", errors);
  executions.allow_only(kExecutionsKeys);
  executions.read("max_parallel_nodes", out.max_parallel_nodes, Range<std::uint32_t>{1, 10'000});
  // 0 (off), else from 100 ms (a test's node) to 7 days.
  auto stuck_after = static_cast<std::uint32_t>(out.stuck_after_ms);
  executions.read("stuck_after_ms", stuck_after, Range<std::uint32_t>{0, 7u * 24 * 3600 * 1000});
  if (stuck_after != 0 && stuck_after < 100)
    executions.fail("stuck_after_ms", "must be 0 (off) or at least 100");
  out.stuck_after_ms = stuck_after;
}

void read_runtime(const ObjectReader& root, RuntimeConfig& out, ErrorSlot& errors) {
  const nlohmann::json* node = root.find("runtime");
  if (!node) return;
  ObjectReader runtime(*node, "runtime", errors);
  runtime.allow_only(kRuntimeKeys);
  runtime.read("worker_threads", out.worker_threads, Range<std::uint32_t>{0, 256});
  runtime.read("tick_ms", out.tick_ms, Range<std::uint32_t>{1, 1000});
  runtime.read("blocking_threshold_ms", out.blocking_threshold_ms,
               Range<std::uint32_t>{10, 600'000});
  runtime.read("jitter_seed", out.jitter_seed);
}

void read_process_output(const ObjectReader& root, OutputRateLimit& out, ErrorSlot& errors) {
  const nlohmann::json* node = root.find("process_output");
  if (!node) return;
  ObjectReader output(*node, "process_output", errors);
  output.allow_only(kProcessOutputKeys);
  output.read("lines_per_sec", out.lines_per_sec, Range<std::uint32_t>{0, 10'000'000});
  output.read("burst_lines", out.burst_lines, Range<std::uint32_t>{1, 10'000'000});
}

// Path of the relay child anywhere in the tree ("children[3]"), if any.
std::optional<std::string> find_relay(const std::vector<ChildSpec>& children,
                                      const std::string& children_path) {
  for (std::size_t i = 0; i < children.size(); ++i) {
    std::string path = index_path(children_path, i);
    if (children[i].kind == ChildKind::Endpoint) return path;
    if (auto nested = find_relay(children[i].children, join_path(path, "children"))) return nested;
  }
  return std::nullopt;
}

std::string default_target_id() {
  std::array<char, 256> host{};
  if (gethostname(host.data(), host.size() - 1) != 0 || host[0] == '\0')
    return "supervisor@localhost";
  return "supervisor@" + std::string(host.data());
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

ChildSpec default_relay_child() {
  ChildSpec relay;
  relay.id = "relay";
  relay.kind = ChildKind::Endpoint;
  relay.restart = RestartType::Permanent;
  relay.backoff.initial_ms = 5;
  relay.backoff.max_ms = 1000;
  relay.budget.capacity = 10;
  relay.budget.refill_per_sec = 1;
  return relay;
}

Expected<DaemonConfig> parse_config(std::string_view json_text) {
  auto document = parse_json(json_text);
  if (!document) return document.error();

  DaemonConfig config;
  ErrorSlot errors;
  ObjectReader root(*document, "", errors);
  if (!errors.ok()) return config_error("the config must be a JSON object");
  root.allow_only(kRootKeys);
  read_supervisor_fields(
      root,
      {config.root.strategy, config.root.intensity, config.root.period_ms, config.root.children},
      errors);
  read_dashboard(root, config.dashboard, errors);
  read_log(root, config.log, errors);
  read_runtime(root, config.runtime, errors);
  read_process_output(root, config.process_output, errors);
  read_audit(root, config.audit, errors);
  read_store(root, config.store, errors);
  read_executions(root, config.executions, errors);
  read_http(root, config.http, errors);
  read_metrics(root, config.metrics, errors);
  root.read("state_dir", config.state_dir);
  root.read("shutdown_timeout_ms", config.shutdown_timeout_ms,
            Range<std::uint32_t>{100, 3'600'000});
  if (errors.ok()) check_tree(config.root.children, "children", errors);
  if (!errors.ok()) return errors.take();
  if (auto valid = spec::check_supervisor_spec(config.root); !valid)
    return config_error(valid.error().message, valid.error().field_path);

  auto relay_path = find_relay(config.root.children, "children");
  if (relay_path && !config.dashboard.enabled)
    return config_error("a relay child needs dashboard.enabled = true",
                        join_path(*relay_path, "kind"));
  if (!relay_path && config.dashboard.enabled)
    config.root.children.insert(config.root.children.begin(), default_relay_child());
  if (config.dashboard.target_id.empty()) config.dashboard.target_id = default_target_id();
  if (config.dashboard.registration.display_name.empty())
    config.dashboard.registration.display_name = config.dashboard.target_id;
  return config;
}

Expected<DaemonConfig> load_config_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return config_error("cannot read config file " + path + ": " + std::strerror(errno));
  std::ostringstream text;
  text << file.rdbuf();
  if (file.bad() || text.str().size() > kMaxConfigBytes)
    return config_error("cannot read config file " + path + ": unreadable or larger than 16 MiB");
  return parse_config(text.str());
}

Status apply_env_overrides(DaemonConfig& config,
                           const std::function<const char*(const char*)>& getenv_fn) {
  auto value_of = [&getenv_fn](const char* name) -> std::optional<std::string> {
    const char* value = getenv_fn(name);
    if (!value || *value == '\0') return std::nullopt;
    return std::string(value);
  };
  if (auto level = value_of("LOG_LEVEL")) {
    auto parsed = log_level_from_string(lower(*level));
    if (!parsed)
      return config_error("environment variable LOG_LEVEL=\"" + *level +
                              "\" is not a log level; expected one of trace, debug, info, warn, "
                              "error, critical",
                          "LOG_LEVEL");
    config.log.level = *parsed;
  }
  if (auto format = value_of("LOG_FORMAT")) {
    std::string normalized = lower(*format);
    if (normalized != "text" && normalized != "json")
      return config_error("environment variable LOG_FORMAT=\"" + *format +
                              "\" is not a log format; expected text or json",
                          "LOG_FORMAT");
    config.log.format = normalized;
  }
  if (auto state_dir = value_of("STATE_DIR")) config.state_dir = *state_dir;
  return {};
}

}  // namespace sup::config
