#include "supctl/ipc_client.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <thread>

#include "supctl/text_format.hpp"
#include "supctl/wire_view.hpp"

namespace sup::cli {
namespace {

using nlohmann::json;
using std::chrono::steady_clock;

constexpr std::size_t kReadChunk = 64 * 1024;
constexpr std::size_t kQuotedLineLimit = 120;
constexpr auto kBacklogRetryPause = std::chrono::milliseconds(10);

Error link_failure(ErrorCode code, std::string message) {
  return make_error(code, std::move(message));
}

// Milliseconds poll(2) may wait before `deadline`: -1 for no deadline,
// rounded up so a wait never ends just before its deadline.
int poll_timeout(Deadline deadline) {
  if (deadline == Deadline::max()) return -1;
  const auto left = deadline - steady_clock::now();
  if (left <= steady_clock::duration::zero()) return 0;
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
  return ms > INT_MAX ? INT_MAX : static_cast<int>(ms);
}

// 1: ready, 0: deadline passed, -1: poll failed (errno set).
int wait_for(int fd, short events, Deadline deadline) {
  for (;;) {
    pollfd entry{fd, events, 0};
    const int ready = ::poll(&entry, 1, poll_timeout(deadline));
    if (ready >= 0) return ready;
    if (errno != EINTR) return -1;
  }
}

std::string quote_start(std::string_view line) {
  return "\"" + fit(line, kQuotedLineLimit) + "\"";
}

}  // namespace

Deadline deadline_in(std::chrono::milliseconds timeout) {
  return steady_clock::now() + timeout;
}

Expected<Message> parse_message(std::string_view line) {
  json object = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (object.is_discarded())
    return link_failure(link_error::kBadResponse,
                        "the supervisor sent a line that is not JSON: " + quote_start(line));
  if (!object.is_object())
    return link_failure(link_error::kBadResponse,
                        "the supervisor sent JSON that is not an object: " + quote_start(line));
  Message message;
  if (auto ok = object.find("ok"); ok != object.end()) {
    if (!ok->is_boolean())
      return link_failure(link_error::kBadResponse,
                          "the supervisor sent a response whose \"ok\" is not a boolean");
    message.kind = Message::Response;
    message.ok = ok->get<bool>();
    if (auto id = object.find("request_id"); id != object.end() && id->is_string())
      message.request_id = id->get<std::string>();
    auto body = object.find(message.ok ? "result" : "error");
    message.body = body != object.end() && body->is_object() ? std::move(*body) : json::object();
    return message;
  }
  if (type_of(object).empty())
    return link_failure(link_error::kBadResponse,
                        "the supervisor sent an object that is neither a response nor a push: " +
                            quote_start(line));
  message.kind = Message::Push;
  message.body = std::move(object);
  return message;
}

Error connect_error(int error_number, const std::string& path) {
  const std::string start_hint = "start it with `systemctl start supervisor` or tools/run";
  switch (error_number) {
    case ENOENT:
    case ENOTDIR:
      return link_failure(link_error::kNotRunning,
                          "supervisor is not running (no socket at " + path + "): " + start_hint);
    case ECONNREFUSED: {
      struct stat status {};
      if (::stat(path.c_str(), &status) == 0 && !S_ISSOCK(status.st_mode))
        return link_failure(link_error::kConnectFailed,
                            path +
                                " is not a socket: check --socket or $SUPERVISOR_SOCKET "
                                "against the daemon's dashboard.path");
      return link_failure(
          link_error::kStaleSocket,
          "supervisor is not running (stale socket at " + path +
              ": nothing is listening; the daemon replaces it when it starts): " + start_hint +
              ". If `pgrep -x supervisor` finds it, its relay is restarting: retry in a moment");
    }
    case EACCES:
    case EPERM:
      return link_failure(link_error::kPermissionDenied,
                          "permission denied on " + path +
                              " (the socket is mode 0660): run as the daemon's user, a member "
                              "of its group, or root");
    default:
      return link_failure(link_error::kConnectFailed,
                          "cannot connect to " + path + ": " + std::strerror(error_number));
  }
}

bool ServerTrust::trusts(std::uint32_t uid) const {
  return uid == 0 || uid == static_cast<std::uint32_t>(::geteuid()) || uid == extra_uid;
}

Status check_server_uid(int fd, const std::string& path, const ServerTrust& trust) {
  ucred server{};
  socklen_t length = sizeof server;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &server, &length) != 0)
    return link_failure(link_error::kUntrustedServer, "cannot tell who serves " + path +
                                                          " (SO_PEERCRED: " + std::strerror(errno) +
                                                          "); nothing was sent");
  const auto uid = static_cast<std::uint32_t>(server.uid);
  if (trust.trusts(uid)) return {};
  return link_failure(
      link_error::kUntrustedServer,
      "refusing to talk to " + path + ": it is served by uid " + std::to_string(uid) + " (pid " +
          std::to_string(server.pid) + "), which is neither root nor yours (uid " +
          std::to_string(::geteuid()) +
          "), so it may not be the supervisor; nothing was sent. If that uid runs the "
          "supervisor, pass --trust-uid " +
          std::to_string(uid));
}

