#include <doctest/doctest.h>

#include <map>
#include <string>

#include "config/bounded_json.hpp"
#include "config/daemon_config.hpp"

using sup::config::DaemonConfig;
using sup::config::parse_config;

namespace {

// Parses `text`, expecting an error; returns it.
sup::Error config_error(const std::string& text) {
  auto config = parse_config(text);
  REQUIRE_MESSAGE(!config, "accepted: " << text);
  CHECK(config.error().code == sup::ErrorCode::InvalidConfig);
  return config.error();
}

DaemonConfig config_ok(const std::string& text) {
  auto config = parse_config(text);
  REQUIRE_MESSAGE(config, (config ? "" : config.error().describe()));
  return std::move(config).value();
}

std::string with_child(const std::string& child) {
  return R"({"dashboard": {"enabled": false}, "children": [)" + child + "]}";
}

}  // namespace

TEST_CASE("the default reserve of dashboard slots leaves one to other uids") {
  CHECK(config_ok(R"({"dashboard": {"max_clients": 4}})").dashboard.reserved_clients == 3);
  CHECK(config_ok(R"({"dashboard": {"max_clients": 1}})").dashboard.reserved_clients == 0);
  CHECK(config_ok(R"({"dashboard": {"max_clients": 4, "reserved_clients": 1}})")
            .dashboard.reserved_clients == 1);
}

TEST_CASE("an empty config gets every default and the relay child first") {
  DaemonConfig config = config_ok("{}");
  CHECK(config.root.strategy == sup::Strategy::OneForOne);
  CHECK(config.root.intensity == 10);
  CHECK(config.root.period_ms == 5000);
  CHECK(config.dashboard.enabled);
  CHECK(config.dashboard.path == "/tmp/supervisor.sock");
  CHECK(config.dashboard.mode == 0660);
  CHECK(config.dashboard.max_clients == 64);
  CHECK(config.dashboard.max_line_bytes == (1u << 20));
  CHECK(config.dashboard.client_queue_bytes == (8u << 20));
  CHECK(config.dashboard.requests_per_sec == 200);
  CHECK(config.dashboard.target_id.rfind("supervisor@", 0) == 0);
  CHECK(config.dashboard.target_id.size() > std::string("supervisor@").size());
  CHECK(config.dashboard.max_clients_per_uid == 16);
  CHECK(config.dashboard.reserved_clients == 8);
  CHECK(config.dashboard.line_timeout_ms == 5000);
  CHECK(config.dashboard.idle_timeout_ms == 60000);
  CHECK(config.log.level == sup::LogLevel::Info);
  CHECK(config.log.format == "text");
  CHECK(config.runtime.worker_threads == 0);
  CHECK(config.runtime.tick_ms == 10);
  CHECK(config.runtime.blocking_threshold_ms == 500);
  CHECK(config.process_output.lines_per_sec == 1000);
  CHECK(config.process_output.burst_lines == 5000);
  CHECK(config.state_dir == "/var/lib/supervisor");
  CHECK(config.shutdown_timeout_ms == 30000);

  REQUIRE(config.root.children.size() == 1);
  const sup::ChildSpec& relay = config.root.children[0];
  CHECK(relay.id == "relay");
  CHECK(relay.kind == sup::ChildKind::Endpoint);
  CHECK(relay.restart == sup::RestartType::Permanent);
  CHECK(relay.backoff.initial_ms == 5);
  CHECK(relay.backoff.max_ms == 1000);
  CHECK(relay.budget.capacity == 10);
  CHECK(relay.budget.refill_per_sec == 1);
}

