// The LMDB checkpoint store on a real temporary directory: appends and
// reads, group commit, corruption in data.mdb, a full map, cleanup,
// export/import, reopen, and a kill -9 of a process in the middle of appends.
#include <doctest/doctest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "store/lmdb_store.hpp"

using namespace sup::store;
using sup::Expected;
using sup::Status;
namespace fs = std::filesystem;

namespace {

// A fresh directory under /tmp, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "sup-store-test-XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::unique_ptr<LmdbCheckpointStore> open_store(LmdbStoreOptions options) {
  auto store = LmdbCheckpointStore::open(std::move(options));
  if (!store)
    FAIL("open failed: " << std::string(sup::to_string(store.error().code)) << ": "
                         << store.error().describe());
  return std::move(*store);
}

std::unique_ptr<LmdbCheckpointStore> open_store(const fs::path& path) {
  return open_store(LmdbStoreOptions{.path = path});
}

AppendRequest transition(std::string execution_id, std::string payload, bool create = false,
                         std::optional<ExecutionStatus> status = std::nullopt) {
  return {
      std::move(execution_id),
      {{create ? RecordKind::ExecutionSubmitted : RecordKind::NodeTransition, std::move(payload)}},
      std::move(status),
      create};
}

AppendAck must_append(CheckpointStore& store, AppendRequest request) {
  auto ack = append_and_wait(store, std::move(request));
  if (!ack)
    FAIL("append failed: " << std::string(sup::to_string(ack.error().code)) << ": "
                           << ack.error().describe());
  return *ack;
}

std::vector<std::string> payloads(const std::vector<Record>& records) {
  std::vector<std::string> out;
  for (const auto& record : records) out.push_back(record.payload);
  return out;
}

std::vector<std::string> ids(const std::vector<BadRecord>& bad) {
  std::vector<std::string> out;
  for (const auto& record : bad) out.push_back(record.id);
  return out;
}

}  // namespace

TEST_CASE("appends are read back in seq order, from any seq") {
  TempDir dir;
  auto store = open_store(dir.path() / "store");
  auto first = must_append(*store, transition("exec-1", "spec", true, ExecutionStatus{"PENDING"}));
  CHECK(first.first_seq == 1);
  CHECK(first.last_seq == 1);
  AppendRequest two_records{
      "exec-1",
      {{RecordKind::NodeTransition, "a RUNNING"}, {RecordKind::NodeResult, R"({"rows":3})"}},
      ExecutionStatus{"RUNNING"}};
  auto second = must_append(*store, std::move(two_records));
  CHECK(second.first_seq == 2);
  CHECK(second.last_seq == 3);
  must_append(*store, transition("exec-2", "other", true));

  auto records = store->read_execution("exec-1");
  REQUIRE(records);
  CHECK(payloads(*records) == std::vector<std::string>{"spec", "a RUNNING", R"({"rows":3})"});
  CHECK((*records)[0].kind == RecordKind::ExecutionSubmitted);
  CHECK((*records)[2].kind == RecordKind::NodeResult);
  CHECK((*records)[2].id().to_string() == "exec-1:3");
  CHECK((*records)[1].timestamp_ns == second.timestamp_ns);

  auto tail = store->read_execution("exec-1", 3);
  REQUIRE(tail);
  CHECK(payloads(*tail) == std::vector<std::string>{R"({"rows":3})"});

  auto summary = store->get_execution("exec-1");
  REQUIRE(summary);
  CHECK(summary->status.state == "RUNNING");
  CHECK(summary->last_seq == 3);
  CHECK(summary->record_count == 3);
  CHECK(summary->created_at_ns == first.timestamp_ns);
  CHECK(summary->updated_at_ns == second.timestamp_ns);
}

