// The whole CLI (run_supctl: parsing, commands, output, exit codes) against a
// fake daemon speaking the protocol of docs/ipc.md.
#include <doctest/doctest.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/clock.hpp"
#include "supctl/cli_app.hpp"
#include "supctl/text_format.hpp"
#include "supctl_fake_daemon.hpp"

using namespace sup::cli;
using namespace sup::cli::testing;
using namespace std::chrono_literals;

namespace {

struct Run {
  int code = -1;
  std::string out;
  std::string err;
};

Run supctl(const std::string& socket, std::vector<std::string> args, const std::string& input = "",
           bool interactive = false) {
  std::vector<std::string> argv_storage = {"supctl", "--socket", socket, "--timeout", "3000"};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<const char*> argv;
  for (const auto& arg : argv_storage) argv.push_back(arg.c_str());
  std::ostringstream out, err;
  std::istringstream in(input);
  Run run;
  run.code = run_supctl(static_cast<int>(argv.size()), argv.data(),
                        Io{out, err, in, interactive, std::nullopt, std::nullopt});
  run.out = out.str();
  run.err = err.str();
  return run;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream stream(text);
  for (std::string line; std::getline(stream, line);) lines.push_back(line);
  return lines;
}

// The seed's ControlCommandResult with our outcome, as the daemon writes it.
json command_result(const json& request, std::string outcome, std::string reason = {}) {
  sup::wire::CommandResult result;
  result.command_id = request["params"].value("command_id", "");
  result.target_id = "test";
  result.accepted = outcome == "CommandResult::Accepted";
  result.status = result.accepted ? "completed" : "rejected";
  if (!result.accepted)
    result.error = sup::wire::ErrorObject{"rejected", "command", "test", reason, false, ""};
  result.completed_at_unix_nanos = 1;
  result.outcome = outcome;
  result.reason = reason;
  return ok_response(
      request, {{"type", "command_result"}, {"target_id", "test"}, {"result", wire_json(result)}});
}

// The event ring of the fake daemon: 3 and 4 were lost.
const std::vector<std::uint64_t> kRing = {1, 2, 5, 6, 7, 8};

Lines answer(const json& request) {
  const std::string method = request.value("method", "");
  const json& params = request["params"];
  if (method == "state") return {ok_response(request, demo_state(sup::unix_now_ms()))};
  if (method == "health") return {ok_response(request, demo_health("degraded"))};
  if (method == "hello")
    return {
        ok_response(request, {{"type", "hello"},
                              {"protocol_version", "dashboard-ipc.v1"},
                              {"registration", {{"target_id", "t1"}, {"display_name", "demo"}}}})};
  if (method == "events.subscribe") {
    Lines lines = {ok_response(
        request,
        {{"type", "subscription"}, {"subscription", "events"}, {"last_sequence", kRing.back()}})};
    for (std::uint64_t sequence : kRing)
      if (sequence > params.value("after_sequence", std::uint64_t{0}))
        lines.push_back(demo_event(sequence));
    return lines;
  }
  if (method == "logs.tail") {
    sup::wire::Subscription tail{"logs", 2, {}, false};
    for (std::uint64_t i = 1; i <= 2; ++i)
      tail.records.push_back({"test",
                              i,
                              "",
                              "info",
                              "tick " + std::to_string(i),
                              {{"CHILD_ID", "ticker"}, {"STREAM", "stdout"}},
                              1'700'000'000'000'000'000});
    sup::JsonWriter w;
    w.begin_object().field("type", "subscription").field("target_id", "test");
    sup::wire::write_fields(w, tail);
    w.end_object();
    return {ok_response(request, json::parse(w.take()))};
  }
  if (method == "command.add_child") {
    if (params["spec"].value("/backoff/max_ms"_json_pointer, 0) > 3'600'000)
      return {error_response(request, "invalid_command_params", "validation",
                             "must be at most 3600000", "params.spec.backoff.max_ms")};
    return {command_result(request, "CommandResult::Accepted")};
  }
  if (method.rfind("command.", 0) == 0) {
    if (params.value("target", "") == "nosuch")
      return {command_result(request, "CommandResult::NotFound", "no child 'nosuch'")};
    if (params.value("target", "") == "relay" && method == "command.remove_child")
      return {command_result(request, "CommandResult::Rejected", "the relay cannot be removed")};
    return {command_result(request, "CommandResult::Accepted")};
  }
  return {error_response(request, "unsupported_method", "protocol_parse", "unknown method")};
}

}  // namespace