TEST_CASE("every key is read, with comments allowed") {
  DaemonConfig config = config_ok(R"(
    // the root supervisor
    {
      "strategy": "rest_for_one", "intensity": 3, "period_ms": 1000,
      /* block comment */
      "state_dir": "/srv/sup", "shutdown_timeout_ms": 9000,
      "log": {"level": "debug", "format": "json"},
      "runtime": {"worker_threads": 6, "tick_ms": 5, "blocking_threshold_ms": 250, "jitter_seed": 42},
      "process_output": {"lines_per_sec": 0, "burst_lines": 7},
      "dashboard": {"path": "/run/sup.sock", "mode": "0600", "max_clients": 8, "max_line_bytes": 4096,
                    "client_queue_bytes": 65536, "requests_per_sec": 50, "target_id": "sup-a",
                    "max_clients_per_uid": 3, "reserved_clients": 2, "line_timeout_ms": 250,
                    "idle_timeout_ms": 0},
      "children": [
        {"id": "hb", "kind": "task", "task": "heartbeat", "heartbeat_timeout_ms": 3000,
         "restart": "transient", "shutdown_timeout_ms": 100,
         "budget": {"capacity": 3, "refill_per_sec": 0.01},
         "backoff": {"initial_ms": 10, "max_ms": 20, "multiplier": 1.5, "reset_after_ms": 7},
         "crash_loop": {"max_failures": 0, "window_ms": 1}},
        {"id": "p", "kind": "process", "exec": ["/bin/sh", "-c", "true"], "env": {"A": "1"},
         "cwd": "/tmp", "shell": true},
        {"id": "d", "kind": "drill", "drill": {"kind": "flaky", "ms": 2000, "p": 0.3}},
        {"id": "blk", "kind": "drill", "drill": {"kind": "block_forever"}},
        {"id": "w", "kind": "supervisor", "strategy": "one_for_all", "intensity": 1, "period_ms": 2,
         "children": [{"id": "w.a", "kind": "process", "exec": ["sleep", "1"]}]}
      ]
    })");
  CHECK(config.root.strategy == sup::Strategy::RestForOne);
  CHECK(config.root.intensity == 3);
  CHECK(config.root.period_ms == 1000);
  CHECK(config.state_dir == "/srv/sup");
  CHECK(config.shutdown_timeout_ms == 9000);
  CHECK(config.log.level == sup::LogLevel::Debug);
  CHECK(config.log.format == "json");
  CHECK(config.runtime.worker_threads == 6);
  CHECK(config.runtime.tick_ms == 5);
  CHECK(config.runtime.blocking_threshold_ms == 250);
  CHECK(config.runtime.jitter_seed == 42);
  CHECK(config.process_output.lines_per_sec == 0);
  CHECK(config.process_output.burst_lines == 7);
  CHECK(config.dashboard.path == "/run/sup.sock");
  CHECK(config.dashboard.mode == 0600);
  CHECK(config.dashboard.max_clients == 8);
  CHECK(config.dashboard.max_line_bytes == 4096);
  CHECK(config.dashboard.client_queue_bytes == 65536);
  CHECK(config.dashboard.requests_per_sec == 50);
  CHECK(config.dashboard.target_id == "sup-a");
  CHECK(config.dashboard.max_clients_per_uid == 3);
  CHECK(config.dashboard.reserved_clients == 2);
  CHECK(config.dashboard.line_timeout_ms == 250);
  CHECK(config.dashboard.idle_timeout_ms == 0);

  REQUIRE(config.root.children.size() == 6);  // relay inserted first
  CHECK(config.root.children[0].id == "relay");
  const auto& hb = config.root.children[1];
  CHECK(hb.kind == sup::ChildKind::Task);
  CHECK(hb.task == "heartbeat");
  CHECK(hb.heartbeat_timeout_ms == 3000);
  CHECK(hb.restart == sup::RestartType::Transient);
  CHECK(hb.shutdown_timeout_ms == 100);
  CHECK(hb.budget.capacity == 3);
  CHECK(hb.budget.refill_per_sec == doctest::Approx(0.01));
  CHECK(hb.backoff.initial_ms == 10);
  CHECK(hb.backoff.max_ms == 20);
  CHECK(hb.backoff.multiplier == 1.5);
  CHECK(hb.backoff.reset_after_ms == 7);
  CHECK(hb.crash_loop.max_failures == 0);
  CHECK(hb.crash_loop.window_ms == 1);
  const auto& p = config.root.children[2];
  CHECK(p.process.argv == std::vector<std::string>{"/bin/sh", "-c", "true"});
  CHECK(p.process.env == std::map<std::string, std::string>{{"A", "1"}});
  CHECK(p.process.cwd == "/tmp");
  CHECK(p.process.shell);
  const auto& d = config.root.children[3];
  CHECK(d.drill.kind == sup::DrillKind::Flaky);
  CHECK(d.drill.ms == 2000);
  CHECK(d.drill.p == 0.3);
  CHECK(config.root.children[4].drill.kind == sup::DrillKind::BlockForever);
  const auto& w = config.root.children[5];
  CHECK(w.kind == sup::ChildKind::Supervisor);
  CHECK(w.strategy == sup::Strategy::OneForAll);
  CHECK(w.intensity == 1);
  CHECK(w.period_ms == 2);
  REQUIRE(w.children.size() == 1);
  CHECK(w.children[0].process.argv == std::vector<std::string>{"sleep", "1"});
}

