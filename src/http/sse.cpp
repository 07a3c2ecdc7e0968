#include "http/sse.hpp"

#include <charconv>

namespace sup::http {

std::string sse_event(std::uint64_t id, std::string_view event, std::string_view data) {
  std::string frame;
  frame.reserve(data.size() + event.size() + 40);
  if (id != 0) frame.append("id: ").append(std::to_string(id)).push_back('\n');
  if (!event.empty()) frame.append("event: ").append(event).push_back('\n');
  std::size_t start = 0;
  while (true) {
    std::size_t end = data.find_first_of("\r\n", start);
    frame.append("data: ").append(data.substr(start, end - start)).push_back('\n');
    if (end == std::string_view::npos) break;
    start = end + 1;
    if (data[end] == '\r' && start < data.size() && data[start] == '\n') ++start;
  }
  frame.push_back('\n');
  return frame;
}

std::string sse_comment(std::string_view text) {
  std::string frame = ": ";
  for (char c : text) frame.push_back(c == '\r' || c == '\n' ? ' ' : c);
  frame.append("\n\n");
  return frame;
}

std::string sse_retry(std::uint32_t milliseconds) {
  return "retry: " + std::to_string(milliseconds) + "\n\n";
}

Expected<std::optional<std::uint64_t>> parse_last_event_id(std::string_view text,
                                                           std::string_view field) {
  if (text.empty()) return std::optional<std::uint64_t>{};
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  bool digits = text.size() <= 20 && text.find_first_not_of("0123456789") == std::string_view::npos;
  if (!digits || ec != std::errc{} || end != text.data() + text.size())
    return make_error(ErrorCode::InvalidArgument,
                      "must be an event sequence (decimal digits, at most 2^64-1)",
                      std::string(field));
  return std::optional<std::uint64_t>{value};
}

ReplayPlan plan_replay(std::uint64_t last_event_id, HeldRange held) {
  if (held.newest == 0) return {.replay_after = last_event_id};  // nothing held yet
  if (last_event_id > held.newest) return {.replay_after = 0, .reset = true};
  ReplayPlan plan{.replay_after = last_event_id};
  if (last_event_id + 1 < held.oldest) {
    plan.lost_from = last_event_id + 1;
    plan.lost_to = held.oldest - 1;
  }
  return plan;
}

}  // namespace sup::http
