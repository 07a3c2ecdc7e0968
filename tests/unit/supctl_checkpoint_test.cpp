// `supctl checkpoint list|inspect|validate` on a state dir's store, with no
// daemon: a store written here, read through the whole CLI (run_supctl),
// then damaged byte by byte.
#include <doctest/doctest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "store/lmdb_store.hpp"
#include "supctl/cli_app.hpp"

using sup::store::AppendRequest;
using sup::store::ExecutionStatus;
using sup::store::LmdbCheckpointStore;
using sup::store::RecordKind;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    char pattern[] = "/tmp/supctl-checkpoint-test-XXXXXX";
    REQUIRE(::mkdtemp(pattern) != nullptr);
    path = pattern;
  }
  ~TempDir() { fs::remove_all(path); }
};

struct Run {
  int code = -1;
  std::string out;
  std::string err;
};

Run supctl(std::vector<std::string> args) {
  std::vector<std::string> argv_storage = {"supctl"};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<const char*> argv;
  for (const auto& arg : argv_storage) argv.push_back(arg.c_str());
  std::ostringstream out, err;
  std::istringstream in;
  Run run;
  run.code = sup::cli::run_supctl(static_cast<int>(argv.size()), argv.data(),
                                  sup::cli::Io{out, err, in, false, std::nullopt, std::nullopt});
  run.out = out.str();
  run.err = err.str();
  return run;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Three executions of 5 records each, in <state_dir>/store; exec-2 finished.
void write_store(const fs::path& state_dir) {
  auto store = LmdbCheckpointStore::open({.path = state_dir / "store"});
  REQUIRE(store);
  for (int e = 0; e < 3; ++e) {
    const std::string id = "exec-" + std::to_string(e);
    AppendRequest submitted{
        id,
        {{RecordKind::ExecutionSubmitted, R"({"spec":"marker-)" + id + R"("})"}},
        ExecutionStatus{"PENDING", false},
        true};
    REQUIRE(sup::store::append_and_wait(**store, std::move(submitted)));
    for (int seq = 2; seq <= 5; ++seq) {
      const bool last = seq == 5;
      AppendRequest step{
          id,
          {{RecordKind::NodeTransition, "payload-" + id + "-" + std::to_string(seq) + "-end"}},
          ExecutionStatus{last && e == 2 ? "COMPLETED" : "RUNNING", last && e == 2}};
      REQUIRE(sup::store::append_and_wait(**store, std::move(step)));
    }
  }
}

// Flips one byte inside every copy of `marker` in data.mdb.
void flip(const fs::path& data_file, const std::string& marker) {
  std::string file;
  {
    std::ifstream in(data_file, std::ios::binary);
    file.assign(std::istreambuf_iterator<char>(in), {});
  }
  int flipped = 0;
  for (auto at = file.find(marker); at != std::string::npos; at = file.find(marker, at + 1)) {
    file[at + 8] = static_cast<char>(file[at + 8] ^ 0x20);
    ++flipped;
  }
  REQUIRE(flipped >= 1);
  std::ofstream out(data_file, std::ios::binary | std::ios::trunc);
  out.write(file.data(), static_cast<std::streamsize>(file.size()));
}

}  // namespace

TEST_CASE("checkpoint list, inspect and validate read a state dir's store") {
  TempDir dir;
  write_store(dir.path);
  const std::string state_dir = dir.path.string();

  auto list = supctl({"checkpoint", "list", "--state-dir", state_dir});
  CHECK(list.code == 0);
  CHECK(contains(list.out, "EXECUTION"));
  CHECK(contains(list.out, "exec-0"));
  CHECK(contains(list.out, "COMPLETED"));

  auto json = supctl({"checkpoint", "list", "--state-dir", state_dir, "--json"});
  REQUIRE(json.code == 0);
  auto listed = nlohmann::json::parse(json.out);
  CHECK(listed["executions"].size() == 3);
  CHECK(listed["executions"][2]["state"] == "COMPLETED");
  CHECK(listed["executions"][2]["records"] == 5);

  auto recent =
      supctl({"checkpoint", "list", "--store", state_dir + "/store", "--recent", "1", "--json"});
  REQUIRE(recent.code == 0);
  CHECK(nlohmann::json::parse(recent.out)["executions"].size() == 1);

  auto records = supctl({"checkpoint", "list", "--state-dir", state_dir, "--execution", "exec-1"});
  CHECK(records.code == 0);
  CHECK(contains(records.out, "exec-1:1"));
  CHECK(contains(records.out, "exec-1:5"));

  auto one = supctl({"checkpoint", "inspect", "exec-1:1", "--state-dir", state_dir, "--json"});
  REQUIRE(one.code == 0);
  auto record = nlohmann::json::parse(one.out);
  CHECK(record["checkpoint_id"] == "exec-1:1");
  CHECK(record["payload"]["spec"] == "marker-exec-1");  // a JSON payload shown as JSON

  auto whole = supctl({"checkpoint", "inspect", "exec-0", "--state-dir", state_dir, "--json"});
  REQUIRE(whole.code == 0);
  CHECK(nlohmann::json::parse(whole.out)["checkpoints"].size() == 5);

  auto clean = supctl({"checkpoint", "validate", "--state-dir", state_dir});
  CHECK(clean.code == 0);
  CHECK(contains(clean.out, "3 executions, 15 records checked: clean"));
}