TEST_CASE("each validation error names its field path") {
  struct Case {
    std::string json;
    std::string field_path;
    std::string message_part;
  };
  const std::string task = R"("kind": "task", "task": "t")";
  const Case cases[] = {
      // top level
      {R"({"strategy": "one-for-one"})", "strategy", "one_for_one"},
      {R"({"intensity": -1})", "intensity", "negative"},
      {R"({"period_ms": 0})", "period_ms", "between 1 and"},
      {R"({"period_ms": 1.5})", "period_ms", "whole number"},
      {R"({"children": {}})", "children", "must be an array"},
      {R"({"state_dir": ""})", "state_dir", "blank"},
      {R"({"shutdown_timeout_ms": "30s"})", "shutdown_timeout_ms", "got a string"},
      {R"({"log": {"level": "verbose"}})", "log.level", "unknown value \"verbose\""},
      {R"({"log": {"format": "xml"}})", "log.format", "\"text\", \"json\""},
      {R"({"log": []})", "log", "must be an object"},
      {R"({"runtime": {"tick_ms": 0}})", "runtime.tick_ms", "between 1 and 1000"},
      {R"({"runtime": {"worker_threads": 1000}})", "runtime.worker_threads", "at most 256"},
      {R"({"runtime": {"jitter_seed": "x"}})", "runtime.jitter_seed", "whole number"},
      {R"({"process_output": {"burst_lines": 0}})", "process_output.burst_lines", "between 1"},
      {R"({"process_output": {"lines_per_sec": -1}})", "process_output.lines_per_sec", "negative"},
      {R"({"process_output": {"lines": 1}})", "process_output.lines", "unknown key"},
      {R"({"dashboard": {"enabled": 1}})", "dashboard.enabled", "true or false"},
      {R"({"dashboard": {"path": "relative.sock"}})", "dashboard.path", "absolute"},
      {R"({"dashboard": {"path": "/)" + std::string(120, 'x') + R"("}})", "dashboard.path",
       "107 bytes"},
      {R"({"dashboard": {"mode": 660}})", "dashboard.mode", "at most 0777"},
      {R"({"dashboard": {"mode": "rw-rw----"}})", "dashboard.mode", "octal"},
      {R"({"dashboard": {"mode": "0668"}})", "dashboard.mode", "octal"},
      {R"({"dashboard": {"mode": true}})", "dashboard.mode", "got a boolean"},
      {R"({"dashboard": {"max_clients": 0}})", "dashboard.max_clients", "between 1 and 4096"},
      {R"({"dashboard": {"max_line_bytes": 4096, "client_queue_bytes": 65536}, "x": 1})", "x",
       "unknown key"},
      {R"({"dashboard": {"max_line_bytes": 1048576, "client_queue_bytes": 65536}})",
       "dashboard.client_queue_bytes", "at least max_line_bytes"},
      {R"({"dashboard": {"requests_per_sec": 0}})", "dashboard.requests_per_sec", "between 1"},
      {R"({"dashboard": {"target_id": " "}})", "dashboard.target_id", "blank"},
      {R"({"dashboard": {"max_clients_per_uid": 0}})", "dashboard.max_clients_per_uid",
       "between 1 and 4096"},
      {R"({"dashboard": {"max_clients": 4, "reserved_clients": 4}})", "dashboard.reserved_clients",
       "less than max_clients (4)"},
      {R"({"dashboard": {"reserved_clients": -1}})", "dashboard.reserved_clients", "negative"},
      {R"({"dashboard": {"line_timeout_ms": 50}})", "dashboard.line_timeout_ms",
       "between 100 and 3600000"},
      {R"({"dashboard": {"idle_timeout_ms": 86400001}})", "dashboard.idle_timeout_ms",
       "at most 86400000"},
      // children
      {with_child(R"("not an object")"), "children[0]", "must be an object"},
      {with_child(R"({"kind": "task", "task": "t"})"), "children[0].id", "missing required key"},
      {with_child(R"({"id": "a", "task": "t"})"), "children[0].kind", "missing required key"},
      {with_child(R"({"id": "a", "kind": "daemon"})"), "children[0].kind", "\"supervisor\""},
      {with_child(R"({"id": "", )" + task + "}"), "children[0].id", "blank"},
      {with_child(R"({"id": "a b", )" + task + "}"), "children[0].id", "not a valid id"},
      {with_child(R"({"id": ")" + std::string(65, 'a') + R"(", )" + task + "}"), "children[0].id",
       "1 to 64"},
      {with_child(R"({"id": "root", )" + task + "}"), "children[0].id", "reserved"},
      {with_child(R"({"id": "a", "kind": "task"})"), "children[0].task", "missing required key"},
      {with_child(R"({"id": "a", "restart": "always", )" + task + "}"), "children[0].restart",
       "\"temporary\""},
      {with_child(R"({"id": "a", "shutdown_timeout_ms": 99999999, )" + task + "}"),
       "children[0].shutdown_timeout_ms", "at most 3600000"},
      {with_child(R"({"id": "a", "budget": {"capacity": 0}, )" + task + "}"),
       "children[0].budget.capacity", "between 1 and"},
      {with_child(R"({"id": "a", "budget": {"refill_per_sec": -0.5}, )" + task + "}"),
       "children[0].budget.refill_per_sec", "between 0 and"},
      {with_child(R"({"id": "a", "budget": {"capacty": 2}, )" + task + "}"),
       "children[0].budget.capacty", "did you mean \"capacity\""},
      {with_child(R"({"id": "a", "backoff": {"multiplier": 0.5}, )" + task + "}"),
       "children[0].backoff.multiplier", "between 1 and"},
      {with_child(R"({"id": "a", "backoff": {"initial_ms": 500, "max_ms": 100}, )" + task + "}"),
       "children[0].backoff.max_ms", "at least initial_ms (500)"},
      {with_child(R"({"id": "a", "crash_loop": {"window_ms": 0}, )" + task + "}"),
       "children[0].crash_loop.window_ms", "between 1 and"},
      {with_child(R"({"id": "a", "backof": {}, )" + task + "}"), "children[0].backof",
       "did you mean \"backoff\""},
      {with_child(R"({"id": "a", "exec": ["x"], )" + task + "}"), "children[0].exec",
       "for kind \"task\""},
      {with_child(R"({"id": "a", "kind": "process"})"), "children[0].exec", "missing required key"},
      {with_child(R"({"id": "a", "kind": "process", "exec": []})"), "children[0].exec",
       "non-empty array"},
      {with_child(R"({"id": "a", "kind": "process", "exec": "/bin/true"})"), "children[0].exec",
       "got a string"},
      {with_child(R"({"id": "a", "kind": "process", "exec": ["/bin/x", 3]})"),
       "children[0].exec[1]", "must be a string"},
      {with_child(R"({"id": "a", "kind": "process", "exec": [""]})"), "children[0].exec[0]",
       "must not be empty"},
      {with_child(R"({"id": "a", "kind": "process", "exec": ["x"], "env": {"A": 1}})"),
       "children[0].env.A", "must be a string"},
      {with_child(R"({"id": "a", "kind": "process", "exec": ["x"], "env": {"A=B": "1"}})"),
       "children[0].env.A=B", "not a valid environment variable name"},
      {with_child(R"({"id": "a", "kind": "process", "exec": ["x"], "shell": "yes"})"),
       "children[0].shell", "true or false"},
      {with_child(R"({"id": "a", "kind": "process", "exec": ["x"], "heartbeat_timeout_ms": 5})"),
       "children[0].heartbeat_timeout_ms", "for kind \"process\""},
      {with_child(R"({"id": "a", "kind": "drill"})"), "children[0].drill", "missing required key"},
      {with_child(R"({"id": "a", "kind": "drill", "drill": "crash_after"})"), "children[0].drill",
       "must be an object"},
      {with_child(R"({"id": "a", "kind": "drill", "drill": {"ms": 5}})"), "children[0].drill.kind",
       "missing required key"},
      {with_child(R"({"id": "a", "kind": "drill", "drill": {"kind": "explode"}})"),
       "children[0].drill.kind", "\"crash_after\""},
      {with_child(R"({"id": "a", "kind": "drill", "drill": {"kind": "flaky", "p": 1.5}})"),
       "children[0].drill.p", "between 0 and 1"},
      {with_child(R"({"id": "a", "kind": "drill", "drill": {"kind": "flaky", "ms": 0}})"),
       "children[0].drill.ms", "between 1 and"},
      {with_child(R"({"id": "a", "kind": "drill", "drill": {"kind": "crash_after", "p": 0.5}})"),
       "children[0].drill.p", "for drill kind \"crash_after\""},
      {with_child(R"({"id": "a", "kind": "drill", "drill": {"kind": "block_forever", "ms": 5}})"),
       "children[0].drill.ms", "for drill kind \"block_forever\""},
      {with_child(
           R"({"id": "w", "kind": "supervisor", "children": [{"id": "x", "kind": "task"}]})"),
       "children[0].children[0].task", "missing required key"},
      {with_child(R"({"id": "w", "kind": "supervisor", "strategy": "all"})"),
       "children[0].strategy", "one_for_all"},
      // tree-wide rules
      {with_child(R"({"id": "a", )" + task + R"(}, {"id": "w", "kind": "supervisor", "children": [
                     {"id": "b", )" +
                  task + R"(}, {"id": "a", )" + task + "}]}"),
       "children[1].children[1].id", "duplicate id \"a\" (first used at children[0].id)"},
      {R"({"children": [{"id": "relay", "kind": "relay"}, {"id": "w", "kind": "supervisor",
          "children": [{"id": "relay2", "kind": "relay"}]}]})",
       "children[1].children[0].id", "must have id \"relay\""},
      {R"({"children": [{"id": "relay", "kind": "relay"}, {"id": "relay", "kind": "relay"}]})",
       "children[1].id", "only one child of kind \"relay\""},
      {with_child(R"({"id": "relay", )" + task + "}"), "children[0].id", "reserved"},
      {with_child(R"({"id": "relay", "kind": "relay"})"), "children[0].kind", "dashboard.enabled"},
      // JSON-level duplicates
      {R"({"dashboard": {"path": "/a.sock", "path": "/b.sock"}})", "dashboard.path",
       "duplicate key"},
      {with_child(R"({"id": "a", "id": "b", )" + task + "}"), "children[0].id", "duplicate key"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.json);
    sup::Error error = config_error(c.json);
    CHECK(error.field_path == c.field_path);
    CHECK_MESSAGE(error.message.find(c.message_part) != std::string::npos, error.message);
    CHECK(error.describe().find("field_path=\"" + c.field_path + "\"") == 0);
  }
}