TEST_CASE("create is idempotent by id, appends need an existing execution, bad input is refused") {
  TempDir dir;
  auto store = open_store(dir.path());
  must_append(*store, transition("exec-1", "spec", true));
  auto again = append_and_wait(*store, transition("exec-1", "spec again", true));
  REQUIRE_FALSE(again);
  CHECK(again.error().code == errc::kExecutionExists);
  auto unknown = append_and_wait(*store, transition("nobody", "x"));
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().code == errc::kExecutionUnknown);
  auto records = store->read_execution("exec-1");
  REQUIRE(records);
  CHECK(payloads(*records) == std::vector<std::string>{"spec"});

  AppendRequest expecting = transition("exec-1", "at 2");
  expecting.expected_first_seq = 3;
  auto conflict = append_and_wait(*store, expecting);
  REQUIRE_FALSE(conflict);
  CHECK(conflict.error().code == errc::kSeqConflict);
  CHECK(conflict.error().field_path == "expected_first_seq");
  expecting.expected_first_seq = 2;
  CHECK(must_append(*store, expecting).first_seq == 2);

  auto bad_id = store->append(transition("bad id", "x"), [](Expected<AppendAck>) {});
  REQUIRE_FALSE(bad_id);
  CHECK(bad_id.error().field_path == "execution_id");
  auto no_records = store->append({"exec-1", {}, std::nullopt, false}, [](Expected<AppendAck>) {});
  REQUIRE_FALSE(no_records);
  CHECK(no_records.error().field_path == "records");
  auto huge = store->append(transition("exec-1", std::string(kMaxPayloadBytes + 1, 'x')),
                            [](Expected<AppendAck>) {});
  REQUIRE_FALSE(huge);
  CHECK(huge.error().field_path == "records[0].payload");
  CHECK(store->get_execution("nobody").error().code == errc::kExecutionUnknown);
  CHECK(store->read_execution("nobody").error().code == errc::kExecutionUnknown);
}

TEST_CASE("options are checked with field paths; one open per path per process") {
  TempDir dir;
  auto no_path = LmdbCheckpointStore::open({});
  REQUIRE_FALSE(no_path);
  CHECK(no_path.error().field_path == "store.path");
  auto tiny = LmdbCheckpointStore::open({.path = dir.path(), .max_bytes = 4096});
  REQUIRE_FALSE(tiny);
  CHECK(tiny.error().field_path == "store.max_bytes");
  auto no_batch = LmdbCheckpointStore::open({.path = dir.path(), .max_batch = 0});
  REQUIRE_FALSE(no_batch);
  CHECK(no_batch.error().field_path == "store.max_batch");

  auto store = open_store(dir.path());
  auto twice = LmdbCheckpointStore::open({.path = dir.path() / "." / ""});
  REQUIRE_FALSE(twice);
  CHECK(twice.error().code == errc::kAlreadyOpen);
  store.reset();
  CHECK(LmdbCheckpointStore::open({.path = dir.path()}));
}

TEST_CASE("listing filters by finished and state; the summary index survives a reopen") {
  TempDir dir;
  {
    auto store = open_store(dir.path());
    for (int i = 0; i < 30; ++i) {
      std::string id = "exec-" + std::to_string(100 + i);
      bool finished = i % 3 == 0;
      must_append(*store,
                  transition(id, "spec", true,
                             ExecutionStatus{finished ? "COMPLETED" : "RUNNING", finished}));
    }
  }
  auto store = open_store(dir.path());
  auto unfinished = store->list_executions({.finished = ExecutionFilter::Finished::Unfinished});
  REQUIRE(unfinished);
  CHECK(unfinished->executions.size() == 20);
  CHECK(unfinished->bad.empty());
  for (const auto& summary : unfinished->executions) CHECK_FALSE(summary.status.finished);
  auto completed = store->list_executions({.state = "COMPLETED"});
  REQUIRE(completed);
  CHECK(completed->executions.size() == 10);
  CHECK(completed->executions.front().execution_id == "exec-100");
  auto limited = store->list_executions({.limit = 4});
  REQUIRE(limited);
  CHECK(limited->executions.size() == 4);
}

