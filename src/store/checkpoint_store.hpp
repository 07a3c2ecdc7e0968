// The durable store of executions, behind a small interface so that a
// replicated backend (etcd) can stand in for LMDB (docs/state-store.md).
//
// Writes are asynchronous: `append` hands records to the store's writer and
// returns at once; `done` is called exactly once, from the writer's thread,
// after the transaction holding the records has been committed and synced
// (or with the error that kept them out). An actor can pass a callback that
// sends itself a message; nothing blocks.
//
//   AppendRequest request{.execution_id = "exec-1",
//                         .records = {{RecordKind::NodeTransition, R"({"node":"a",...})"}},
//                         .status = ExecutionStatus{"RUNNING", false}};
//   store.append(std::move(request), [self](Expected<AppendAck> ack) { ... });
//
// Reads are synchronous, short and safe from any thread.
#pragma once

#include <climits>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "store/record.hpp"
#include "sup/error.hpp"

namespace sup::store {

struct RecordDraft {
  RecordKind kind = RecordKind::NodeTransition;
  std::string payload;
};

struct AppendRequest {
  std::string execution_id{};
  // Appended in order, atomically (all or none), with consecutive seqs.
  std::vector<RecordDraft> records{};
  // Summary update committed in the same transaction; empty keeps it.
  std::optional<ExecutionStatus> status{};
  // true: this starts the execution (its summary is created) and fails with
  // execution_exists if it already exists: a repeated submission with a
  // client-chosen id never creates a second execution. false: the execution
  // must exist (execution_unknown otherwise).
  bool create = false;
  // The seq the first record must get, when the caller keeps its own count
  // (an engine numbering its transitions): seq_conflict otherwise, and
  // nothing is appended. A coordinator that lost track of the store (a stale
  // copy after a restart) can never interleave its records with another's.
  std::optional<std::uint64_t> expected_first_seq{};
};

struct AppendAck {
  std::string execution_id;
  std::uint64_t first_seq = 0;
  std::uint64_t last_seq = 0;
  std::int64_t timestamp_ns = 0;    // the records' timestamp
  std::uint64_t commit_number = 0;  // which commit of this store instance held them (1, 2, ...)
};

using AppendCallback = std::function<void(Expected<AppendAck>)>;

struct ExecutionFilter {
  enum class Finished { Any, Unfinished, Finished };
  Finished finished = Finished::Any;
  std::optional<std::string> state{};  // exact state name
  std::size_t limit = 0;               // 0: no limit
};

// A record or summary that failed its checks: reported by id, never used.
struct BadRecord {
  std::string id;  // "<execution_id>:<seq>", or "<execution_id>:summary"
  std::string execution_id;
  std::optional<std::uint64_t> seq;  // empty for a summary
  std::string reason;
  bool operator==(const BadRecord&) const = default;
};

// Adds the records of `more` that `into` does not name yet (by id): a
// report gathered from two scans (summaries listed, records validated)
// names each bad record once.
void merge_bad_records(std::vector<BadRecord>& into, std::vector<BadRecord> more);

struct ExecutionList {
  std::vector<ExecutionSummary> executions;  // in execution id order
  std::vector<BadRecord> bad;  // summaries that failed their checks (not in `executions`)
};

struct ScanScope {
  std::vector<std::string> execution_ids{};  // empty: every execution
};

struct ScanReport {
  std::uint64_t executions_checked = 0;
  std::uint64_t records_checked = 0;
  // Checksum or structure failures, keys that disagree with their envelope,
  // summaries that disagree with their records, records without a summary.
  std::vector<BadRecord> bad;
  bool clean() const { return bad.empty(); }
};

struct CleanupRequest {
  // Finished executions last updated before this (Unix ns) are removed.
  std::int64_t updated_before_ns = INT64_MAX;
  // Empty: consider every execution. Else only these; an unfinished or
  // unknown one named here is reported, never removed.
  std::vector<std::string> execution_ids{};
};

struct CleanupReport {
  std::vector<std::string> removed;
  std::vector<std::string> refused_unfinished;  // named in the request, not finished
  std::vector<std::string> unknown;             // named in the request, absent
  std::uint64_t records_removed = 0;
};

using CleanupCallback = std::function<void(Expected<CleanupReport>)>;
using SettingCallback = std::function<void(Status)>;

// What the writer did so far (metrics come later).
struct StoreStats {
  std::uint64_t commits = 0;            // successful write transactions
  std::uint64_t appends_committed = 0;  // append requests acknowledged
  std::uint64_t records_committed = 0;
  std::uint64_t appends_failed = 0;       // append requests answered with an error
  std::uint64_t store_full_failures = 0;  // of those, store_full
  std::uint64_t max_batch = 0;            // most append requests in one commit
  std::uint64_t commit_ns_total = 0;      // whole transactions (puts + commit), summed
  std::uint64_t commit_ns_max = 0;
  std::uint64_t sync_ns_total = 0;  // of that, mdb_txn_commit: page writes and fsyncs
  std::uint64_t sync_ns_max = 0;
  std::uint64_t map_grows = 0;
  std::uint64_t map_bytes = 0;    // current map size
  std::uint64_t queue_depth = 0;  // requests waiting for the writer now

