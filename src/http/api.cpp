#include "http/api.hpp"

#include <algorithm>
#include <atomic>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <nlohmann/json.hpp>
#include <random>
#include <shared_mutex>
#include <span>
#include <variant>

#include "common/clock.hpp"
#include "config/bounded_json.hpp"
#include "executions/execution_service.hpp"
#include "http/command_body.hpp"
#include "http/probes.hpp"
#include "http/sse.hpp"
#include "http/web_assets.hpp"
#include "ipc/encoding.hpp"
#include "ipc/execution_encoding.hpp"
#include "ipc/execution_plane.hpp"
#include "json/json_writer.hpp"
#include "sup/log.hpp"
#include "wire/dashboard_records.hpp"
#include "wire/execution_records.hpp"

namespace sup::http {
namespace {

using Json = nlohmann::ordered_json;

Response json_response(unsigned status, const Json& body) {
  return Response{status, "application/json", body.dump() + "\n"};
}

Response error_response(const ApiError& error) {
  Response response{error.status, "application/json", error_body(error) + "\n"};
  if (!error.allow.empty()) response.headers.emplace_back("Allow", error.allow);
  if (error.status == 401) response.headers.emplace_back("WWW-Authenticate", "Bearer");
  return response;
}

ApiError not_yet(std::string_view what, std::string_view issue) {
  return api_error(501, "not_implemented",
                   std::string(what) + " is not implemented yet (" + std::string(issue) +
                       "); docs/http.md lists what is");
}

Response json_text_response(unsigned status, std::string text) {
  text.push_back('\n');
  return Response{status, "application/json", std::move(text)};
}

// A body must be JSON (or carry no type at all).
std::optional<ApiError> check_json_type(const Request& request) {
  if (!request.content_type.empty() && request.content_type.rfind("application/json", 0) != 0)
    return api_error(415, "unsupported_media_type", "the body must be application/json");
  return std::nullopt;
}

std::int64_t unix_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Json stuck_json(const executions::StuckFinding& stuck) {
  return {{"reason", executions::to_string(stuck.reason)},
          {"detail", stuck.detail},
          {"since_unix_nanos", stuck.since_ns}};
}

Json execution_json(const executions::ExecutionInfo& info) {
  Json out = {
      {"execution_id", info.execution_id}, {"state", info.state}, {"finished", info.finished}};
  if (info.stuck) out["stuck"] = stuck_json(*info.stuck);
  return out;
}

Json maintenance_json(const executions::MaintenanceMode& mode) {
  return {{"enabled", mode.enabled},
          {"reason", mode.reason},
          {"requested_by", mode.requested_by},
          {"changed_at_unix_nanos", mode.changed_at_ns}};
}

// The body of an admin command: a JSON object of exactly `allowed` keys
// (`reason` required, a non-blank string), or the error naming the field.
Expected<Json> admin_body(const std::string& body, std::span<const std::string_view> allowed) {
  auto document = config::parse_bounded_json(body.empty() ? "{}" : body, {.root_path = "body"});
  if (!document) return document.error();
  if (!document->is_object())
    return make_error(ErrorCode::InvalidArgument, "the body must be a JSON object", "body");
  for (const auto& [key, value] : document->items())
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
      return make_error(ErrorCode::InvalidArgument, "unknown field", "body." + key);
  auto reason = document->find("reason");
  if (reason == document->end() || !reason->is_string() ||
      reason->get<std::string>().find_first_not_of(" \t\r\n") == std::string::npos)
    return make_error(ErrorCode::InvalidArgument,
                      "a non-blank string is required: every admin command is logged with why",
                      "body.reason");
  return Json(std::move(document).value());
}

}  // namespace

struct Api::Impl : std::enable_shared_from_this<Api::Impl> {
  Impl(ApiOptions o, const metrics::Sampler& s, std::shared_ptr<metrics::DaemonMetrics> m)
      : options(std::move(o)), sampler(s), metrics(std::move(m)), events(options.events) {}