TEST_CASE("group commit: concurrent appends share transactions, each acked after its commit") {
  TempDir dir;
  auto store = open_store(
      LmdbStoreOptions{.path = dir.path(), .commit_window = std::chrono::microseconds(500)});
  constexpr int kProducers = 8;
  constexpr int kPerProducer = 400;
  for (int p = 0; p < kProducers; ++p)
    must_append(*store, transition("producer-" + std::to_string(p), "spec", true));
  const StoreStats before = store->stats();

  struct Seen {
    std::string execution_id;
    std::uint64_t seq = 0;
    std::uint64_t commit_number = 0;
    std::uint64_t commits_at_ack = 0;
    bool readable_at_ack = false;
  };
  std::mutex seen_mutex;
  std::vector<Seen> seen;
  std::vector<std::string> failures;
  std::condition_variable all_seen;
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      std::string id = "producer-" + std::to_string(p);
      for (int i = 0; i < kPerProducer; ++i) {
        auto handed =
            store->append(transition(id, "t" + std::to_string(i)), [&](Expected<AppendAck> ack) {
              Seen entry;
              if (ack) {
                entry = {ack->execution_id, ack->first_seq, ack->commit_number,
                         store->stats().commits, false};
                auto visible = store->read_execution(ack->execution_id, ack->first_seq);
                entry.readable_at_ack =
                    visible && !visible->empty() && visible->front().seq == ack->first_seq;
              }
              // Notified under the lock: the test may end once it sees all.
              std::lock_guard lock(seen_mutex);
              if (ack)
                seen.push_back(entry);
              else
                failures.push_back(ack.error().describe());
              all_seen.notify_all();
            });
        if (!handed) {
          std::lock_guard lock(seen_mutex);
          failures.push_back(handed.error().describe());
        }
      }
    });
  }
  for (auto& producer : producers) producer.join();
  {
    std::unique_lock lock(seen_mutex);
    all_seen.wait(lock, [&] { return seen.size() + failures.size() == kProducers * kPerProducer; });
  }

  CHECK(failures.empty());
  REQUIRE(seen.size() == kProducers * kPerProducer);
  const StoreStats after = store->stats();
  std::uint64_t commits = after.commits - before.commits;
  MESSAGE("appends: " << seen.size() << ", commits: " << commits
                      << ", largest group: " << after.max_batch);
  CHECK(commits < seen.size() / 4);
  CHECK(after.max_batch > 1);
  std::set<std::pair<std::string, std::uint64_t>> unique;
  for (const auto& entry : seen) {
    CHECK(entry.readable_at_ack);
    CHECK(entry.commit_number <= entry.commits_at_ack);
    unique.insert({entry.execution_id, entry.seq});
  }
  CHECK(unique.size() == seen.size());
  // Each producer's appends got consecutive seqs in hand-over order.
  for (int p = 0; p < kProducers; ++p) {
    auto records = store->read_execution("producer-" + std::to_string(p), 2);
    REQUIRE(records);
    REQUIRE(records->size() == kPerProducer);
    for (int i = 0; i < kPerProducer; ++i) CHECK((*records)[i].payload == "t" + std::to_string(i));
  }
  auto report = store->validate({});
  REQUIRE(report);
  CHECK(report->clean());
}

TEST_CASE("a group never holds more than max_batch appends") {
  TempDir dir;
  auto store = open_store(LmdbStoreOptions{.path = dir.path(), .max_batch = 8});
  must_append(*store, transition("capped", "spec", true));
  constexpr std::size_t kAppends = 400;
  std::mutex mutex;
  std::condition_variable all_acked;
  std::size_t acked = 0, failed = 0;
  for (std::size_t i = 0; i < kAppends; ++i) {
    auto handed =
        store->append(transition("capped", std::to_string(i)), [&](Expected<AppendAck> ack) {
          std::lock_guard lock(mutex);
          ++(ack ? acked : failed);
          all_acked.notify_all();
        });
    if (!handed) {
      std::lock_guard lock(mutex);
      ++failed;  // no callback will come: counted here so the wait below ends
    }
  }
  {
    std::unique_lock lock(mutex);
    all_acked.wait(lock, [&] { return acked + failed == kAppends; });
  }
  CHECK(failed == 0);
  StoreStats stats = store->stats();
  CHECK(stats.max_batch <= 8);
  CHECK(stats.commits >= kAppends / 8 + 1);
  auto records = store->read_execution("capped");
  REQUIRE(records);
  CHECK(records->size() == kAppends + 1);
}

