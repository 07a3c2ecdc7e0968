// Checkpoint export archives (docs/state-store.md, "Export and import"): a
// gzip-compressed POSIX tar holding manifest.json (first), the store's
// compacted copy and the artifact blobs its snapshots name. This is what
// `supctl checkpoint export|export-all|import` run: a backup an operator
// takes before a risky recovery, and the way to move executions to another
// machine.
//
//   auto report = write_export_archive(store, state_dir / "artifacts", "/backup/x.tar.gz");
//   auto back = import_export_archive("/backup/x.tar.gz", new_dir / "store",
//                                     new_dir / "artifacts");
//
// Import changes nothing until every check has passed: the manifest's
// version, every member's name and SHA-256, every record and summary of the
// store (LmdbCheckpointStore::import_copy).
#pragma once

#include <cstdint>
#include <filesystem>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "store/checkpoint_store.hpp"
#include "store/export_manifest.hpp"
#include "sup/error.hpp"

namespace sup::store {

struct ExportReport {
  std::uint64_t executions = 0;
  std::uint64_t records = 0;
  std::uint64_t artifacts = 0;      // blobs written
  std::uint64_t archive_bytes = 0;  // size of the archive file
  // Records and summaries that failed their checks: exported as they are
  // (a backup keeps what there is), but an import refuses such an archive.
  std::vector<BadRecord> bad{};
  // Blobs an artifact snapshot names that are missing or do not match
  // their hash under the artifacts directory: left out, named here.
  std::vector<std::string> missing_artifacts{};
};

// The artifact blobs ("sha256:<hex>") that the store's snapshot records
// name: what an export carries and what a cleanup must keep. `complete` is
// false when an execution or a summary could not be read: a corrupt record
// may name any blob.
struct NamedArtifacts {
  std::set<std::string> hashes{};
  bool complete = true;
};
Expected<NamedArtifacts> named_artifacts(const CheckpointStore& store);

// Writes `output` (refused if it exists; written to a temporary name and
// renamed, so a reader never sees half an archive) from a consistent copy of
// `store` and the blobs under `artifacts_dir` (may be absent).
Expected<ExportReport> write_export_archive(const CheckpointStore& store,
                                            const std::filesystem::path& artifacts_dir,
                                            const std::filesystem::path& output);

struct ImportReport {
  ExportManifest manifest;
  std::uint64_t artifacts = 0;  // blobs installed (already present ones are kept)
};

// Unpacks and checks `archive`, then installs its store at `store_path`
// (which must not hold a store yet) and its blobs under `artifacts_dir`.
Expected<ImportReport> import_export_archive(const std::filesystem::path& archive,
                                             const std::filesystem::path& store_path,
                                             const std::filesystem::path& artifacts_dir);

// The checks of an import without installing anything (a snapshot listed
// as VALID): unpacked into a temporary directory beside `archive`, hashed,
// removed.
Expected<ExportManifest> verify_export_archive(const std::filesystem::path& archive);

// The checked unpacking alone, from a file or from bytes (the fuzz target):
// every member must be a regular file the manifest lists, under its hash,
// at most once; `into` receives them under their member names.
Expected<ExportManifest> unpack_export_archive(const std::filesystem::path& archive,
                                               const std::filesystem::path& into);
Expected<ExportManifest> unpack_export_archive_bytes(std::string_view bytes,
                                                     const std::filesystem::path& into);

}  // namespace sup::store