TEST_CASE("bad input the review found: each refused with its field path") {
  struct Case {
    std::string json;
    std::string field_path;
    std::string message_part;
  };
  // A NUL byte in JSON is the escape \u0000.
  const Case cases[] = {
      {R"({"intensity": 1e999})", "intensity", "number overflow"},
      {R"({"intensity": 99999999999})", "intensity", "at most"},
      {R"({"intensity": 1e20})", "intensity", "whole number"},
      {with_child(R"({"id": "a", "kind": "supervisor", "intensity": 1e999})"),
       "children[0].intensity", "number overflow"},
      {with_child(R"({"id": "a", "kind": "drill", "drill": {"kind": "flaky", "p": -1e999}})"),
       "children[0].drill.p", "number overflow"},
      {with_child(R"({"id": "a", "kind": "process", "exec": ["/bin/sh", "-c\u0000rm"]})"),
       "children[0].exec[1]", "NUL"},
      {with_child(
           R"({"id": "a", "kind": "process", "exec": ["/bin/sh"], "env": {"A\u0000B": "1"}})"),
       "children[0].env.A" + std::string(1, '\0') + "B", "NUL"},
      {with_child(R"({"id": "a", "kind": "process", "exec": ["/bin/sh"], "cwd": "/\u0000"})"),
       "children[0].cwd", "NUL"},
      {with_child(R"({"id": "a/b", "kind": "process", "exec": ["/bin/sh"]})"), "children[0].id",
       "not a valid id"},
      {with_child(R"({"id": "a\u0001", "kind": "process", "exec": ["/bin/sh"]})"), "children[0].id",
       "not a valid id"},
      {with_child(R"({"id": "a", "kind": "process", "exec": ["/nonexistent/sup-binary"]})"),
       "children[0].exec[0]", "not an executable file"},
      {with_child(R"({"id": "a", "kind": "process", "exec": ["sup-no-such-program"]})"),
       "children[0].exec[0]", "in the PATH"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.json);
    sup::Error error = config_error(c.json);
    CHECK(error.field_path == c.field_path);
    CHECK_MESSAGE(error.message.find(c.message_part) != std::string::npos, error.message);
  }
}

