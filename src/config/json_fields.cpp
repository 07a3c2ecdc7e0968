#include "config/json_fields.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <vector>

namespace sup::config {
namespace {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// The allowed key closest to a typo, if it is close enough to be a likely
// intent ("backof" → "backoff", "max-ms" → "max_ms").
std::optional<std::string_view> closest_key(std::string_view typo,
                                            std::span<const std::string_view> allowed) {
  std::optional<std::string_view> best;
  std::size_t best_distance = std::max<std::size_t>(2, typo.size() / 3) + 1;
  for (auto candidate : allowed) {
    auto distance = edit_distance(typo, candidate);
    if (distance < best_distance) {
      best = candidate;
      best_distance = distance;
    }
  }
  return best;
}

std::string format_number(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

template <class T>
std::string describe_range(Range<T> range) {
  auto text = [](T value) {
    if constexpr (std::is_floating_point_v<T>)
      return format_number(value);
    else
      return std::to_string(value);
  };
  bool has_min = range.min != std::numeric_limits<T>::lowest();
  bool has_max = range.max != std::numeric_limits<T>::max();
  if (has_min && has_max) return "between " + text(range.min) + " and " + text(range.max);
  if (has_min) return "at least " + text(range.min);
  if (has_max) return "at most " + text(range.max);
  return "at most " + text(range.max);
}

}  // namespace

std::string join_path(std::string_view path, std::string_view key) {
  if (path.empty()) return std::string(key);
  std::string joined(path);
  joined += '.';
  joined += key;
  return joined;
}

std::string index_path(std::string_view path, std::size_t index) {
  return std::string(path) + "[" + std::to_string(index) + "]";
}

void ErrorSlot::fail(std::string field_path, std::string message) {
  if (error_) return;
  error_ = make_error(ErrorCode::InvalidConfig, std::move(message), std::move(field_path));
}

std::string_view json_type_name(const nlohmann::json& value) {
  switch (value.type()) {
    case nlohmann::json::value_t::null:
      return "null";
    case nlohmann::json::value_t::object:
      return "an object";
    case nlohmann::json::value_t::array:
      return "an array";
    case nlohmann::json::value_t::string:
      return "a string";
    case nlohmann::json::value_t::boolean:
      return "a boolean";
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
      return "an integer";
    case nlohmann::json::value_t::number_float:
      return "a number";
    default:
      return "a binary value";
  }
}

ObjectReader::ObjectReader(const nlohmann::json& node, std::string path, ErrorSlot& errors)
    : node_(&node), path_(std::move(path)), errors_(errors) {
  if (!node.is_object()) {
    errors_.fail(path_, "must be an object, got " + std::string(json_type_name(node)));
    node_ = nullptr;
  }
}

void ObjectReader::allow_only(std::span<const std::string_view> allowed, std::string_view context) {
  if (!node_ || !errors_.ok()) return;
  for (const auto& [key, value] : node_->items()) {
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
    std::string message = "unknown key \"" + key + "\"";
    if (!context.empty()) message += " " + std::string(context);
    if (auto hint = closest_key(key, allowed))
      message += " (did you mean \"" + std::string(*hint) + "\"?)";
    return errors_.fail(field_path(key), std::move(message));
  }
}

const nlohmann::json* ObjectReader::find(std::string_view key) const {
  if (!node_ || !errors_.ok()) return nullptr;
  auto it = node_->find(key);
  return it == node_->end() ? nullptr : &*it;
}

void ObjectReader::fail(std::string_view key, std::string message) const {
  errors_.fail(field_path(key), std::move(message));
}

const nlohmann::json* ObjectReader::find_checked(std::string_view key, Presence presence) const {
  if (!node_ || !errors_.ok()) return nullptr;
  const nlohmann::json* value = find(key);
  if (!value && presence == Presence::Required) fail(key, "missing required key");
  return value;
}

void ObjectReader::read(std::string_view key, bool& out, Presence presence) const {
  const nlohmann::json* value = find_checked(key, presence);
  if (!value) return;
  if (!value->is_boolean())
    return fail(key, "must be true or false, got " + std::string(json_type_name(*value)));
  out = value->get<bool>();
}

void ObjectReader::read(std::string_view key, std::string& out, Presence presence) const {
  const nlohmann::json* value = find_checked(key, presence);
  if (!value) return;
  if (!value->is_string())
    return fail(key, "must be a string, got " + std::string(json_type_name(*value)));
  const auto& text = value->get_ref<const std::string&>();
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) return fail(key, "must not be blank");
  out = text;
}

void ObjectReader::read(std::string_view key, std::uint32_t& out, Range<std::uint32_t> range,
                        Presence presence) const {
  if (!find_checked(key, presence)) return;
  std::uint64_t wide = 0;
  read(key, wide, presence);
  if (!errors_.ok()) return;
  if (wide < range.min || wide > range.max)
    return fail(key,
                "must be an integer " + describe_range(range) + ", got " + std::to_string(wide));
  out = static_cast<std::uint32_t>(wide);
}

void ObjectReader::read(std::string_view key, std::uint64_t& out, Presence presence) const {
  const nlohmann::json* value = find_checked(key, presence);
  if (!value) return;
  if (value->is_number_unsigned()) {
    out = value->get<std::uint64_t>();
  } else if (value->is_number_integer()) {
    fail(key, "must not be negative, got " + value->dump());
  } else {
    fail(key, "must be a whole number, got " +
                  (value->is_number() ? value->dump() : std::string(json_type_name(*value))));
  }
}

void ObjectReader::read(std::string_view key, double& out, Range<double> range,
                        Presence presence) const {
  const nlohmann::json* value = find_checked(key, presence);
  if (!value) return;
  if (!value->is_number())
    return fail(key, "must be a number, got " + std::string(json_type_name(*value)));
  double number = value->get<double>();
  if (!std::isfinite(number) || number < range.min || number > range.max)
    return fail(key, "must be a number " + describe_range(range) + ", got " + value->dump());
  out = number;
}

}  // namespace sup::config