TEST_CASE("checkpoint validate names every bad record after bytes flip, and exits 1") {
  TempDir dir;
  write_store(dir.path);
  flip(dir.path / "store" / "data.mdb", "payload-exec-1-3-end");
  const std::string state_dir = dir.path.string();

  auto bad = supctl({"checkpoint", "validate", "--state-dir", state_dir});
  CHECK(bad.code == 1);
  CHECK(contains(bad.out, "BAD exec-1:3: record checksum mismatch"));
  CHECK(contains(bad.out, "1 bad"));

  auto json = supctl({"checkpoint", "validate", "--all", "--state-dir", state_dir, "--json"});
  CHECK(json.code == 1);
  auto report = nlohmann::json::parse(json.out);
  CHECK(report["clean"] == false);
  REQUIRE(report["bad"].size() == 1);
  CHECK(report["bad"][0]["id"] == "exec-1:3");

  // Scoped to a healthy execution: clean.
  auto scoped =
      supctl({"checkpoint", "validate", "--execution", "exec-0", "--state-dir", state_dir});
  CHECK(scoped.code == 0);

  // The damaged execution's records cannot be inspected as if they were fine.
  auto inspect = supctl({"checkpoint", "inspect", "exec-1", "--state-dir", state_dir});
  CHECK(inspect.code == 1);
  CHECK(contains(inspect.err, "exec-1:3"));
}

TEST_CASE("checkpoint tools refuse what they cannot read, naming it") {
  TempDir dir;
  auto missing = supctl({"checkpoint", "validate", "--state-dir", dir.path.string()});
  CHECK(missing.code == 1);
  CHECK(contains(missing.err, "no store at " + (dir.path / "store").string()));
  CHECK_FALSE(fs::exists(dir.path / "store"));  // nothing created

  auto no_dir = supctl({"checkpoint", "list"});
  CHECK(no_dir.code == 2);
  CHECK(contains(no_dir.err, "--state-dir"));

  write_store(dir.path);
  auto bad_id = supctl({"checkpoint", "inspect", "exec-1:x", "--state-dir", dir.path.string()});
  CHECK(bad_id.code == 2);
  auto unknown = supctl({"checkpoint", "inspect", "exec-9:1", "--state-dir", dir.path.string()});
  CHECK(unknown.code == 1);
  auto both = supctl(
      {"checkpoint", "validate", "--all", "--recent", "2", "--state-dir", dir.path.string()});
  CHECK(both.code == 2);
}

TEST_CASE("checkpoint export-all, wipe the state dir, import: the same executions") {
  TempDir dir;
  const fs::path state = dir.path / "state";
  write_store(state);
  const std::string archive = (dir.path / "backup.tar.gz").string();
  auto before = supctl({"checkpoint", "list", "--state-dir", state.string(), "--json"});
  REQUIRE(before.code == 0);

  auto exported =
      supctl({"checkpoint", "export-all", "--state-dir", state.string(), "--output", archive});
  CHECK(exported.code == 0);
  CHECK(contains(exported.out, "exported 3 executions (15 records, 0 artifact blobs)"));
  CHECK(contains(exported.err, "exporting "));  // progress before the long part

  // `export` is the same verb; it never overwrites an archive.
  auto again = supctl({"checkpoint", "export", "--state-dir", state.string(), "--output", archive});
  CHECK(again.code == 1);
  CHECK(contains(again.err, "exists already"));

  // A state dir that still has its store is never overwritten by an import.
  auto onto = supctl({"checkpoint", "import", archive, "--state-dir", state.string()});
  CHECK(onto.code == 1);
  CHECK(contains(onto.err, "already holds a store"));

  fs::remove_all(state);
  auto imported =
      supctl({"checkpoint", "import", archive, "--state-dir", state.string(), "--json"});
  REQUIRE(imported.code == 0);
  CHECK(nlohmann::json::parse(imported.out)["executions"] == 3);
  auto after = supctl({"checkpoint", "list", "--state-dir", state.string(), "--json"});
  REQUIRE(after.code == 0);
  CHECK(nlohmann::json::parse(after.out) == nlohmann::json::parse(before.out));
  CHECK(supctl({"checkpoint", "validate", "--state-dir", state.string()}).code == 0);

  auto no_output = supctl({"checkpoint", "export", "--state-dir", state.string()});
  CHECK(no_output.code == 2);
  CHECK(contains(no_output.err, "--output"));
}

