// The HTTP API's functional core: routing, query and path validation,
// error bodies, bearer tokens, probe answers, listen addresses.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "config/daemon_config.hpp"
#include "config/http_config.hpp"
#include "http/bearer_tokens.hpp"
#include "http/probes.hpp"
#include "http/routing.hpp"

using sup::http::ApiError;
using sup::http::Endpoint;
using sup::http::Port;
using sup::http::Route;

namespace {

Route routed(Port port, std::string_view method, std::string_view target) {
  auto result = sup::http::route(port, method, target);
  REQUIRE_MESSAGE(std::holds_alternative<Route>(result), std::string(method)
                                                             << " " << target << " was refused");
  return std::get<Route>(result);
}

ApiError refused(Port port, std::string_view method, std::string_view target) {
  auto result = sup::http::route(port, method, target);
  REQUIRE_MESSAGE(std::holds_alternative<ApiError>(result), std::string(method)
                                                                << " " << target << " was routed");
  return std::get<ApiError>(result);
}

sup::metrics::DaemonSample healthy_sample() {
  sup::metrics::DaemonSample sample;
  sample.health = sup::Health{};
  sample.health->status = "ready";
  sample.health->endpoint.link = sup::EndpointLink::Listening;
  sample.health_at_ms = 1000;
  sample.store.open = true;
  sample.store.answering = true;
  sample.startup_finished = true;
  return sample;
}

}  // namespace

TEST_CASE("every documented endpoint routes on its port with its method") {
  CHECK(routed(Port::Api, "GET", "/health/live").endpoint == Endpoint::HealthLive);
  CHECK(routed(Port::Api, "GET", "/health/ready").endpoint == Endpoint::HealthReady);
  CHECK(routed(Port::Api, "GET", "/health/startup").endpoint == Endpoint::HealthStartup);
  CHECK(routed(Port::Api, "GET", "/healthz").endpoint == Endpoint::Healthz);
  CHECK(routed(Port::Api, "GET", "/healthz/deep").endpoint == Endpoint::HealthzDeep);
  CHECK(routed(Port::Admin, "GET", "/health/ready").endpoint == Endpoint::HealthReady);
  CHECK(routed(Port::Api, "GET", "/metrics").endpoint == Endpoint::Metrics);
  CHECK(routed(Port::Api, "HEAD", "/metrics").endpoint == Endpoint::Metrics);
  Route execute = routed(Port::Api, "POST", "/execute");
  CHECK(execute.endpoint == Endpoint::Execute);
  CHECK(execute.mutating);
  CHECK_FALSE(execute.admin);
  CHECK(routed(Port::Api, "POST", "/rollback").endpoint == Endpoint::Rollback);
  Route status = routed(Port::Api, "GET", "/status/deploy-42");
  CHECK(status.endpoint == Endpoint::StatusOne);
  CHECK(status.id == "deploy-42");
  CHECK_FALSE(status.mutating);
  CHECK(routed(Port::Api, "GET", "/status").endpoint == Endpoint::StatusList);
  CHECK(routed(Port::Api, "GET", "/status/").endpoint == Endpoint::StatusList);

  Route list = routed(Port::Admin, "GET", "/admin/executions?status=RUNNING&limit=10");
  CHECK(list.endpoint == Endpoint::AdminExecutions);
  CHECK(list.admin);
  CHECK(list.query.at("status") == "RUNNING");
  CHECK(list.query.at("limit") == "10");
  Route one = routed(Port::Admin, "GET", "/admin/executions/e%2D1/status");
  CHECK(one.endpoint == Endpoint::AdminExecutionStatus);
  CHECK(one.id == "e-1");
  CHECK(routed(Port::Admin, "POST", "/admin/executions/resume-all").endpoint ==
        Endpoint::AdminResumeAll);
  CHECK(routed(Port::Admin, "POST", "/admin/maintenance-mode").endpoint ==
        Endpoint::AdminMaintenance);
  CHECK(routed(Port::Admin, "POST", "/admin/feature-flags").endpoint ==
        Endpoint::AdminFeatureFlags);
  Route breaker = routed(Port::Admin, "POST", "/admin/circuit-breaker/kubernetes_api/reset");
  CHECK(breaker.endpoint == Endpoint::AdminCircuitBreaker);
  CHECK(breaker.id == "kubernetes_api");
  CHECK(breaker.action == "reset");
  CHECK(routed(Port::Admin, "POST", "/admin/circuit-breaker/db/open").action == "open");
}

