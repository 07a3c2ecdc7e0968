#include "dashboard_relay/socket_server.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "ipc/encoding.hpp"
#include "sup/log.hpp"

namespace sup::relay {
namespace {

using boost::asio::local::stream_protocol;

constexpr std::size_t kLogLinesCached = 2048;
constexpr std::chrono::milliseconds kAcceptRetryDelay{50};
// Snapshots are bulk work: under CPU pressure their threads yield to the
// I/O thread and the cheap lane (CFS gives nice 10 about a tenth of the
// weight of nice 0), so health and commands stay prompt.
constexpr int kSnapshotNiceness = 10;
constexpr std::chrono::seconds kProblemLogInterval{1};
// A stopping relay keeps serving this long at most, so replies already on
// their way (the answer to shutdown_tree itself) reach their clients.
constexpr std::chrono::milliseconds kDrainGrace{300};
constexpr std::chrono::milliseconds kDrainPoll{2};

// The listeners of this process by path, so a relay restarted while its
// previous incarnation still listens (a killed in-process task is abandoned,
// not joined) takes the path over instead of mistaking it for another
// daemon's.
class ListenerRegistry {
 public:
  void add(const std::string& path, SocketIdentity identity, std::function<void()> stop) {
    std::lock_guard lock(mutex_);
    listeners_[path] = {identity, std::move(stop)};
  }
  // Stops the listener of this process that owns `identity` at `path`, if
  // there is one. The stop runs under the lock, so a listener being
  // destroyed (it calls remove()) is never called half-gone.
  bool take_over(const std::string& path, SocketIdentity identity) {
    std::lock_guard lock(mutex_);
    auto it = listeners_.find(path);
    if (it == listeners_.end() || !(it->second.identity == identity)) return false;
    it->second.stop();
    listeners_.erase(it);
    return true;
  }
  void remove(const std::string& path, SocketIdentity identity) {
    std::lock_guard lock(mutex_);
    auto it = listeners_.find(path);
    if (it != listeners_.end() && it->second.identity == identity) listeners_.erase(it);
  }