TEST_CASE("an export of a damaged store is kept as a backup, with a warning") {
  TempDir dir;
  write_store(dir.path);
  flip(dir.path / "store" / "data.mdb", "payload-exec-1-3-end");
  const std::string archive = (dir.path / "backup.tar.gz").string();
  auto exported =
      supctl({"checkpoint", "export-all", "--state-dir", dir.path.string(), "--output", archive});
  CHECK(exported.code == 0);
  CHECK(contains(exported.err, "warning: 1 records failed their checks"));
  // The import names the bad record and installs nothing.
  const fs::path target = dir.path / "target";
  auto imported = supctl({"checkpoint", "import", archive, "--state-dir", target.string()});
  CHECK(imported.code == 1);
  CHECK(contains(imported.err, "exec-1:3"));
  CHECK_FALSE(fs::exists(target / "store" / "data.mdb"));
}

TEST_CASE("checkpoint cleanup removes old finished executions and stray blobs, nothing else") {
  TempDir dir;
  write_store(dir.path);
  const fs::path artifacts = dir.path / "artifacts";
  fs::create_directories(artifacts);
  const std::string stray(64, 'a'), fresh(64, 'b');
  std::ofstream(artifacts / stray) << "old";
  std::ofstream(artifacts / fresh) << "new";
  std::ofstream(artifacts / "notes.txt") << "not a blob";
  fs::last_write_time(artifacts / stray, fs::file_time_type::clock::now() - std::chrono::hours(2));
  // A blob an unfinished execution's snapshot names stays, however old.
  const std::string named(64, 'c');
  std::ofstream(artifacts / named) << "kept";
  fs::last_write_time(artifacts / named, fs::file_time_type::clock::now() - std::chrono::hours(2));
  {
    auto store = LmdbCheckpointStore::open({.path = dir.path / "store"});
    REQUIRE(store);
    sup::store::ArtifactSnapshot snapshot{
        .node_id = "n", .path = "out", .content_hash = "sha256:" + named, .size = 4};
    REQUIRE(sup::store::append_and_wait(
        **store,
        {"exec-0", {{RecordKind::ArtifactSnapshot, encode_artifact_snapshot(snapshot)}}, {}}));
  }

  auto cleanup = supctl(
      {"checkpoint", "cleanup", "--max-age-days", "0", "--state-dir", dir.path.string(), "--json"});
  REQUIRE(cleanup.code == 0);
  auto report = nlohmann::json::parse(cleanup.out);
  CHECK(report["removed"] == nlohmann::json::array({"exec-2"}));  // the finished one
  CHECK(report["records_removed"] == 5);
  CHECK(report["artifact_blobs_removed"] == 1);
  CHECK_FALSE(fs::exists(artifacts / stray));
  CHECK(fs::exists(artifacts / named));
  CHECK(fs::exists(artifacts / fresh));  // younger than an hour: maybe a commit in flight
  CHECK(fs::exists(artifacts / "notes.txt"));

  auto list = supctl({"checkpoint", "list", "--state-dir", dir.path.string(), "--json"});
  CHECK(nlohmann::json::parse(list.out)["executions"].size() == 2);
  // Young executions stay.
  auto week =
      supctl({"checkpoint", "cleanup", "--max-age-days", "7", "--state-dir", dir.path.string()});
  CHECK(week.code == 0);
  CHECK(contains(week.out, "removed 0 finished executions older than 7 days"));
  CHECK(supctl({"checkpoint", "cleanup", "--state-dir", dir.path.string()}).code == 2);
}

