#include "executions/maintenance.hpp"

#include <nlohmann/json.hpp>

namespace sup::executions {

namespace {
constexpr std::size_t kMaxReasonBytes = 1024;
}

std::string encode_maintenance(const MaintenanceMode& mode) {
  nlohmann::ordered_json value{{"enabled", mode.enabled},
                               {"reason", mode.reason},
                               {"requested_by", mode.requested_by},
                               {"changed_at_unix_nanos", mode.changed_at_ns}};
  return value.dump();
}

Expected<MaintenanceMode> decode_maintenance(std::string_view value) {
  auto json = nlohmann::json::parse(value, nullptr, /*allow_exceptions=*/false);
  auto refuse = [](std::string field, std::string why) {
    return make_error(ErrorCode::DataLoss, "stored maintenance mode: " + why,
                      "setting.maintenance" + (field.empty() ? "" : "." + field));
  };
  if (json.is_discarded() || !json.is_object()) return refuse("", "not a JSON object");
  MaintenanceMode mode;
  auto enabled = json.find("enabled");
  if (enabled == json.end() || !enabled->is_boolean()) return refuse("enabled", "not a boolean");
  mode.enabled = enabled->get<bool>();
  for (auto [key, out] :
       {std::pair{"reason", &mode.reason}, std::pair{"requested_by", &mode.requested_by}}) {
    auto field = json.find(key);
    if (field == json.end() || !field->is_string()) return refuse(key, "not a string");
    *out = field->get<std::string>();
  }
  auto changed = json.find("changed_at_unix_nanos");
  if (changed == json.end() || !changed->is_number_integer())
    return refuse("changed_at_unix_nanos", "not an integer");
  mode.changed_at_ns = changed->get<std::int64_t>();
  return mode;
}

Status check_maintenance_change(const MaintenanceChange& change) {
  if (change.reason.find_first_not_of(" \t\r\n") == std::string::npos)
    return make_error(ErrorCode::InvalidArgument,
                      "a reason is required (it is shown with the mode and audited)", "reason");
  if (change.reason.size() > kMaxReasonBytes)
    return make_error(ErrorCode::InvalidArgument,
                      "must be at most " + std::to_string(kMaxReasonBytes) + " bytes", "reason");
  return {};
}

}  // namespace sup::executions
