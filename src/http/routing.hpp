// The HTTP API's functional core: which endpoint a request names, whether
// it needs the bearer token, its query validated, and the one shape of an
// error answer. No sockets, no threads, no Beast: unit-tested directly
// (tests/unit/http_routing_test.cpp); src/http/server.cpp is the shell.
//
//   auto route = sup::http::route(Port::Api, "GET", "/status/deploy-42");
//   if (!route) return error_response(route.error());   // 404, 405, 400 ...
//   if (needs_token(*route, listen_is_loopback)) ...      // check_bearer()
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "sup/error.hpp"

namespace sup::http {

// Which listener a request came in on: http.listen or http.admin_listen.
enum class Port : std::uint8_t { Api, Admin };

enum class Endpoint : std::uint8_t {
  HealthLive,
  HealthReady,
  HealthStartup,
  Healthz,
  HealthzDeep,
  Metrics,
  Execute,               // POST /execute
  Rollback,              // POST /rollback (issue 10: 501 for now)
  StatusOne,             // GET /status/{execution_id}
  StatusList,            // GET /status
  AdminExecutions,       // GET /admin/executions?status=
  AdminExecutionStatus,  // GET /admin/executions/{id}/status
  AdminResumeAll,        // POST /admin/executions/resume-all (501 for now)
  AdminMaintenance,      // POST /admin/maintenance-mode (501 for now)
  AdminCircuitBreaker,   // POST /admin/circuit-breaker/{name}/reset|open (501 for now)
  AdminFeatureFlags,     // POST /admin/feature-flags (501 for now)
  // The web dashboard (docs/http.md, "Web dashboard"), on the API listener.
  WebIndex,          // GET /
  WebAsset,          // GET /assets/{name}
  Events,            // GET /events (Server-Sent Events; ?last_event_id=N)
  UiState,           // GET /api/state: the tree as the socket's `state` answers it
  UiExecution,       // GET /api/executions/{id}: its nodes, deps and states
  ChildCommand,      // POST /api/children/{id}/{command}: a command of the vocabulary
  ExecutionCommand,  // POST /api/executions/{id}/{pause|resume|cancel}
};
std::string_view to_string(Endpoint endpoint);  // "health_ready", "execute", ...

struct Route {
  Endpoint endpoint = Endpoint::HealthLive;
  // The path parameter: an execution id, or a breaker name.
  std::string id;  // (a child's id for ChildCommand)
  // The breaker action ("reset" | "open") of AdminCircuitBreaker, the
  // command's bare name of ChildCommand ("restart_child"), the execution
  // op of ExecutionCommand ("pause"), the asset's name of WebAsset.
  std::string action;
  // Query parameters, percent-decoded; unknown ones are refused.
  std::map<std::string, std::string> query;
  bool mutating = false;  // changes something (every POST)
  bool admin = false;     // an /admin endpoint
};

// An error answer: the HTTP status and `{"error":{"code","message"}}`
// (plus "field" when it is about an input field). `code` is snake_case:
// sup::ErrorCode names and the HTTP-only ones below.
struct ApiError {
  unsigned status = 500;
  std::string code;
  std::string message;
  std::string field;  // input field path, if any
  std::string allow;  // the Allow header of a 405
  bool operator==(const ApiError&) const = default;
};
ApiError api_error(unsigned status, std::string code, std::string message, std::string field = {});
// sup::Error → status: invalid_argument 400, not_found 404, already_exists
// 409, permission_denied 403, failed_precondition 409, timeout 504,
// unavailable 503, store_full 507, unsupported 501, the rest 500.
ApiError api_error(const Error& error);
std::string error_body(const ApiError& error);  // the JSON text

// The endpoint of `method` `target` on `port`, or 404 not_found (no such
// path on this port), 405 method_not_allowed (with `allow`), 400
// invalid_argument (a bad query or path parameter, naming it).
using RouteResult = std::variant<Route, ApiError>;
RouteResult route(Port port, std::string_view method, std::string_view target);

// Whether the bearer token must be presented: mutating and admin endpoints
// on a listener whose address is not loopback.
bool needs_token(const Route& route, bool listen_is_loopback);

// Execution states a status filter may name (the dag's names), and STUCK,
// which stuck detection will serve (issue 10).
bool is_execution_state_name(std::string_view name);

// RFC 3986 percent-decoding of a path segment or query value; nullopt for
// a malformed escape.
std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space);

}  // namespace sup::http
