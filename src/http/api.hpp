// The HTTP API's application: what each endpoint does (docs/http.md). It
// routes with http::route, checks the bearer token off loopback, answers
// probes and /metrics from the sampler's newest view, and hands everything
// that touches the store or waits for a commit to a lane of its own, so
// the server's I/O threads never block on disk or on another thread.
// Every mutation is logged as one line with its fields.
//
//   Api api(options, sampler);
//   auto server = Server::start(listeners, limits, api.handler());
//   api.attach_executions(service.get());   // once the store is open
#pragma once

#include <memory>
#include <optional>

#include "http/bearer_tokens.hpp"
#include "http/event_streams.hpp"
#include "http/server.hpp"
#include "metrics/sampler.hpp"
#include "sup/handle.hpp"

namespace sup::executions {
class ExecutionService;
}
namespace sup::ipc {
class ExecutionPlane;
}

namespace sup::http {

struct ApiOptions {
  bool api_loopback = true;    // http.listen is a loopback address
  bool admin_loopback = true;  // http.admin_listen is
  std::optional<BearerTokens> tokens;
  // The control loop's answer older than this: /health/live fails.
  std::chrono::milliseconds loop_stale_after{5000};
  std::size_t deep_check_executions = 20;  // /healthz/deep validates these
  std::size_t max_queued = 256;            // store lane; beyond: 503 busy
  EventStreamsOptions events{};            // GET /events (target_id: dashboard.target_id)
  std::string display_name;                // the target's, for GET /api/state
};

class Api {
 public:
  Api(ApiOptions options, const metrics::Sampler& sampler,
      std::shared_ptr<metrics::DaemonMetrics> metrics);
  ~Api();  // finishes the lane's work
  Api(const Api&) = delete;
  Api& operator=(const Api&) = delete;

  Handler handler();
  // The server whose I/O threads run the event streams' fan-out.
  void attach_server(Server& server);
  void attach_executions(executions::ExecutionService* service);
  // The tree (state, commands, events) and the executions' audited
  // command path (pause/resume/cancel), once the runtime runs.
  void attach_runtime(Handle handle, std::shared_ptr<ipc::ExecutionPlane> plane);
  // Before the service goes: new requests get 503, queued ones finish.
  void detach_executions();
  // Before the runtime (and the server) go: the event streams end, the
  // tree's endpoints answer 503.
  void detach_runtime();

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace sup::http
