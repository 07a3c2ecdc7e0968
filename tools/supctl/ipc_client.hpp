// The client end of the daemon's socket: newline-delimited JSON requests,
// responses and pushes (docs/ipc.md, envelope of `dashboard-ipc.v1`).
//
// One-shot commands use `call()`; streams (events, logs, the dashboard)
// poll `fd()` and drain `receive()`. Failures of the link itself are
// `sup::Error`s with the `link_error` codes below and a message meant for an
// operator; an answer with `ok: false` is not a link failure but a
// `Message` whose body is the daemon's error object.
//
//   auto client = IpcClient::connect("/tmp/supervisor.sock", deadline_in(5s));
//   if (!client) die(client.error().message);  // "supervisor is not running (...)"
//   auto reply = client->call("state", {}, deadline_in(5s));
//   if (reply && reply->ok) print(parse_state(reply->body));
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "process/unique_fd.hpp"
#include "sup/error.hpp"

namespace sup::cli {

using Deadline = std::chrono::steady_clock::time_point;
Deadline deadline_in(std::chrono::milliseconds timeout);

namespace link_error {
// Both mean nobody serves the socket (no file; a file nobody listens on).
inline constexpr ErrorCode kNotRunning = ErrorCode::Unavailable;
inline constexpr ErrorCode kStaleSocket = ErrorCode::Unavailable;
inline constexpr ErrorCode kPermissionDenied = ErrorCode::PermissionDenied;
inline constexpr ErrorCode kConnectFailed = ErrorCode::IoError;
inline constexpr ErrorCode kDisconnected = ErrorCode::Disconnected;  // closed mid-conversation
inline constexpr ErrorCode kTimeout = ErrorCode::Timeout;
inline constexpr ErrorCode kBadResponse = ErrorCode::ProtocolError;  // not the protocol
// The process serving the socket runs as a uid supctl does not trust.
inline constexpr ErrorCode kUntrustedServer = ErrorCode::FailedPrecondition;
}  // namespace link_error

// Whose server supctl talks to: root, its own effective uid, and the uid
// the operator vouched for with --trust-uid. Anything else may be an
// impostor listening at the operator's socket path, and must not receive
// commands and reasons, nor have its answers printed as the daemon's.
struct ServerTrust {
  std::optional<std::uint32_t> extra_uid;  // --trust-uid

  bool trusts(std::uint32_t uid) const;
};

// kUntrustedServer unless the server of the connected socket `fd`
// (SO_PEERCRED: the uid that listened) is trusted.
Status check_server_uid(int fd, const std::string& path, const ServerTrust& trust);

struct Message {
  enum Kind : unsigned char { Response, Push };
  Kind kind = Push;
  // Responses: the request's id; empty when the daemon could not read the
  // request well enough to know it.
  std::string request_id;
  bool ok = true;
  // Responses: `result` when ok, else `error`. Pushes: the whole object.
  nlohmann::json body;
};

// One line of the stream; kBadResponse when it is not the protocol.
Expected<Message> parse_message(std::string_view line);

// The operator's explanation of a failed connect(2) to `path`: what is
// wrong (not running, stale socket, permissions, not a socket) and what to do.
Error connect_error(int error_number, const std::string& path);

class IpcClient {
 public:
  // A single line longer than this is not something the daemon sends.
  static constexpr std::size_t kMaxLineBytes = std::size_t{64} << 20;

  // Connects and checks the server's uid against `trust` (by default: root
  // and our own uid) before anything is sent.
  static Expected<IpcClient> connect(const std::string& path, Deadline deadline,
                                     const ServerTrust& trust = {});

  IpcClient(IpcClient&&) noexcept = default;
  IpcClient& operator=(IpcClient&&) noexcept = default;

  // Readable when `receive()` may have something; for poll(2).
  int fd() const { return fd_.get(); }

  // Sends a request without waiting for the answer; returns its request_id.
  Expected<std::string> send(std::string_view method, const nlohmann::json& params,
                             Deadline deadline);
  // The next response or push; kTimeout once `deadline` has passed (a
  // deadline in the past takes only what has already arrived).
  Expected<Message> receive(Deadline deadline);
  // Sends a request and waits for its response. Pushes that arrive in the
  // meantime are kept, in order, for `receive()`.
  Expected<Message> call(std::string_view method, const nlohmann::json& params, Deadline deadline);

 private:
  explicit IpcClient(process::UniqueFd fd) : fd_(std::move(fd)) {}
  Expected<Message> read_message(Deadline deadline);
  Status fill(Deadline deadline);

  process::UniqueFd fd_;
  std::string buffer_;  // received bytes; lines before `consumed_` are taken
  std::size_t consumed_ = 0;
  std::size_t scanned_ = 0;     // no newline in [consumed_, scanned_)
  std::deque<Message> queued_;  // pushes that arrived while call() waited
  std::uint64_t next_request_ = 1;
};

}  // namespace sup::cli