namespace {

// Supervisors nested `depth` deep under the root: {"children": [{"id": "s1",
// "kind": "supervisor", "children": [ ... ]}]}.
std::string nested_supervisors(int depth) {
  std::string text = R"({"dashboard": {"enabled": false})";
  for (int i = 1; i <= depth; ++i)
    text += R"(, "children": [{"id": "s)" + std::to_string(i) + R"(", "kind": "supervisor")";
  for (int i = 1; i <= depth; ++i) text += "}]";
  return text + "}";
}

std::string children_path(std::size_t levels) {
  std::string path = "children[0]";
  for (std::size_t i = 1; i < levels; ++i) path += ".children[0]";
  return path;
}

}  // namespace

TEST_CASE("nesting is bounded: supervisors at 64 levels, JSON while parsing") {
  config_ok(nested_supervisors(64));
  sup::Error one_more = config_error(nested_supervisors(65));
  CHECK(one_more.field_path == children_path(65));
  CHECK(one_more.message.find("at most 64 levels") != std::string::npos);

  // 5,000 and 20,000 deep stop at the JSON depth limit, on the first level
  // too deep, before any spec is built.
  for (int depth : {5'000, 20'000}) {
    CAPTURE(depth);
    sup::Error error = config_error(nested_supervisors(depth));
    CHECK(error.message.find("JSON nested deeper than") == 0);
    CHECK(error.field_path.starts_with(children_path(60)));
  }

  // 40,000 nested arrays in a value: refused at level kMaxJsonDepth + 1.
  std::string arrays =
      R"({"state_dir": )" + std::string(40'000, '[') + std::string(40'000, ']') + "}";
  sup::Error deep = config_error(arrays);
  CHECK(deep.message ==
        "JSON nested deeper than " + std::to_string(sup::config::kMaxJsonDepth) + " levels");
  std::string expected = "state_dir";
  for (std::size_t i = 2; i <= sup::config::kMaxJsonDepth; ++i) expected += "[0]";
  CHECK(deep.field_path == expected);
}

TEST_CASE("an unknown key is rejected with the closest known key as a hint") {
  sup::Error error = config_error(R"({"dashbord": {}})");
  CHECK(error.field_path == "dashbord");
  CHECK(error.message == R"(unknown key "dashbord" (did you mean "dashboard"?))");
  sup::Error far = config_error(R"({"zzzzzzzzzzz": 1})");
  CHECK(far.message == R"(unknown key "zzzzzzzzzzz")");
}

TEST_CASE("JSON syntax errors give line and column") {
  sup::Error error = config_error("{\n  \"strategy\": \"one_for_one\",\n  oops\n}");
  CHECK(error.field_path.empty());
  CHECK_MESSAGE(error.message.find("invalid JSON at line 3, column") == 0, error.message);
  CHECK(config_error("").message.find("invalid JSON at line 1") == 0);
  CHECK(config_error("[]").message == "the config must be a JSON object");
}

TEST_CASE("the relay child is inserted only when missing and the dashboard is enabled") {
  SUBCASE("declared relay keeps its place and settings") {
    DaemonConfig config = config_ok(R"({"children": [
        {"id": "a", "kind": "task", "task": "t"},
        {"id": "relay", "kind": "relay", "backoff": {"initial_ms": 1, "max_ms": 2}}]})");
    REQUIRE(config.root.children.size() == 2);
    CHECK(config.root.children[1].id == "relay");
    CHECK(config.root.children[1].backoff.max_ms == 2);
  }
  SUBCASE("a relay nested in a sub-supervisor counts") {
    DaemonConfig config = config_ok(R"({"children": [{"id": "w", "kind": "supervisor",
        "children": [{"id": "relay", "kind": "relay"}]}]})");
    CHECK(config.root.children.size() == 1);
  }
  SUBCASE("dashboard disabled: no relay") {
    DaemonConfig config = config_ok(R"({"dashboard": {"enabled": false}})");
    CHECK(config.root.children.empty());
  }
  SUBCASE("inserted before the declared children") {
    DaemonConfig config = config_ok(R"({"children": [{"id": "a", "kind": "task", "task": "t"}]})");
    REQUIRE(config.root.children.size() == 2);
    CHECK(config.root.children[0].id == "relay");
    CHECK(config.root.children[1].id == "a");
  }
}