  ApiOptions options;
  const metrics::Sampler& sampler;
  std::shared_ptr<metrics::DaemonMetrics> metrics;
  boost::asio::thread_pool lane{1};  // store reads, validation, rendering
  std::atomic<std::size_t> queued{0};
  std::shared_mutex service_mutex;
  executions::ExecutionService* service = nullptr;
  // The tree's calls wait for the control loop (up to Handle::kCallTimeout):
  // a lane of their own, never an I/O thread, never behind the store.
  boost::asio::thread_pool control_lane{1};
  std::atomic<std::size_t> control_queued{0};
  std::mutex runtime_mutex;
  std::optional<Handle> runtime;
  std::shared_ptr<ipc::ExecutionPlane> plane;
  EventStreams events;
  std::atomic<std::uint64_t> commands_sent{0};
  const std::uint64_t command_id_salt = [] {
    std::random_device entropy;
    return (std::uint64_t{entropy()} << 32) | entropy();
  }();

  // ---- request flow ----
  void handle(Request request, Respond respond) {
    std::int64_t started_ms = mono_now_ms();
    RouteResult routed = route(request.port, request.method, request.target);
    std::string endpoint = std::holds_alternative<Route>(routed)
                               ? std::string(to_string(std::get<Route>(routed).endpoint))
                               : "unrouted";
    bool mutation = request.method == "POST";
    // Every answer is counted; every mutation is logged, with its fields.
    auto requested_by = std::make_shared<std::string>("loopback");
    auto subject = std::make_shared<std::string>();
    Respond answer = [this, respond = std::move(respond), endpoint, mutation, requested_by, subject,
                      method = request.method, target = request.target, peer = request.peer,
                      started_ms](Response response) {
      metrics->on_http_request(endpoint, response.status);
      if (mutation)
        log_mutation(method, target, peer, *requested_by, *subject, response,
                     mono_now_ms() - started_ms);
      respond(std::move(response));
    };
    if (auto* error = std::get_if<ApiError>(&routed)) return answer(error_response(*error));
    const Route& r = std::get<Route>(routed);
    bool loopback = request.port == Port::Api ? options.api_loopback : options.admin_loopback;
    if (needs_token(r, loopback)) {
      if (request.authorization.empty())
        return answer(error_response(
            api_error(401, "unauthorized",
                      "this endpoint needs Authorization: Bearer <token> off loopback")));
      if (!options.tokens)
        return answer(error_response(api_error(403, "permission_denied", "no token file")));
      auto who = options.tokens->check(request.authorization);
      if (!who)
        return answer(error_response(api_error(403, "permission_denied", who.error().message)));
      *requested_by = *who;
    }
    *subject = r.id;
    dispatch(r, std::move(request), std::move(answer), *requested_by);
  }