TEST_CASE(
    "bytes flipped in data.mdb: validate names the records, reads refuse them, others go on") {
  TempDir dir;
  {
    auto store = open_store(dir.path());
    for (int e = 0; e < 3; ++e) {
      std::string id = "exec-" + std::to_string(e);
      must_append(*store, transition(id, "spec", true));
      for (int i = 2; i <= 10; ++i)
        must_append(*store, transition(id, "payload-" + id + "-" + std::to_string(i) + "-end"));
    }
  }
  // Flip a byte of every copy of two records' payloads (copy-on-write leaves
  // stale copies in free pages; flipping those too changes nothing).
  std::string file;
  {
    std::ifstream in(dir.path() / "data.mdb", std::ios::binary);
    file.assign(std::istreambuf_iterator<char>(in), {});
  }
  int flipped = 0;
  for (std::string marker : {"payload-exec-1-7-end", "payload-exec-2-3-end"}) {
    for (auto at = file.find(marker); at != std::string::npos; at = file.find(marker, at + 1)) {
      file[at + 8] = static_cast<char>(file[at + 8] ^ 0x20);
      ++flipped;
    }
  }
  REQUIRE(flipped >= 2);
  {
    std::ofstream out(dir.path() / "data.mdb", std::ios::binary | std::ios::trunc);
    out.write(file.data(), static_cast<std::streamsize>(file.size()));
  }

  auto store = open_store(dir.path());
  auto report = store->validate({});
  REQUIRE(report);
  CHECK(report->records_checked == 30);
  CHECK(report->executions_checked == 3);
  CHECK(ids(report->bad) == std::vector<std::string>{"exec-1:7", "exec-2:3"});
  CHECK(report->bad[0].reason == "record checksum mismatch");

  auto scoped = store->validate({.execution_ids = {"exec-2"}});
  REQUIRE(scoped);
  CHECK(ids(scoped->bad) == std::vector<std::string>{"exec-2:3"});

  auto refused = store->read_execution("exec-1");
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == errc::kRecordCorrupt);
  CHECK(refused.error().field_path == "exec-1:7");
  auto before_bad = store->read_execution("exec-1", 8);  // the records after the bad one
  REQUIRE(before_bad);
  CHECK(before_bad->size() == 3);
  auto intact = store->read_execution("exec-0");
  REQUIRE(intact);
  CHECK(intact->size() == 10);
  must_append(*store, transition("exec-0", "still writable"));
}

TEST_CASE("a full map fails appends with store_full, corrupts nothing, and recovers") {
  TempDir dir;
  const std::uint64_t max_bytes = 1 << 20;
  const std::string big(48 << 10, 'x');
  std::vector<std::string> acknowledged;
  {
    auto store = open_store(LmdbStoreOptions{
        .path = dir.path(), .max_bytes = max_bytes, .initial_map_bytes = 256 << 10});
    Expected<AppendAck> last = AppendAck{};
    for (int i = 0; i < 100 && last; ++i) {
      std::string id = "big-" + std::to_string(i);
      last = append_and_wait(*store, transition(id, big, true, ExecutionStatus{"COMPLETED", true}));
      if (last) acknowledged.push_back(id);
    }
    REQUIRE_FALSE(last);
    CHECK(last.error().code == errc::kStoreFull);
    CHECK(last.error().message.find("store.max_bytes") != std::string::npos);
    MESSAGE("acknowledged before full: " << acknowledged.size());
    REQUIRE(acknowledged.size() >= 5);
    StoreStats stats = store->stats();
    CHECK(stats.map_grows >= 1);
    CHECK(stats.map_bytes <= max_bytes);
    CHECK(stats.store_full_failures == 1);

    // Nothing is corrupted, everything acknowledged is there.
    auto report = store->validate({});
    REQUIRE(report);
    CHECK(report->clean());
    CHECK(report->executions_checked == acknowledged.size());
    for (const auto& id : acknowledged) CHECK(store->read_execution(id));

    // Cleanup of finished executions makes room; appends succeed again.
    auto cleaned = cleanup_and_wait(
        *store, {.execution_ids = {acknowledged.begin(), acknowledged.begin() + 3}});
    REQUIRE(cleaned);
    CHECK(cleaned->removed.size() == 3);
    must_append(*store, transition("after-cleanup", big, true));
    auto after = store->validate({});
    REQUIRE(after);
    CHECK(after->clean());
  }
  // A bigger max_bytes on reopen also gives room.
  auto store = open_store(LmdbStoreOptions{.path = dir.path(), .max_bytes = 8 << 20});
  for (int i = 0; i < 10; ++i)
    must_append(*store, transition("bigger-" + std::to_string(i), big, true));
  auto report = store->validate({});
  REQUIRE(report);
  CHECK(report->clean());
}

