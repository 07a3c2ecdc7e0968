#include "supervisor/command_ledger.hpp"

#include <cctype>
#include <cstdio>

namespace sup::core {
namespace {

bool blank(const std::string& text) {
  for (unsigned char c : text)
    if (!std::isspace(c)) return false;
  return true;
}

}  // namespace

std::string json_quote(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out += '"';
  for (unsigned char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buffer[8];
          std::snprintf(buffer, sizeof buffer, "\\u%04x", c);
          out += buffer;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
  return out;
}

std::optional<CommandResult> CommandLedger::admit(const CommandMeta& meta) const {
  if (blank(meta.command_id)) return CommandResult::rejected("command_id must not be blank");
  if (blank(meta.requested_by)) return CommandResult::rejected("requested_by must not be blank");
  if (blank(meta.reason)) return CommandResult::rejected("reason must not be blank");
  auto it = results_.find(meta.command_id);
  if (it == results_.end()) return std::nullopt;
  CommandResult replay = it->second;
  replay.idempotent = true;
  return replay;
}

std::string CommandLedger::record(const CommandMeta& meta, std::string_view command,
                                  std::string_view target, const CommandResult& result,
                                  std::int64_t at_unix_ms) {
  if (results_.emplace(meta.command_id, result).second) {
    order_.push_back(meta.command_id);
    if (order_.size() > capacity_) {
      results_.erase(order_.front());
      order_.pop_front();
    }
  }
  std::string line = "{\"at_unix_ms\":" + std::to_string(at_unix_ms);
  line += ",\"command\":" + json_quote(command);
  line += ",\"target\":" + json_quote(target);
  line += ",\"command_id\":" + json_quote(meta.command_id);
  line += ",\"requested_by\":" + json_quote(meta.requested_by);
  line += ",\"reason\":" + json_quote(meta.reason);
  line += ",\"result\":" + json_quote(to_string(result.kind));
  if (!result.reason.empty()) line += ",\"result_reason\":" + json_quote(result.reason);
  line += '}';
  return line;
}

}  // namespace sup::core
