// Errors as values at the API boundary.
//
// Every fallible call of the public API returns `Expected<T>` (or `Status`,
// which is `Expected<void>`): the value, or an `Error` that says what went
// wrong as an `ErrorCode` and, for bad input, which field. Nothing crosses
// the API as an exception, and nothing answers a failure with an empty
// default: a query that timed out is `ErrorCode::Timeout`, never an empty
// tree or a sequence number 0.
//
//   sup::Expected<sup::DaemonConfig> cfg = sup::load_config(path);
//   if (!cfg) {
//     std::cerr << cfg.error().describe() << "\n";  // names the field path
//     return 78;
//   }
//
// The codes (a small set on purpose: a caller branches on them, the message
// and field_path carry the detail). Their `to_string` names are the
// snake_case spellings in parentheses, used in logs and JSON.
//
//   InvalidConfig (invalid_config)
//     The daemon's configuration (file, environment, startup paths such as
//     its socket's) is wrong. The daemon exits 78 (EX_CONFIG), whichever
//     layer finds it.
//   InvalidArgument (invalid_argument)
//     A caller's input is wrong: a child spec, a command's fields. field_path
//     names the field ("spec.exec[0]", "children[2].backoff.max_ms").
//     Retrying the same input fails the same way.
//   NotFound (not_found)
//     The named thing (a child, a process, an execution) does not exist.
//   AlreadyExists (already_exists)
//     What the caller wants to create exists already (an execution id).
//   PermissionDenied (permission_denied)
//     The caller may not do this (a socket's permissions, a peer's uid).
//   FailedPrecondition (failed_precondition)
//     The input is fine but the system is not in a state to do it (the
//     store is open already, an execution is not finished yet).
//   Timeout (timeout)
//     No answer within the deadline: the control loop is blocked or
//     overloaded, or a peer is silent. The operation may still happen;
//     retrying later can succeed.
//   Unavailable (unavailable)
//     The other side is not there: the daemon is not running, the socket is
//     stale, the runtime is stopping. Retrying later can succeed.
//   Disconnected (disconnected)
//     The other side went away in the middle of a conversation.
//   ProtocolError (protocol_error)
//     A peer answered with something that is not the protocol.
//   SpawnFailed (spawn_failed)
//     An external process could not be started (missing binary, exec
//     failure, bad working directory).
//   StoreFull (store_full)
//     Persistent state cannot be written because its storage is full.
//     Nothing was written; the same write succeeds once space exists.
//   DataLoss (data_loss)
//     Stored data failed its checksum or structure check.
//   Unsupported (unsupported)
//     Data or a request of a newer format or version than this build knows.
//   IoError (io_error)
//     A file, directory or system call failed (state_dir, pipes, signals).
//   Internal (internal)
//     A condition the code does not expect: a bug to report.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace sup {

// X(enumerator, snake_case name): the one list the enum and its names come from.
#define SUP_ERROR_CODES(X)                     \
  X(InvalidConfig, "invalid_config")           \
  X(InvalidArgument, "invalid_argument")       \
  X(NotFound, "not_found")                     \
  X(AlreadyExists, "already_exists")           \
  X(PermissionDenied, "permission_denied")     \
  X(FailedPrecondition, "failed_precondition") \
  X(Timeout, "timeout")                        \
  X(Unavailable, "unavailable")                \
  X(Disconnected, "disconnected")              \
  X(ProtocolError, "protocol_error")           \
  X(SpawnFailed, "spawn_failed")               \
  X(StoreFull, "store_full")                   \
  X(DataLoss, "data_loss")                     \
  X(Unsupported, "unsupported")                \
  X(IoError, "io_error")                       \
  X(Internal, "internal")

enum class ErrorCode : std::uint8_t {
#define SUP_ERROR_CODE_ENUMERATOR(name, text) name,
  SUP_ERROR_CODES(SUP_ERROR_CODE_ENUMERATOR)
#undef SUP_ERROR_CODE_ENUMERATOR
};

constexpr std::string_view to_string(ErrorCode code) {
  switch (code) {
#define SUP_ERROR_CODE_NAME(name, text) \
  case ErrorCode::name:                 \
    return text;
    SUP_ERROR_CODES(SUP_ERROR_CODE_NAME)
#undef SUP_ERROR_CODE_NAME
  }
  return "internal";
}

// "field_path=\"spec.id\": must not be empty", or just the message when the
// error is not about a field.
inline std::string describe_field_error(std::string_view field_path, std::string_view message) {
  if (field_path.empty()) return std::string(message);
  return "field_path=\"" + std::string(field_path) + "\": " + std::string(message);
}

struct Error {
  ErrorCode code = ErrorCode::Internal;
  std::string message;
  // Dotted path of the offending input field ("children[2].backoff.max_ms"),
  // empty when the error is not about a field.
  std::string field_path;

  // `message` prefixed with `field_path="..."` when there is one.
  std::string describe() const { return describe_field_error(field_path, message); }
};

inline Error make_error(ErrorCode code, std::string message, std::string field_path = {}) {
  return Error{code, std::move(message), std::move(field_path)};
}

template <class T>
class [[nodiscard]] Expected {
 public:
  Expected(T value) : storage_(std::move(value)) {}
  Expected(Error error) : storage_(std::move(error)) {}

  bool has_value() const { return storage_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & { return std::get<0>(storage_); }
  const T& value() const& { return std::get<0>(storage_); }
  T&& value() && { return std::get<0>(std::move(storage_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const { return std::get<1>(storage_); }

 private:
  std::variant<T, Error> storage_;
};

template <>
class [[nodiscard]] Expected<void> {
 public:
  Expected() = default;
  Expected(Error error) : error_(std::move(error)), ok_(false) {}

  bool has_value() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Expected<void>;

}  // namespace sup
