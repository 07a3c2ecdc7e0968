// Errors as values at the API boundary.
//
// Every fallible call of the public API returns `Expected<T>` (or `Status`,
// which is `Expected<void>`): the value, or an `Error` that says what went
// wrong and, for bad input, which field. Nothing crosses the API as an
// exception.
//
//   sup::Expected<sup::DaemonConfig> cfg = sup::load_config(path);
//   if (!cfg) {
//     std::cerr << cfg.error().describe() << "\n";  // names the field path
//     return 78;
//   }
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace sup {

struct Error {
  // Machine-readable category, e.g. "invalid_config", "spawn_failed".
  std::string code;
  std::string message;
  // Dotted path of the offending input field ("children[2].backoff.max_ms"),
  // empty when the error is not about a field.
  std::string field_path;

  // `message` prefixed with `field_path="..."` when there is one.
  std::string describe() const {
    if (field_path.empty()) return message;
    return "field_path=\"" + field_path + "\": " + message;
  }
};

inline Error make_error(std::string code, std::string message, std::string field_path = {}) {
  return Error{std::move(code), std::move(message), std::move(field_path)};
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
