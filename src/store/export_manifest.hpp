// The manifest of a checkpoint export archive (docs/state-store.md, "Export
// and import"): what the archive holds and the SHA-256 of every file, so
// that an import can refuse an unknown version before unpacking anything
// and a damaged or foreign file before installing anything. Pure: no I/O.
//
//   ExportManifest manifest{.created_at = "2026-11-29T18:00:00Z", ...};
//   std::string json = encode_manifest(manifest);
//   Expected<ExportManifest> back = decode_manifest(json);  // field paths on error
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "sup/error.hpp"

namespace sup::store {

inline constexpr std::string_view kExportFormat = "sup-checkpoint-export";
inline constexpr std::uint32_t kExportVersion = 1;
// The archive's member names: the manifest first, then these.
inline constexpr std::string_view kManifestEntry = "manifest.json";
inline constexpr std::string_view kStoreEntry = "store/data.mdb";
inline constexpr std::string_view kArtifactsPrefix = "artifacts/";
// A manifest larger than this is refused before it is parsed.
inline constexpr std::size_t kMaxManifestBytes = 32u << 20;

struct ExportManifest {
  std::string created_at;  // RFC 3339, UTC
  std::string hostname;
  std::uint64_t executions = 0;
  std::uint64_t records = 0;
  // Member name -> "sha256:<hex>": kStoreEntry and every artifact blob.
  std::map<std::string, std::string> files{};
  bool operator==(const ExportManifest&) const = default;
};

// True for kStoreEntry and "artifacts/<64 lowercase hex digits>": nothing
// else may be in an archive (no directories, links or other paths).
bool is_export_member(std::string_view name);

std::string encode_manifest(const ExportManifest& manifest);
// Checks the format, the versions (an export from a newer build is
// unsupported), every field's type and every file's name and hash; unknown
// keys are refused. Errors name the field ("files[\"store/data.mdb\"]").
Expected<ExportManifest> decode_manifest(std::string_view json);

}  // namespace sup::store
