#include "store/export_manifest.hpp"

#include <nlohmann/json.hpp>

#include "store/content_hash.hpp"
#include "store/record.hpp"
#include "store/store_error.hpp"

namespace sup::store {
namespace {

using Json = nlohmann::json;

Error invalid(std::string message, std::string field) {
  return make_error(errc::kInvalidArgument, "export manifest: " + std::move(message),
                    std::move(field));
}

Expected<std::uint64_t> unsigned_field(const Json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end()) return invalid(std::string(key) + " is missing", key);
  if (!it->is_number_unsigned()) return invalid(std::string(key) + " must be a count", key);
  return it->get<std::uint64_t>();
}

Expected<std::string> string_field(const Json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end()) return invalid(std::string(key) + " is missing", key);
  if (!it->is_string()) return invalid(std::string(key) + " must be a string", key);
  return it->get<std::string>();
}

// A version field: missing or not a count is invalid; newer than `known` is unsupported.
Status check_version(const Json& object, const char* key, std::uint64_t known) {
  auto version = unsigned_field(object, key);
  if (!version) return version.error();
  if (*version == 0) return invalid(std::string(key) + " must be at least 1", key);
  if (*version > known)
    return make_error(errc::kVersionUnsupported,
                      "export manifest: " + std::string(key) + " " + std::to_string(*version) +
                          " is newer than this build reads (" + std::to_string(known) + ")",
                      key);
  return {};
}

}  // namespace

bool is_export_member(std::string_view name) {
  if (name == kStoreEntry) return true;
  if (!name.starts_with(kArtifactsPrefix)) return false;
  return is_content_hash(std::string(kSha256Prefix) +
                         std::string(name.substr(kArtifactsPrefix.size())));
}

std::string encode_manifest(const ExportManifest& manifest) {
  Json files = Json::object();
  for (const auto& [name, hash] : manifest.files) files[name] = hash;
  Json json = {{"format", kExportFormat},
               {"version", kExportVersion},
               {"store_format_version", kStoreFormatVersion},
               {"record_format_version", kRecordFormatVersion},
               {"created_at", manifest.created_at},
               {"hostname", manifest.hostname},
               {"executions", manifest.executions},
               {"records", manifest.records},
               {"files", std::move(files)}};
  return json.dump(2) + "\n";
}

Expected<ExportManifest> decode_manifest(std::string_view text) {
  if (text.size() > kMaxManifestBytes)
    return invalid("larger than " + std::to_string(kMaxManifestBytes) + " bytes", "");
  Json json = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return invalid("not valid JSON", "");
  if (!json.is_object()) return invalid("must be a JSON object", "");
  static constexpr const char* kKeys[] = {
      "format",     "version",  "store_format_version", "record_format_version",
      "created_at", "hostname", "executions",           "records",
      "files"};
  for (const auto& [key, value] : json.items()) {
    bool known = false;
    for (const char* k : kKeys) known = known || key == k;
    if (!known) return invalid("unknown key " + key, key);
  }
  auto format = string_field(json, "format");
  if (!format) return format.error();
  if (*format != kExportFormat)
    return invalid("format is \"" + *format + "\", not \"" + std::string(kExportFormat) + "\"",
                   "format");
  if (auto ok = check_version(json, "version", kExportVersion); !ok) return ok.error();
  if (auto ok = check_version(json, "store_format_version", kStoreFormatVersion); !ok)
    return ok.error();
  if (auto ok = check_version(json, "record_format_version", kRecordFormatVersion); !ok)
    return ok.error();

  ExportManifest manifest;
  auto created_at = string_field(json, "created_at");
  if (!created_at) return created_at.error();
  manifest.created_at = std::move(*created_at);
  auto hostname = string_field(json, "hostname");
  if (!hostname) return hostname.error();
  manifest.hostname = std::move(*hostname);
  auto executions = unsigned_field(json, "executions");
  if (!executions) return executions.error();
  manifest.executions = *executions;
  auto records = unsigned_field(json, "records");
  if (!records) return records.error();
  manifest.records = *records;

  auto files = json.find("files");
  if (files == json.end()) return invalid("files is missing", "files");
  if (!files->is_object()) return invalid("files must be an object", "files");
  for (const auto& [name, hash] : files->items()) {
    const std::string field = "files[\"" + name + "\"]";
    if (!is_export_member(name))
      return invalid("\"" + name + "\" is not a member an export holds (" +
                         std::string(kStoreEntry) + " or " + std::string(kArtifactsPrefix) +
                         "<sha256 hex>)",
                     field);
    if (!hash.is_string() || !is_content_hash(hash.get<std::string>()))
      return invalid("the hash must be \"sha256:<64 lowercase hex digits>\"", field);
    // An artifact blob is named by its own hash: the two must agree.
    if (name != kStoreEntry &&
        content_hash_hex(hash.get<std::string>()) != name.substr(kArtifactsPrefix.size()))
      return invalid("an artifact blob's name must be its own hash", field);
    manifest.files.emplace(name, hash.get<std::string>());
  }
  if (!manifest.files.contains(std::string(kStoreEntry)))
    return invalid("files must name " + std::string(kStoreEntry), "files");
  return manifest;
}

}  // namespace sup::store