TEST_CASE("state prints the summary, the tree and why children are quarantined") {
  FakeDaemon daemon(answer);
  const Run run = supctl(daemon.path(), {"state"});
  CHECK(run.code == 0);
  CHECK(run.err.empty());
  const auto lines = lines_of(run.out);
  REQUIRE(lines.size() == 11);
  CHECK(lines[0].rfind("8 children: running 6/7 target", 0) == 0);
  CHECK(lines[1].rfind("ID ", 0) == 0);
  CHECK(lines[8].rfind("  worker-a ", 0) == 0);
  CHECK(lines[10].rfind("crasher: quarantined: restart budget exhausted", 0) == 0);
}

TEST_CASE("--json prints the raw result, also when given after the subcommand") {
  FakeDaemon daemon(answer);
  for (auto args : {std::vector<std::string>{"--json", "children"}, {"children", "--json"}}) {
    const Run run = supctl(daemon.path(), args);
    CHECK(run.code == 0);
    const auto lines = lines_of(run.out);
    REQUIRE(lines.size() == 1);
    const json result = json::parse(lines[0]);
    CHECK(result["type"] == "state");
    CHECK(result["state"]["child_runtime_records"].size() == 8);
  }
}

TEST_CASE("health as key/value lines") {
  FakeDaemon daemon(answer);
  const Run run = supctl(daemon.path(), {"health"});
  CHECK(run.code == 0);
  CHECK(contains(run.out, "status:          degraded\n"));
  CHECK(contains(run.out, "suspects:        blocker\n"));
}

TEST_CASE("no daemon: exit 3 with what to do; a stale socket is told apart") {
  FakeDaemon daemon(answer);
  const std::string missing = daemon.dir() + "/missing.sock";
  const Run run = supctl(missing, {"state"});
  CHECK(run.code == 3);
  CHECK(run.out.empty());
  CHECK(run.err == "supctl: supervisor is not running (no socket at " + missing +
                       "): start it with `systemctl start supervisor` or tools/run\n");

  daemon.stop();  // leaves no file; make a stale one
  {
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, daemon.path().c_str(), sizeof address.sun_path - 1);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    ::close(fd);
  }
  const Run stale = supctl(daemon.path(), {"health"});
  CHECK(stale.code == 3);
  CHECK(contains(stale.err, "supervisor is not running (stale socket at " + daemon.path()));
}

TEST_CASE("a daemon that does not answer: exit 5") {
  FakeDaemon daemon([](const json&) { return Lines{}; });
  const Run run = supctl(daemon.path(), {"--timeout", "200", "state"});
  CHECK(run.code == 5);
  CHECK(contains(run.err, "did not answer within 200 ms"));
}

TEST_CASE("dangerous commands: refused off a terminal without --yes, asked on one") {
  FakeDaemon daemon(answer);
  const Run refused = supctl(daemon.path(), {"remove", "crasher"});
  CHECK(refused.code == 2);
  CHECK(contains(refused.err, "refusing to remove crasher without confirmation"));
  CHECK(daemon.requests().empty());  // nothing was sent

  const Run declined = supctl(daemon.path(), {"remove", "crasher"}, "n\n", true);
  CHECK(declined.code == 1);
  CHECK(contains(declined.err, "Remove child 'crasher'"));
  CHECK(daemon.requests().empty());

  const Run confirmed = supctl(daemon.path(), {"kill", "flaky"}, "y\n", true);
  CHECK(confirmed.code == 0);
  CHECK(contains(confirmed.out, "CommandResult::Accepted: kill flaky"));
  const auto kills = daemon.requests_for("command.kill_child");
  REQUIRE(kills.size() == 1);
  CHECK(kills[0]["params"]["confirmed"] == true);

  const Run yes = supctl(daemon.path(), {"shutdown-tree", "--yes"});
  CHECK(yes.code == 0);
  const auto shutdowns = daemon.requests_for("command.shutdown_tree");
  REQUIRE(shutdowns.size() == 1);
  CHECK_FALSE(shutdowns[0]["params"].contains("target"));
}