TEST_CASE("cleanup removes finished executions only") {
  TempDir dir;
  auto store = open_store(dir.path());
  must_append(*store, transition("done-1", "spec", true, ExecutionStatus{"COMPLETED", true}));
  must_append(*store, transition("done-1", "more"));
  must_append(*store, transition("done-2", "spec", true, ExecutionStatus{"FAILED", true}));
  must_append(*store, transition("running", "spec", true, ExecutionStatus{"RUNNING", false}));

  auto named = cleanup_and_wait(*store, {.execution_ids = {"done-1", "running", "ghost"}});
  REQUIRE(named);
  CHECK(named->removed == std::vector<std::string>{"done-1"});
  CHECK(named->refused_unfinished == std::vector<std::string>{"running"});
  CHECK(named->unknown == std::vector<std::string>{"ghost"});
  CHECK(named->records_removed == 2);
  CHECK(store->read_execution("done-1").error().code == errc::kExecutionUnknown);

  auto too_recent = cleanup_and_wait(*store, {.updated_before_ns = 0});
  REQUIRE(too_recent);
  CHECK(too_recent->removed.empty());
  auto all = cleanup_and_wait(*store, {});
  REQUIRE(all);
  CHECK(all->removed == std::vector<std::string>{"done-2"});
  auto left = store->list_executions({});
  REQUIRE(left);
  REQUIRE(left->executions.size() == 1);
  CHECK(left->executions[0].execution_id == "running");
  auto report = store->validate({});
  REQUIRE(report);
  CHECK(report->clean());
}

TEST_CASE("export, wipe, import gives back the same executions; a corrupt export is refused") {
  TempDir dir;
  std::map<std::string, std::vector<std::string>> written;
  {
    auto store = open_store(dir.path() / "store");
    for (int e = 0; e < 5; ++e) {
      std::string id = "exec-" + std::to_string(e);
      must_append(*store, transition(id, "spec", true, ExecutionStatus{"RUNNING"}));
      written[id].push_back("spec");
      for (int i = 0; i < e; ++i) {
        std::string payload = "record-" + id + "-" + std::to_string(i);
        must_append(*store, transition(id, payload));
        written[id].push_back(payload);
      }
    }
    REQUIRE(store->export_copy(dir.path() / "export"));
    auto again = store->export_copy(dir.path() / "export");
    REQUIRE_FALSE(again);
    CHECK(again.error().code == errc::kInvalidArgument);
  }
  fs::remove_all(dir.path() / "store");
  REQUIRE(LmdbCheckpointStore::import_copy(dir.path() / "export", dir.path() / "store"));
  auto over = LmdbCheckpointStore::import_copy(dir.path() / "export", dir.path() / "store");
  REQUIRE_FALSE(over);
  CHECK(over.error().code == errc::kInvalidArgument);
  {
    auto store = open_store(dir.path() / "store");
    auto list = store->list_executions({});
    REQUIRE(list);
    CHECK(list->executions.size() == written.size());
    for (const auto& [id, expected] : written) {
      auto records = store->read_execution(id);
      REQUIRE(records);
      CHECK(payloads(*records) == expected);
    }
  }

  // Flip a byte of a record in the export: import names it and copies nothing.
  std::string file;
  {
    std::ifstream in(dir.path() / "export" / "data.mdb", std::ios::binary);
    file.assign(std::istreambuf_iterator<char>(in), {});
  }
  auto at = file.find("record-exec-3-1");
  REQUIRE(at != std::string::npos);
  file[at] = 'R';
  {
    std::ofstream out(dir.path() / "export" / "data.mdb", std::ios::binary | std::ios::trunc);
    out.write(file.data(), static_cast<std::streamsize>(file.size()));
  }
  auto corrupt = LmdbCheckpointStore::import_copy(dir.path() / "export", dir.path() / "store2");
  REQUIRE_FALSE(corrupt);
  CHECK(corrupt.error().code == errc::kRecordCorrupt);
  CHECK(corrupt.error().field_path == "exec-3:3");
  CHECK_FALSE(fs::exists(dir.path() / "store2" / "data.mdb"));
}