  void dispatch(const Route& r, Request request, Respond answer, const std::string& requested_by) {
    auto sample = sampler.latest();
    std::int64_t now = mono_now_ms();
    std::int64_t stale = options.loop_stale_after.count();
    switch (r.endpoint) {
      case Endpoint::HealthLive: {
        ProbeAnswer probe = probe_live(*sample, now, stale);
        return answer(json_response(probe.status(), probe.body));
      }
      case Endpoint::HealthReady: {
        ProbeAnswer probe = probe_ready(*sample, now, stale);
        return answer(json_response(probe.status(), probe.body));
      }
      case Endpoint::HealthStartup: {
        ProbeAnswer probe = probe_startup(*sample);
        return answer(json_response(probe.status(), probe.body));
      }
      case Endpoint::Healthz:
        return answer(healthz(*sample, now));
      case Endpoint::HealthzDeep:
        return on_lane(std::move(answer), [this, sample, now](executions::ExecutionService* s) {
          return healthz_deep(*sample, now, s);
        });
      case Endpoint::Metrics:
        return on_lane(std::move(answer), [this](executions::ExecutionService*) {
          return Response{200, "text/plain; version=0.0.4; charset=utf-8", metrics->render()};
        });
      case Endpoint::Execute:
        return execute(std::move(request), std::move(answer));
      case Endpoint::StatusOne:
      case Endpoint::AdminExecutionStatus:
        return on_lane(std::move(answer), [id = r.id](executions::ExecutionService* s) {
          if (s == nullptr) return unavailable();
          auto info = s->get(id);
          if (!info) return error_response(api_error(info.error()));
          return json_response(200, execution_json(*info));
        });
      case Endpoint::StatusList:
      case Endpoint::AdminExecutions:
        return list_executions(r, std::move(answer));
      case Endpoint::Rollback:
        return answer(error_response(not_yet("POST /rollback", "issue 10, rollback")));
      case Endpoint::AdminResumeAll:
        return resume_all(std::move(request), requested_by, std::move(answer));
      case Endpoint::AdminMaintenance:
        return set_maintenance(std::move(request), requested_by, std::move(answer));
      case Endpoint::AdminCircuitBreaker:
        return answer(error_response(not_yet("circuit breakers", "issue 10")));
      case Endpoint::AdminFeatureFlags:
        return answer(error_response(not_yet("feature flags", "issue 10")));
      case Endpoint::WebIndex:
      case Endpoint::WebAsset: {
        const WebAsset* asset =
            find_web_asset(r.endpoint == Endpoint::WebIndex ? kWebIndex : r.action);
        if (asset == nullptr)
          return answer(error_response(
              api_error(404, "not_found", "no dashboard file \"" + r.action + "\"")));
        return answer(Response{200, std::string(asset->content_type), std::string(asset->body)});
      }
      case Endpoint::Events:
        return answer(open_events(request, r));
      case Endpoint::UiState:
        return on_control(std::move(answer), [this](Handle& handle) {
          auto state = handle.current_state();
          if (!state) return error_response(api_error(state.error()));
          // The socket's `state` answer (no log records: the page has the events).
          JsonWriter w;
          w.begin_object().field("type", "state").field("target_id", options.events.target_id);
          w.key("state");
          ipc::write_dashboard_state(
              w, *state,
              {.target_id = options.events.target_id, .display_name = options.display_name});
          w.end_object();
          return json_text_response(200, w.take());
        });
      case Endpoint::UiExecution:
        return on_lane(std::move(answer), [id = r.id](executions::ExecutionService* s) {
          if (s == nullptr) return unavailable();
          auto view = s->describe(id);
          if (!view) return error_response(api_error(view.error()));
          JsonWriter w;
          wire::write(w, ipc::to_wire(*view));
          return json_text_response(200, w.take());
        });
      case Endpoint::ChildCommand:
        return child_command(r, request, std::move(answer), requested_by);
      case Endpoint::ExecutionCommand:
        return execution_command(r, request, std::move(answer), requested_by);
    }
    answer(error_response(api_error(500, "internal", "unhandled endpoint")));
  }

  static Response unavailable() {
    return error_response(api_error(503, "unavailable",
                                    "the execution service is not running (starting or stopping)"));
  }

  // Runs `work` on the store lane with the service (or nullptr), then answers.
  template <class Work>
  void on_lane(Respond answer, Work work) {
    if (queued.fetch_add(1) >= options.max_queued) {
      --queued;
      return answer(error_response(api_error(503, "busy", "too many requests waiting; retry")));
    }
    boost::asio::post(lane, [self = shared_from_this(), answer = std::move(answer),
                             work = std::move(work)]() mutable {
      Response response;
      {
        std::shared_lock lock(self->service_mutex);
        response = work(self->service);
      }
      --self->queued;
      answer(std::move(response));
    });
  }

  static Response runtime_unavailable() {
    return error_response(api_error(503, "unavailable",
                                    "the supervision tree is not running (starting or stopping)"));
  }