TEST_CASE("commands carry an audited, idempotent identity") {
  FakeDaemon daemon(answer);
  CHECK(supctl(daemon.path(), {"restart", "flaky"}).code == 0);
  CHECK(supctl(daemon.path(), {"--command-id", "retry-7", "--reason", "hung", "--requested-by",
                               "alice@ops", "restart", "flaky"})
            .code == 0);
  const auto restarts = daemon.requests_for("command.restart_child");
  REQUIRE(restarts.size() == 2);
  const json& generated = restarts[0]["params"];
  CHECK(generated["target"] == "flaky");
  CHECK(generated["command"] == "restart_child");
  CHECK(generated["confirmed"] == false);
  CHECK(generated["command_id"].get<std::string>().size() == 32);
  CHECK(generated["reason"] == "no reason given (supctl restart flaky)");
  CHECK_FALSE(generated["requested_by"].get<std::string>().empty());
  CHECK(generated["requested_at_unix_nanos"].is_number_integer());
  const json& given = restarts[1]["params"];
  CHECK(given["command_id"] == "retry-7");
  CHECK(given["reason"] == "hung");
  CHECK(given["requested_by"] == "alice@ops");

  const Run blank = supctl(daemon.path(), {"--reason", "  ", "restart", "flaky"});
  CHECK(blank.code == 2);
}

TEST_CASE("NotFound and Rejected exit 1 with the reason") {
  FakeDaemon daemon(answer);
  const Run missing = supctl(daemon.path(), {"pause", "nosuch"});
  CHECK(missing.code == 1);
  CHECK(contains(missing.out, "CommandResult::NotFound: pause nosuch: no child 'nosuch'"));
  const Run rejected = supctl(daemon.path(), {"--yes", "remove", "relay"});
  CHECK(rejected.code == 1);
  CHECK(
      contains(rejected.out, "CommandResult::Rejected: remove relay: the relay cannot be removed"));
}

TEST_CASE("add passes the spec through and shows the daemon's field path") {
  FakeDaemon daemon(answer);
  const Run ok = supctl(daemon.path(), {"add", "--yes", "--parent", "workers", "--spec",
                                        R"({"id": "ingest", /* a comment */ "kind": "process",
                                            "exec": ["/bin/true"]})"});
  CHECK(ok.code == 0);
  CHECK(contains(ok.out, "CommandResult::Accepted: add ingest"));
  const auto adds = daemon.requests_for("command.add_child");
  REQUIRE(adds.size() == 1);
  CHECK(adds[0]["params"]["spec"]["exec"][0] == "/bin/true");
  CHECK(adds[0]["params"]["parent"] == "workers");
  CHECK(adds[0]["params"]["target"] == "ingest");

  const std::string file = daemon.dir() + "/spec.json";
  std::ofstream(file) << R"({"id": "slow", "kind": "drill", "backoff": {"max_ms": 99999999}})";
  const Run invalid = supctl(daemon.path(), {"add", "--yes", "--spec-file", file});
  CHECK(invalid.code == 4);
  CHECK(contains(invalid.err,
                 "invalid_command_params (validation): "
                 "field_path=\"params.spec.backoff.max_ms\": must be at most 3600000"));
  const Run invalid_json = supctl(daemon.path(), {"--json", "--yes", "add", "--spec-file", file});
  CHECK(invalid_json.code == 4);
  CHECK(json::parse(invalid_json.out)["error"]["field_path"] == "params.spec.backoff.max_ms");

  CHECK(supctl(daemon.path(), {"add", "--spec", "{not json"}).code == 2);
  CHECK(supctl(daemon.path(), {"add", "--spec", "[1]"}).code == 2);
  CHECK(supctl(daemon.path(), {"add"}).code == 2);
  CHECK(supctl(daemon.path(), {"add", "--spec-file", daemon.dir() + "/none.json"}).code == 2);
  CHECK(daemon.requests_for("command.add_child").size() == 3);  // the bad ones never left
}

TEST_CASE("events: the most recent ones, gaps marked, or everything after --since") {
  FakeDaemon daemon(answer);
  const Run recent = supctl(daemon.path(), {"events", "-n", "3"});
  CHECK(recent.code == 0);
  auto lines = lines_of(recent.out);
  REQUIRE(lines.size() == 3);
  CHECK(contains(lines[0], " #6 warning child_exited flaky"));
  CHECK(contains(lines[2], " #8 "));

  const Run all = supctl(daemon.path(), {"events"});
  lines = lines_of(all.out);
  REQUIRE(lines.size() == 7);
  CHECK(contains(lines[1], " #2 "));
  CHECK(lines[2] == "-- missed events 3-4");
  CHECK(contains(lines[3], " #5 "));

  const Run since = supctl(daemon.path(), {"events", "--since", "2"});
  lines = lines_of(since.out);
  REQUIRE(lines.size() == 5);
  CHECK(lines[0] == "-- missed events 3-4");
  CHECK(daemon.requests_for("events.subscribe").back()["params"]["after_sequence"] == 2);

  const Run as_json = supctl(daemon.path(), {"events", "--since", "2", "--json"});
  lines = lines_of(as_json.out);
  REQUIRE(lines.size() == 4);  // the gap note goes to stderr
  CHECK(json::parse(lines[0])["sequence"] == 5);
  CHECK(contains(as_json.err, "missed events 3-4"));
}

