#include "http/command_body.hpp"

#include "config/bounded_json.hpp"
#include "spec/child_spec_check.hpp"

namespace sup::http {
namespace {

bool blank(const std::string& text) {
  return text.find_first_not_of(" \t\r\n") == std::string::npos;
}

Error invalid(std::string message, std::string field) {
  return make_error(ErrorCode::InvalidArgument, std::move(message), std::move(field));
}

}  // namespace

Expected<CommandBody> parse_command_body(std::string_view body) {
  if (body.empty()) return invalid("a JSON object with a \"reason\" is required", "body");
  auto document = config::parse_bounded_json(body, {.root_path = "body"});
  if (!document) {
    // Paths inside the document (a duplicate key) are named from the body.
    Error error = document.error();
    if (error.field_path.rfind("body", 0) != 0) error.field_path = "body." + error.field_path;
    return error;
  }
  if (!document->is_object()) return invalid("must be a JSON object", "body");
  CommandBody out;
  bool has_reason = false;
  for (const auto& [key, value] : document->items()) {
    std::string field = "body." + key;
    if (key == "reason" || key == "command_id") {
      if (!value.is_string()) return invalid("must be a string", field);
      std::string text = value.get<std::string>();
      std::size_t limit = key == "reason" ? spec::kMaxReasonBytes : spec::kMaxCommandIdBytes;
      if (blank(text)) return invalid("must not be blank", field);
      if (text.size() > limit)
        return invalid("must be at most " + std::to_string(limit) + " bytes", field);
      (key == "reason" ? out.reason : out.command_id) = std::move(text);
      has_reason = has_reason || key == "reason";
    } else if (key == "confirmed") {
      if (!value.is_boolean()) return invalid("must be true or false", field);
      out.confirmed = value.get<bool>();
    } else {
      return invalid("unknown field; expected reason, command_id, confirmed", field);
    }
  }
  if (!has_reason) return invalid("is required: every command says why", "body.reason");
  return out;
}

}  // namespace sup::http
