// Checkpoint export archives: the manifest's checks (pure), and the archive
// written from a real store, wiped, imported back; archives damaged or
// forged in every way an import must refuse, with nothing installed.
#include <archive.h>
#include <archive_entry.h>
#include <doctest/doctest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "store/content_hash.hpp"
#include "store/export_archive.hpp"
#include "store/lmdb_store.hpp"
#include "store/store_error.hpp"

using namespace sup::store;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    char pattern[] = "/tmp/store-export-test-XXXXXX";
    REQUIRE(::mkdtemp(pattern) != nullptr);
    path = pattern;
  }
  ~TempDir() { fs::remove_all(path); }
};

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const fs::path& path, const std::string& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}

const std::string kBlob = std::string("artifact bytes\0with a NUL\n", 26);

// Two executions; exec-b snapshots an artifact whose blob is in `artifacts`.
void write_state(const fs::path& state_dir) {
  auto store = LmdbCheckpointStore::open({.path = state_dir / "store"});
  REQUIRE(store);
  REQUIRE(append_and_wait(**store, {"exec-a",
                                    {{RecordKind::ExecutionSubmitted, R"({"spec":"a"})"},
                                     {RecordKind::NodeTransition, R"({"node":"n1"})"}},
                                    ExecutionStatus{"COMPLETED", true},
                                    true}));
  const std::string hash = sha256_of(kBlob);
  write_file(state_dir / "artifacts" / std::string(content_hash_hex(hash)), kBlob);
  ArtifactSnapshot snapshot{
      .node_id = "n1", .path = "out/report.txt", .content_hash = hash, .size = kBlob.size()};
  REQUIRE(append_and_wait(**store,
                          {"exec-b",
                           {{RecordKind::ExecutionSubmitted, R"({"spec":"b"})"},
                            {RecordKind::ArtifactSnapshot, encode_artifact_snapshot(snapshot)}},
                           ExecutionStatus{"RUNNING", false},
                           true}));
}

std::vector<Record> all_records(const LmdbCheckpointStore& store) {
  std::vector<Record> all;
  auto list = store.list_executions({});
  REQUIRE(list);
  for (const auto& summary : list->executions) {
    auto records = store.read_execution(summary.execution_id);
    REQUIRE(records);
    all.insert(all.end(), records->begin(), records->end());
  }
  return all;
}

// A tar.gz with these members, in this order, for forged archives.
void write_archive(const fs::path& path,
                   const std::vector<std::pair<std::string, std::string>>& members,
                   bool directory_member = false) {
  archive* out = archive_write_new();
  archive_write_add_filter_gzip(out);
  archive_write_set_format_pax_restricted(out);
  REQUIRE(archive_write_open_filename(out, path.c_str()) == ARCHIVE_OK);
  for (const auto& [name, bytes] : members) {
    archive_entry* entry = archive_entry_new();
    archive_entry_set_pathname(entry, name.c_str());
    archive_entry_set_filetype(entry, directory_member ? AE_IFDIR : AE_IFREG);
    archive_entry_set_perm(entry, 0600);
    archive_entry_set_size(entry, directory_member ? 0 : static_cast<la_int64_t>(bytes.size()));
    REQUIRE(archive_write_header(out, entry) == ARCHIVE_OK);
    if (!directory_member) archive_write_data(out, bytes.data(), bytes.size());
    archive_entry_free(entry);
  }
  archive_write_close(out);
  archive_write_free(out);
}

std::string manifest_for(const std::string& store_bytes) {
  ExportManifest manifest{.created_at = "2026-11-29T18:00:00Z", .hostname = "test"};
  manifest.files.emplace(std::string(kStoreEntry), sha256_of(store_bytes));
  return encode_manifest(manifest);
}

}  // namespace