TEST_CASE(
    "unknown paths are 404, wrong methods 405 with Allow, admin paths only on the admin port") {
  CHECK(refused(Port::Api, "GET", "/nope").status == 404);
  CHECK(refused(Port::Api, "GET", "/admin/executions").status == 404);
  CHECK(refused(Port::Admin, "POST", "/execute").status == 404);
  CHECK(refused(Port::Admin, "GET", "/metrics").status == 404);
  CHECK(refused(Port::Admin, "POST", "/admin/circuit-breaker/db/close").status == 404);
  ApiError wrong = refused(Port::Api, "GET", "/execute");
  CHECK(wrong.status == 405);
  CHECK(wrong.code == "method_not_allowed");
  CHECK(wrong.allow == "POST");
  CHECK(refused(Port::Api, "DELETE", "/status/x").allow == "GET");
  CHECK(refused(Port::Api, "GET", "no-slash").status == 400);
}

TEST_CASE("queries and path parameters are validated with the field named") {
  ApiError state = refused(Port::Admin, "GET", "/admin/executions?status=SLEEPING");
  CHECK(state.status == 400);
  CHECK(state.field == "query.status");
  CHECK(routed(Port::Admin, "GET", "/admin/executions?status=STUCK").query.at("status") == "STUCK");
  CHECK(refused(Port::Admin, "GET", "/admin/executions?color=red").field == "query.color");
  CHECK(refused(Port::Admin, "GET", "/admin/executions?status=FAILED&status=RUNNING").field ==
        "query.status");
  CHECK(refused(Port::Admin, "GET", "/admin/executions?limit=0").field == "query.limit");
  CHECK(refused(Port::Admin, "GET", "/admin/executions?limit=abc").field == "query.limit");
  CHECK(refused(Port::Api, "GET", "/health/ready?x=1").status == 400);
  CHECK(refused(Port::Api, "GET", "/status/bad%zz").field == "execution_id");
  CHECK(refused(Port::Api, "GET", "/status/%").status == 400);
}

TEST_CASE("the web dashboard's paths: the page, its assets, events, state and commands") {
  CHECK(routed(Port::Api, "GET", "/").endpoint == Endpoint::WebIndex);
  CHECK(routed(Port::Api, "HEAD", "/").endpoint == Endpoint::WebIndex);
  Route asset = routed(Port::Api, "GET", "/assets/app.js");
  CHECK(asset.endpoint == Endpoint::WebAsset);
  CHECK(asset.action == "app.js");
  CHECK(refused(Port::Admin, "GET", "/").status == 404);
  CHECK(refused(Port::Api, "GET", "/assets").status == 404);
  CHECK(refused(Port::Api, "GET", "/assets/a/b.js").status == 404);
  CHECK(refused(Port::Api, "POST", "/").status == 405);

  Route events = routed(Port::Api, "GET", "/events");
  CHECK(events.endpoint == Endpoint::Events);
  CHECK_FALSE(events.mutating);
  CHECK(routed(Port::Api, "GET", "/events?last_event_id=17").query.at("last_event_id") == "17");
  CHECK(refused(Port::Api, "GET", "/events?after=1").field == "query.after");
  CHECK(refused(Port::Admin, "GET", "/events").status == 404);

  CHECK(routed(Port::Api, "GET", "/api/state").endpoint == Endpoint::UiState);
  Route view = routed(Port::Api, "GET", "/api/executions/e%2D1");
  CHECK(view.endpoint == Endpoint::UiExecution);
  CHECK(view.id == "e-1");

  Route restart = routed(Port::Api, "POST", "/api/children/crasher/restart_child");
  CHECK(restart.endpoint == Endpoint::ChildCommand);
  CHECK(restart.id == "crasher");
  CHECK(restart.action == "restart_child");
  CHECK(restart.mutating);
  CHECK(sup::http::needs_token(restart, false));
  CHECK_FALSE(sup::http::needs_token(restart, true));
  for (const char* command : {"pause_child", "resume_child", "quarantine_child", "release_child",
                              "remove_child", "kill_child"})
    CHECK(routed(Port::Api, "POST", std::string("/api/children/x/") + command).action == command);
  // Only the vocabulary's commands on one child.
  ApiError unknown = refused(Port::Api, "POST", "/api/children/x/explode");
  CHECK(unknown.status == 404);
  CHECK(unknown.field == "command");
  CHECK(refused(Port::Api, "POST", "/api/children/x/add_child").status == 404);
  CHECK(refused(Port::Api, "POST", "/api/children/x/shutdown_tree").status == 404);
  CHECK(refused(Port::Api, "GET", "/api/children/x/restart_child").allow == "POST");
  CHECK(refused(Port::Api, "POST", "/api/children/%zz/restart_child").field == "child_id");

  Route pause = routed(Port::Api, "POST", "/api/executions/e-1/pause");
  CHECK(pause.endpoint == Endpoint::ExecutionCommand);
  CHECK(pause.id == "e-1");
  CHECK(pause.action == "pause");
  CHECK(routed(Port::Api, "POST", "/api/executions/e-1/resume").action == "resume");
  CHECK(routed(Port::Api, "POST", "/api/executions/e-1/cancel").action == "cancel");
  CHECK(refused(Port::Api, "POST", "/api/executions/e-1/rollback").status == 404);
  CHECK(refused(Port::Admin, "POST", "/api/executions/e-1/pause").status == 404);
}