TEST_CASE("FULL snapshots: taken, listed newest first as the runbook reads them, restored") {
  TempDir dir;
  write_store(dir.path);
  const std::string state_dir = dir.path.string();
  auto first = supctl({"checkpoint", "snapshot", "--type", "FULL", "--name", "pre-recovery",
                       "--state-dir", state_dir});
  REQUIRE(first.code == 0);
  CHECK(contains(first.out, "snapshot pre-recovery: 3 executions"));
  CHECK(fs::exists(dir.path / "snapshots" / "pre-recovery.tar.gz"));
  // A damaged snapshot is listed as such, after the good ones, and never as VALID.
  std::ofstream(dir.path / "snapshots" / "broken.tar.gz") << "not an archive";

  auto listed = supctl({"checkpoint", "list", "--type", "FULL", "--state-dir", state_dir});
  REQUIRE(listed.code == 0);
  std::istringstream lines(listed.out);
  std::string header, top, bottom;
  std::getline(lines, header);
  std::getline(lines, top);
  std::getline(lines, bottom);
  CHECK(header.rfind("STATUS", 0) == 0);
  // grep VALID | head -1 | awk '{print $2}'
  std::istringstream top_fields(top);
  std::string status, name;
  top_fields >> status >> name;
  CHECK(status == "VALID");
  CHECK(name == "pre-recovery");
  CHECK(bottom.rfind("DAMAGED", 0) == 0);
  CHECK_FALSE(contains(bottom, "VALID "));
  CHECK(contains(listed.err, "DAMAGED broken"));

  // Work after the snapshot: one more execution; the restore takes it away.
  {
    auto store = LmdbCheckpointStore::open({.path = dir.path / "store"});
    REQUIRE(store);
    REQUIRE(sup::store::append_and_wait(
        **store, {"exec-late", {{RecordKind::ExecutionSubmitted, "{}"}}, {}, true}));
  }
  auto restored = supctl({"checkpoint", "restore", "--checkpoint-id", "pre-recovery", "--verify",
                          "--state-dir", state_dir});
  REQUIRE_MESSAGE(restored.code == 0, restored.err);
  CHECK(contains(restored.out, "restored snapshot pre-recovery (3 executions"));
  CHECK(contains(restored.out, "verify: 3 executions, 15 records checked: clean"));
  auto after = supctl({"checkpoint", "list", "--state-dir", state_dir, "--json"});
  CHECK(nlohmann::json::parse(after.out)["executions"].size() == 3);
  // The store that was replaced is kept beside it.
  int kept = 0;
  for (const auto& entry : fs::directory_iterator(dir.path))
    kept += entry.path().filename().string().rfind("store.before-restore-", 0) == 0;
  CHECK(kept == 1);

  auto per_execution =
      supctl({"checkpoint", "restore", "--checkpoint-id", "exec-1:3", "--state-dir", state_dir});
  CHECK(per_execution.code == 1);
  CHECK(contains(per_execution.err, "not built yet"));
  auto unknown =
      supctl({"checkpoint", "restore", "--checkpoint-id", "nope", "--state-dir", state_dir});
  CHECK(unknown.code == 1);
  CHECK(contains(unknown.err, "no FULL snapshot named \"nope\""));
  CHECK(supctl({"checkpoint", "snapshot", "--name", "../x", "--state-dir", state_dir}).code == 2);
  CHECK(
      supctl({"checkpoint", "snapshot", "--type", "DELTA", "--name", "x", "--state-dir", state_dir})
          .code == 2);
}

TEST_CASE("restore refuses while another process (the daemon) has the store open") {
  TempDir dir;
  write_store(dir.path);
  const std::string state_dir = dir.path.string();
  REQUIRE(supctl({"checkpoint", "snapshot", "--name", "s", "--state-dir", state_dir}).code == 0);
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  const pid_t holder = ::fork();
  REQUIRE(holder >= 0);
  if (holder == 0) {  // the "daemon": holds the store open until killed
    auto store = LmdbCheckpointStore::open({.path = dir.path / "store"});
    const char byte = store ? '1' : '0';
    (void)!::write(ready[1], &byte, 1);
    ::pause();
    ::_exit(0);
  }
  char byte = 0;
  REQUIRE(::read(ready[0], &byte, 1) == 1);
  REQUIRE(byte == '1');
  auto refused =
      supctl({"checkpoint", "restore", "--checkpoint-id", "s", "--state-dir", state_dir});
  ::kill(holder, SIGKILL);
  ::waitpid(holder, nullptr, 0);
  ::close(ready[0]);
  ::close(ready[1]);
  CHECK(refused.code == 1);
  CHECK(contains(refused.err, "open in process " + std::to_string(holder)));
  CHECK(fs::exists(dir.path / "store" / "data.mdb"));  // untouched
  // Once it is gone, the restore goes through.
  CHECK(supctl({"checkpoint", "restore", "--checkpoint-id", "s", "--state-dir", state_dir}).code ==
        0);
}