  // Runs `work` on the control lane with the runtime's handle, then answers.
  template <class Work>
  void on_control(Respond answer, Work work) {
    if (control_queued.fetch_add(1) >= options.max_queued) {
      --control_queued;
      return answer(error_response(api_error(503, "busy", "too many requests waiting; retry")));
    }
    boost::asio::post(control_lane, [self = shared_from_this(), answer = std::move(answer),
                                     work = std::move(work)]() mutable {
      std::optional<Handle> handle;
      {
        std::lock_guard lock(self->runtime_mutex);
        handle = self->runtime;
      }
      Response response = handle ? work(*handle) : runtime_unavailable();
      --self->control_queued;
      answer(std::move(response));
    });
  }

  // GET /events: Last-Event-ID (a reconnecting browser sends it) wins over
  // ?last_event_id= (what a page asks for on its first connection).
  Response open_events(const Request& request, const Route& r) {
    bool header = !request.last_event_id.empty();
    auto query = r.query.find("last_event_id");
    std::string_view text = header                   ? std::string_view(request.last_event_id)
                            : query != r.query.end() ? std::string_view(query->second)
                                                     : std::string_view{};
    auto last = parse_last_event_id(text, header ? "Last-Event-ID" : "query.last_event_id");
    if (!last) return error_response(api_error(last.error()));
    return events.open(*last);
  }

  std::string new_command_id() {
    char id[40];
    std::snprintf(id, sizeof id, "http-%016llx-%llu",
                  static_cast<unsigned long long>(command_id_salt),
                  static_cast<unsigned long long>(++commands_sent));
    return id;
  }

  // The body's reason, command_id and confirmation, or the error answer.
  std::variant<CommandMeta, Response> command_meta(const Request& request,
                                                   const std::string& requested_by,
                                                   bool needs_confirmation,
                                                   std::string_view command) {
    if (auto bad = check_json_type(request)) return error_response(*bad);
    auto body = parse_command_body(request.body);
    if (!body) return error_response(api_error(body.error()));
    if (needs_confirmation && !body->confirmed)
      return error_response(
          api_error(400, "confirmation_required",
                    std::string(command) + " is dangerous: resend it with \"confirmed\": true",
                    "body.confirmed"));
    return CommandMeta{body->command_id.empty() ? new_command_id() : body->command_id, requested_by,
                       body->reason};
  }

  // POST /api/children/{id}/{command}: a command of the vocabulary, carried
  // out (and audited) by the control loop as the socket's are.
  void child_command(const Route& r, const Request& request, Respond answer,
                     const std::string& requested_by) {
    const CommandInfo& info = *find_command(r.action);  // routing checked it
    auto meta = command_meta(request, requested_by, info.needs_confirmation, info.name);
    if (auto* refused = std::get_if<Response>(&meta)) return answer(std::move(*refused));
    CommandRequest command;
    command.kind = info.kind;
    command.target = r.id;
    command.meta = std::get<CommandMeta>(std::move(meta));
    on_control(std::move(answer), [this, command = std::move(command)](Handle& handle) {
      CommandResult result = handle.execute(command);
      if (result.kind == CommandResult::NotFound)
        return error_response(api_error(404, "not_found", result.reason, "child_id"));
      if (result.kind == CommandResult::Rejected)
        return error_response(api_error(409, "failed_precondition", result.reason));
      // The socket's command_result: the seed's ControlCommandResult.
      JsonWriter w;
      w.begin_object()
          .field("type", "command_result")
          .field("target_id", options.events.target_id)
          .field("command", to_string(command.kind))
          .field("child_id", command.target)
          .key("result");
      wire::write(w, ipc::to_wire(result, options.events.target_id, command.meta.command_id,
                                  std::nullopt, unix_now_ns()));
      w.end_object();
      return json_text_response(200, w.take());
    });
  }