TEST_CASE("percent decoding") {
  CHECK(sup::http::percent_decode("a%20b+c", true) == "a b c");
  CHECK(sup::http::percent_decode("a+b", false) == "a+b");
  CHECK_FALSE(sup::http::percent_decode("%2", false).has_value());
  CHECK_FALSE(sup::http::percent_decode("%g0", false).has_value());
}

TEST_CASE("the token is needed for mutating and admin endpoints off loopback only") {
  Route execute = routed(Port::Api, "POST", "/execute");
  Route status = routed(Port::Api, "GET", "/status/x");
  Route admin_list = routed(Port::Admin, "GET", "/admin/executions");
  Route ready = routed(Port::Admin, "GET", "/health/ready");
  CHECK_FALSE(sup::http::needs_token(execute, true));
  CHECK(sup::http::needs_token(execute, false));
  CHECK_FALSE(sup::http::needs_token(status, false));
  CHECK(sup::http::needs_token(admin_list, false));
  CHECK_FALSE(sup::http::needs_token(admin_list, true));
  CHECK_FALSE(sup::http::needs_token(ready, false));
}

TEST_CASE("error bodies are {error:{code,message}} and sup::Error maps to statuses") {
  auto body = nlohmann::json::parse(
      sup::http::error_body(sup::http::api_error(400, "invalid_argument", "bad", "spec.nodes")));
  CHECK(body["error"]["code"] == "invalid_argument");
  CHECK(body["error"]["message"] == "bad");
  CHECK(body["error"]["field"] == "spec.nodes");
  using sup::ErrorCode;
  CHECK(sup::http::api_error(sup::make_error(ErrorCode::NotFound, "x")).status == 404);
  CHECK(sup::http::api_error(sup::make_error(ErrorCode::InvalidArgument, "x")).status == 400);
  CHECK(sup::http::api_error(sup::make_error(ErrorCode::AlreadyExists, "x")).status == 409);
  CHECK(sup::http::api_error(sup::make_error(ErrorCode::StoreFull, "x")).status == 507);
  CHECK(sup::http::api_error(sup::make_error(ErrorCode::Timeout, "x")).status == 504);
  CHECK(sup::http::api_error(sup::make_error(ErrorCode::Unavailable, "x")).status == 503);
  CHECK(sup::http::api_error(sup::make_error(ErrorCode::DataLoss, "x")).status == 500);
  CHECK(sup::http::api_error(sup::make_error(ErrorCode::NotFound, "x")).code == "not_found");
}

TEST_CASE("bearer tokens: the file's lines, the header, constant-time match") {
  auto tokens = sup::http::BearerTokens::parse(
      "# operators\nops: 0123456789abcdef0123\n\nci:fedcba9876543210fedc\n");
  REQUIRE(tokens);
  CHECK(tokens->size() == 2);
  CHECK(tokens->check("Bearer 0123456789abcdef0123").value() == "ops");
  CHECK(tokens->check("Bearer fedcba9876543210fedc").value() == "ci");
  CHECK(tokens->check("Bearer 0123456789abcdef0124").error().code ==
        sup::ErrorCode::PermissionDenied);
  CHECK_FALSE(tokens->check("Basic b3BzOnB3"));
  CHECK_FALSE(tokens->check(""));
  CHECK(sup::http::BearerTokens::parse("ops:short").error().field_path == "http.token_file");
  CHECK_FALSE(sup::http::BearerTokens::parse("no-colon-here-0123456789"));
  CHECK_FALSE(sup::http::BearerTokens::parse("# nothing\n"));
}

