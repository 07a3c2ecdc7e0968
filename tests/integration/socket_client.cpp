#include "socket_client.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstring>
#include <thread>

namespace sup::it {
namespace {

constexpr std::chrono::milliseconds kConnectRetry{10};

int poll_timeout_ms(Clock::time_point deadline) {
  auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
  if (left <= 0) return 0;
  return left > INT_MAX ? INT_MAX : static_cast<int>(left);
}

bool worth_retrying(int error) {
  return error == ENOENT || error == ECONNREFUSED || error == EAGAIN;
}

std::string unique_suffix() {
  static std::atomic<unsigned> counter{0};
  return std::to_string(getpid()) + "-" + std::to_string(counter.fetch_add(1)) + "-" +
         std::to_string(Clock::now().time_since_epoch().count());
}

}  // namespace

int SocketClient::connect_once(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path) return -ENAMETOOLONG;
  std::memcpy(address.sun_path, path.data(), path.size());
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -errno;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0) return fd;
  int error = errno;
  close(fd);
  return -error;
}

Expected<SocketClient> SocketClient::connect(const std::string& path, Clock::time_point deadline) {
  for (;;) {
    int fd = connect_once(path);
    if (fd >= 0) return SocketClient(fd);
    if (!worth_retrying(-fd) || Clock::now() + kConnectRetry >= deadline)
      return make_error(ErrorCode::Unavailable,
                        "cannot connect to " + path + ": " + std::strerror(-fd));
    std::this_thread::sleep_for(kConnectRetry);
  }
}

SocketClient::SocketClient(int fd) : fd_(fd) {}

SocketClient::SocketClient(SocketClient&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      closed_(other.closed_),
      buffer_(std::move(other.buffer_)),
      pushes_(std::move(other.pushes_)),
      next_request_(other.next_request_) {}

SocketClient& SocketClient::operator=(SocketClient&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    closed_ = other.closed_;
    buffer_ = std::move(other.buffer_);
    pushes_ = std::move(other.pushes_);
    next_request_ = other.next_request_;
  }
  return *this;
}

SocketClient::~SocketClient() {
  if (fd_ >= 0) close(fd_);
}

bool SocketClient::send_all(std::string_view bytes, Clock::time_point deadline) {
  while (!bytes.empty()) {
    ssize_t sent = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (sent > 0) {
      bytes.remove_prefix(static_cast<std::size_t>(sent));
      continue;
    }
    if (sent < 0 && errno == EINTR) continue;
    if (sent < 0 && errno == EAGAIN) {
      pollfd entry{fd_, POLLOUT, 0};
      if (poll(&entry, 1, poll_timeout_ms(deadline)) <= 0) return false;
      continue;
    }
    return false;
  }
  return true;
}

std::optional<std::string> SocketClient::send_request(std::string_view method, const Json& params,
                                                      Clock::time_point deadline) {
  std::string request_id = "it-" + std::to_string(++next_request_);
  Json request = {{"request_id", request_id}, {"method", method}, {"params", params}};
  if (!send_all(request.dump() + "\n", deadline)) return std::nullopt;
  return request_id;
}

std::optional<std::string> SocketClient::read_line(Clock::time_point deadline) {
  char chunk[64 * 1024];
  for (;;) {
    auto newline = buffer_.find('\n');
    if (newline != std::string::npos) {
      std::string line = buffer_.substr(0, newline);
      buffer_.erase(0, newline + 1);
      return line;
    }
    if (closed_) return std::nullopt;
    ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n > 0) {
      buffer_.append(chunk, static_cast<std::size_t>(n));
      continue;
    }
    if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
      closed_ = true;
      continue;
    }
    if (errno == EINTR) continue;
    pollfd entry{fd_, POLLIN, 0};
    if (poll(&entry, 1, poll_timeout_ms(deadline)) <= 0) return std::nullopt;
  }
}

std::optional<Json> SocketClient::read_message(Clock::time_point deadline) {
  auto line = read_line(deadline);
  if (!line) return std::nullopt;
  Json parsed = Json::parse(*line, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return Json(*line);
  return parsed;
}

std::optional<Json> SocketClient::await_response(const std::string& request_id,
                                                 Clock::time_point deadline) {
  for (;;) {
    auto message = read_message(deadline);
    if (!message) return std::nullopt;
    if (message->is_object() && message->contains("ok")) {
      const Json& id = (*message)["request_id"];
      if (id.is_string() && id.get<std::string>() == request_id) return message;
      // An error about a line it could not read carries the seed's placeholder id.
      if (id == "invalid-request") return message;
      continue;
    }
    pushes_.push_back(std::move(*message));
  }
}

std::optional<Json> SocketClient::call(std::string_view method, const Json& params,
                                       Clock::time_point deadline) {
  auto request_id = send_request(method, params, deadline);
  if (!request_id) return std::nullopt;
  return await_response(*request_id, deadline);
}

std::optional<Json> SocketClient::next_push(Clock::time_point deadline) {
  for (;;) {
    if (!pushes_.empty()) {
      Json push = std::move(pushes_.front());
      pushes_.pop_front();
      return push;
    }
    auto message = read_message(deadline);
    if (!message) return std::nullopt;
    if (message->is_object() && message->contains("ok")) continue;  // a late response
    return message;
  }
}

Json command_params(const std::string& target, const Json& extra) {
  Json params = {{"command_id", "it-cmd-" + unique_suffix()},
                 {"reason", "integration test"},
                 {"requested_by", "integration-test"},
                 {"confirmed", true}};
  if (!target.empty()) params["target"] = target;
  for (const auto& [key, value] : extra.items()) params[key] = value;
  return params;
}

std::string error_code(const Json& response) {
  if (!response.is_object()) return "";
  const Json* error = nullptr;
  if (response.contains("error") && response["error"].is_object()) error = &response["error"];
  if (!error || !error->contains("code") || !(*error)["code"].is_string()) return "";
  return (*error)["code"].get<std::string>();
}

}  // namespace sup::it