  double mean_batch() const {
    return commits == 0 ? 0.0 : static_cast<double>(appends_committed) / commits;
  }
};

class CheckpointStore {
 public:
  virtual ~CheckpointStore() = default;

  // Invalid input or a closed store: the error, and `done` is never called.
  // Else `done` is called once, from the writer thread, after the commit
  // (keep it short: it delays the next group's acknowledgements).
  virtual Status append(AppendRequest request, AppendCallback done) = 0;

  // Removes finished executions (records and summary); never an unfinished one.
  virtual Status cleanup(CleanupRequest request, CleanupCallback done) = 0;

  // Stores a setting (a small named value of the daemon's, e.g. the
  // maintenance mode), replacing the one of that name. Like append: an
  // invalid name or value (kMaxSettingNameBytes, kMaxSettingValueBytes) is
  // the error and `done` is never called; else `done` is called once from
  // the writer thread after the commit, or with the error that kept it out.
  virtual Status put_setting(std::string name, std::string value, SettingCallback done) = 0;
  // The setting as committed; nullopt if never set, record_corrupt if it
  // fails its checksum (never silently a default).
  virtual Expected<std::optional<std::string>> get_setting(std::string_view name) const = 0;

  // Records of one execution with seq >= from_seq, in seq order.
  // record_corrupt (naming every bad id) if any of them fails its checks:
  // a corrupt execution is never rebuilt from partial data.
  virtual Expected<std::vector<Record>> read_execution(std::string_view execution_id,
                                                       std::uint64_t from_seq = 1) const = 0;
  // execution_unknown if absent, record_corrupt if its summary is bad.
  virtual Expected<ExecutionSummary> get_execution(std::string_view execution_id) const = 0;
  virtual Expected<ExecutionList> list_executions(const ExecutionFilter& filter) const = 0;
  // Checks every record and summary in scope (checkpoint validate).
  virtual Expected<ScanReport> validate(const ScanScope& scope) const = 0;
  // A consistent copy of the whole store in `directory` (created, must be
  // empty), compacted; see docs/state-store.md for the export archive.
  virtual Status export_copy(const std::filesystem::path& directory) const = 0;

  virtual StoreStats stats() const = 0;
};

// Blocks until `store` acknowledges `request`. For tools, tests and startup;
// never from an actor's handler, nor from a store callback (it would wait
// for itself).
Expected<AppendAck> append_and_wait(CheckpointStore& store, AppendRequest request);
Expected<CleanupReport> cleanup_and_wait(CheckpointStore& store, CleanupRequest request);
Status put_setting_and_wait(CheckpointStore& store, std::string name, std::string value);

}  // namespace sup::store
