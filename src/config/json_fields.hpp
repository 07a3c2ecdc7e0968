// Strict, path-aware reading of JSON objects for the config parsers.
//
// Every field read knows its path ("children[2].backoff.max_ms"), wrong
// types and out-of-range values are rejected, and so are unknown keys (with
// a "did you mean" hint, because a typo that silently keeps a default is
// the classic 3 a.m. surprise). Errors are sticky: the first one is kept and
// later reads become no-ops, so a parser reads straight through and checks
// once at the end:
//
//   ErrorSlot errors;
//   ObjectReader backoff(node, "children[2].backoff", errors);
//   backoff.allow_only(kBackoffKeys);
//   backoff.read("max_ms", spec.max_ms, Range<std::uint32_t>{1, 3'600'000});
//   if (!errors.ok()) return errors.take();
#pragma once

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "sup/error.hpp"

namespace sup::config {

// "" + "dashboard" → "dashboard"; "children[2]" + "id" → "children[2].id".
std::string join_path(std::string_view path, std::string_view key);
// "children" + 2 → "children[2]".
std::string index_path(std::string_view path, std::size_t index);

// Keeps the first error of a parse; later ones are usually its consequences.
class ErrorSlot {
 public:
  void fail(std::string field_path, std::string message);
  bool ok() const { return !error_.has_value(); }
  Error take() const { return *error_; }

 private:
  std::optional<Error> error_;
};

template <class T>
struct Range {
  T min = std::numeric_limits<T>::lowest();
  T max = std::numeric_limits<T>::max();
};

enum class Presence : std::uint8_t { Optional, Required };

class ObjectReader {
 public:
  // Fails at `path` unless `node` is an object; then every read is a no-op.
  ObjectReader(const nlohmann::json& node, std::string path, ErrorSlot& errors);

  // Rejects the first key not in `allowed`. `context` ends up in the
  // message: unknown key "exec" for kind "task".
  void allow_only(std::span<const std::string_view> allowed, std::string_view context = {});

  std::string field_path(std::string_view key) const { return join_path(path_, key); }
  // The raw value of `key`, or nullptr when absent (or after an error).
  const nlohmann::json* find(std::string_view key) const;
  // Records an error at `key`'s path.
  void fail(std::string_view key, std::string message) const;

  // A missing optional key leaves `out` untouched (its default).
  void read(std::string_view key, bool& out, Presence presence = Presence::Optional) const;
  // Strings must be non-blank.
  void read(std::string_view key, std::string& out, Presence presence = Presence::Optional) const;
  void read(std::string_view key, std::uint32_t& out, Range<std::uint32_t> range = {},
            Presence presence = Presence::Optional) const;
  void read(std::string_view key, std::uint64_t& out, Presence presence = Presence::Optional) const;
  void read(std::string_view key, double& out, Range<double> range = {},
            Presence presence = Presence::Optional) const;

  // An enum spelled as one of its canonical names; `choices` lists them
  // for the message.
  template <class Enum>
  void read_enum(std::string_view key, Enum& out,
                 std::optional<Enum> (*from_string)(std::string_view), std::string_view choices,
                 Presence presence = Presence::Optional) const {
    const nlohmann::json* value = find_checked(key, presence);
    if (!value) return;
    if (!value->is_string()) return fail(key, "must be a string, one of " + std::string(choices));
    if (auto parsed = from_string(value->get_ref<const std::string&>())) {
      out = *parsed;
    } else {
      fail(key, "unknown value \"" + value->get<std::string>() + "\"; expected one of " +
                    std::string(choices));
    }
  }

 private:
  // The value of `key`, or nullptr when it is absent (an error if required)
  // or an earlier error stopped the parse.
  const nlohmann::json* find_checked(std::string_view key, Presence presence) const;

  const nlohmann::json* node_;
  std::string path_;
  ErrorSlot& errors_;
};

// Name of a JSON value's type for messages: "a string", "an array", ...
std::string_view json_type_name(const nlohmann::json& value);

}  // namespace sup::config
