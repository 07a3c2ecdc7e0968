#include "harness.hpp"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#ifndef SUP_IT_SUPERVISOR
#error "SUP_IT_SUPERVISOR (the supervisor binary) must be defined by the build"
#endif
#ifndef SUP_IT_SUPCTL
#error "SUP_IT_SUPCTL (the supctl binary) must be defined by the build"
#endif
#ifndef SUP_IT_QUICKSTART
#define SUP_IT_QUICKSTART ""
#endif
#ifndef SUP_IT_DEFAULT_TIME_SCALE
#define SUP_IT_DEFAULT_TIME_SCALE 1.0
#endif

namespace sup::it {
namespace {

// Variables of the test's environment that would change what the daemon
// does; tests that want them pass them in DaemonOptions.
const std::vector<std::string> kDaemonEnvToClear = {
    "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM",
    "LOG_LEVEL",     "LOG_FORMAT",    "STATE_DIR",    "SUPERVISOR_SOCKET"};

}  // namespace

double time_scale() {
  static const double scale = [] {
    const char* text = std::getenv("SUP_IT_TIME_SCALE");
    double value = text ? std::atof(text) : 0.0;
    return value >= 1.0 ? value : static_cast<double>(SUP_IT_DEFAULT_TIME_SCALE);
  }();
  return scale;
}

milliseconds scaled(milliseconds nominal) {
  return milliseconds(
      static_cast<milliseconds::rep>(static_cast<double>(nominal.count()) * time_scale()));
}

bool eventually(const std::function<bool()>& condition, milliseconds timeout,
                milliseconds interval) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (condition()) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(interval);
  }
}

std::string wait_for_audit(const std::string& state_dir, const std::vector<std::string>& needles,
                           milliseconds timeout) {
  std::string text;
  eventually(
      [&] {
        std::ifstream audit(state_dir + "/audit.log");
        text.assign(std::istreambuf_iterator<char>(audit), {});
        for (const std::string& needle : needles)
          if (text.find(needle) == std::string::npos) return false;
        return true;
      },
      timeout);
  return text;
}

const std::string& supervisor_binary() {
  static const std::string path = SUP_IT_SUPERVISOR;
  return path;
}

const std::string& supctl_binary() {
  static const std::string path = SUP_IT_SUPCTL;
  return path;
}

const std::string& quickstart_binary() {
  static const std::string path = SUP_IT_QUICKSTART;
  return path;
}

