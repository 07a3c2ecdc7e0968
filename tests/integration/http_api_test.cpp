// The HTTP API and the metrics of the real daemon (docs/http.md,
// docs/metrics.md): every endpoint, its error paths, the token rules off
// loopback, readiness while the relay is down, and a scrape of /metrics
// parsed as the exposition format.
#include <doctest/doctest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <fstream>

#include "exposition_parser.hpp"
#include "http_client.hpp"
#include "serving_daemon.hpp"

using namespace std::chrono_literals;
using sup::it::HttpReply;
using sup::it::Json;
using sup::it::scaled;

namespace {

struct Ports {
  std::uint16_t api = 0;
  std::uint16_t admin = 0;
  std::uint16_t metrics = 0;
};

// The ports the daemon bound (the test configs listen on port 0).
Ports ports_of(const sup::it::Daemon& daemon) {
  Ports ports;
  auto http = daemon.wait_for_log(
      [](const sup::it::LogLine& line) { return line.get("msg") == "http listening"; },
      scaled(20s));
  REQUIRE_MESSAGE(http, daemon.log_text());
  ports.api = static_cast<std::uint16_t>(std::stoul(http->get("HTTP_PORT")));
  ports.admin = static_cast<std::uint16_t>(std::stoul(http->get("ADMIN_PORT")));
  auto metrics = daemon.wait_for_log(
      [](const sup::it::LogLine& line) { return line.get("msg") == "metrics listening"; },
      scaled(20s));
  REQUIRE_MESSAGE(metrics, daemon.log_text());
  ports.metrics = static_cast<std::uint16_t>(std::stoul(metrics->get("METRICS_PORT")));
  return ports;
}

// Polls `target` until its reply satisfies `predicate`; the last reply.
HttpReply poll_until(std::uint16_t port, std::string_view target,
                     const std::function<bool(const HttpReply&)>& predicate,
                     std::chrono::milliseconds timeout) {
  HttpReply last;
  sup::it::eventually(
      [&] {
        last = sup::it::http_get(port, target);
        return predicate(last);
      },
      timeout, 50ms);
  return last;
}

std::string error_code(const HttpReply& reply) {
  Json body = reply.json();
  if (!body.is_object() || !body.contains("error")) return "<no error body>";
  return body["error"].value("code", "<no code>");
}

const char* kPipeline = R"({
  "name": "http-test",
  "nodes": [
    {"id": "a", "run": {"exec": ["/bin/true"]}},
    {"id": "b", "deps": ["a"], "run": {"exec": ["/bin/sh", "-c", "echo '{\"ok\":1}' > \"$SUP_OUTPUT\""]}}
  ]
})";

Json http_config(const sup::it::TempDir& dir) {
  Json config = sup::it::base_config(dir);
  config["http"]["max_body_bytes"] = 8192;
  config["http"]["request_timeout_ms"] = 1000;
  // Fails every 300 ms and is never quarantined: its restarts keep coming.
  Json crasher = sup::it::drill_child("crasher", "crash_after", 300);
  crasher["budget"] = {{"capacity", 1000}, {"refill_per_sec", 100}};
  crasher["backoff"] = {{"initial_ms", 10}, {"max_ms", 50}};
  crasher["crash_loop"] = {{"max_failures", 0}};
  config["children"].push_back(crasher);
  config["intensity"] = 1000000;
  return config;
}

sup::it::Exposition scrape(std::uint16_t port) {
  HttpReply reply = sup::it::http_get(port, "/metrics");
  REQUIRE_MESSAGE(reply.status == 200, reply.describe());
  CHECK(reply.headers["content-type"].rfind("text/plain; version=0.0.4", 0) == 0);
  auto parsed = sup::it::parse_exposition(reply.body);
  REQUIRE_MESSAGE(parsed, parsed.error().describe());
  return *parsed;
}