TEST_CASE("probes: live, ready naming the failing part, startup") {
  auto sample = healthy_sample();
  CHECK(sup::http::probe_live(sample, 2000, 5000).ok);
  CHECK(sup::http::probe_ready(sample, 2000, 5000).ok);
  CHECK(sup::http::probe_startup(sample).ok);

  auto stale = sup::http::probe_live(sample, 7000, 5000);
  CHECK_FALSE(stale.ok);
  CHECK(stale.status() == 503);
  CHECK(stale.failing == std::vector<std::string>{"control_loop"});

  auto relay_down = sample;
  relay_down.health->endpoint.link = sup::EndpointLink::Disconnected;
  auto ready = sup::http::probe_ready(relay_down, 2000, 5000);
  CHECK(ready.status() == 503);
  CHECK(ready.failing == std::vector<std::string>{"relay"});
  CHECK(ready.body["failing"][0] == "relay");
  relay_down.dashboard_enabled = false;
  CHECK(sup::http::probe_ready(relay_down, 2000, 5000).ok);

  auto store_down = sample;
  store_down.store.answering = false;
  store_down.store.error = "io_error";
  CHECK(sup::http::probe_ready(store_down, 2000, 5000).failing ==
        std::vector<std::string>{"store"});
  auto starting = sample;
  starting.health->status = "starting";
  starting.store.open = false;
  starting.startup_finished = false;
  CHECK(sup::http::probe_ready(starting, 2000, 5000).failing ==
        std::vector<std::string>{"supervision", "store"});
  CHECK_FALSE(sup::http::probe_startup(starting).ok);
  auto degraded = sample;
  degraded.health->status = "degraded";
  CHECK(sup::http::probe_ready(degraded, 2000, 5000).ok);
}

TEST_CASE("listen addresses and the token rule off loopback") {
  auto v4 = sup::config::parse_listen_address("127.0.0.1:8080", "http.listen");
  REQUIRE(v4);
  CHECK(v4->loopback());
  CHECK(v4->port == 8080);
  CHECK(sup::config::parse_listen_address("[::1]:0", "x")->loopback());
  CHECK(sup::config::parse_listen_address("localhost:1", "x")->loopback());
  CHECK(sup::config::parse_listen_address("127.1.2.3:1", "x")->loopback());
  CHECK_FALSE(sup::config::parse_listen_address("0.0.0.0:8080", "x")->loopback());
  CHECK_FALSE(sup::config::parse_listen_address("[::]:8080", "x")->loopback());
  CHECK(sup::config::parse_listen_address("[::1]:80", "x")->to_string() == "[::1]:80");
  for (const char* bad :
       {"8080", ":8080", "127.0.0.1:", "127.0.0.1:70000", "host:80", "[::1:80", "1.2.3.4:8a"}) {
    auto parsed = sup::config::parse_listen_address(bad, "http.listen");
    CHECK_MESSAGE(!parsed, bad);
    if (!parsed) CHECK(parsed.error().field_path == "http.listen");
  }

  auto defaults = sup::config::parse_config("{}");
  REQUIRE(defaults);
  CHECK(defaults->http.listen == "127.0.0.1:8080");
  CHECK(defaults->http.admin_listen == "127.0.0.1:8081");
  CHECK(defaults->metrics.listen == "127.0.0.1:9090");
  auto open = sup::config::parse_config(R"({"http": {"listen": "0.0.0.0:8080"}})");
  REQUIRE_FALSE(open);
  CHECK(open.error().field_path == "http.token_file");
  CHECK(open.error().code == sup::ErrorCode::InvalidConfig);
  auto admin_open = sup::config::parse_config(R"({"http": {"admin_listen": "[::]:8081"}})");
  REQUIRE_FALSE(admin_open);
  CHECK(admin_open.error().field_path == "http.token_file");
  CHECK(sup::config::parse_config(
      R"({"http": {"listen": "0.0.0.0:8080", "token_file": "/etc/sup/tokens"}})"));
  CHECK(sup::config::parse_config(R"({"http": {"enabled": false, "listen": "0.0.0.0:1"}})"));
  CHECK(sup::config::parse_config(R"({"http": {"max_body_bytes": 10}})").error().field_path ==
        "http.max_body_bytes");
  CHECK(sup::config::parse_config(R"({"metrics": {"listen": "x"}})").error().field_path ==
        "metrics.listen");
  CHECK(sup::config::parse_config(R"({"http": {"colour": 1}})").error().field_path ==
        "http.colour");
}