  // POST /api/executions/{id}/{pause|resume|cancel}: the socket's audited
  // executions.* command path.
  void execution_command(const Route& r, const Request& request, Respond answer,
                         const std::string& requested_by) {
    auto meta = command_meta(request, requested_by, false, "executions." + r.action);
    if (auto* refused = std::get_if<Response>(&meta)) return answer(std::move(*refused));
    auto executions = execution_plane();
    if (!executions) return answer(runtime_unavailable());
    executions::ControlAction action = r.action == "pause"    ? executions::ControlAction::Pause
                                       : r.action == "resume" ? executions::ControlAction::Resume
                                                              : executions::ControlAction::Cancel;
    std::string command_id = std::get<CommandMeta>(meta).command_id;
    executions->control(
        r.id, action, std::get<CommandMeta>(std::move(meta)),
        [answer = std::move(answer), command_id, id = r.id,
         target_id = options.events.target_id](Expected<executions::ControlAck> ack) {
          if (!ack) return answer(error_response(api_error(ack.error())));
          if (!ack->changed)
            return answer(error_response(api_error(409, "failed_precondition", ack->reason)));
          JsonWriter w;
          w.begin_object()
              .field("type", "command_result")
              .field("target_id", target_id)
              .key("result");
          wire::write(w, ipc::to_wire(ipc::ExecutionCommandOutcome{.command_id = command_id,
                                                                   .status = "completed",
                                                                   .execution_id = id,
                                                                   .state = ack->state,
                                                                   .reason = ack->reason},
                                      target_id, unix_now_ns()));
          w.end_object();
          answer(json_text_response(200, w.take()));
        });
  }

  // As on_lane, for work that answers later itself (through the service).
  template <class Work>
  void on_lane_deferred(Respond answer, Work work) {
    if (queued.fetch_add(1) >= options.max_queued) {
      --queued;
      return answer(error_response(api_error(503, "busy", "too many requests waiting; retry")));
    }
    boost::asio::post(lane, [self = shared_from_this(), answer = std::move(answer),
                             work = std::move(work)]() mutable {
      {
        std::shared_lock lock(self->service_mutex);
        work(self->service, std::move(answer));
      }
      --self->queued;
    });
  }

  // GET /status and /admin/executions: ?status=STATE&limit=N.
  void list_executions(const Route& r, Respond answer) {
    std::string state = r.query.count("status") ? r.query.at("status") : "";
    std::size_t limit = r.query.count("limit") ? std::stoul(r.query.at("limit")) : 1000;
    on_lane(std::move(answer), [state, limit](executions::ExecutionService* s) {
      if (s == nullptr) return unavailable();
      // STUCK is assessed from each unfinished execution's history.
      auto list = state == executions::kStuckListing ? s->list({.state = state, .limit = limit})
                                                     : s->list_summaries(state, limit);
      if (!list) return error_response(api_error(list.error()));
      Json items = Json::array();
      for (const auto& info : *list) items.push_back(execution_json(info));
      Json body = {{"executions", items}, {"count", list->size()}};
      if (!state.empty()) body["status"] = state;
      return json_response(200, body);
    });
  }

  Response healthz(const metrics::DaemonSample& sample, std::int64_t now) {
    ProbeAnswer ready = probe_ready(sample, now, options.loop_stale_after.count());
    Json body = ready.body;
    if (sample.health) {
      body["health"] = {{"status", sample.health->status},
                        {"uptime_secs", sample.health->uptime_secs},
                        {"dashboard_link", std::string(to_string(sample.health->endpoint.link))},
                        {"reasons", sample.health->reasons},
                        {"suspects", sample.health->suspects}};
    }
    return json_response(ready.status(), body);
  }

  Response healthz_deep(const metrics::DaemonSample& sample, std::int64_t now,
                        executions::ExecutionService* s) {
    ProbeAnswer ready = probe_ready(sample, now, options.loop_stale_after.count());
    Json body = ready.body;
    bool ok = ready.ok;
    Json store = {{"checked", false}};
    if (s != nullptr) {
      auto checked = s->validate_recent(options.deep_check_executions);
      if (checked) {
        store = {{"checked", true},
                 {"executions_checked", checked->executions_checked},
                 {"records_checked", checked->records_checked},
                 {"bad", checked->bad}};
        ok = ok && checked->bad.empty();
      } else {
        store = {{"checked", false}, {"error", checked.error().describe()}};
        ok = false;
      }
    } else {
      ok = false;
    }
    body["store_validation"] = store;
    body["circuit_breakers"] = Json::object();  // none exist yet (issue 10)
    body["status"] = ok ? "ok" : "failing";
    return json_response(ok ? 200 : 503, body);
  }