TempDir::TempDir() {
  char name[] = "/tmp/sup-it.XXXXXX";
  if (mkdtemp(name) == nullptr) std::abort();
  path_ = name;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string LogLine::get(std::string_view key) const {
  if (!is_record()) return "";
  auto it = record.find(key);
  if (it == record.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

LogLine parse_log_line(const std::string& raw) {
  LogLine line{raw, Json()};
  if (!raw.empty() && raw.front() == '{') {
    Json parsed = Json::parse(raw, nullptr, /*allow_exceptions=*/false);
    if (!parsed.is_discarded() && parsed.is_object()) line.record = std::move(parsed);
  }
  return line;
}

std::string socket_path_in(const TempDir& dir) {
  return dir.file("sup.sock");
}

Json base_config(const TempDir& dir) {
  return {{"state_dir", dir.file("state")},
          {"shutdown_timeout_ms", 15'000},
          {"log", {{"level", "info"}, {"format", "json"}}},
          {"dashboard", {{"path", socket_path_in(dir)}}},
          {"runtime", {{"jitter_seed", 20'261'123}}},
          // Any free port: tests run side by side (Daemon::http_port() finds it).
          {"http", {{"listen", "127.0.0.1:0"}, {"admin_listen", "127.0.0.1:0"}}},
          {"metrics", {{"listen", "127.0.0.1:0"}}},
          {"children", Json::array()}};
}

Json drill_child(const std::string& id, const std::string& drill_kind, unsigned ms) {
  Json drill = {{"kind", drill_kind}};
  if (drill_kind != "block_forever" && drill_kind != "ignore_cancel") drill["ms"] = ms;
  return {{"id", id}, {"kind", "drill"}, {"drill", drill}};
}

Json process_child(const std::string& id, const std::string& shell_command) {
  return {{"id", id},
          {"kind", "process"},
          {"exec", {"/bin/sh", "-c", shell_command}},
          {"shutdown_timeout_ms", 2000}};
}

std::uint16_t Daemon::http_port(milliseconds timeout) const {
  auto line =
      wait_for_log([](const LogLine& log) { return log.get("msg") == "http listening"; }, timeout);
  if (!line || line->get("HTTP_PORT").empty()) return 0;
  return static_cast<std::uint16_t>(std::stoul(line->get("HTTP_PORT")));
}

Daemon::Daemon(std::unique_ptr<Subprocess> process, std::string socket_path)
    : process_(std::move(process)), socket_path_(std::move(socket_path)) {}

Expected<std::unique_ptr<Daemon>> Daemon::start(const TempDir& dir, const Json& config,
                                                const DaemonOptions& options) {
  const std::string config_path = dir.file("config.json");
  {
    std::ofstream file(config_path);
    file << config.dump(2) << "\n";
    if (!file) return make_error(ErrorCode::IoError, "cannot write " + config_path);
  }
  SpawnOptions spawn;
  spawn.argv = {supervisor_binary(), "--config", config_path};
  spawn.unset_env = kDaemonEnvToClear;
  spawn.env = options.env;
  spawn.env.emplace("LOG_FORMAT", "json");
  spawn.cwd = dir.path();
  auto process = Subprocess::spawn(spawn);
  if (!process) return process.error();
  std::string socket = socket_path_in(dir);
  if (auto dashboard = config.find("dashboard"); dashboard != config.end()) {
    if (auto path = dashboard->find("path"); path != dashboard->end() && path->is_string())
      socket = path->get<std::string>();
  }
  return std::unique_ptr<Daemon>(new Daemon(std::move(*process), socket));
}

bool Daemon::wait_until_serving(milliseconds timeout) {
  return eventually(
             [this] {
               if (process_->poll_exit()) return true;  // reported below
               auto health = call("health", Json::object(), scaled(milliseconds(2000)));
               if (!health || !(*health)["ok"].is_boolean() || !(*health)["ok"].get<bool>())
                 return false;
               const Json& status = (*health)["result"]["status"];
               return status == "ready" || status == "degraded";
             },
             timeout, milliseconds(25)) &&
         !process_->poll_exit();
}

std::vector<LogLine> Daemon::log_lines() const {
  std::vector<LogLine> parsed;
  for (const auto& raw : process_->lines(Stream::Err)) parsed.push_back(parse_log_line(raw));
  return parsed;
}

std::optional<LogLine> Daemon::wait_for_log(const std::function<bool(const LogLine&)>& predicate,
                                            milliseconds timeout, std::size_t from) const {
  auto raw = process_->wait_for_line(
      Stream::Err, [&](const std::string& line) { return predicate(parse_log_line(line)); },
      timeout, from);
  if (!raw) return std::nullopt;
  return parse_log_line(*raw);
}

std::optional<Json> Daemon::call(std::string_view method, const Json& params,
                                 milliseconds timeout) const {
  const auto deadline = deadline_in(timeout);
  auto client = SocketClient::connect(socket_path_, deadline);
  if (!client) return std::nullopt;
  return client->call(method, params, deadline);
}

std::optional<Json> Daemon::result_of(std::string_view method, const Json& params) const {
  auto response = call(method, params);
  if (!response || !response->is_object() || (*response)["ok"] != true) return std::nullopt;
  return (*response)["result"];
}

std::optional<Json> Daemon::command(std::string_view name, const std::string& target,
                                    const Json& extra) const {
  return call("command." + std::string(name), command_params(target, extra));
}

RunResult Daemon::supctl(const std::vector<std::string>& args, milliseconds timeout) const {
  return run_supctl(socket_path_, args, timeout);
}

RunResult run_daemon_to_exit(const TempDir& dir, const Json& config, milliseconds timeout) {
  RunResult result;
  auto daemon = Daemon::start(dir, config);
  if (!daemon) {
    result.err = daemon.error().describe();
    return result;
  }
  Subprocess& process = (*daemon)->process();
  auto status = process.wait_exit(timeout);
  result.timed_out = !status;
  if (status) result.status = *status;
  result.out = process.text(Stream::Out);
  result.err = process.text(Stream::Err);
  return result;
}

RunResult run_supctl(const std::string& socket, const std::vector<std::string>& args,
                     milliseconds timeout) {
  SpawnOptions options;
  options.argv = {supctl_binary(), "--socket", socket};
  options.argv.insert(options.argv.end(), args.begin(), args.end());
  options.unset_env = {"SUPERVISOR_SOCKET"};
  return run_command(options, timeout);
}

std::vector<Json> json_lines(const std::string& text) {
  std::vector<Json> objects;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    Json parsed = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!parsed.is_discarded()) objects.push_back(std::move(parsed));
  }
  return objects;
}

std::optional<Json> find_child(const Json& state_result, std::string_view id) {
  // The seed's shape: {type:"state", state: DashboardState}.
  auto state = state_result.find("state");
  if (state == state_result.end() || !state->is_object()) return std::nullopt;
  auto records = state->find("child_runtime_records");
  if (records == state->end() || !records->is_array()) return std::nullopt;
  for (const Json& record : *records)
    if (record.value("id", "") == id) return record;
  return std::nullopt;
}

std::optional<Json> wait_for_child(const Daemon& daemon, std::string_view id,
                                   const std::function<bool(const Json&)>& predicate,
                                   milliseconds timeout) {
  std::optional<Json> last;
  eventually(
      [&] {
        auto state = daemon.result_of("state");
        if (!state) return false;
        last = find_child(*state, id);
        return last && predicate(*last);
      },
      timeout);
  return last;
}

std::optional<Json> wait_for_health(const Daemon& daemon,
                                    const std::function<bool(const Json&)>& predicate,
                                    milliseconds timeout) {
  std::optional<Json> last;
  eventually(
      [&] {
        auto health = daemon.result_of("health");
        if (health) last = health;
        return health && predicate(*health);
      },
      timeout);
  return last;
}

Expected<EventStream> EventStream::open(const std::string& socket,
                                        std::optional<std::uint64_t> after_sequence,
                                        Clock::time_point deadline) {
  auto client = SocketClient::connect(socket, deadline);
  if (!client) return client.error();
  Json params = Json::object();
  if (after_sequence) params["after_sequence"] = *after_sequence;
  auto response = client->call("events.subscribe", params, deadline);
  if (!response) return make_error(ErrorCode::Timeout, "no answer to events.subscribe");
  if ((*response)["ok"] != true || !(*response)["result"]["last_sequence"].is_number_unsigned())
    return make_error(ErrorCode::ProtocolError, "events.subscribe refused: " + response->dump());
  auto last = (*response)["result"]["last_sequence"].get<std::uint64_t>();
  return EventStream(std::move(*client), last);
}

std::optional<Json> EventStream::wait_for(const EventPredicate& predicate,
                                          Clock::time_point deadline) {
  for (;;) {
    auto push = client_.next_push(deadline);
    if (!push) return std::nullopt;
    if (!push->is_object() || push->value("type", "") != "event") continue;
    // The seed's push nests the EventRecord under "event".
    auto event = push->find("event");
    if (event == push->end() || !event->is_object()) continue;
    events_.push_back(*event);
    if (predicate(events_.back())) return events_.back();
  }
}

std::optional<Json> EventStream::seen(const EventPredicate& predicate) const {
  for (const Json& event : events_)
    if (predicate(event)) return event;
  return std::nullopt;
}

EventStream::EventPredicate event_is(std::string type, std::string child_id) {
  return [type = std::move(type), child_id = std::move(child_id)](const Json& event) {
    return event.value("event_type", "") == type &&
           (child_id.empty() || event.value("child_id", "") == child_id);
  };
}

std::string payload_of(const Json& event, std::string_view key) {
  auto payload = event.find("payload");
  if (payload == event.end() || !payload->is_object()) return "";
  auto value = payload->find(key);
  return value != payload->end() && value->is_string() ? value->get<std::string>() : "";
}

std::uint64_t payload_number(const Json& event, std::string_view key) {
  return std::strtoull(payload_of(event, key).c_str(), nullptr, 10);
}

}  // namespace sup::it