// Every family docs/metrics.md lists as present from the start (those with
// a series per subject, HTTP endpoints, IPC methods, breakers, appear with it).
const char* const kDocumentedFamilies[] = {"supervisor_child_exits_total",
                                           "supervisor_quarantines_total",
                                           "supervisor_events_total",
                                           "supervisor_control_loop_iterations_total",
                                           "supervisor_control_loop_iterations_per_second",
                                           "supervisor_control_loop_up",
                                           "supervisor_health_status",
                                           "supervisor_uptime_seconds",
                                           "supervisor_relay_clients",
                                           "supervisor_dashboard_link",
                                           "supervisor_relay_drops_total",
                                           "supervisor_audit_write_failures_total",
                                           "supervisor_child_restarts_total",
                                           "supervisor_child_restart_tokens",
                                           "supervisor_child_backoff_seconds",
                                           "supervisor_children",
                                           "supervisor_executions",
                                           "supervisor_execution_nodes",
                                           "supervisor_execution_transition_latency_seconds",
                                           "supervisor_store_commit_seconds",
                                           "supervisor_store_commit_batch_size",
                                           "supervisor_store_up",
                                           "supervisor_store_map_bytes",
                                           "supervisor_store_bytes",
                                           "supervisor_store_free_pages",
                                           "hlp_executor_circuit_breaker_open",
                                           "hlp_executor_circuit_breaker_state_changes",
                                           "hlp_executor_state_persistence_failures_total",
                                           "hlp_executor_state_corruption_total",
                                           "hlp_executor_quantum_backend_timeouts_total",
                                           "hlp_executor_quantum_backend_requests_total",
                                           "hlp_executor_fallback_usage",
                                           "hlp_executor_kubernetes_api_errors_total",
                                           "hlp_executor_recovery_duration_seconds",
                                           "hlp_executor_retry_attempts_total",
                                           "hlp_executor_backoff_duration_seconds"};

}  // namespace