  // POST /execute: the DAG spec itself, or {"spec": {...}, "params": {...},
  // "execution_id": "..."}. 202 once the PENDING record is committed.
  void execute(Request request, Respond answer) {
    if (auto bad = check_json_type(request)) return answer(error_response(*bad));
    auto document = config::parse_bounded_json(request.body, {.root_path = "body"});
    if (!document) {
      ApiError error = api_error(document.error());
      error.code = "invalid_json";
      return answer(error_response(error));
    }
    executions::SubmitRequest submit;
    if (document->is_object() && document->contains("spec")) {
      for (const auto& [key, value] : document->items()) {
        if (key != "spec" && key != "params" && key != "execution_id")
          return answer(error_response(api_error(400, "invalid_argument",
                                                 "unknown field; expected spec, params, "
                                                 "execution_id",
                                                 key)));
      }
      const auto& spec = (*document)["spec"];
      if (!spec.is_object())
        return answer(
            error_response(api_error(400, "invalid_argument", "must be an object", "spec")));
      submit.spec = spec.dump();
      if (document->contains("params")) {
        if (!(*document)["params"].is_object())
          return answer(
              error_response(api_error(400, "invalid_argument", "must be an object", "params")));
        submit.params = (*document)["params"];
      }
      if (document->contains("execution_id")) {
        if (!(*document)["execution_id"].is_string())
          return answer(error_response(
              api_error(400, "invalid_argument", "must be a string", "execution_id")));
        submit.execution_id = (*document)["execution_id"].get<std::string>();
      }
    } else if (document->is_object()) {
      submit.spec = request.body;
    } else {
      return answer(error_response(
          api_error(400, "invalid_argument", "the body must be a JSON object", "body")));
    }
    std::shared_lock lock(service_mutex);
    if (service == nullptr) return answer(unavailable());
    // Answered on the service thread once committed; nothing waits here.
    service->submit(std::move(submit), [answer](Expected<executions::SubmitAck> ack) {
      if (!ack) return answer(error_response(api_error(ack.error())));
      answer(json_response(ack->existing ? 200 : 202,
                           {{"execution_id", ack->execution_id},
                            {"existing", ack->existing},
                            {"status_url", "/status/" + ack->execution_id}}));
    });
  }

  std::shared_ptr<ipc::ExecutionPlane> execution_plane() {
    std::lock_guard lock(runtime_mutex);
    return plane;
  }

  // POST /admin/maintenance-mode {"enabled": bool, "reason": "..."}: 200
  // once the mode is committed; the socket's audited
  // executions.set_maintenance (the same call as `supctl maintenance`).
  void set_maintenance(Request request, const std::string& requested_by, Respond answer) {
    static constexpr std::string_view kKeys[] = {"enabled", "reason"};
    auto body = admin_body(request.body, kKeys);
    if (!body) return answer(error_response(api_error(body.error())));
    auto enabled = body->find("enabled");
    if (enabled == body->end() || !enabled->is_boolean())
      return answer(error_response(
          api_error(400, "invalid_argument", "a boolean is required", "body.enabled")));
    auto executions = execution_plane();
    if (!executions) return answer(runtime_unavailable());
    CommandMeta meta{new_command_id(), "http:" + requested_by,
                     (*body)["reason"].get<std::string>()};
    executions->set_maintenance(enabled->get<bool>(), std::move(meta),
                                [answer](Expected<executions::MaintenanceAck> ack) {
                                  if (!ack) return answer(error_response(api_error(ack.error())));
                                  Json out = {{"maintenance", maintenance_json(ack->mode)},
                                              {"changed", ack->changed},
                                              {"started", ack->started}};
                                  answer(json_response(200, out));
                                });
  }

