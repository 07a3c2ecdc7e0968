#include "http/routing.hpp"

#include <array>
#include <nlohmann/json.hpp>

#include "dag/states.hpp"
#include "sup/command.hpp"

namespace sup::http {
namespace {

constexpr std::string_view kRoutedQueryKeys[] = {"status", "limit"};
constexpr std::string_view kEventsQueryKey = "last_event_id";

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> segments;
  std::size_t start = 1;  // after the leading '/'
  while (start <= path.size()) {
    std::size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    segments.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return segments;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

ApiError not_found(std::string_view path) {
  return api_error(404, "not_found", "no endpoint at " + std::string(path) + " (docs/http.md)");
}

ApiError method_not_allowed(std::string_view method, std::string_view path, std::string allow) {
  ApiError error = api_error(
      405, "method_not_allowed",
      std::string(method) + " is not allowed on " + std::string(path) + "; allowed: " + allow);
  error.allow = std::move(allow);
  return error;
}

// The query string into `route.query`: only keys the endpoint takes, each once.
std::optional<ApiError> read_query(std::string_view query,
                                   std::initializer_list<std::string_view> allowed, Route& route) {
  while (!query.empty()) {
    std::size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty()) continue;
    std::size_t eq = pair.find('=');
    auto key = percent_decode(pair.substr(0, eq), true);
    auto value = percent_decode(eq == std::string_view::npos ? "" : pair.substr(eq + 1), true);
    if (!key || !value) return api_error(400, "invalid_argument", "malformed percent-encoding");
    bool known = false;
    for (std::string_view name : allowed) known = known || name == *key;
    if (!known)
      return api_error(400, "invalid_argument", "unknown query parameter \"" + *key + "\"",
                       "query." + *key);
    if (!route.query.emplace(*key, *value).second)
      return api_error(400, "invalid_argument", "query parameter given twice", "query." + *key);
  }
  return std::nullopt;
}

std::optional<ApiError> check_executions_query(Route& route) {
  if (auto status = route.query.find("status"); status != route.query.end()) {
    if (!is_execution_state_name(status->second))
      return api_error(400, "invalid_argument",
                       "unknown execution state \"" + status->second +
                           "\"; expected PENDING, RUNNING, PAUSED, RESUMED, COMPLETED, FAILED, "
                           "RECOVERING, RECOVERED or STUCK",
                       "query.status");
  }
  if (auto limit = route.query.find("limit"); limit != route.query.end()) {
    const std::string& text = limit->second;
    bool digits = !text.empty() && text.size() <= 6 &&
                  text.find_first_not_of("0123456789") == std::string::npos;
    if (!digits || std::stoul(text) == 0 || std::stoul(text) > 100'000)
      return api_error(400, "invalid_argument", "must be an integer 1..100000", "query.limit");
  }
  return std::nullopt;
}

struct Match {
  Endpoint endpoint;
  std::string_view method;
};

}  // namespace

std::string_view to_string(Endpoint endpoint) {
  switch (endpoint) {
    case Endpoint::HealthLive:
      return "health_live";
    case Endpoint::HealthReady:
      return "health_ready";
    case Endpoint::HealthStartup:
      return "health_startup";
    case Endpoint::Healthz:
      return "healthz";
    case Endpoint::HealthzDeep:
      return "healthz_deep";
    case Endpoint::Metrics:
      return "metrics";
    case Endpoint::Execute:
      return "execute";
    case Endpoint::Rollback:
      return "rollback";
    case Endpoint::StatusOne:
      return "status";
    case Endpoint::StatusList:
      return "status_list";
    case Endpoint::AdminExecutions:
      return "admin_executions";
    case Endpoint::AdminExecutionStatus:
      return "admin_execution_status";
    case Endpoint::AdminResumeAll:
      return "admin_resume_all";
    case Endpoint::AdminMaintenance:
      return "admin_maintenance_mode";
    case Endpoint::AdminCircuitBreaker:
      return "admin_circuit_breaker";
    case Endpoint::AdminFeatureFlags:
      return "admin_feature_flags";
    case Endpoint::WebIndex:
      return "web_index";
    case Endpoint::WebAsset:
      return "web_asset";
    case Endpoint::Events:
      return "events";
    case Endpoint::UiState:
      return "ui_state";
    case Endpoint::UiExecution:
      return "ui_execution";
    case Endpoint::ChildCommand:
      return "child_command";
    case Endpoint::ExecutionCommand:
      return "execution_command";
  }
  return "unknown";
}

ApiError api_error(unsigned status, std::string code, std::string message, std::string field) {
  return ApiError{status, std::move(code), std::move(message), std::move(field), {}};
}

ApiError api_error(const Error& error) {
  unsigned status = 500;
  switch (error.code) {
    case ErrorCode::InvalidArgument:
    case ErrorCode::InvalidConfig:
      status = 400;
      break;
    case ErrorCode::NotFound:
      status = 404;
      break;
    case ErrorCode::AlreadyExists:
    case ErrorCode::FailedPrecondition:
      status = 409;
      break;
    case ErrorCode::PermissionDenied:
      status = 403;
      break;
    case ErrorCode::Timeout:
      status = 504;
      break;
    case ErrorCode::Unavailable:
    case ErrorCode::Disconnected:
      status = 503;
      break;
    case ErrorCode::StoreFull:
      status = 507;
      break;
    case ErrorCode::Unsupported:
      status = 501;
      break;
    default:
      break;
  }
  return api_error(status, std::string(to_string(error.code)), error.message, error.field_path);
}

std::string error_body(const ApiError& error) {
  nlohmann::ordered_json detail = {{"code", error.code}, {"message", error.message}};
  if (!error.field.empty()) detail["field"] = error.field;
  return nlohmann::ordered_json{{"error", detail}}.dump();
}

bool is_execution_state_name(std::string_view name) {
  return name == "STUCK" || dag::execution_state_from_string(name).has_value();
}

std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      int high = hex_value(text[i + 1]);
      int low = hex_value(text[i + 2]);
      if (high < 0 || low < 0) return std::nullopt;
      out.push_back(static_cast<char>(high * 16 + low));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

RouteResult route(Port port, std::string_view method, std::string_view target) {
  if (target.empty() || target.front() != '/')
    return api_error(400, "invalid_argument", "the request target must be an absolute path");
  std::size_t question = target.find('?');
  std::string_view path = target.substr(0, question);
  std::string_view query = question == std::string_view::npos ? "" : target.substr(question + 1);
  if (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  std::vector<std::string_view> seg = split_path(path);

  Route route;
  std::string_view want = "GET";
  bool found = true;
  auto is = [&seg](std::initializer_list<std::string_view> parts) {
    if (seg.size() != parts.size()) return false;
    std::size_t i = 0;
    for (std::string_view part : parts) {
      if (!part.empty() && seg[i] != part) return false;  // "": any segment
      ++i;
    }
    return true;
  };
  // Probes answer on both listeners (a load balancer may watch either).
  if (port == Port::Api && path == "/") {
    route.endpoint = Endpoint::WebIndex;
  } else if (port == Port::Api && is({"assets", ""})) {
    route.endpoint = Endpoint::WebAsset, route.action = std::string(seg[1]);
  } else if (port == Port::Api && is({"events"})) {
    route.endpoint = Endpoint::Events;
  } else if (port == Port::Api && is({"api", "state"})) {
    route.endpoint = Endpoint::UiState;
  } else if (port == Port::Api && is({"api", "executions", ""})) {
    route.endpoint = Endpoint::UiExecution, route.id = std::string(seg[2]);
  } else if (port == Port::Api && is({"api", "children", "", ""})) {
    route.endpoint = Endpoint::ChildCommand, want = "POST";
    route.id = std::string(seg[2]);
    route.action = std::string(seg[3]);
  } else if (port == Port::Api && is({"api", "executions", "", ""})) {
    route.endpoint = Endpoint::ExecutionCommand, want = "POST";
    route.id = std::string(seg[2]);
    route.action = std::string(seg[3]);
  } else if (is({"health", "live"})) {
    route.endpoint = Endpoint::HealthLive;
  } else if (is({"health", "ready"})) {
    route.endpoint = Endpoint::HealthReady;
  } else if (is({"health", "startup"})) {
    route.endpoint = Endpoint::HealthStartup;
  } else if (is({"healthz"})) {
    route.endpoint = Endpoint::Healthz;
  } else if (is({"healthz", "deep"})) {
    route.endpoint = Endpoint::HealthzDeep;
  } else if (port == Port::Api && is({"metrics"})) {
    route.endpoint = Endpoint::Metrics;
  } else if (port == Port::Api && is({"execute"})) {
    route.endpoint = Endpoint::Execute, want = "POST";
  } else if (port == Port::Api && is({"rollback"})) {
    route.endpoint = Endpoint::Rollback, want = "POST";
  } else if (port == Port::Api && is({"status"})) {
    route.endpoint = Endpoint::StatusList;
  } else if (port == Port::Api && is({"status", ""})) {
    route.endpoint = Endpoint::StatusOne, route.id = std::string(seg[1]);
  } else if (port == Port::Admin && is({"admin", "executions"})) {
    route.endpoint = Endpoint::AdminExecutions;
  } else if (port == Port::Admin && is({"admin", "executions", "resume-all"})) {
    route.endpoint = Endpoint::AdminResumeAll, want = "POST";
  } else if (port == Port::Admin && is({"admin", "executions", "", "status"})) {
    route.endpoint = Endpoint::AdminExecutionStatus, route.id = std::string(seg[2]);
  } else if (port == Port::Admin && is({"admin", "maintenance-mode"})) {
    route.endpoint = Endpoint::AdminMaintenance, want = "POST";
  } else if (port == Port::Admin && is({"admin", "feature-flags"})) {
    route.endpoint = Endpoint::AdminFeatureFlags, want = "POST";
  } else if (port == Port::Admin && is({"admin", "circuit-breaker", "", ""}) &&
             (seg[3] == "reset" || seg[3] == "open")) {
    route.endpoint = Endpoint::AdminCircuitBreaker, want = "POST";
    route.id = std::string(seg[2]);
    route.action = std::string(seg[3]);
  } else {
    found = false;
  }
  if (!found) return not_found(path);
  if (method != want && !(want == "GET" && method == "HEAD"))
    return method_not_allowed(method, path, std::string(want));

  route.mutating = want == "POST";
  route.admin = port == Port::Admin && seg.front() == "admin";
  if (route.endpoint == Endpoint::StatusOne || route.endpoint == Endpoint::AdminExecutionStatus ||
      route.endpoint == Endpoint::AdminCircuitBreaker || route.endpoint == Endpoint::UiExecution ||
      route.endpoint == Endpoint::ChildCommand || route.endpoint == Endpoint::ExecutionCommand) {
    auto decoded = percent_decode(route.id, false);
    std::string_view field = route.endpoint == Endpoint::AdminCircuitBreaker ? "name"
                             : route.endpoint == Endpoint::ChildCommand      ? "child_id"
                                                                             : "execution_id";
    if (!decoded || decoded->empty())
      return api_error(400, "invalid_argument", "the path parameter is empty or malformed",
                       std::string(field));
    route.id = std::move(*decoded);
  }
  if (route.endpoint == Endpoint::ChildCommand) {
    const CommandInfo* info = find_command(route.action);
    if (info == nullptr || info->subject != CommandSubject::Child)
      return api_error(
          404, "not_found",
          "no child command \"" + route.action +
              "\"; expected one of the vocabulary's: restart_child, pause_child, "
              "resume_child, quarantine_child, release_child, remove_child, kill_child",
          "command");
  }
  if (route.endpoint == Endpoint::ExecutionCommand && route.action != "pause" &&
      route.action != "resume" && route.action != "cancel")
    return api_error(
        404, "not_found",
        "no execution command \"" + route.action + "\"; expected pause, resume or cancel",
        "command");
  bool takes_query =
      route.endpoint == Endpoint::AdminExecutions || route.endpoint == Endpoint::StatusList;
  std::initializer_list<std::string_view> no_keys{};
  std::initializer_list<std::string_view> execution_keys{kRoutedQueryKeys[0], kRoutedQueryKeys[1]};
  std::initializer_list<std::string_view> event_keys{kEventsQueryKey};
  if (auto bad = read_query(query,
                            takes_query                          ? execution_keys
                            : route.endpoint == Endpoint::Events ? event_keys
                                                                 : no_keys,
                            route))
    return *bad;
  if (takes_query)
    if (auto bad = check_executions_query(route)) return *bad;
  return route;
}

bool needs_token(const Route& route, bool listen_is_loopback) {
  return !listen_is_loopback && (route.mutating || route.admin);
}

}  // namespace sup::http
