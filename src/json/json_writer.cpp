#include "json/json_writer.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace sup {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

bool is_continuation(unsigned char byte) {
  return (byte & 0xC0) == 0x80;
}

// Length of the well-formed UTF-8 sequence at `text[i]` (lead byte >= 0x80),
// or 0 when it is not one (RFC 3629: no overlongs, surrogates, > U+10FFFF).
std::size_t utf8_sequence_length(std::string_view text, std::size_t i) {
  auto at = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  unsigned char lead = at(i);
  std::size_t length = 0;
  unsigned char min_second = 0x80, max_second = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) min_second = 0xA0;
    if (lead == 0xED) max_second = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) min_second = 0x90;
    if (lead == 0xF4) max_second = 0x8F;
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  if (at(i + 1) < min_second || at(i + 1) > max_second) return 0;
  for (std::size_t k = 2; k < length; ++k)
    if (!is_continuation(at(i + k))) return 0;
  return length;
}

std::string_view escape_of(unsigned char byte, char (&scratch)[7]) {
  switch (byte) {
    case '"':
      return "\\\"";
    case '\\':
      return "\\\\";
    case '\n':
      return "\\n";
    case '\r':
      return "\\r";
    case '\t':
      return "\\t";
    case '\b':
      return "\\b";
    case '\f':
      return "\\f";
    default: {
      constexpr char kHex[] = "0123456789abcdef";
      std::memcpy(scratch, "\\u00", 4);
      scratch[4] = kHex[byte >> 4];
      scratch[5] = kHex[byte & 0xF];
      return {scratch, 6};
    }
  }
}

}  // namespace

void JsonWriter::grow(std::size_t more) {
  buffer_.resize(std::max({buffer_.size() * 2, length_ + more, std::size_t{256}}));
}

std::string JsonWriter::take() {
  buffer_.resize(length_);
  length_ = 0;
  need_comma_ = false;
  return std::move(buffer_);
}

void JsonWriter::write_escaped_string(std::string_view text, std::size_t clean) {
  put('"');
  put(text.substr(0, clean));
  std::size_t i = clean;
  while (i < text.size()) {
    std::size_t run = i;
    while (run < text.size() && !needs_escape(static_cast<unsigned char>(text[run]))) ++run;
    put(text.substr(i, run - i));
    i = run;
    if (i == text.size()) break;
    auto byte = static_cast<unsigned char>(text[i]);
    if (byte < 0x80) {
      char scratch[7];
      put(escape_of(byte, scratch));
      ++i;
    } else if (std::size_t length = utf8_sequence_length(text, i)) {
      put(text.substr(i, length));
      i += length;
    } else {
      put(kReplacement);
      ++i;
    }
  }
  put('"');
}

JsonWriter& JsonWriter::value(double number) {
  if (!std::isfinite(number)) return null();
  char buffer[32];
  auto end = std::to_chars(buffer, buffer + sizeof buffer, number).ptr;
  return raw({buffer, static_cast<std::size_t>(end - buffer)});
}

}  // namespace sup