TEST_CASE("probes, executions, errors and metrics of the real daemon") {
  sup::it::TempDir dir;
  auto daemon = sup::it::require_serving_daemon(dir, http_config(dir));
  Ports ports = ports_of(*daemon);

  SUBCASE("probes") {
    CHECK(sup::it::http_get(ports.api, "/health/live").status == 200);
    CHECK(sup::it::http_get(ports.api, "/health/startup").status == 200);
    HttpReply ready = poll_until(
        ports.api, "/health/ready", [](const HttpReply& r) { return r.status == 200; },
        scaled(20s));
    CHECK_MESSAGE(ready.status == 200, ready.describe());
    CHECK(ready.json()["checks"]["relay"] == "ok");
    CHECK(ready.json()["checks"]["store"] == "ok");
    CHECK(sup::it::http_get(ports.admin, "/health/ready").status == 200);
    HttpReply healthz = sup::it::http_get(ports.api, "/healthz");
    CHECK_MESSAGE(healthz.status == 200, healthz.describe());
    CHECK(healthz.json()["health"].contains("status"));
    HttpReply deep = sup::it::http_get(ports.api, "/healthz/deep");
    CHECK_MESSAGE(deep.status == 200, deep.describe());
    CHECK(deep.json()["store_validation"]["checked"] == true);
    CHECK(deep.json()["circuit_breakers"].is_object());
  }

  SUBCASE("an execution: 202 after commit, its status, a repeat, the mutation's log line") {
    Json submit = {{"spec", Json::parse(kPipeline)}, {"execution_id", "http-e1"}};
    HttpReply accepted = sup::it::http_request(ports.api, "POST", "/execute", submit.dump(),
                                               {{"Content-Type", "application/json"}});
    REQUIRE_MESSAGE(accepted.status == 202, accepted.describe());
    CHECK(accepted.json()["execution_id"] == "http-e1");
    HttpReply done = poll_until(
        ports.api, "/status/http-e1",
        [](const HttpReply& r) { return r.status == 200 && r.json()["state"] == "COMPLETED"; },
        scaled(30s));
    CHECK_MESSAGE(done.json()["state"] == "COMPLETED", done.describe());
    CHECK(done.json()["finished"] == true);
    HttpReply admin = sup::it::http_get(ports.admin, "/admin/executions/http-e1/status");
    CHECK_MESSAGE(admin.status == 200, admin.describe());
    CHECK(admin.json()["state"] == "COMPLETED");

    auto listed_ids = [](const HttpReply& reply) {
      std::vector<std::string> ids;
      Json body = reply.json();
      for (const auto& item : body["executions"]) ids.push_back(item["execution_id"]);
      return ids;
    };
    HttpReply all = sup::it::http_get(ports.api, "/status");
    REQUIRE_MESSAGE(all.status == 200, all.describe());
    CHECK(listed_ids(all) == std::vector<std::string>{"http-e1"});
    HttpReply completed = sup::it::http_get(ports.admin, "/admin/executions?status=COMPLETED");
    REQUIRE_MESSAGE(completed.status == 200, completed.describe());
    CHECK(listed_ids(completed) == std::vector<std::string>{"http-e1"});
    HttpReply running = sup::it::http_get(ports.admin, "/admin/executions?status=RUNNING");
    CHECK(running.json()["count"] == 0);
    HttpReply stuck = sup::it::http_get(ports.admin, "/admin/executions?status=STUCK");
    CHECK(stuck.status == 200);
    CHECK(stuck.json()["count"] == 0);  // it_executions_ops makes one stuck

    HttpReply again = sup::it::http_request(ports.api, "POST", "/execute", submit.dump());
    CHECK_MESSAGE(again.status == 200, again.describe());
    CHECK(again.json()["existing"] == true);

    HttpReply bare = sup::it::http_request(ports.api, "POST", "/execute", kPipeline);
    CHECK_MESSAGE(bare.status == 202, bare.describe());
    CHECK(bare.json()["execution_id"].get<std::string>().size() > 0);

    auto line = daemon->wait_for_log(
        [](const sup::it::LogLine& l) {
          return l.get("HTTP_TARGET") == "/execute" && l.get("HTTP_STATUS") == "202" &&
                 l.get("EXECUTION_ID") == "http-e1";
        },
        scaled(10s));
    REQUIRE_MESSAGE(line, daemon->log_text());
    CHECK(line->get("HTTP_METHOD") == "POST");
    CHECK(line->get("REQUESTED_BY") == "loopback");
    CHECK(!line->get("PEER").empty());

    // The store series are refreshed every metrics.refresh_ms.
    sup::it::Exposition scraped;
    bool counted = sup::it::eventually(
        [&] {
          scraped = scrape(ports.api);
          return scraped.value("supervisor_executions", {{"state", "COMPLETED"}}).value_or(0) >= 1;
        },
        scaled(20s), 200ms);
    CHECK(counted);
    CHECK(scraped.value("supervisor_store_commit_seconds_count").value_or(0) >= 1);
    CHECK(scraped.value("supervisor_execution_transition_latency_seconds_count").value_or(0) >= 1);
    CHECK(scraped.value("supervisor_store_bytes").value_or(0) > 0);
  }

  SUBCASE("error paths answer JSON errors with the right status") {
    HttpReply bad_json = sup::it::http_request(ports.api, "POST", "/execute", "{\"nodes\": [");
    CHECK_MESSAGE(bad_json.status == 400, bad_json.describe());
    CHECK(error_code(bad_json) == "invalid_json");
    HttpReply bad_dag = sup::it::http_request(ports.api, "POST", "/execute", R"({"nodes": []})");
    CHECK_MESSAGE(bad_dag.status == 400, bad_dag.describe());
    CHECK(bad_dag.json()["error"].contains("field"));
    HttpReply bad_type = sup::it::http_request(ports.api, "POST", "/execute", kPipeline,
                                               {{"Content-Type", "text/plain"}});
    CHECK(bad_type.status == 415);
    HttpReply too_big =
        sup::it::http_request(ports.api, "POST", "/execute", std::string(64 * 1024, ' '));
    CHECK_MESSAGE(too_big.status == 413, too_big.describe());
    CHECK(error_code(too_big) == "payload_too_large");
    HttpReply unknown = sup::it::http_get(ports.api, "/status/never-submitted");
    CHECK_MESSAGE(unknown.status == 404, unknown.describe());
    CHECK(error_code(unknown) == "not_found");
    CHECK(sup::it::http_get(ports.admin, "/admin/executions/never-submitted/status").status == 404);
    CHECK(sup::it::http_get(ports.api, "/nowhere").status == 404);
    HttpReply wrong_method = sup::it::http_get(ports.api, "/execute");
    CHECK(wrong_method.status == 405);
    CHECK(wrong_method.headers["allow"] == "POST");
    HttpReply bad_filter = sup::it::http_get(ports.admin, "/admin/executions?status=NAPPING");
    CHECK(bad_filter.status == 400);
    CHECK(bad_filter.json()["error"]["field"] == "query.status");
    for (const char* target :
         {"/admin/feature-flags", "/admin/circuit-breaker/kubernetes_api/reset"}) {
      HttpReply later = sup::it::http_request(ports.admin, "POST", target, "{}");
      CHECK_MESSAGE(later.status == 501, target);
      CHECK(error_code(later) == "not_implemented");
    }
    // Admin commands need a reason (it_executions_ops drives them).
    for (const char* target : {"/admin/maintenance-mode", "/admin/executions/resume-all"}) {
      HttpReply no_reason = sup::it::http_request(ports.admin, "POST", target, "{}");
      CHECK_MESSAGE(no_reason.status == 400, target);
      CHECK(no_reason.json()["error"]["field"] == "body.reason");
    }
    CHECK(sup::it::http_request(ports.api, "POST", "/rollback", "{}").status == 501);
    HttpReply garbage = sup::it::http_raw(ports.api, "BLAH\r\n\r\n");
    CHECK(garbage.status == 400);
  }

  SUBCASE("a slow client is cut off at the request timer while others are served") {
    int slow = sup::it::connect_loopback(ports.api);
    REQUIRE(slow >= 0);
    const std::string partial = "GET /health/live HTTP/1.1\r\nHost: x\r\n";
    REQUIRE(::send(slow, partial.data(), partial.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(partial.size()));
    CHECK(sup::it::http_get(ports.api, "/health/live").status == 200);
    // request_timeout_ms is 1000: the server closes the slow connection.
    bool closed = sup::it::eventually(
        [slow] {
          char byte = 0;
          return ::recv(slow, &byte, 1, MSG_DONTWAIT) == 0;
        },
        scaled(10s), 50ms);
    ::close(slow);
    CHECK(closed);
  }

  SUBCASE("metrics: every documented series, restarts counted, both endpoints") {
    auto first = scrape(ports.api);
    for (const char* family : kDocumentedFamilies)
      CHECK_MESSAGE(first.has_family(family), std::string(family));
    double restarts =
        first.value("supervisor_child_restarts_total", {{"child", "crasher"}}).value_or(0);
    double exits = 0;
    for (const auto* sample : first.find("supervisor_child_exits_total")) exits += sample->value;
    // The crasher fails every 200 ms: counters move.
    sup::it::Exposition later;
    bool moved = sup::it::eventually(
        [&] {
          later = scrape(ports.api);
          double exits_now = 0;
          for (const auto* sample : later.find("supervisor_child_exits_total"))
            exits_now += sample->value;
          return later.value("supervisor_child_restarts_total", {{"child", "crasher"}})
                         .value_or(0) > restarts &&
                 exits_now > exits;
        },
        scaled(20s), 200ms);
    CHECK_MESSAGE(moved, "supervisor_child_restarts_total{child=crasher} stayed " << restarts);
    double later_exits = 0;
    for (const auto* sample : later.find("supervisor_child_exits_total"))
      later_exits += sample->value;
    CHECK(later_exits > exits);
    CHECK(later.value("supervisor_control_loop_iterations_total").value_or(0) > 0);
    // Series that exist once their subject does (docs/metrics.md): HTTP
    // requests answered (the scrapes above); breakers (none yet) have none.
    CHECK(later.value("supervisor_http_requests_total", {{"endpoint", "metrics"}, {"code", "200"}})
              .value_or(0) >= 1);
    CHECK(later.has_family("hlp_executor_circuit_breaker_state") == false);
    CHECK(later.value("supervisor_store_up") == 1.0);

    HttpReply exposer = sup::it::http_get(ports.metrics, "/metrics");
    REQUIRE_MESSAGE(exposer.status == 200, exposer.describe());
    auto parsed = sup::it::parse_exposition(exposer.body);
    REQUIRE_MESSAGE(parsed, parsed.error().describe());
    for (const char* family : kDocumentedFamilies)
      CHECK_MESSAGE(parsed->has_family(family), std::string(family));
  }
}

// The `id:` lines of an event stream's text, in order.
std::vector<std::uint64_t> stream_ids(const std::string& text) {
  std::vector<std::uint64_t> ids;
  std::size_t at = 0;
  while ((at = text.find("\nid: ", at)) != std::string::npos) {
    at += 5;
    ids.push_back(std::stoull(text.substr(at, text.find('\n', at) - at)));
  }
  return ids;
}

// GET /events with `headers` read for a moment, again until `enough` holds
// for what arrived (a loaded machine may need several tries); the last reply.
HttpReply read_events(std::uint16_t port, std::string_view target,
                      const std::map<std::string, std::string>& headers,
                      const std::function<bool(const HttpReply&)>& enough) {
  HttpReply last;
  sup::it::eventually(
      [&] {
        last = sup::it::http_request(port, "GET", target, {}, headers, scaled(1500ms));
        return enough(last);
      },
      scaled(30s), 50ms);
  return last;
}

TEST_CASE("the web dashboard's endpoints: page, assets, /events with Last-Event-ID, commands") {
  sup::it::TempDir dir;
  auto daemon = sup::it::require_serving_daemon(dir, http_config(dir));
  Ports ports = ports_of(*daemon);

  SUBCASE("the page and its assets are served; nothing else is") {
    HttpReply page = sup::it::http_get(ports.api, "/");
    CHECK(page.status == 200);
    CHECK(page.headers["content-type"] == "text/html; charset=utf-8");
    CHECK(page.body.find("/assets/app.js") != std::string::npos);
    CHECK(sup::it::http_get(ports.api, "/assets/app.js").headers["content-type"] ==
          "text/javascript; charset=utf-8");
    CHECK(sup::it::http_get(ports.api, "/assets/app.css").status == 200);
    CHECK(sup::it::http_get(ports.api, "/assets/nope.js").status == 404);
    CHECK(sup::it::http_get(ports.admin, "/").status == 404);
  }

  SUBCASE("events: ids are sequences, Last-Event-ID resumes after it, a newer one resets") {
    // Everything held (the crasher keeps adding), in order, one by one.
    HttpReply all = read_events(ports.api, "/events?last_event_id=0", {},
                                [](const HttpReply& r) { return stream_ids(r.body).size() >= 6; });
    REQUIRE_MESSAGE(all.status == 200, all.describe());
    CHECK(all.headers["content-type"] == "text/event-stream; charset=utf-8");
    CHECK(all.headers["transfer-encoding"] == "chunked");
    CHECK(all.body.find("retry: ") != std::string::npos);
    std::vector<std::uint64_t> ids = stream_ids(all.body);
    REQUIRE(ids.size() >= 6);
    CHECK(ids.front() == 1);
    for (std::size_t i = 1; i < ids.size(); ++i) CHECK(ids[i] == ids[i - 1] + 1);
    // The data is the event record, its sequence the id.
    std::size_t data = all.body.find("data: ");
    Json first = Json::parse(all.body.substr(data + 6, all.body.find('\n', data) - data - 6));
    CHECK(first["sequence"] == 1);
    CHECK(first.contains("event_type"));

    const std::uint64_t after = ids[3];
    HttpReply resumed = read_events(ports.api, "/events?last_event_id=0",
                                    {{"Last-Event-ID", std::to_string(after)}},
                                    [](const HttpReply& r) { return !stream_ids(r.body).empty(); });
    std::vector<std::uint64_t> resumed_ids = stream_ids(resumed.body);
    REQUIRE_MESSAGE(!resumed_ids.empty(), resumed.describe());
    CHECK(resumed_ids.front() == after + 1);  // the header wins over the query

    HttpReply reset = read_events(ports.api, "/events", {{"Last-Event-ID", "999999999"}},
                                  [](const HttpReply& r) { return !stream_ids(r.body).empty(); });
    CHECK_MESSAGE(reset.body.find("event: reset") != std::string::npos, reset.describe());
    CHECK(stream_ids(reset.body).front() == 1);

    HttpReply bad =
        sup::it::http_request(ports.api, "GET", "/events", {}, {{"Last-Event-ID", "twelve"}});
    CHECK(bad.status == 400);
    CHECK(bad.json()["error"]["field"] == "Last-Event-ID");
  }

  SUBCASE("commands: audited with their reason, refused with the field named") {
    const std::map<std::string, std::string> json = {{"Content-Type", "application/json"}};
    HttpReply no_reason =
        sup::it::http_request(ports.api, "POST", "/api/children/crasher/restart_child", "{}", json);
    CHECK(no_reason.status == 400);
    CHECK(no_reason.json()["error"]["field"] == "body.reason");
    HttpReply restarted =
        sup::it::http_request(ports.api, "POST", "/api/children/crasher/restart_child",
                              R"({"reason": "http drill", "command_id": "http-it-1"})", json);
    CHECK_MESSAGE(restarted.status == 200, restarted.describe());
    CHECK(restarted.json()["command"] == "restart_child");
    CHECK(restarted.json()["result"]["command_id"] == "http-it-1");
    CHECK(restarted.json()["result"]["accepted"] == true);
    HttpReply unconfirmed = sup::it::http_request(
        ports.api, "POST", "/api/children/crasher/kill_child", R"({"reason": "drill"})", json);
    CHECK(unconfirmed.status == 400);
    CHECK(error_code(unconfirmed) == "confirmation_required");
    CHECK(sup::it::http_request(ports.api, "POST", "/api/children/nope/restart_child",
                                R"({"reason": "x"})", json)
              .status == 404);
    CHECK(sup::it::http_request(ports.api, "POST", "/api/children/relay/pause_child",
                                R"({"reason": "x"})", json)
              .status == 409);
    CHECK(sup::it::http_request(ports.api, "POST", "/api/executions/nope/pause",
                                R"({"reason": "x"})", json)
              .status == 404);
    CHECK(sup::it::http_request(ports.api, "POST", "/api/children/crasher/restart_child",
                                R"({"reason": "x"})", {{"Content-Type", "text/plain"}})
              .status == 415);
    const std::string audited =
        R"("command_id":"http-it-1","requested_by":"loopback","reason":"http drill")";
    std::string text = sup::it::wait_for_audit(dir.file("state"), {audited});
    CHECK_MESSAGE(text.find(audited) != std::string::npos, text);
  }

  SUBCASE("the state and an execution's nodes with their deps") {
    HttpReply state = sup::it::http_get(ports.api, "/api/state");
    REQUIRE_MESSAGE(state.status == 200, state.describe());
    Json body = state.json();
    const Json& records = body.contains("state") ? body["state"]["child_runtime_records"]
                                                 : body["child_runtime_records"];
    bool has_crasher = false;
    for (const Json& record : records) has_crasher = has_crasher || record["id"] == "crasher";
    CHECK(has_crasher);
    HttpReply submitted = sup::it::http_request(ports.api, "POST", "/execute", kPipeline,
                                                {{"Content-Type", "application/json"}});
    REQUIRE_MESSAGE(submitted.status == 202, submitted.describe());
    std::string id = submitted.json()["execution_id"];
    HttpReply view = sup::it::http_get(ports.api, "/api/executions/" + id);
    REQUIRE_MESSAGE(view.status == 200, view.describe());
    REQUIRE(view.json()["nodes"].size() == 2);
    CHECK(view.json()["nodes"][1]["node_id"] == "b");
    CHECK(view.json()["nodes"][1]["deps"] == Json::array({"a"}));
    CHECK(sup::it::http_get(ports.api, "/api/executions/nope").status == 404);
  }
}

TEST_CASE("readiness is 503 naming the relay while it is down, liveness stays 200") {
  sup::it::TempDir dir;
  auto daemon = sup::it::require_serving_daemon(dir, http_config(dir));
  Ports ports = ports_of(*daemon);
  REQUIRE(poll_until(
              ports.api, "/health/ready", [](const HttpReply& r) { return r.status == 200; },
              scaled(20s))
              .status == 200);

  // Another process takes the relay's socket path: the relay loses it and
  // cannot bind it again while that listener is there.
  const std::string path = daemon->socket_path();
  ::unlink(path.c_str());
  int squatter = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  REQUIRE(::bind(squatter, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(squatter, 4) == 0);

  HttpReply down = poll_until(
      ports.api, "/health/ready", [](const HttpReply& r) { return r.status == 503; }, scaled(20s));
  CHECK_MESSAGE(down.status == 503, down.describe());
  Json failing = down.json()["failing"];
  CHECK(failing == Json::array({"relay"}));
  CHECK(sup::it::http_get(ports.api, "/health/live").status == 200);

  ::close(squatter);
  ::unlink(path.c_str());
  HttpReply back = poll_until(
      ports.api, "/health/ready", [](const HttpReply& r) { return r.status == 200; }, scaled(30s));
  CHECK_MESSAGE(back.status == 200, back.describe());
  CHECK(sup::it::http_get(ports.api, "/health/live").status == 200);
}

TEST_CASE("off loopback: the token is required, and the daemon refuses to start without one") {
  sup::it::TempDir dir;
  SUBCASE("no token file: exit 78 naming http.token_file") {
    Json config = sup::it::base_config(dir);
    config["http"]["listen"] = "0.0.0.0:0";
    auto run = sup::it::run_daemon_to_exit(dir, config);
    CHECK_MESSAGE(run.code() == 78, run.describe());
    CHECK(run.err.find("http.token_file") != std::string::npos);
  }
  SUBCASE("a token file others may read: exit 78 naming it") {
    const std::string tokens = dir.file("tokens");
    std::ofstream(tokens) << "ops:0123456789abcdef0123\n";
    ::chmod(tokens.c_str(), 0644);
    Json config = sup::it::base_config(dir);
    config["http"]["listen"] = "0.0.0.0:0";
    config["http"]["token_file"] = tokens;
    auto run = sup::it::run_daemon_to_exit(dir, config);
    CHECK_MESSAGE(run.code() == 78, run.describe());
    CHECK(run.err.find("http.token_file") != std::string::npos);
  }
  SUBCASE("mutations and admin calls need the token; reads and probes do not") {
    const std::string tokens = dir.file("tokens");
    std::ofstream(tokens) << "ops:0123456789abcdef0123\n";
    ::chmod(tokens.c_str(), 0600);
    Json config = sup::it::base_config(dir);
    config["http"]["listen"] = "0.0.0.0:0";
    config["http"]["admin_listen"] = "0.0.0.0:0";
    config["http"]["token_file"] = tokens;
    auto daemon = sup::it::require_serving_daemon(dir, config);
    Ports ports = ports_of(*daemon);
    HttpReply missing = sup::it::http_request(ports.api, "POST", "/execute", kPipeline);
    CHECK_MESSAGE(missing.status == 401, missing.describe());
    CHECK(missing.headers["www-authenticate"] == "Bearer");
    HttpReply wrong = sup::it::http_request(ports.api, "POST", "/execute", kPipeline,
                                            {{"Authorization", "Bearer not-the-token-at-all"}});
    CHECK(wrong.status == 403);
    HttpReply right = sup::it::http_request(ports.api, "POST", "/execute", kPipeline,
                                            {{"Authorization", "Bearer 0123456789abcdef0123"}});
    CHECK_MESSAGE(right.status == 202, right.describe());
    CHECK(sup::it::http_get(ports.admin, "/admin/executions/x/status").status == 401);
    CHECK(sup::it::http_request(ports.admin, "GET", "/admin/executions/x/status", {},
                                {{"Authorization", "Bearer 0123456789abcdef0123"}})
              .status == 404);
    CHECK(sup::it::http_get(ports.api, "/health/live").status == 200);
    std::string id = right.json()["execution_id"];
    CHECK(sup::it::http_get(ports.api, "/status/" + id).status == 200);
    auto line = daemon->wait_for_log(
        [](const sup::it::LogLine& l) {
          return l.get("HTTP_TARGET") == "/execute" && l.get("HTTP_STATUS") == "202";
        },
        scaled(10s));
    REQUIRE(line);
    CHECK(line->get("REQUESTED_BY") == "ops");
    // The dashboard's commands are mutations: the token, and its name audited.
    const std::string body = R"({"reason": "off-loopback drill"})";
    CHECK(sup::it::http_request(ports.api, "POST", "/api/children/relay/restart_child", body,
                                {{"Content-Type", "application/json"}})
              .status == 401);
    HttpReply command = sup::it::http_request(
        ports.api, "POST", "/api/children/relay/restart_child", body,
        {{"Content-Type", "application/json"}, {"Authorization", "Bearer 0123456789abcdef0123"}});
    CHECK_MESSAGE(command.status == 200, command.describe());
    CHECK(sup::it::http_get(ports.api, "/api/state").status == 200);  // reads need none
    const std::string audited = R"("requested_by":"ops","reason":"off-loopback drill")";
    std::string text = sup::it::wait_for_audit(dir.file("state"), {audited});
    CHECK_MESSAGE(text.find(audited) != std::string::npos, text);
  }
}