namespace {

// The child of the crash test: appends from 4 threads and writes
// "<execution_id> <seq>\n" to `ack_fd` for every acknowledged record, until
// it is killed. Never returns.
[[noreturn]] void append_until_killed(const fs::path& path, int ack_fd) {
  auto store = LmdbCheckpointStore::open({.path = path});
  if (!store) _exit(3);
  std::vector<std::thread> producers;
  for (int p = 0; p < 4; ++p) {
    producers.emplace_back([&, p] {
      std::string id = "crash-" + std::to_string(p);
      auto created = append_and_wait(**store, transition(id, "spec", true));
      if (!created && created.error().code != errc::kExecutionExists) _exit(4);
      for (int i = 0;; ++i) {
        std::string payload = id + "#" + std::to_string(i);
        Status handed =
            (*store)->append(transition(id, payload), [ack_fd](Expected<AppendAck> ack) {
              if (!ack) _exit(5);
              std::string line = ack->execution_id + " " + std::to_string(ack->first_seq) + "\n";
              if (write(ack_fd, line.data(), line.size()) != static_cast<ssize_t>(line.size()))
                _exit(6);
            });
        if (!handed) _exit(7);
        if (i % 64 == 63) std::this_thread::sleep_for(std::chrono::microseconds(200));
      }
    });
  }
  for (auto& producer : producers) producer.join();
  _exit(8);
}

}  // namespace

TEST_CASE("kill -9 in the middle of appends loses no acknowledged record") {
  TempDir dir;
  for (int round = 0; round < 3; ++round) {
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      close(fds[0]);
      append_until_killed(dir.path(), fds[1]);
    }
    close(fds[1]);
    // Await a few thousand acknowledgements (generous deadline), then kill.
    std::string acks;
    const std::size_t wanted_lines = 2000 + 1500 * round;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    char buffer[4096];
    while (static_cast<std::size_t>(std::count(acks.begin(), acks.end(), '\n')) < wanted_lines &&
           std::chrono::steady_clock::now() < deadline) {
      pollfd ready{fds[0], POLLIN, 0};
      if (poll(&ready, 1, 1000) <= 0) continue;
      ssize_t n = read(fds[0], buffer, sizeof buffer);
      if (n <= 0) break;
      acks.append(buffer, static_cast<std::size_t>(n));
    }
    REQUIRE(kill(child, SIGKILL) == 0);
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    CHECK(WIFSIGNALED(status));
    // Acknowledgements written before the kill are still in the pipe.
    for (ssize_t n; (n = read(fds[0], buffer, sizeof buffer)) > 0;)
      acks.append(buffer, static_cast<std::size_t>(n));
    close(fds[0]);

    std::map<std::string, std::uint64_t> highest_acked;
    std::istringstream lines(acks);
    std::string execution_id;
    std::uint64_t seq = 0;
    std::size_t acked = 0;
    while (lines >> execution_id >> seq) {
      ++acked;
      highest_acked[execution_id] = std::max(highest_acked[execution_id], seq);
    }
    MESSAGE("round " << round << ": " << acked << " acknowledged before kill -9");
    REQUIRE(acked >= wanted_lines);

    auto store = open_store(dir.path());
    auto report = store->validate({});
    REQUIRE(report);
    CHECK(report->clean());
    for (const auto& [id, highest] : highest_acked) {
      auto records = store->read_execution(id);
      REQUIRE(records);
      REQUIRE(records->size() >= highest);
      // Every seq up to the highest acknowledged one is there, in order.
      for (std::uint64_t s = 1; s <= highest; ++s) CHECK((*records)[s - 1].seq == s);
    }
    // The next round's child appends to the same executions: reopen after
    // the kill must also leave the store writable.
    must_append(*store, transition("crash-0", "after kill " + std::to_string(round)));
  }
}