TEST_CASE("content hashes are SHA-256 in hex, of bytes and of files alike") {
  CHECK(sha256_of("abc") ==
        "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  TempDir dir;
  write_file(dir.path / "f", "abc");
  CHECK(sha256_file(dir.path / "f").value() == sha256_of("abc"));
  CHECK(is_content_hash(sha256_of("")));
  CHECK_FALSE(is_content_hash("sha256:ABC"));
  CHECK_FALSE(is_content_hash("md5:" + std::string(64, 'a')));
  CHECK(sha256_file(dir.path / "absent").error().code == errc::kIo);
}

TEST_CASE("a manifest round-trips, and every bad field is refused by its path") {
  ExportManifest manifest{
      .created_at = "2026-11-29T18:00:00Z", .hostname = "h", .executions = 3, .records = 9};
  manifest.files.emplace("store/data.mdb", sha256_of("x"));
  manifest.files.emplace("artifacts/" + std::string(content_hash_hex(sha256_of("y"))),
                         sha256_of("y"));
  CHECK(decode_manifest(encode_manifest(manifest)).value() == manifest);

  auto refused = [&](const std::string& from, const std::string& to) {
    std::string text = encode_manifest(manifest);
    const auto at = text.find(from);
    REQUIRE(at != std::string::npos);
    text.replace(at, from.size(), to);
    auto decoded = decode_manifest(text);
    REQUIRE_FALSE(decoded);
    return decoded.error();
  };
  CHECK(refused("\"sup-checkpoint-export\"", "\"tarball\"").field_path == "format");
  auto newer = refused("\"version\": 1", "\"version\": 2");
  CHECK(newer.code == errc::kVersionUnsupported);
  CHECK(newer.field_path == "version");
  CHECK(refused("\"record_format_version\": 1", "\"record_format_version\": 7").code ==
        errc::kVersionUnsupported);
  CHECK(refused("\"executions\": 3", "\"executions\": -3").field_path == "executions");
  CHECK(refused("\"hostname\": \"h\"", "\"hostname\": \"h\", \"extra\": 1").field_path == "extra");
  CHECK(refused("\"store/data.mdb\"", "\"../etc/passwd\"").field_path ==
        "files[\"../etc/passwd\"]");
  CHECK(refused(std::string(content_hash_hex(sha256_of("x"))), std::string(63, 'a') + "Z")
            .field_path == "files[\"store/data.mdb\"]");
  // A blob whose name is not its own hash.
  CHECK(refused("artifacts/" + std::string(content_hash_hex(sha256_of("y"))),
                "artifacts/" + std::string(content_hash_hex(sha256_of("z"))))
            .message.find("its own hash") != std::string::npos);
  CHECK_FALSE(decode_manifest("[]"));
  CHECK_FALSE(decode_manifest("{"));
}

TEST_CASE("export, wipe the state dir, import: the same executions and artifact bytes") {
  TempDir dir;
  const fs::path state = dir.path / "state";
  write_state(state);
  std::vector<Record> before;
  ExportReport exported;
  {
    auto store = LmdbCheckpointStore::open({.path = state / "store"});
    REQUIRE(store);
    before = all_records(**store);
    auto report = write_export_archive(**store, state / "artifacts", dir.path / "backup.tar.gz");
    REQUIRE(report);
    exported = *report;
    // The archive exists already: a second export never overwrites it.
    auto again = write_export_archive(**store, state / "artifacts", dir.path / "backup.tar.gz");
    REQUIRE_FALSE(again);
    CHECK(again.error().field_path == "output");
  }
  CHECK(exported.executions == 2);
  CHECK(exported.records == 4);
  CHECK(exported.artifacts == 1);
  CHECK(exported.bad.empty());
  CHECK(exported.missing_artifacts.empty());
  // No temporary file is left beside the archive.
  CHECK(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()) == 2);

  fs::remove_all(state);
  auto imported =
      import_export_archive(dir.path / "backup.tar.gz", state / "store", state / "artifacts");
  REQUIRE(imported);
  CHECK(imported->manifest.executions == 2);
  CHECK(imported->artifacts == 1);
  CHECK(read_file(state / "artifacts" / std::string(content_hash_hex(sha256_of(kBlob)))) == kBlob);
  auto store = LmdbCheckpointStore::open({.path = state / "store"});
  REQUIRE(store);
  CHECK(all_records(**store) == before);
  CHECK((*store)->validate({}).value().clean());

  SUBCASE("an import never replaces a store that is there") {
    auto refused =
        import_export_archive(dir.path / "backup.tar.gz", state / "store", state / "artifacts");
    REQUIRE_FALSE(refused);
    CHECK(refused.error().field_path == "store");
  }
}