Expected<IpcClient> IpcClient::connect(const std::string& path, Deadline deadline,
                                       const ServerTrust& trust) {
  auto checked = [&](process::UniqueFd fd) -> Expected<IpcClient> {
    if (auto trusted = check_server_uid(fd.get(), path, trust); !trusted) return trusted.error();
    return IpcClient(std::move(fd));
  };
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof address.sun_path)
    return link_failure(link_error::kConnectFailed,
                        "socket path \"" + path + "\" is empty or longer than " +
                            std::to_string(sizeof address.sun_path - 1) + " bytes");
  std::memcpy(address.sun_path, path.data(), path.size());

  for (;;) {
    process::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd)
      return link_failure(link_error::kConnectFailed,
                          std::string("cannot create a socket: ") + std::strerror(errno));
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0)
      return checked(std::move(fd));
    int error_number = errno;
    if (error_number == EINTR) continue;
    if (error_number == EINPROGRESS) {
      const int ready = wait_for(fd.get(), POLLOUT, deadline);
      if (ready == 0)
        return link_failure(link_error::kTimeout, "connecting to " + path + " timed out");
      socklen_t length = sizeof error_number;
      if (ready < 0) {
        error_number = errno;
      } else if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error_number, &length) != 0) {
        error_number = errno;
      }
      if (error_number == 0) return checked(std::move(fd));
    }
    // A full listen backlog: the daemon is alive but slow to accept.
    if (error_number == EAGAIN) {
      if (steady_clock::now() + kBacklogRetryPause >= deadline)
        return link_failure(link_error::kTimeout, "the supervisor accepts no connections on " +
                                                      path + " (its listen backlog is full)");
      std::this_thread::sleep_for(kBacklogRetryPause);
      continue;
    }
    return connect_error(error_number, path);
  }
}

Expected<std::string> IpcClient::send(std::string_view method, const json& params,
                                      Deadline deadline) {
  std::string request_id =
      "supctl-" + std::to_string(::getpid()) + "-" + std::to_string(next_request_++);
  const json request = {{"request_id", request_id}, {"method", method}, {"params", params}};
  const std::string line = to_line(request) + "\n";
  for (std::size_t sent = 0; sent < line.size();) {
    const ssize_t written =
        ::send(fd_.get(), line.data() + sent, line.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (written >= 0) {
      sent += static_cast<std::size_t>(written);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN) {
      const int ready = wait_for(fd_.get(), POLLOUT, deadline);
      if (ready > 0) continue;
      if (ready == 0)
        return link_failure(link_error::kTimeout,
                            "the supervisor does not read its socket (sending `" +
                                std::string(method) + "` timed out)");
    }
    if (errno == EPIPE || errno == ECONNRESET)
      return link_failure(
          link_error::kDisconnected,
          "the supervisor closed the connection (sending `" + std::string(method) + "`)");
    return link_failure(link_error::kDisconnected,
                        std::string("sending to the supervisor failed: ") + std::strerror(errno));
  }
  return request_id;
}

Expected<Message> IpcClient::receive(Deadline deadline) {
  if (!queued_.empty()) {
    Message message = std::move(queued_.front());
    queued_.pop_front();
    return message;
  }
  return read_message(deadline);
}

Expected<Message> IpcClient::call(std::string_view method, const json& params, Deadline deadline) {
  auto request_id = send(method, params, deadline);
  if (!request_id) return request_id.error();
  for (;;) {
    auto message = read_message(deadline);
    if (!message) {
      if (message.error().code == link_error::kTimeout)
        return link_failure(link_error::kTimeout, "no answer to `" + std::string(method) + "`");
      return message.error();
    }
    if (message->kind == Message::Push) {
      queued_.push_back(std::move(*message));
      continue;
    }
    // An error the daemon could not attach to a request id is about ours:
    // it is the only one in flight. Other answers are late ones to earlier
    // requests that timed out; they are dropped.
    const bool unattributed_error = message->request_id.empty() && !message->ok;
    if (message->request_id == *request_id || unattributed_error) return message;
  }
}

Expected<Message> IpcClient::read_message(Deadline deadline) {
  for (;;) {
    const std::size_t newline = buffer_.find('\n', scanned_);
    if (newline != std::string::npos) {
      std::string_view line(buffer_.data() + consumed_, newline - consumed_);
      consumed_ = scanned_ = newline + 1;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.empty()) continue;
      return parse_message(line);
    }
    scanned_ = buffer_.size();
    if (buffer_.size() - consumed_ > kMaxLineBytes)
      return link_failure(
          link_error::kBadResponse,
          "the supervisor sent a line longer than " + std::to_string(kMaxLineBytes >> 20) + " MiB");
    if (auto filled = fill(deadline); !filled) return filled.error();
  }
}

Status IpcClient::fill(Deadline deadline) {
  // Taken lines are dropped only now, so a string_view returned by
  // read_message() stayed valid until the caller parsed it.
  buffer_.erase(0, consumed_);
  scanned_ -= consumed_;
  consumed_ = 0;

  const int ready = wait_for(fd_.get(), POLLIN, deadline);
  if (ready == 0) return link_failure(link_error::kTimeout, "no message before the deadline");
  if (ready < 0)
    return link_failure(link_error::kDisconnected,
                        std::string("waiting on the socket failed: ") + std::strerror(errno));
  char chunk[kReadChunk];
  for (;;) {
    const ssize_t received = ::recv(fd_.get(), chunk, sizeof chunk, MSG_DONTWAIT);
    if (received > 0) {
      buffer_.append(chunk, static_cast<std::size_t>(received));
      return {};
    }
    if (received == 0)
      return link_failure(link_error::kDisconnected, "the supervisor closed the connection");
    if (errno == EINTR) continue;
    if (errno == EAGAIN) return {};
    return link_failure(link_error::kDisconnected,
                        std::string("reading from the supervisor failed: ") + std::strerror(errno));
  }
}

}  // namespace sup::cli