TEST_CASE("dashboard.mode accepts an octal string or an integer") {
  CHECK(config_ok(R"({"dashboard": {"mode": "0660"}})").dashboard.mode == 0660);
  CHECK(config_ok(R"({"dashboard": {"mode": "600"}})").dashboard.mode == 0600);
  CHECK(config_ok(R"({"dashboard": {"mode": 432}})").dashboard.mode == 0660);
  CHECK(config_ok(R"({"dashboard": {"mode": "0777"}})").dashboard.mode == 0777);
  CHECK(config_error(R"({"dashboard": {"mode": "1777"}})").field_path == "dashboard.mode");
  CHECK(config_error(R"({"dashboard": {"mode": -1}})").field_path == "dashboard.mode");
}

TEST_CASE("environment overrides replace the config's values") {
  std::map<std::string, std::string> env;
  auto getenv_fn = [&env](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  DaemonConfig config = config_ok(R"({"log": {"level": "warn"}, "state_dir": "/a"})");

  SUBCASE("unset and empty variables change nothing") {
    env["LOG_LEVEL"] = "";
    REQUIRE(sup::config::apply_env_overrides(config, getenv_fn));
    CHECK(config.log.level == sup::LogLevel::Warn);
    CHECK(config.log.format == "text");
    CHECK(config.state_dir == "/a");
  }
  SUBCASE("good values, case-insensitive names") {
    env = {{"LOG_LEVEL", "DEBUG"}, {"LOG_FORMAT", "Json"}, {"STATE_DIR", "/run/x"}};
    REQUIRE(sup::config::apply_env_overrides(config, getenv_fn));
    CHECK(config.log.level == sup::LogLevel::Debug);
    CHECK(config.log.format == "json");
    CHECK(config.state_dir == "/run/x");
  }
  SUBCASE("a bad LOG_LEVEL names the variable") {
    env["LOG_LEVEL"] = "loud";
    auto status = sup::config::apply_env_overrides(config, getenv_fn);
    REQUIRE_FALSE(status);
    CHECK(status.error().field_path == "LOG_LEVEL");
    CHECK(status.error().message.find("\"loud\"") != std::string::npos);
  }
  SUBCASE("a bad LOG_FORMAT names the variable") {
    env["LOG_FORMAT"] = "yaml";
    auto status = sup::config::apply_env_overrides(config, getenv_fn);
    REQUIRE_FALSE(status);
    CHECK(status.error().field_path == "LOG_FORMAT");
  }
}

TEST_CASE("parse_child_spec prefixes field paths and checks ids within the subtree") {
  auto ok = sup::config::parse_child_spec(
      nlohmann::json::parse(R"({"id": "x", "kind": "drill", "drill": {"kind": "panic", "ms": 7}})"),
      "params.spec");
  REQUIRE(ok);
  CHECK(ok->drill.kind == sup::DrillKind::Panic);
  CHECK(ok->drill.ms == 7);

  auto bad = sup::config::parse_child_spec(
      nlohmann::json::parse(
          R"({"id": "x", "kind": "task", "task": "t", "backoff": {"max_ms": -1}})"),
      "params.spec");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().field_path == "params.spec.backoff.max_ms");

  auto duplicate = sup::config::parse_child_spec(nlohmann::json::parse(R"(
      {"id": "w", "kind": "supervisor", "children": [{"id": "w", "kind": "task", "task": "t"}]})"),
                                                 "params.spec");
  REQUIRE_FALSE(duplicate);
  CHECK(duplicate.error().field_path == "params.spec.children[0].id");
}