TEST_CASE("an export of a store with a missing blob names it and still writes the rest") {
  TempDir dir;
  const fs::path state = dir.path / "state";
  write_state(state);
  fs::remove_all(state / "artifacts");
  auto store = LmdbCheckpointStore::open({.path = state / "store"});
  REQUIRE(store);
  auto report = write_export_archive(**store, state / "artifacts", dir.path / "b.tar.gz");
  REQUIRE(report);
  CHECK(report->artifacts == 0);
  REQUIRE(report->missing_artifacts.size() == 1);
  CHECK(report->missing_artifacts[0] == sha256_of(kBlob));
}

TEST_CASE("forged and damaged archives are refused, and nothing is installed") {
  TempDir dir;
  const fs::path state = dir.path / "state";
  write_state(state);
  std::string store_bytes;
  {
    auto store = LmdbCheckpointStore::open({.path = state / "store"});
    REQUIRE(store);
    REQUIRE((*store)->export_copy(dir.path / "copy"));
    store_bytes = read_file(dir.path / "copy" / "data.mdb");
  }
  const fs::path target = dir.path / "target";
  auto import = [&](const std::vector<std::pair<std::string, std::string>>& members,
                    bool directory_member = false) {
    const fs::path archive = dir.path / "forged.tar.gz";
    fs::remove(archive);
    write_archive(archive, members, directory_member);
    auto result = import_export_archive(archive, target / "store", target / "artifacts");
    REQUIRE_FALSE(result);
    CHECK_FALSE(fs::exists(target / "store" / "data.mdb"));
    CHECK_FALSE(fs::exists(target / "artifacts"));
    return result.error();
  };
  const std::string manifest = manifest_for(store_bytes);

  // The sane archive imports (the forger below changes one thing each time).
  {
    const fs::path archive = dir.path / "sane.tar.gz";
    write_archive(archive, {{"manifest.json", manifest}, {"store/data.mdb", store_bytes}});
    REQUIRE(import_export_archive(archive, dir.path / "sane" / "store",
                                  dir.path / "sane" / "artifacts"));
  }
  CHECK(import({{"store/data.mdb", store_bytes}, {"manifest.json", manifest}})
            .message.find("first member") != std::string::npos);
  std::string flipped = store_bytes;
  flipped[flipped.size() / 2] ^= 0x20;
  auto mismatch = import({{"manifest.json", manifest}, {"store/data.mdb", flipped}});
  CHECK(mismatch.code == errc::kRecordCorrupt);
  CHECK(mismatch.field_path == "store/data.mdb");
  CHECK(import({{"manifest.json", manifest}, {"store/data.mdb", store_bytes}, {"../x", "evil"}})
            .field_path == "../x");
  CHECK(import({{"manifest.json", manifest},
                {"store/data.mdb", store_bytes},
                {"store/data.mdb", store_bytes}})
            .message.find("twice") != std::string::npos);
  CHECK(import({{"manifest.json", manifest}}).message.find("lacks") != std::string::npos);
  CHECK(import({{"manifest.json", "{\"format\": \"sup-checkpoint-export\", \"version\": 9}"},
                {"store/data.mdb", store_bytes}})
            .code == errc::kVersionUnsupported);
  CHECK(import({{"manifest.json", ""}}, /*directory_member=*/true).message.find("regular file") !=
        std::string::npos);
  // Not an archive at all.
  {
    const fs::path junk = dir.path / "junk.tar.gz";
    write_file(junk, "this is not gzip");
    CHECK_FALSE(import_export_archive(junk, target / "store", target / "artifacts"));
    CHECK_FALSE(fs::exists(target / "store" / "data.mdb"));
  }
  // The bytes variant (the fuzz target's) refuses the same way.
  CHECK_FALSE(unpack_export_archive_bytes("garbage", dir.path / "bytes"));
}
