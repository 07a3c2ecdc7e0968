#include "wire/json_access.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace sup::wire::detail {

void write_fields_object(JsonWriter& w, std::string_view name, const Fields& fields) {
  w.key(name).begin_object();
  for (const auto& [key, value] : fields) w.field(key, value);
  w.end_object();
}

void write_strings(JsonWriter& w, std::string_view name, const std::vector<std::string>& items) {
  w.key(name).begin_array();
  for (const auto& item : items) w.value(item);
  w.end_array();
}

const json* member(const json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

std::string to_line(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string text(const json& object, std::string_view key) {
  const json* value = member(object, key);
  return value && value->is_string() ? value->get<std::string>() : std::string{};
}

std::optional<std::string> optional_text(const json& object, std::string_view key) {
  const json* value = member(object, key);
  if (!value || !value->is_string()) return std::nullopt;
  return value->get<std::string>();
}

bool flag(const json& object, std::string_view key) {
  const json* value = member(object, key);
  return value && value->is_boolean() && value->get<bool>();
}

std::optional<double> number(const json& object, std::string_view key) {
  const json* value = member(object, key);
  if (!value || !value->is_number()) return std::nullopt;
  const double number = value->get<double>();
  return std::isfinite(number) ? std::optional<double>(number) : std::nullopt;
}

std::optional<std::int64_t> integer(const json& object, std::string_view key) {
  const json* value = member(object, key);
  if (!value) return std::nullopt;
  if (value->is_number_integer()) {
    if (value->is_number_unsigned() &&
        value->get<std::uint64_t>() >
            static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      return std::numeric_limits<std::int64_t>::max();
    return value->get<std::int64_t>();
  }
  if (auto real = number(object, key)) {
    constexpr double kLimit = 9.2e18;
    return static_cast<std::int64_t>(std::clamp(*real, -kLimit, kLimit));
  }
  return std::nullopt;
}

std::uint64_t count(const json& object, std::string_view key) {
  if (const json* value = member(object, key); value && value->is_number_unsigned())
    return value->get<std::uint64_t>();
  const std::int64_t signed_value = integer(object, key).value_or(0);
  return signed_value > 0 ? static_cast<std::uint64_t>(signed_value) : 0;
}

std::uint32_t count32(const json& object, std::string_view key) {
  return static_cast<std::uint32_t>(
      std::min<std::uint64_t>(count(object, key), std::numeric_limits<std::uint32_t>::max()));
}

std::vector<std::string> texts(const json& object, std::string_view key) {
  std::vector<std::string> out;
  const json* value = member(object, key);
  if (!value || !value->is_array()) return out;
  for (const json& item : *value)
    out.push_back(item.is_string() ? item.get<std::string>() : to_line(item));
  return out;
}

Fields fields_of(const json& object, std::string_view key) {
  Fields out;
  const json* value = member(object, key);
  if (!value || !value->is_object()) return out;
  for (const auto& [name, item] : value->items())
    out.emplace_back(name, item.is_string() ? item.get<std::string>() : to_line(item));
  return out;
}

const json& child(const json& object, std::string_view key) {
  static const json kNull;
  const json* value = member(object, key);
  return value ? *value : kNull;
}

}  // namespace sup::wire::detail