TEST_CASE("a setting is committed before it is acknowledged, survives a reopen, and is checked") {
  TempDir dir;
  {
    auto store = open_store(dir.path());
    auto absent = store->get_setting("maintenance");
    REQUIRE(absent);
    CHECK_FALSE(*absent);
    REQUIRE(
        put_setting_and_wait(*store, "maintenance", R"({"enabled":true,"mark":"setting-AAAA"})"));
    REQUIRE(put_setting_and_wait(*store, "other", "x"));
    auto read = store->get_setting("maintenance");
    REQUIRE(read);
    REQUIRE(*read);
    CHECK(**read == R"({"enabled":true,"mark":"setting-AAAA"})");
    CHECK(store->stats().commits == 2);
    // Invalid names and values are refused before anything is queued.
    CHECK_FALSE(store->put_setting("", "x", [](Status) { FAIL("called"); }));
    CHECK_FALSE(store->put_setting(std::string(65, 'n'), "x", [](Status) { FAIL("called"); }));
    CHECK_FALSE(store->put_setting("big", std::string(kMaxSettingValueBytes + 1, 'v'),
                                   [](Status) { FAIL("called"); }));
  }
  {
    auto store = open_store(dir.path());
    auto read = store->get_setting("maintenance");
    REQUIRE(read);
    REQUIRE(*read);
    CHECK(read->value().find("setting-AAAA") != std::string::npos);
  }
  // A flipped byte is detected, never read as a value.
  std::string file;
  {
    std::ifstream in(dir.path() / "data.mdb", std::ios::binary);
    file.assign(std::istreambuf_iterator<char>(in), {});
  }
  int flipped = 0;
  for (auto at = file.find("setting-AAAA"); at != std::string::npos;
       at = file.find("setting-AAAA", at + 1)) {
    file[at + 8] = 'B';
    ++flipped;
  }
  REQUIRE(flipped >= 1);
  {
    std::ofstream out(dir.path() / "data.mdb", std::ios::binary | std::ios::trunc);
    out.write(file.data(), static_cast<std::streamsize>(file.size()));
  }
  auto store = open_store(dir.path());
  auto corrupt = store->get_setting("maintenance");
  REQUIRE_FALSE(corrupt);
  CHECK(corrupt.error().code == errc::kRecordCorrupt);
  auto other = store->get_setting("other");
  REQUIRE(other);
  CHECK(**other == "x");
}

TEST_CASE("a setting's stored form: checksum over name and value") {
  std::string bytes = encode_setting("maintenance", "on");
  auto back = decode_setting("maintenance", bytes);
  REQUIRE(back);
  CHECK(*back == "on");
  CHECK_FALSE(decode_setting("other", bytes));  // stored under another name
  CHECK_FALSE(decode_setting("maintenance", bytes.substr(0, 5)));
  std::string flipped = bytes;
  flipped[4] = static_cast<char>(flipped[4] ^ 1);
  CHECK_FALSE(decode_setting("maintenance", flipped));
}
