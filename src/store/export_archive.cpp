#include "store/export_archive.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <ctime>
#include <fstream>
#include <memory>
#include <set>

#include "store/content_hash.hpp"
#include "store/lmdb_store.hpp"
#include "store/store_error.hpp"

namespace sup::store {
namespace {

namespace fs = std::filesystem;

struct ArchiveFree {
  void operator()(archive* a) const { archive_free(a); }
};
using ArchivePtr = std::unique_ptr<archive, ArchiveFree>;

struct EntryFree {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};
using EntryPtr = std::unique_ptr<archive_entry, EntryFree>;

Error archive_error(archive* a, const std::string& what) {
  const char* detail = archive_error_string(a);
  return make_error(errc::kIo, what + ": " + (detail ? detail : "unknown archive error"));
}

// A directory of our own next to `near`, removed with everything in it.
class ScratchDir {
 public:
  static Expected<ScratchDir> create(const fs::path& parent, std::string_view stem) {
    std::error_code ec;
    fs::create_directories(parent, ec);
    std::string pattern = (parent / ("." + std::string(stem) + ".tmp-XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr)
      return make_error(errc::kIo, "cannot create a temporary directory in " + parent.string());
    return ScratchDir(pattern);
  }
  ScratchDir(ScratchDir&& other) noexcept : path_(std::exchange(other.path_, {})) {}
  ScratchDir& operator=(ScratchDir&&) = delete;
  ~ScratchDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  explicit ScratchDir(fs::path path) : path_(std::move(path)) {}
  fs::path path_;
};

std::string utc_now_rfc3339() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

std::string host_name() {
  std::array<char, 256> name{};
  if (::gethostname(name.data(), name.size() - 1) != 0) return "unknown";
  return name.data();
}

// ---- writing ----

// The header of a regular file member of `size` bytes.
Status write_header(archive* out, const std::string& name, std::uintmax_t size) {
  EntryPtr entry(archive_entry_new());
  archive_entry_set_pathname(entry.get(), name.c_str());
  archive_entry_set_filetype(entry.get(), AE_IFREG);
  archive_entry_set_perm(entry.get(), 0600);
  archive_entry_set_size(entry.get(), static_cast<la_int64_t>(size));
  archive_entry_set_mtime(entry.get(), std::time(nullptr), 0);
  if (archive_write_header(out, entry.get()) != ARCHIVE_OK)
    return archive_error(out, "writing " + name);
  return {};
}

Status write_member(archive* out, const std::string& name, const std::string& bytes) {
  if (auto ok = write_header(out, name, bytes.size()); !ok) return ok;
  if (!bytes.empty() &&
      archive_write_data(out, bytes.data(), bytes.size()) != static_cast<la_ssize_t>(bytes.size()))
    return archive_error(out, "writing " + name);
  return {};
}

Status write_file_member(archive* out, const std::string& name, const fs::path& file) {
  std::error_code ec;
  const auto size = fs::file_size(file, ec);
  if (ec) return make_error(errc::kIo, "cannot read " + file.string() + ": " + ec.message());
  if (auto ok = write_header(out, name, size); !ok) return ok;
  std::ifstream in(file, std::ios::binary);
  std::array<char, 1 << 16> chunk{};
  std::uintmax_t written = 0;
  while (in && written < size) {
    in.read(chunk.data(),
            static_cast<std::streamsize>(std::min<std::uintmax_t>(chunk.size(), size - written)));
    const auto got = static_cast<std::size_t>(in.gcount());
    if (got == 0) break;
    if (archive_write_data(out, chunk.data(), got) != static_cast<la_ssize_t>(got))
      return archive_error(out, "writing " + name);
    written += got;
  }
  if (written != size) return make_error(errc::kIo, file.string() + " changed while exported");
  return {};
}

// The counts and the artifact blobs of the copy, and its bad records.
struct CopyContents {
  std::uint64_t executions = 0;
  std::uint64_t records = 0;
  std::set<std::string> artifact_hashes;
  std::vector<BadRecord> bad;
};

Expected<CopyContents> read_copy(const fs::path& copy) {
  auto opened = LmdbCheckpointStore::open({.path = copy});
  if (!opened) return opened.error();
  const LmdbCheckpointStore& store = **opened;
  auto list = store.list_executions({});
  if (!list) return list.error();
  CopyContents contents;
  for (const auto& summary : list->executions) {
    ++contents.executions;
    contents.records += summary.record_count;
  }
  auto named = named_artifacts(store);
  if (!named) return named.error();
  contents.artifact_hashes = std::move(named->hashes);
  // validate covers the summaries list_executions refused, and the records.
  auto report = store.validate({});
  if (!report) return report.error();
  contents.bad = std::move(report->bad);
  merge_bad_records(contents.bad, std::move(list->bad));
  return contents;
}

Status sync_file(const fs::path& file) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || ::fsync(fd) != 0) {
    if (fd >= 0) ::close(fd);
    return make_error(errc::kIo, "cannot sync " + file.string());
  }
  ::close(fd);
  return {};
}

// ---- reading ----

struct ReadSource {
  std::optional<fs::path> file;
  std::string_view bytes;
};

Error bad_archive(std::string message, std::string field = {}) {
  return make_error(errc::kInvalidArgument, "export archive: " + std::move(message),
                    std::move(field));
}

Expected<std::string> read_member_text(archive* in, la_int64_t size, std::size_t limit,
                                       const std::string& name) {
  if (size < 0 || static_cast<std::uint64_t>(size) > limit)
    return bad_archive(name + " is larger than " + std::to_string(limit) + " bytes", name);
  std::string text(static_cast<std::size_t>(size), '\0');
  std::size_t got = 0;
  while (got < text.size()) {
    const la_ssize_t n = archive_read_data(in, text.data() + got, text.size() - got);
    if (n < 0) return archive_error(in, "reading " + name);
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  if (got != text.size()) return bad_archive(name + " is truncated", name);
  return text;
}

// Streams one member to `target` while hashing it; its hash must be `expected`.
Status extract_member(archive* in, const std::string& name, const fs::path& target,
                      const std::string& expected) {
  std::error_code ec;
  fs::create_directories(target.parent_path(), ec);
  std::ofstream out(target, std::ios::binary | std::ios::trunc);
  if (!out) return make_error(errc::kIo, "cannot write " + target.string());
  std::array<char, 1 << 16> chunk{};
  for (;;) {
    const la_ssize_t n = archive_read_data(in, chunk.data(), chunk.size());
    if (n < 0) return archive_error(in, "reading " + name);
    if (n == 0) break;
    out.write(chunk.data(), n);
    if (!out) return make_error(errc::kIo, "cannot write " + target.string());
  }
  out.close();
  if (!out) return make_error(errc::kIo, "cannot write " + target.string());
  auto hash = sha256_file(target);
  if (!hash) return hash.error();
  if (*hash != expected)
    return make_error(errc::kRecordCorrupt,
                      "export archive: " + name + " does not match its hash in the manifest (" +
                          *hash + " instead of " + expected + ")",
                      name);
  return {};
}

Expected<ExportManifest> unpack(const ReadSource& source, const fs::path& into) {
  ArchivePtr in(archive_read_new());
  archive_read_support_filter_gzip(in.get());
  archive_read_support_format_tar(in.get());
  const int opened =
      source.file ? archive_read_open_filename(in.get(), source.file->c_str(), 1 << 16)
                  : archive_read_open_memory(in.get(), source.bytes.data(), source.bytes.size());
  if (opened != ARCHIVE_OK)
    return archive_error(in.get(), "opening " + (source.file ? source.file->string() : "archive"));

  std::optional<ExportManifest> manifest;
  std::set<std::string> seen;
  archive_entry* entry = nullptr;
  int rc = ARCHIVE_OK;
  while ((rc = archive_read_next_header(in.get(), &entry)) == ARCHIVE_OK) {
    const char* raw_name = archive_entry_pathname(entry);
    const std::string name = raw_name ? raw_name : "";
    if (archive_entry_filetype(entry) != AE_IFREG)
      return bad_archive("member \"" + name + "\" is not a regular file", name);
    if (!manifest) {
      if (name != kManifestEntry)
        return bad_archive(
            "the first member must be " + std::string(kManifestEntry) + ", not \"" + name + "\"",
            name);
      auto text = read_member_text(in.get(), archive_entry_size(entry), kMaxManifestBytes, name);
      if (!text) return text.error();
      auto decoded = decode_manifest(*text);
      if (!decoded) return decoded.error();
      manifest = std::move(*decoded);
      continue;
    }
    auto listed = manifest->files.find(name);
    if (listed == manifest->files.end())
      return bad_archive("member \"" + name + "\" is not in the manifest", name);
    if (!seen.insert(name).second) return bad_archive("member \"" + name + "\" twice", name);
    if (auto ok = extract_member(in.get(), name, into / name, listed->second); !ok)
      return ok.error();
  }
  if (rc != ARCHIVE_EOF) return archive_error(in.get(), "reading the archive");
  if (!manifest) return bad_archive("empty: no " + std::string(kManifestEntry));
  for (const auto& [name, hash] : manifest->files)
    if (!seen.contains(name))
      return bad_archive("the manifest lists \"" + name + "\" but the archive lacks it", name);
  return *manifest;
}

}  // namespace

Expected<NamedArtifacts> named_artifacts(const CheckpointStore& store) {
  auto list = store.list_executions({});
  if (!list) return list.error();
  NamedArtifacts named;
  named.complete = list->bad.empty();
  for (const auto& summary : list->executions) {
    auto records = store.read_execution(summary.execution_id);
    if (!records) {
      named.complete = false;
      continue;
    }
    for (const Record& record : *records) {
      if (record.kind != RecordKind::ArtifactSnapshot) continue;
      auto snapshot = decode_artifact_snapshot(record.payload);
      if (snapshot && is_content_hash(snapshot->content_hash))
        named.hashes.insert(snapshot->content_hash);
    }
  }
  return named;
}

Expected<ExportReport> write_export_archive(const CheckpointStore& store,
                                            const fs::path& artifacts_dir, const fs::path& output) {
  std::error_code ec;
  if (fs::exists(output, ec))
    return make_error(errc::kInvalidArgument, output.string() + " exists already", "output");
  const fs::path parent = output.has_parent_path() ? output.parent_path() : fs::path(".");
  auto scratch = ScratchDir::create(parent, output.filename().string());
  if (!scratch) return scratch.error();
  const fs::path copy = scratch->path() / "store";
  if (auto ok = store.export_copy(copy); !ok) return ok.error();
  auto contents = read_copy(copy);
  if (!contents) return contents.error();

  ExportReport report;
  report.executions = contents->executions;
  report.records = contents->records;
  report.bad = contents->bad;
  ExportManifest manifest;
  manifest.created_at = utc_now_rfc3339();
  manifest.hostname = host_name();
  manifest.executions = contents->executions;
  manifest.records = contents->records;
  auto store_hash = sha256_file(copy / "data.mdb");
  if (!store_hash) return store_hash.error();
  manifest.files.emplace(std::string(kStoreEntry), *store_hash);
  for (const std::string& hash : contents->artifact_hashes) {
    const fs::path blob = artifacts_dir / std::string(content_hash_hex(hash));
    auto actual = sha256_file(blob);
    if (!actual || *actual != hash) {
      report.missing_artifacts.push_back(hash);
      continue;
    }
    manifest.files.emplace(std::string(kArtifactsPrefix) + std::string(content_hash_hex(hash)),
                           hash);
  }

  const fs::path partial = scratch->path() / "archive.tar.gz";
  {
    ArchivePtr out(archive_write_new());
    if (archive_write_add_filter_gzip(out.get()) != ARCHIVE_OK ||
        archive_write_set_format_pax_restricted(out.get()) != ARCHIVE_OK ||
        archive_write_open_filename(out.get(), partial.c_str()) != ARCHIVE_OK)
      return archive_error(out.get(), "creating " + output.string());
    if (auto ok = write_member(out.get(), std::string(kManifestEntry), encode_manifest(manifest));
        !ok)
      return ok.error();
    for (const auto& [name, hash] : manifest.files) {
      const fs::path source = name == kStoreEntry
                                  ? copy / "data.mdb"
                                  : artifacts_dir / name.substr(kArtifactsPrefix.size());
      if (auto ok = write_file_member(out.get(), name, source); !ok) return ok.error();
      if (name != kStoreEntry) ++report.artifacts;
    }
    if (archive_write_close(out.get()) != ARCHIVE_OK)
      return archive_error(out.get(), "finishing " + output.string());
  }
  if (auto ok = sync_file(partial); !ok) return ok.error();
  fs::rename(partial, output, ec);
  if (ec) {
    // Another file system: copy, then the copy is the archive.
    fs::copy_file(partial, output, ec);
    if (ec) return make_error(errc::kIo, "cannot write " + output.string() + ": " + ec.message());
    if (auto ok = sync_file(output); !ok) return ok.error();
  }
  report.archive_bytes = fs::file_size(output, ec);
  return report;
}

Expected<ExportManifest> unpack_export_archive(const fs::path& archive, const fs::path& into) {
  return unpack(ReadSource{.file = archive, .bytes = {}}, into);
}

Expected<ExportManifest> verify_export_archive(const fs::path& archive) {
  const fs::path parent = archive.has_parent_path() ? archive.parent_path() : fs::path(".");
  auto scratch = ScratchDir::create(parent, archive.filename().string());
  if (!scratch) return scratch.error();
  return unpack_export_archive(archive, scratch->path());
}

Expected<ExportManifest> unpack_export_archive_bytes(std::string_view bytes, const fs::path& into) {
  return unpack(ReadSource{.file = std::nullopt, .bytes = bytes}, into);
}

Expected<ImportReport> import_export_archive(const fs::path& archive_path,
                                             const fs::path& store_path,
                                             const fs::path& artifacts_dir) {
  std::error_code ec;
  if (fs::exists(store_path / "data.mdb", ec))
    return make_error(errc::kInvalidArgument,
                      store_path.string() +
                          " already holds a store: import only into a state dir without one "
                          "(move the old store aside first)",
                      "store");
  if (!fs::exists(archive_path, ec))
    return make_error(errc::kInvalidArgument, "no archive at " + archive_path.string(), "archive");
  const fs::path parent = store_path.has_parent_path() ? store_path.parent_path() : ".";
  auto scratch = ScratchDir::create(parent, "import");
  if (!scratch) return scratch.error();
  auto manifest = unpack_export_archive(archive_path, scratch->path());
  if (!manifest) return manifest.error();
  if (auto ok = LmdbCheckpointStore::import_copy(scratch->path() / "store", store_path); !ok)
    return ok.error();

  ImportReport report{.manifest = *manifest};
  for (const auto& [name, hash] : manifest->files) {
    if (name == kStoreEntry) continue;
    const fs::path target = artifacts_dir / name.substr(kArtifactsPrefix.size());
    fs::create_directories(artifacts_dir, ec);
    if (fs::exists(target, ec)) continue;  // content-addressed: the same bytes
    fs::rename(scratch->path() / name, target, ec);
    if (ec) fs::copy_file(scratch->path() / name, target, ec);
    if (ec) return make_error(errc::kIo, "cannot install " + target.string() + ": " + ec.message());
    ++report.artifacts;
  }
  return report;
}

}  // namespace sup::store