  // POST /admin/executions/resume-all {"reason": "..."}: 200 with what was
  // done to each stuck execution; the socket's audited executions.resume_all
  // (the same call as `supctl executions resume-all`). The stuck listing is
  // read on the lane.
  void resume_all(Request request, const std::string& requested_by, Respond answer) {
    static constexpr std::string_view kKeys[] = {"reason"};
    auto body = admin_body(request.body, kKeys);
    if (!body) return answer(error_response(api_error(body.error())));
    auto executions = execution_plane();
    if (!executions) return answer(runtime_unavailable());
    CommandMeta meta{new_command_id(), "http:" + requested_by,
                     (*body)["reason"].get<std::string>()};
    on_lane_deferred(std::move(answer), [executions, meta = std::move(meta)](
                                            executions::ExecutionService*, Respond answer) {
      executions->resume_all(meta, [answer](Expected<executions::ResumeAllAck> ack) {
        if (!ack) return answer(error_response(api_error(ack.error())));
        Json items = Json::array();
        for (const auto& outcome : ack->executions)
          items.push_back({{"execution_id", outcome.execution_id},
                           {"reason", executions::to_string(outcome.reason)},
                           {"resumed", outcome.resumed},
                           {"detail", outcome.detail}});
        answer(json_response(200, {{"executions", items}, {"resumed", ack->resumed()}}));
      });
    });
  }

  static void log_mutation(const std::string& method, const std::string& target,
                           const std::string& peer, const std::string& requested_by,
                           const std::string& subject, const Response& response,
                           std::int64_t took_ms) {
    std::vector<LogField> fields = {{"HTTP_METHOD", method},
                                    {"HTTP_TARGET", target},
                                    {"HTTP_STATUS", std::to_string(response.status)},
                                    {"PEER", peer},
                                    {"REQUESTED_BY", requested_by},
                                    {"DURATION_MS", std::to_string(took_ms)}};
    auto body = nlohmann::json::parse(response.body, nullptr, false);
    if (body.is_object()) {
      if (body.contains("execution_id") && body["execution_id"].is_string())
        fields.emplace_back("EXECUTION_ID", body["execution_id"].get<std::string>());
      if (body.contains("error") && body["error"].is_object())
        fields.emplace_back("ERROR_CODE", body["error"].value("code", ""));
    }
    if (!subject.empty()) fields.emplace_back("SUBJECT", subject);
    sup::log(response.status < 400 ? LogLevel::Info : LogLevel::Warn,
             "http " + method + " " + target + " -> " + std::to_string(response.status),
             std::span<const LogField>(fields));
  }
};

Api::Api(ApiOptions options, const metrics::Sampler& sampler,
         std::shared_ptr<metrics::DaemonMetrics> metrics)
    : impl_(std::make_shared<Impl>(std::move(options), sampler, std::move(metrics))) {}

Api::~Api() {
  detach_runtime();
  detach_executions();
  impl_->lane.join();
  impl_->control_lane.join();
}

void Api::attach_server(Server& server) {
  impl_->events.attach_io([&server](std::function<void()> work) { server.post(std::move(work)); });
}

void Api::attach_runtime(Handle handle, std::shared_ptr<ipc::ExecutionPlane> plane) {
  if (Status subscribed = impl_->events.attach(handle); !subscribed)
    sup::log(LogLevel::Warn,
             "GET /events has no event subscription: " + subscribed.error().describe());
  std::lock_guard lock(impl_->runtime_mutex);
  impl_->runtime = std::move(handle);
  impl_->plane = std::move(plane);
}

void Api::detach_runtime() {
  impl_->events.detach();
  impl_->events.attach_io(nullptr);
  std::lock_guard lock(impl_->runtime_mutex);
  impl_->runtime.reset();
  impl_->plane.reset();
}

Handler Api::handler() {
  return [impl = impl_](Request request, Respond respond) {
    impl->handle(std::move(request), std::move(respond));
  };
}

void Api::attach_executions(executions::ExecutionService* service) {
  std::unique_lock lock(impl_->service_mutex);
  impl_->service = service;
}

void Api::detach_executions() {
  std::unique_lock lock(impl_->service_mutex);
  impl_->service = nullptr;
}

}  // namespace sup::http
