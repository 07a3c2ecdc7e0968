// Reading and writing helpers shared by the record files of sup_wire
// (internal: not for readers outside src/wire). Readers are lenient: a
// missing or wrongly typed field gives the default, nothing throws.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "json/json_writer.hpp"
#include "wire/dashboard_records.hpp"

namespace sup::wire::detail {

using nlohmann::json;

// ---- writing ---------------------------------------------------------------

template <class T>
void write_optional(JsonWriter& w, std::string_view name, const std::optional<T>& value) {
  w.key(name);
  if (value)
    w.value(*value);
  else
    w.null();
}

void write_fields_object(JsonWriter& w, std::string_view name, const Fields& fields);
void write_strings(JsonWriter& w, std::string_view name, const std::vector<std::string>& items);

template <class T>
void write_array(JsonWriter& w, std::string_view name, const std::vector<T>& items) {
  w.key(name).begin_array();
  for (const auto& item : items) write(w, item);
  w.end_array();
}

// ---- reading ---------------------------------------------------------------

const json* member(const json& object, std::string_view key);
std::string to_line(const json& value);
std::string text(const json& object, std::string_view key);
std::optional<std::string> optional_text(const json& object, std::string_view key);
bool flag(const json& object, std::string_view key);
std::optional<double> number(const json& object, std::string_view key);
std::optional<std::int64_t> integer(const json& object, std::string_view key);
std::uint64_t count(const json& object, std::string_view key);
std::uint32_t count32(const json& object, std::string_view key);
std::vector<std::string> texts(const json& object, std::string_view key);
Fields fields_of(const json& object, std::string_view key);
const json& child(const json& object, std::string_view key);

template <class T, class Read>
std::vector<T> objects(const json& object, std::string_view key, Read read) {
  std::vector<T> out;
  const json& items = child(object, key);
  if (!items.is_array()) return out;
  for (const json& item : items)
    if (item.is_object()) out.push_back(read(item));
  return out;
}

}  // namespace sup::wire::detail
