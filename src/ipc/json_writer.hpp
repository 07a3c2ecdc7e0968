// A small append-only JSON writer for everything the IPC server sends.
//
// Why not nlohmann::json::dump(): a 10,000-child state is ~3 MB and building
// a DOM first doubles the work; and text from outside (child output, error
// messages quoting input) may be invalid UTF-8, which dump() throws on.
// Here invalid bytes become U+FFFD, so output is always valid JSON.
//
//   std::string out;
//   sup::ipc::JsonWriter w(out);
//   w.begin_object().field("ok", true).key("ids").begin_array().value("a").end_array().end_object();
//   // out == R"({"ok":true,"ids":["a"]})"
#pragma once

#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>

namespace sup::ipc {

class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}

  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view name);

  JsonWriter& value(std::string_view text);
  JsonWriter& value(const char* text) { return value(std::string_view(text)); }
  JsonWriter& value(const std::string& text) { return value(std::string_view(text)); }
  JsonWriter& value(bool flag);
  JsonWriter& value(double number);  // non-finite numbers become null
  template <std::integral T>
    requires(!std::same_as<T, bool>)
  JsonWriter& value(T number) {
    if constexpr (std::is_signed_v<T>)
      return write_integer(static_cast<std::int64_t>(number));
    else
      return write_integer(static_cast<std::uint64_t>(number));
  }
  JsonWriter& null();
  // Inserts already-serialized JSON as the next value.
  JsonWriter& raw(std::string_view json);

  template <class T>
  JsonWriter& field(std::string_view name, const T& v) {
    key(name);
    return value(v);
  }

 private:
  void separate();
  JsonWriter& write_integer(std::int64_t number);
  JsonWriter& write_integer(std::uint64_t number);

  std::string& out_;
  bool need_comma_ = false;
};

// Appends `text` as a quoted JSON string, replacing invalid UTF-8 with U+FFFD.
void append_json_string(std::string& out, std::string_view text);

}  // namespace sup::ipc
