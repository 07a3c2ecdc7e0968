#include "daemon/serving.hpp"

#include "daemon/execution_link.hpp"
#include "http/api.hpp"
#include "http/bearer_tokens.hpp"
#include "http/server.hpp"
#include "metrics/daemon_metrics.hpp"
#include "metrics/sampler.hpp"
#include "sup/log.hpp"

namespace sup::daemon {

struct Serving::Impl {
  std::shared_ptr<metrics::DaemonMetrics> metrics = std::make_shared<metrics::DaemonMetrics>();
  std::unique_ptr<metrics::Sampler> sampler;
  std::unique_ptr<metrics::MetricsExposer> exposer;
  std::unique_ptr<http::Api> api;
  std::unique_ptr<http::Server> server;
  executions::ExecutionService* service = nullptr;
  bool stopped = false;
};

Expected<std::unique_ptr<Serving>> Serving::start(const config::DaemonConfig& config) {
  auto impl = std::make_unique<Impl>();
  impl->sampler = std::make_unique<metrics::Sampler>(
      impl->metrics, metrics::SamplerOptions{
                         .state_interval = std::chrono::milliseconds(config.metrics.refresh_ms),
                         .dashboard_enabled = config.dashboard.enabled});
  std::vector<LogField> fields;
  if (config.metrics.enabled) {
    auto exposer = metrics::MetricsExposer::start(config.metrics.listen, *impl->metrics);
    if (!exposer) return exposer.error();
    impl->exposer = std::move(*exposer);
  }
  if (config.http.enabled) {
    auto api_address = config::parse_listen_address(config.http.listen, "http.listen");
    if (!api_address) return api_address.error();
    auto admin_address =
        config::parse_listen_address(config.http.admin_listen, "http.admin_listen");
    if (!admin_address) return admin_address.error();
    http::ApiOptions options;
    options.events.target_id = config.dashboard.target_id;
    options.display_name = config.dashboard.registration.display_name.empty()
                               ? config.dashboard.target_id
                               : config.dashboard.registration.display_name;
    options.events.max_streams = config.http.max_event_streams;
    options.api_loopback = api_address->loopback();
    options.admin_loopback = admin_address->loopback();
    if (!config.http.token_file.empty()) {
      auto tokens = http::load_token_file(config.http.token_file);
      if (!tokens) return tokens.error();
      options.tokens = std::move(*tokens);
    }
    impl->api = std::make_unique<http::Api>(std::move(options), *impl->sampler, impl->metrics);
    http::ServerLimits limits{
        .max_body_bytes = config.http.max_body_bytes,
        .max_header_bytes = config.http.max_header_bytes,
        .request_timeout = std::chrono::milliseconds(config.http.request_timeout_ms),
        .max_connections = config.http.max_connections,
        .threads = config.http.threads};
    auto server = http::Server::start({{http::Port::Api, *api_address, "http.listen"},
                                       {http::Port::Admin, *admin_address, "http.admin_listen"}},
                                      limits, impl->api->handler());
    if (!server) return server.error();
    impl->server = std::move(*server);
    impl->api->attach_server(*impl->server);
    api_address->port = impl->server->port_of(http::Port::Api);
    admin_address->port = impl->server->port_of(http::Port::Admin);
    sup::log(LogLevel::Info, "http listening",
             {{"HTTP_LISTEN", api_address->to_string()},
              {"HTTP_PORT", std::to_string(api_address->port)},
              {"ADMIN_LISTEN", admin_address->to_string()},
              {"ADMIN_PORT", std::to_string(admin_address->port)},
              {"HTTP_TOKEN_REQUIRED",
               api_address->loopback() && admin_address->loopback() ? "no" : "off loopback"}});
  }
  if (impl->exposer) {
    auto address = config::parse_listen_address(config.metrics.listen, "metrics.listen");
    if (address) address->port = impl->exposer->port();
    sup::log(LogLevel::Info, "metrics listening",
             {{"METRICS_LISTEN", address ? address->to_string() : config.metrics.listen},
              {"METRICS_PORT", std::to_string(impl->exposer->port())}});
  }
  return std::unique_ptr<Serving>(new Serving(std::move(impl)));
}

Serving::Serving(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Serving::~Serving() {
  stop();
}

void Serving::hook(executions::ExecutionServiceOptions& options) const {
  options.on_store_commit = [m = impl_->metrics](std::size_t appends,
                                                 std::chrono::nanoseconds took) {
    m->on_store_commit(appends, took);
  };
  options.on_checkpoint_durable = [m = impl_->metrics](std::size_t transitions,
                                                       std::chrono::nanoseconds latency) {
    m->on_checkpoint_durable(transitions, latency);
  };
}

void Serving::attach_executions(executions::ExecutionService& service) {
  if (service.resume_report().resumed + service.resume_report().failed > 0)
    impl_->metrics->on_recovery("daemon_restart", service.resume_duration());
  impl_->service = &service;
  impl_->sampler->attach_executions(&service);
  if (impl_->api) impl_->api->attach_executions(&service);
}

void Serving::attach_runtime(Handle handle) {
  if (impl_->api) {
    std::shared_ptr<ipc::ExecutionPlane> plane;
    if (impl_->service != nullptr) plane = ExecutionLink::plane(*impl_->service, handle);
    impl_->api->attach_runtime(handle, std::move(plane));
  }
  impl_->sampler->attach_runtime(std::move(handle));
}

void Serving::stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  // The event streams end (and let go of their connections) first.
  if (impl_->api) impl_->api->detach_runtime();
  if (impl_->server) impl_->server->stop();
  if (impl_->api) impl_->api->detach_executions();
  impl_->sampler->detach();
  impl_->exposer.reset();
}

}  // namespace sup::daemon