 private:
  struct Listener {
    SocketIdentity identity;
    std::function<void()> stop;
  };
  std::mutex mutex_;
  std::map<std::string, Listener> listeners_;
};

ListenerRegistry& listener_registry() {
  static ListenerRegistry* registry = new ListenerRegistry;  // used until exit
  return *registry;
}

std::string errno_text(int error) {
  return std::strerror(error);
}

ipc::Peer peer_of(stream_protocol::socket& socket) {
  ucred credentials{};
  socklen_t length = sizeof(credentials);
  if (::getsockopt(socket.native_handle(), SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0)
    return {UINT32_MAX, 0};  // unknown: never allowed to mutate
  return {static_cast<std::uint32_t>(credentials.uid), static_cast<std::int32_t>(credentials.pid)};
}

}  // namespace

std::string default_target_id() {
  char host[256] = {};
  if (::gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0') return "supervisor@localhost";
  return std::string("supervisor@") + host;
}

struct SocketServer::Impl {
  Impl(ServerOptions server_options, std::shared_ptr<ipc::ControlPlane> control_plane);
  ~Impl();

  Status bind();
  Status claim_path();
  RunEnd run();
  void stop(RunEnd why);
  void drain(std::chrono::steady_clock::time_point deadline);
  void accept_next();
  void on_accept(stream_protocol::socket socket);
  bool privileged(const ipc::Peer& peer) const;
  std::optional<std::string> admission_refusal(const ipc::Peer& peer) const;
  void refuse(stream_protocol::socket& socket, const ipc::Peer& peer, const std::string& why);
  void maintain();
  void subscribe_feed();
  // Over a copy: `fn` may close its session, which erases it.
  template <class Fn>
  void for_each_session(Fn fn) {
    std::vector<std::shared_ptr<ClientSession>> open;
    open.reserve(sessions.size());
    for (const auto& [raw, session] : sessions) open.push_back(session);
    for (const auto& session : open) fn(*session);
  }
  void schedule_report();
  void report_now();
  void shut_down_clients();
  void release_path();

  ServerOptions options;
  std::string path;
  std::shared_ptr<ipc::ControlPlane> plane;
  // Declared first: destroyed after everything that holds handlers on it.
  boost::asio::io_context io;
  stream_protocol::acceptor acceptor{io};
  boost::asio::steady_timer maintenance_timer{io};
  boost::asio::steady_timer accept_retry_timer{io};
  boost::asio::steady_timer drain_timer{io};
  std::shared_ptr<IoMailbox> mailbox = std::make_shared<IoMailbox>(io);
  WorkerPool request_workers;
  WorkerPool snapshot_workers;
  RelayCounters counters;
  LineCache log_lines{kLogLinesCached};
  ThrottledLog problem_log{kProblemLogInterval};
  ThrottledLog refusal_log{kProblemLogInterval};
  std::shared_ptr<EventFeed> event_feed;
  ipc::Subscription feed_subscription;  // after event_feed: ends first
  bool feed_subscribed = false;
  bool feed_subscribing = false;  // an attempt is on a request worker
  SessionContext context;
  std::unordered_map<ClientSession*, std::shared_ptr<ClientSession>> sessions;
  // Open connections of each unprivileged uid (admission_refusal).
  std::unordered_map<std::uint32_t, std::uint32_t> connections_of_uid;
  std::uint32_t unprivileged_connections = 0;
  std::atomic<std::uint32_t> client_count{0};

  std::optional<SocketIdentity> identity;  // of the socket file we created
  std::atomic<RunEnd> end{RunEnd::Stopped};
  std::atomic<bool> draining{false};
  bool reporting = false;  // off once stopping: a newer relay may report by then
  bool report_pending = false;
  std::optional<EndpointStatus> last_report;
};

SocketServer::Impl::Impl(ServerOptions server_options,
                         std::shared_ptr<ipc::ControlPlane> control_plane)
    : options(std::move(server_options)),
      path(options.dashboard.path),
      plane(std::move(control_plane)),
      request_workers(options.request_threads),
      snapshot_workers(options.snapshot_threads, kSnapshotNiceness) {
  const auto& dashboard = options.dashboard;
  std::string target_id = dashboard.target_id.empty() ? default_target_id() : dashboard.target_id;
  context.limits = {dashboard.max_line_bytes, dashboard.client_queue_bytes,
                    dashboard.requests_per_sec,
                    std::chrono::milliseconds(dashboard.line_timeout_ms),
                    std::chrono::milliseconds(dashboard.idle_timeout_ms)};
  const auto& registration = dashboard.registration;
  context.backend = std::make_shared<RequestBackend>(
      plane,
      ipc::ServerInfo{target_id,
                      registration.display_name.empty() ? target_id : registration.display_name,
                      path, static_cast<std::uint32_t>(::geteuid()), registration.lease_seconds,
                      options.registration_status},
      options.executions);
  context.requests = &request_workers;
  context.snapshots = &snapshot_workers;
  context.state_answers = std::make_shared<SharedAnswers>(
      [backend = context.backend](const ipc::Request& request, const ipc::Peer& peer) {
        return backend->dispatcher.dispatch(request, peer);
      },
      snapshot_workers.poster());
  context.mailbox = mailbox;
  context.counters = &counters;
  event_feed = std::make_shared<EventFeed>(mailbox, target_id, options.event_feed, [this] {
    for_each_session([](ClientSession& session) { session.pump_events(); });
  });
  context.events = event_feed.get();
  context.log_lines = &log_lines;
  context.problem_log = &problem_log;
  context.on_closed = [this](ClientSession& session) {
    if (!privileged(session.peer())) {
      --unprivileged_connections;
      if (--connections_of_uid[session.peer().uid] == 0)
        connections_of_uid.erase(session.peer().uid);
    }
    sessions.erase(&session);
    client_count.store(static_cast<std::uint32_t>(sessions.size()));
    schedule_report();
  };
  context.on_subscriptions_changed = [this] { schedule_report(); };
}

SocketServer::Impl::~Impl() {
  mailbox->close();
  release_path();
}

Status SocketServer::Impl::claim_path() {
  if (path.empty()) return path_error("must not be empty");
  if (path.size() >= sizeof(sockaddr_un::sun_path))
    return path_error("\"" + path + "\" is longer than " +
                      std::to_string(sizeof(sockaddr_un::sun_path) - 1) +
                      " bytes, the limit of a Unix socket path");
  PathProbe probe = probe_socket_path(path);
  switch (probe.state) {
    case PathState::Absent:
      return {};
    case PathState::Stale:
      if (::unlink(path.c_str()) != 0 && errno != ENOENT)
        return path_error("cannot remove stale socket " + path + ": " + errno_text(errno));
      log(LogLevel::Info, "dashboard relay: replaced stale socket file", {{"SOCKET_PATH", path}});
      return {};
    case PathState::Live: {
      auto current = socket_identity(path);
      if (current && listener_registry().take_over(path, *current)) {
        ::unlink(path.c_str());
        log(LogLevel::Info, "dashboard relay: took the socket over from an earlier relay",
            {{"SOCKET_PATH", path}});
        return {};
      }
      break;  // another process's listener
    }
    case PathState::NotSocket:
    case PathState::Unusable:
      break;
  }
  return refusal_for(probe, path);
}

Status SocketServer::Impl::bind() {
  if (identity) return {};
  if (auto claimed = claim_path(); !claimed) return claimed;
  boost::system::error_code error;
  acceptor.open(stream_protocol(), error);
  if (!error) acceptor.bind(stream_protocol::endpoint(path), error);
  if (error) {
    acceptor.close();
    return path_error("cannot bind " + path + ": " + error.message());
  }
  // Before listen(), so no client connects while the mode is still the umask's.
  if (::chmod(path.c_str(), options.dashboard.mode) != 0) {
    int chmod_error = errno;
    acceptor.close();
    ::unlink(path.c_str());
    return path_error("cannot chmod " + path + ": " + errno_text(chmod_error));
  }
  identity = socket_identity(path);
  acceptor.listen(boost::asio::socket_base::max_listen_connections, error);
  if (error || !identity) {
    acceptor.close();
    if (identity) remove_if_same(path, *identity);
    identity.reset();
    return path_error("cannot listen on " + path + ": " +
                      (error ? error.message() : std::string("socket file vanished")));
  }
  listener_registry().add(path, *identity, [this] { stop(RunEnd::PathLost); });
  return {};
}

RunEnd SocketServer::Impl::run() {
  if (!identity) return RunEnd::Stopped;
  reporting = true;
  report_now();
  subscribe_feed();
  accept_next();
  maintain();
  io.run();

  reporting = false;
  feed_subscription.reset();
  // While the listening socket still pins the file's inode, so the check
  // cannot be fooled by a newer relay's socket reusing the inode number.
  release_path();
  mailbox->close();
  request_workers.shutdown(WorkerPool::kDefaultGrace);
  snapshot_workers.shutdown(WorkerPool::kDefaultGrace);
  shut_down_clients();
  RunEnd why = end.load();
  if (why == RunEnd::Stopped) plane->report_endpoint_status({});
  return why;
}

// A lost path stops at once (a newer relay serves the clients now); a
// requested stop first lets in-flight replies out, see drain().
void SocketServer::Impl::stop(RunEnd why) {
  if (why == RunEnd::PathLost) {
    end.store(RunEnd::PathLost);
    io.stop();
    return;
  }
  if (draining.exchange(true)) return;
  boost::asio::post(io, [this] {
    boost::system::error_code ignored;
    acceptor.close(ignored);
    drain(std::chrono::steady_clock::now() + kDrainGrace);
  });
}

void SocketServer::Impl::drain(std::chrono::steady_clock::time_point deadline) {
  bool idle = true;
  for (const auto& [raw, session] : sessions) idle &= session->idle();
  if (idle || std::chrono::steady_clock::now() >= deadline) return io.stop();
  drain_timer.expires_after(kDrainPoll);
  drain_timer.async_wait([this, deadline](const boost::system::error_code& error) {
    if (!error) drain(deadline);
  });
}

void SocketServer::Impl::accept_next() {
  acceptor.async_accept(
      [this](const boost::system::error_code& error, stream_protocol::socket socket) {
        if (error == boost::asio::error::operation_aborted) return;
        if (error) {
          // Out of descriptors or memory: back off instead of spinning.
          problem_log.log(LogLevel::Error, "dashboard relay: accept failed",
                          {{"ERROR", error.message()}});
          accept_retry_timer.expires_after(kAcceptRetryDelay);
          accept_retry_timer.async_wait([this](const boost::system::error_code& timer_error) {
            if (!timer_error) accept_next();
          });
          return;
        }
        on_accept(std::move(socket));
        accept_next();
      });
}

// Root and the daemon's own uid are the operators: they may take every
// slot, including the reserved ones, so a crowd of another uid never locks
// them out.
bool SocketServer::Impl::privileged(const ipc::Peer& peer) const {
  return peer.uid == 0 || peer.uid == context.backend->dispatcher.info().daemon_uid;
}

std::optional<std::string> SocketServer::Impl::admission_refusal(const ipc::Peer& peer) const {
  const auto& dashboard = options.dashboard;
  if (sessions.size() >= dashboard.max_clients)
    return "the relay already serves " + std::to_string(dashboard.max_clients) +
           " clients (dashboard.max_clients); retry later";
  if (privileged(peer)) return std::nullopt;
  if (unprivileged_connections >= dashboard.max_clients - dashboard.reserved_clients)
    return "the slots open to uid " + std::to_string(peer.uid) + " are taken (" +
           std::to_string(dashboard.reserved_clients) +
           " of dashboard.max_clients are kept for root and the daemon's uid); retry later";
  auto held = connections_of_uid.find(peer.uid);
  if (held != connections_of_uid.end() && held->second >= dashboard.max_clients_per_uid)
    return "uid " + std::to_string(peer.uid) + " already holds " + std::to_string(held->second) +
           " connections (dashboard.max_clients_per_uid); retry later";
  return std::nullopt;
}

void SocketServer::Impl::on_accept(stream_protocol::socket socket) {
  ipc::Peer peer = peer_of(socket);
  if (auto why = admission_refusal(peer)) return refuse(socket, peer, *why);
  if (!privileged(peer)) {
    ++connections_of_uid[peer.uid];
    ++unprivileged_connections;
  }
  counters.accepted.fetch_add(1, std::memory_order_relaxed);
  auto session = std::make_shared<ClientSession>(context, std::move(socket), peer);
  sessions.emplace(session.get(), session);
  client_count.store(static_cast<std::uint32_t>(sessions.size()));
  schedule_report();
  session->start();
}

// Best effort and never blocking: a fresh socket's buffer has room for one line.
void SocketServer::Impl::refuse(stream_protocol::socket& socket, const ipc::Peer& peer,
                                const std::string& why) {
  counters.rejected_too_many_clients.fetch_add(1, std::memory_order_relaxed);
  std::string line = ipc::error_push_line({ipc::ErrorCode::TooManyClients, why},
                                          context.backend->dispatcher.info().target_id);
  [[maybe_unused]] auto sent =
      ::send(socket.native_handle(), line.data(), line.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  boost::system::error_code ignored;
  socket.close(ignored);
  refusal_log.log(LogLevel::Warn, "dashboard client refused: too many clients",
                  {{"PEER_PID", std::to_string(peer.pid)},
                   {"PEER_UID", std::to_string(peer.uid)},
                   {"REASON", why}});
}

void SocketServer::Impl::maintain() {
  if (socket_identity(path) != identity) {
    log(LogLevel::Warn, "dashboard relay: socket file removed or replaced; stopping",
        {{"SOCKET_PATH", path}});
    return stop(RunEnd::PathLost);
  }
  if (options.on_tick && !options.on_tick()) return stop(RunEnd::Stopped);
  if (!feed_subscribed) subscribe_feed();
  const auto now = std::chrono::steady_clock::now();
  for_each_session([now](ClientSession& session) { session.check_timeouts(now); });
  maintenance_timer.expires_after(options.maintenance_interval);
  maintenance_timer.async_wait([this](const boost::system::error_code& error) {
    if (!error) maintain();
  });
}

// The feed's one subscription, from the start of the runtime's replay ring
// (sequence 0 by design, so clients can catch up on what happened before
// they or this relay came; the feed holds no event until it succeeds, so
// there is nothing to resume after). On a request worker: the runtime may
// take its call timeout to answer, and the I/O thread must not wait for it.
// A failure is retried on the next maintenance tick; meanwhile subscribers
// simply see no events.
void SocketServer::Impl::subscribe_feed() {
  if (feed_subscribing) return;
  feed_subscribing = true;
  request_workers.post([this, plane = plane, feed = event_feed, mailbox = mailbox] {
    auto subscribed =
        plane->subscribe_events([feed](const Event& event) { feed->on_event(event); }, 0);
    auto result = std::make_shared<Expected<ipc::Subscription>>(std::move(subscribed));
    // Dropped (and so unsubscribed) if the server stopped meanwhile.
    mailbox->post([this, result] {
      feed_subscribing = false;
      if (!*result) {
        problem_log.log(LogLevel::Warn, "dashboard relay: event subscription failed; retrying",
                        {{"REASON", result->error().message}});
        return;
      }
      feed_subscription = std::move(**result);
      feed_subscribed = true;
    });
  });
}

// Coalesced: 200 clients connecting at once make one report, not 200.
void SocketServer::Impl::schedule_report() {
  if (!reporting || report_pending) return;
  report_pending = true;
  boost::asio::post(io, [this] {
    report_pending = false;
    if (reporting) report_now();
  });
}

void SocketServer::Impl::report_now() {
  bool any_subscriber = false;
  for (const auto& [raw, session] : sessions) any_subscriber |= session->subscribed_to_events();
  EndpointStatus report{any_subscriber ? EndpointLink::Connected : EndpointLink::Listening,
                        static_cast<std::uint32_t>(sessions.size())};
  if (last_report == report) return;
  last_report = report;
  plane->report_endpoint_status(report);
}

void SocketServer::Impl::shut_down_clients() {
  boost::system::error_code ignored;
  acceptor.close(ignored);
  maintenance_timer.cancel();
  accept_retry_timer.cancel();
  drain_timer.cancel();
  for_each_session([](ClientSession& session) { session.close(); });
  // Run the aborted operations' handlers so they release their sessions
  // here, while the server they point into is whole.
  io.restart();
  io.poll();
}

void SocketServer::Impl::release_path() {
  if (!identity) return;
  listener_registry().remove(path, *identity);
  remove_if_same(path, *identity);
  identity.reset();
}

SocketServer::SocketServer(ServerOptions options, std::shared_ptr<ipc::ControlPlane> plane)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(plane))) {}

SocketServer::~SocketServer() = default;

Status SocketServer::bind() {
  return impl_->bind();
}

RunEnd SocketServer::run() {
  return impl_->run();
}

void SocketServer::stop() {
  impl_->stop(RunEnd::Stopped);
}

CountersSnapshot SocketServer::counters() const {
  const auto& c = impl_->counters;
  return {c.accepted.load(),
          c.rejected_too_many_clients.load(),
          c.dropped_slow_consumers.load(),
          c.event_gaps.load(),
          c.closed_idle.load(),
          c.closed_line_too_long.load(),
          c.rate_limited.load(),
          c.requests.load()};
}

std::uint32_t SocketServer::clients() const {
  return impl_->client_count.load();
}

}  // namespace sup::relay
