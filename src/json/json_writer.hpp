// A small append-only JSON writer for everything the IPC server sends.
//
// Why not nlohmann::json::dump(): a 10,000-child state is ~4.7 MB and
// building a DOM first doubles the work; and text from outside (child
// output, error messages quoting input) may be invalid UTF-8, which dump()
// throws on. Here invalid bytes become U+FFFD, so output is always valid
// JSON. Bytes go through inline raw-pointer writes: libstdc++'s
// std::string::push_back/append are out-of-line calls, and per byte they
// were most of the cost.
//
//   sup::JsonWriter w;
//   w.begin_object().field("ok",
//   true).key("ids").begin_array().value("a").end_array().end_object(); std::string json =
//   w.take();  // R"({"ok":true,"ids":["a"]})"
#pragma once

#include <charconv>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace sup {

class JsonWriter {
 public:
  // Room for `bytes` more: one allocation instead of a doubling series
  // (and its page faults) for a multi-megabyte document.
  void reserve_more(std::size_t bytes) { ensure(bytes); }

  JsonWriter& begin_object() { return open('{'); }
  JsonWriter& end_object() { return close('}'); }
  JsonWriter& begin_array() { return open('['); }
  JsonWriter& end_array() { return close(']'); }
  JsonWriter& key(std::string_view name) {
    separate();
    write_string(name);
    put(':');
    return *this;
  }
  // A key spelled in our source: nothing to escape, so no scan. Half the
  // bytes of a state answer are such keys.
  template <std::size_t N>
  JsonWriter& key(const char (&name)[N]) {
    separate();
    ensure(N + 2);
    buffer_[length_++] = '"';
    copy({name, N - 1});
    buffer_[length_++] = '"';
    buffer_[length_++] = ':';
    return *this;
  }

  JsonWriter& value(std::string_view text) {
    separate();
    write_string(text);
    need_comma_ = true;
    return *this;
  }
  JsonWriter& value(const char* text) { return value(std::string_view(text)); }
  JsonWriter& value(const std::string& text) { return value(std::string_view(text)); }
  JsonWriter& value(bool flag) { return raw(flag ? "true" : "false"); }
  JsonWriter& value(double number);  // non-finite numbers become null
  template <std::integral T>
  requires(!std::same_as<T, bool>) JsonWriter& value(T number) {
    if constexpr (std::is_signed_v<T>)
      return write_integer(static_cast<std::int64_t>(number));
    else
      return write_integer(static_cast<std::uint64_t>(number));
  }
  JsonWriter& null() { return raw("null"); }
  // Inserts already-serialized JSON as the next value.
  JsonWriter& raw(std::string_view json) {
    separate();
    put(json);
    need_comma_ = true;
    return *this;
  }

  template <class Key, class T>
  JsonWriter& field(const Key& name, const T& v) {
    key(name);
    return value(v);
  }

  // The text written so far; the writer starts over empty.
  std::string take();
  // The same, ended by the protocol's '\n'.
  std::string take_line() {
    put('\n');
    return take();
  }

 private:
  void ensure(std::size_t more) {
    if (length_ + more > buffer_.size()) grow(more);
  }
  void grow(std::size_t more);
  void put(char c) {
    ensure(1);
    buffer_[length_++] = c;
  }
  void put(std::string_view text) {
    ensure(text.size());
    copy(text);
  }
  // After ensure(). An empty view may have a null data(), which memcpy
  // must not see.
  void copy(std::string_view text) {
    if (text.empty()) return;
    std::memcpy(buffer_.data() + length_, text.data(), text.size());
    length_ += text.size();
  }
  void separate() {
    if (need_comma_) put(',');
    need_comma_ = false;
  }
  JsonWriter& open(char bracket) {
    separate();
    put(bracket);
    return *this;
  }
  JsonWriter& close(char bracket) {
    put(bracket);
    need_comma_ = true;
    return *this;
  }
  static bool needs_escape(unsigned char byte) {
    return byte < 0x20 || byte == '"' || byte == '\\' || byte >= 0x80;
  }
  // Quoted; the common case (nothing to escape) is one copy.
  void write_string(std::string_view text) {
    std::size_t i = 0;
    while (i < text.size() && !needs_escape(static_cast<unsigned char>(text[i]))) ++i;
    if (i < text.size()) return write_escaped_string(text, i);
    ensure(text.size() + 2);
    buffer_[length_++] = '"';
    copy(text);
    buffer_[length_++] = '"';
  }
  // `clean` bytes at the start need no escaping.
  void write_escaped_string(std::string_view text, std::size_t clean);
  template <class Integer>
  JsonWriter& write_integer(Integer number) {
    separate();
    ensure(24);
    auto end = std::to_chars(buffer_.data() + length_, buffer_.data() + buffer_.size(), number).ptr;
    length_ = static_cast<std::size_t>(end - buffer_.data());
    need_comma_ = true;
    return *this;
  }

  std::string buffer_;  // its size is capacity; length_ bytes are written
  std::size_t length_ = 0;
  bool need_comma_ = false;
};

}  // namespace sup
