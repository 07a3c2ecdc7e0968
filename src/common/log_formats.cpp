// The stderr formats as spdlog pattern formatters: spdlog writes the UTC
// timestamp, custom flags write what spdlog cannot know (our level names,
// the message and the fields carried in the payload).
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <string>
#include <string_view>

#include "common/log_backend.hpp"
#include "json/json_writer.hpp"

namespace sup::logging {
namespace {

void append(spdlog::memory_buf_t& dest, std::string_view text) {
  dest.append(text.data(), text.data() + text.size());
}

std::string_view upper_level_name(LogLevel level) {
  switch (level) {
    case LogLevel::Trace:
      return "TRACE";
    case LogLevel::Debug:
      return "DEBUG";
    case LogLevel::Info:
      return "INFO";
    case LogLevel::Warn:
      return "WARN";
    case LogLevel::Error:
      return "ERROR";
    case LogLevel::Critical:
      return "CRITICAL";
  }
  return "UNKNOWN";
}

bool needs_quotes(std::string_view value) {
  if (value.empty()) return true;
  for (unsigned char c : value)
    if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c == 0x7f) return true;
  return false;
}

// Escapes control characters so that one record stays one line; inside a
// quoted value, quotes and backslashes too.
void append_escaped(spdlog::memory_buf_t& dest, std::string_view text, bool quoted) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned char c : text) {
    if (c == '\n') {
      append(dest, "\\n");
    } else if (c == '\r') {
      append(dest, "\\r");
    } else if (c == '\t') {
      append(dest, "\\t");
    } else if (quoted && (c == '"' || c == '\\')) {
      dest.push_back('\\');
      dest.push_back(static_cast<char>(c));
    } else if (c < 0x20 || c == 0x7f) {
      append(dest, "\\x");
      dest.push_back(kHex[c >> 4]);
      dest.push_back(kHex[c & 0xf]);
    } else {
      dest.push_back(static_cast<char>(c));
    }
  }
}

// %U: "WARN"; %W: "warn" (sup's names, not spdlog's "warning").
class LevelFlag final : public spdlog::custom_flag_formatter {
 public:
  explicit LevelFlag(bool upper) : upper_(upper) {}
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    LogLevel level = from_spdlog(msg.level);
    append(dest, upper_ ? upper_level_name(level) : to_string(level));
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<LevelFlag>(upper_);
  }

 private:
  bool upper_;
};

// %V: the message, then " KEY=value" per field, escaped for one line.
class TextBodyFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    DecodedPayload decoded = decode_log_payload({msg.payload.data(), msg.payload.size()});
    append_escaped(dest, decoded.message, /*quoted=*/false);
    for (const auto& field : decoded.fields) {
      dest.push_back(' ');
      append(dest, field.key);
      dest.push_back('=');
      if (needs_quotes(field.value)) {
        dest.push_back('"');
        append_escaped(dest, field.value, /*quoted=*/true);
        dest.push_back('"');
      } else {
        append(dest, field.value);
      }
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<TextBodyFlag>();
  }
};

// %J: "msg":"...","KEY":"value",... (the inside of the JSON object).
class JsonBodyFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    DecodedPayload decoded = decode_log_payload({msg.payload.data(), msg.payload.size()});
    JsonWriter body;
    body.field("msg", decoded.message);
    for (const auto& field : decoded.fields) body.field(field.key, field.value);
    append(dest, body.take());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonBodyFlag>();
  }
};

constexpr const char* kTextPattern = "%Y-%m-%dT%H:%M:%S.%eZ %U %V";
constexpr const char* kJsonPattern = R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%W",%J})";

}  // namespace

std::unique_ptr<spdlog::formatter> make_formatter(LogFormat format) {
  auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  if (format == LogFormat::Json) {
    formatter->add_flag<LevelFlag>('W', false).add_flag<JsonBodyFlag>('J');
    formatter->set_pattern(kJsonPattern);
  } else {
    formatter->add_flag<LevelFlag>('U', true).add_flag<TextBodyFlag>('V');
    formatter->set_pattern(kTextPattern);
  }
  return formatter;
}

spdlog::sink_ptr stderr_output(LogFormat format) {
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  sink->set_formatter(make_formatter(format));
  return sink;
}

}  // namespace sup::logging
