#include "supctl/text_format.hpp"

#include <cmath>
#include <cstdio>
#include <ctime>

namespace sup::cli {
namespace {

constexpr std::string_view kEllipsis = "…";

std::string printf_string(const char* format, auto... args) {
  char buffer[64];
  int length = std::snprintf(buffer, sizeof buffer, format, args...);
  if (length < 0) return {};
  return std::string(buffer,
                     std::min<std::size_t>(static_cast<std::size_t>(length), sizeof buffer - 1));
}

// Length of the UTF-8 sequence starting at `text[at]`, or 0 when it is not a
// valid one (bad lead byte, missing continuation, overlong or out of range).
std::size_t utf8_sequence_length(std::string_view text, std::size_t at) {
  const auto lead = static_cast<unsigned char>(text[at]);
  std::size_t length = 0;
  unsigned char second_min = 0x80, second_max = 0xBF;
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) second_min = 0xA0;  // overlong
    if (lead == 0xED) second_max = 0x9F;  // UTF-16 surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) second_min = 0x90;  // overlong
    if (lead == 0xF4) second_max = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (at + length > text.size()) return 0;
  for (std::size_t i = 1; i < length; ++i) {
    const auto byte = static_cast<unsigned char>(text[at + i]);
    const unsigned char min = i == 1 ? second_min : 0x80;
    const unsigned char max = i == 1 ? second_max : 0xBF;
    if (byte < min || byte > max) return 0;
  }
  return length;
}

bool is_c1_control(std::string_view text, std::size_t at, std::size_t length) {
  return length == 2 && static_cast<unsigned char>(text[at]) == 0xC2 &&
         static_cast<unsigned char>(text[at + 1]) < 0xA0;
}

// Byte offset after the first `columns` code points of sanitized text.
std::size_t prefix_bytes(std::string_view text, std::size_t columns) {
  std::size_t at = 0;
  for (std::size_t taken = 0; at < text.size() && taken < columns; ++taken) {
    std::size_t length = utf8_sequence_length(text, at);
    at += length == 0 ? 1 : length;
  }
  return at;
}

}  // namespace

std::string format_duration_ms(std::uint64_t ms) {
  constexpr std::uint64_t kSecond = 1000, kMinute = 60 * kSecond, kHour = 60 * kMinute,
                          kDay = 24 * kHour;
  if (ms < kSecond) return printf_string("%llums", static_cast<unsigned long long>(ms));
  if (ms < 10 * kSecond)
    return printf_string("%llu.%llus", static_cast<unsigned long long>(ms / kSecond),
                         static_cast<unsigned long long>(ms % kSecond / 100));
  if (ms < kMinute) return printf_string("%llus", static_cast<unsigned long long>(ms / kSecond));
  if (ms < kHour)
    return printf_string("%llum%02llus", static_cast<unsigned long long>(ms / kMinute),
                         static_cast<unsigned long long>(ms % kMinute / kSecond));
  if (ms < kDay)
    return printf_string("%lluh%02llum", static_cast<unsigned long long>(ms / kHour),
                         static_cast<unsigned long long>(ms % kHour / kMinute));
  return printf_string("%llud%02lluh", static_cast<unsigned long long>(ms / kDay),
                       static_cast<unsigned long long>(ms % kDay / kHour));
}

std::string format_age(std::int64_t now_ms, std::int64_t at_ms) {
  return format_duration_ms(now_ms > at_ms ? static_cast<std::uint64_t>(now_ms - at_ms) : 0);
}

std::string format_local_time(std::int64_t unix_ms, TimeStyle style) {
  const std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000 - (unix_ms % 1000 < 0));
  const auto millis = static_cast<int>((unix_ms % 1000 + 1000) % 1000);
  std::tm local{};
  if (localtime_r(&seconds, &local) == nullptr) return "?";
  char buffer[32];
  const char* format = style == TimeStyle::Clock ? "%H:%M:%S" : "%Y-%m-%d %H:%M:%S";
  std::size_t length = std::strftime(buffer, sizeof buffer, format, &local);
  std::string text(buffer, length);
  if (style == TimeStyle::Full) text += printf_string(".%03d", millis);
  return text;
}

std::string format_tokens(double tokens, double capacity) {
  if (!std::isfinite(tokens) || !std::isfinite(capacity)) return "?";
  const double tenths = std::floor(std::max(tokens, 0.0) * 10.0 + 1e-9) / 10.0;
  return printf_string("%.1f/%g", tenths, capacity);
}

std::string format_rate(double per_second) {
  if (!std::isfinite(per_second) || per_second < 0) return "?";
  if (per_second < 100) return printf_string("%.1f/s", per_second);
  if (per_second < 10'000) return printf_string("%.0f/s", per_second);
  return printf_string("%.1fk/s", per_second / 1000.0);
}

std::string sanitize(std::string_view text) {
  std::string clean;
  clean.reserve(text.size());
  for (std::size_t at = 0; at < text.size();) {
    const std::size_t length = utf8_sequence_length(text, at);
    const auto byte = static_cast<unsigned char>(text[at]);
    if (length == 0) {
      clean += '?';
      at += 1;
      continue;
    }
    if (length == 1 && (byte < 0x20 || byte == 0x7F)) {
      clean += (byte == '\t' || byte == '\n' || byte == '\r') ? ' ' : '?';
    } else if (is_c1_control(text, at, length)) {
      clean += '?';
    } else {
      clean.append(text.substr(at, length));
    }
    at += length;
  }
  return clean;
}

std::size_t display_width(std::string_view utf8) {
  std::size_t columns = 0;
  for (std::size_t at = 0; at < utf8.size(); ++columns) {
    const std::size_t length = utf8_sequence_length(utf8, at);
    at += length == 0 ? 1 : length;
  }
  return columns;
}

std::string fit(std::string_view text, std::size_t width) {
  std::string clean = sanitize(text);
  if (display_width(clean) <= width) return clean;
  if (width == 0) return {};
  std::string cut = clean.substr(0, prefix_bytes(clean, width - 1));
  cut += kEllipsis;
  return cut;
}

std::string pad_right(std::string_view text, std::size_t width) {
  std::string cell = fit(text, width);
  cell.append(width - display_width(cell), ' ');
  return cell;
}

std::string pad_left(std::string_view text, std::size_t width) {
  std::string cell = fit(text, width);
  return std::string(width - display_width(cell), ' ') + cell;
}

std::string_view strip_qualifier(std::string_view name) {
  const std::size_t separator = name.rfind("::");
  return separator == std::string_view::npos ? name : name.substr(separator + 2);
}

}  // namespace sup::cli