TEST_CASE("load_config_file reports unreadable files and validates the shipped default") {
  auto missing = sup::config::load_config_file("/nonexistent/supervisor.json");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message.find("/nonexistent/supervisor.json") != std::string::npos);

  auto shipped = sup::config::load_config_file(SUP_SOURCE_DIR "/config/supervisor.json");
  REQUIRE_MESSAGE(shipped, (shipped ? "" : shipped.error().describe()));
  CHECK(shipped->root.children.front().kind == sup::ChildKind::Endpoint);
}

TEST_CASE("dashboard.registration: off by default, every key read, each refusal with its path") {
  DaemonConfig defaults = config_ok(R"({"dashboard": {"target_id": "sup-a"}})");
  const auto& off = defaults.dashboard.registration;
  CHECK_FALSE(off.enabled);
  CHECK(off.path == "/run/rust-supervisor/dashboard-relay-registration.sock");
  CHECK(off.display_name == "sup-a");  // the target id unless given
  CHECK(off.lease_seconds == 30);
  CHECK(off.heartbeat_ms == 10'000);

  DaemonConfig given = config_ok(R"({"dashboard": {"registration": {
      "enabled": true, "path": "/run/relay/reg.sock", "display_name": "payments host",
      "lease_seconds": 5, "heartbeat_ms": 1500}}})");
  const auto& on = given.dashboard.registration;
  CHECK(on.enabled);
  CHECK(on.path == "/run/relay/reg.sock");
  CHECK(on.display_name == "payments host");
  CHECK(on.lease_seconds == 5);
  CHECK(on.heartbeat_ms == 1500);

  struct Case {
    std::string registration;
    std::string field_path;
    std::string message_part;
  };
  const Case cases[] = {
      {R"({"enabled": "yes"})", "dashboard.registration.enabled", "true or false"},
      {R"({"path": "relay.sock"})", "dashboard.registration.path", "absolute path"},
      {R"({"path": "/tmp/supervisor.sock"})", "dashboard.registration.path", "dashboard.path"},
      {R"({"display_name": " "})", "dashboard.registration.display_name", "blank"},
      {R"({"lease_seconds": 0})", "dashboard.registration.lease_seconds", "between 1 and"},
      {R"({"heartbeat_ms": 10})", "dashboard.registration.heartbeat_ms", "between 100 and"},
      {R"({"lease_seconds": 2, "heartbeat_ms": 2000})", "dashboard.registration.heartbeat_ms",
       "shorter than lease_seconds"},
      {R"({"leases": 2})", "dashboard.registration.leases", "unknown"},
      {R"([])", "dashboard.registration", "object"},
  };
  for (const auto& c : cases) {
    std::string json = R"({"dashboard": {"registration": )" + c.registration + "}}";
    CAPTURE(json);
    sup::Error error = config_error(json);
    CHECK(error.field_path == c.field_path);
    CHECK_MESSAGE(error.message.find(c.message_part) != std::string::npos, error.message);
  }
  sup::Error no_socket =
      config_error(R"({"dashboard": {"enabled": false, "registration": {"enabled": true}}})");
  CHECK(no_socket.field_path == "dashboard.registration.enabled");
  CHECK(no_socket.message.find("dashboard.enabled") != std::string::npos);
}