TEST_CASE("logs of one child") {
  FakeDaemon daemon(answer);
  const Run run = supctl(daemon.path(), {"logs", "ticker", "-n", "5"});
  CHECK(run.code == 0);
  const auto lines = lines_of(run.out);
  REQUIRE(lines.size() == 2);
  CHECK(contains(lines[0], "info    [ticker stdout] tick 1"));
  const auto tails = daemon.requests_for("logs.tail");
  REQUIRE(tails.size() == 1);
  CHECK(tails[0]["params"] == json{{"child_id", "ticker"}, {"lines", 5}, {"follow", false}});
}

TEST_CASE("kill relay: the dropped connection is expected, the relay's return is awaited") {
  std::atomic<bool> kill_seen{false};
  FakeDaemon daemon([&](const json& request) {
    if (request.value("method", "") == "command.kill_child") {
      kill_seen = true;
      return Lines{};  // the relay dies before it can answer
    }
    return answer(request);
  });
  // The restart thread reports whether it saw the kill; asserted here, on
  // the test thread.
  bool kill_arrived = false;
  std::thread relay_restart([&] {
    kill_arrived = eventually([&] { return kill_seen.load(); });
    daemon.stop();
    std::this_thread::sleep_for(150ms);  // the relay stays away a while: supctl must wait it out
    daemon.start();
  });
  const Run run = supctl(daemon.path(), {"--yes", "kill", "relay"});
  relay_restart.join();
  REQUIRE(kill_arrived);
  CHECK(run.code == 0);
  CHECK(contains(run.err, "waiting for the relay to come back"));
  CHECK(contains(run.out, "relay is back after "));
  CHECK(contains(run.out, "(generation 1 -> 1)"));  // the fake does not bump it
}

TEST_CASE("a connection lost mid-command says how to retry safely") {
  FakeDaemon* self = nullptr;
  std::atomic<bool> asked{false};
  FakeDaemon daemon([&](const json&) {
    asked = true;
    return Lines{};
  });
  self = &daemon;
  bool request_arrived = false;
  std::thread drop([&] {
    request_arrived = eventually([&] { return asked.load(); });
    self->stop();
  });
  const Run run = supctl(daemon.path(), {"--command-id", "abc123", "restart", "flaky"});
  drop.join();
  REQUIRE(request_arrived);
  CHECK(run.code == 3);
  CHECK(contains(run.err, "dropped before it answered `command.restart_child`"));
  CHECK(contains(run.err, "retrying with --command-id abc123 is safe"));
}

TEST_CASE("usage errors exit 2; --help exits 0") {
  FakeDaemon daemon(answer);
  CHECK(supctl(daemon.path(), {"frobnicate"}).code == 2);
  CHECK(supctl(daemon.path(), {"--timeout", "0", "state"}).code == 2);
  CHECK(supctl(daemon.path(), {"restart"}).code == 2);  // the child is required
  CHECK(supctl(daemon.path(), {"dashboard", "--json"}).code == 2);
  const Run help = supctl(daemon.path(), {"--help"});
  CHECK(help.code == 0);
  CHECK(contains(help.out, "Exit codes: 0 ok"));
  CHECK(daemon.requests().empty());
}

TEST_CASE("dashboard --once prints one 80x24 frame with the tree and recent events") {
  FakeDaemon daemon(answer);
  const Run run = supctl(daemon.path(), {"dashboard", "--once"});
  CHECK(run.code == 0);
  const auto lines = lines_of(run.out);
  REQUIRE(lines.size() == 24);
  for (const auto& line : lines) CHECK(display_width(line) <= 80);
  CHECK(lines[0].rfind("supervisor demo on /tmp/supctl-test-", 0) == 0);
  CHECK(contains(run.out, "\n  worker-b "));
  CHECK(contains(run.out, "RECENT EVENTS"));
  CHECK(contains(run.out, "-- missed events 3-4"));
  CHECK(contains(run.out, "#8 warning child_exited flaky"));
}
