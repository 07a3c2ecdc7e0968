#include "store/lmdb_store.hpp"

#include <fcntl.h>
#include <lmdb.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <thread>
#include <unordered_map>
#include <variant>

#include "common/clock.hpp"

namespace sup::store {

namespace {

namespace fs = std::filesystem;

// Layout of the environment (docs/state-store.md, "Schema"); its version is
// kStoreFormatVersion (record.hpp).
constexpr const char* kRecordsDb = "records";
constexpr const char* kExecutionsDb = "executions";
constexpr const char* kMetaDb = "meta";
constexpr std::string_view kFormatVersionKey = "format_version";
constexpr std::string_view kLastCleanupKey = "last_cleanup_ns";
// Settings are stored in the meta database under this prefix and their name.
constexpr std::string_view kSettingKeyPrefix = "setting/";
constexpr std::uint64_t kMinMaxBytes = std::uint64_t{256} << 10;
constexpr std::uint64_t kMinGrowBytes = std::uint64_t{1} << 20;
// Executions deleted per cleanup transaction (one at a time once the map is full).
constexpr std::size_t kCleanupChunk = 64;

std::string lmdb_message(int rc) {
  return mdb_strerror(rc);
}

Error lmdb_error(int rc, const std::string& what) {
  if (rc == ENOSPC)
    return make_error(errc::kStoreFull, what + ": the disk is full (" + lmdb_message(rc) + ")");
  return make_error(errc::kIo, what + ": " + lmdb_message(rc));
}

MDB_val as_val(std::string_view bytes) {
  return MDB_val{bytes.size(), const_cast<char*>(bytes.data())};
}

std::string_view as_view(const MDB_val& value) {
  return {static_cast<const char*>(value.mv_data), value.mv_size};
}

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

std::uint64_t round_up(std::uint64_t bytes, std::uint64_t unit) {
  return (bytes + unit - 1) / unit * unit;
}

std::uint64_t os_page_bytes() {
  return static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
}

// Paths of the environments this process has open: LMDB forbids a second
// open of the same environment in one process (its fcntl locks break).
std::mutex open_paths_mutex;
std::set<std::string> open_paths;

class OpenPathClaim {
 public:
  static Expected<OpenPathClaim> claim(const fs::path& path) {
    std::error_code ec;
    fs::path canonical = fs::weakly_canonical(path, ec).lexically_normal();
    if (ec) return make_error(errc::kOpenFailed, path.string() + ": " + ec.message());
    if (!canonical.has_filename()) canonical = canonical.parent_path();  // "dir/" is "dir"
    std::lock_guard lock(open_paths_mutex);
    if (!open_paths.insert(canonical.string()).second)
      return make_error(errc::kAlreadyOpen, canonical.string() +
                                                " is already open in this process (LMDB allows one "
                                                "open environment per process)");
    return OpenPathClaim(canonical.string());
  }
  OpenPathClaim(OpenPathClaim&& other) noexcept : path_(std::exchange(other.path_, {})) {}
  OpenPathClaim& operator=(OpenPathClaim&&) = delete;
  ~OpenPathClaim() {
    if (path_.empty()) return;
    std::lock_guard lock(open_paths_mutex);
    open_paths.erase(path_);
  }

 private:
  explicit OpenPathClaim(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

struct Dbs {
  MDB_dbi records = 0;
  MDB_dbi executions = 0;
  MDB_dbi meta = 0;
};

struct EnvCloser {
  void operator()(MDB_env* env) const { mdb_env_close(env); }
};
using EnvPtr = std::unique_ptr<MDB_env, EnvCloser>;

Expected<Dbs> open_dbs(MDB_txn* txn, unsigned flags) {
  Dbs dbs;
  const std::pair<const char*, MDB_dbi*> wanted[] = {
      {kRecordsDb, &dbs.records}, {kExecutionsDb, &dbs.executions}, {kMetaDb, &dbs.meta}};
  for (const auto& [name, dbi] : wanted) {
    int rc = mdb_dbi_open(txn, name, flags, dbi);
    if (rc == MDB_NOTFOUND)
      return make_error(errc::kOpenFailed, std::string("not a checkpoint store: database \"") +
                                               name + "\" is missing");
    if (rc != 0) return lmdb_error(rc, std::string("opening database ") + name);
  }
  return dbs;
}

// Checks (and on a new store, writes) the store format version.
Status check_format_version(MDB_txn* txn, const Dbs& dbs, bool writable) {
  MDB_val key = as_val(kFormatVersionKey), value;
  int rc = mdb_get(txn, dbs.meta, &key, &value);
  if (rc == MDB_NOTFOUND) {
    if (!writable)
      return make_error(errc::kOpenFailed, "not a checkpoint store: no format version");
    std::string bytes(4, '\0');
    for (int i = 0; i < 4; ++i)
      bytes[i] = static_cast<char>((kStoreFormatVersion >> (24 - 8 * i)) & 0xff);
    MDB_val stored = as_val(bytes);
    rc = mdb_put(txn, dbs.meta, &key, &stored, 0);
    return rc == 0 ? Status{} : Status{lmdb_error(rc, "writing the format version")};
  }
  if (rc != 0) return lmdb_error(rc, "reading the format version");
  std::string_view bytes = as_view(value);
  if (bytes.size() != 4) return make_error(errc::kRecordCorrupt, "the format version is corrupt");
  std::uint32_t version = 0;
  for (char c : bytes) version = (version << 8) | static_cast<unsigned char>(c);
  if (version > kStoreFormatVersion)
    return make_error(errc::kVersionUnsupported, "store format version " + std::to_string(version) +
                                                     " is newer than this build's " +
                                                     std::to_string(kStoreFormatVersion));
  return {};
}

BadRecord bad_record(const CheckpointId& id, std::string reason) {
  return {id.to_string(), id.execution_id, id.seq, std::move(reason)};
}

BadRecord bad_summary(std::string_view execution_id, std::string reason) {
  return {std::string(execution_id) + ":summary", std::string(execution_id), std::nullopt,
          std::move(reason)};
}

// Decodes the record stored under `key`, checking that its envelope names the
// same execution and seq as the key.
Expected<Record> decode_stored_record(const CheckpointId& key_id, std::string_view bytes) {
  auto record = decode_record(bytes);
  if (!record) return record;
  if (record->execution_id != key_id.execution_id || record->seq != key_id.seq)
    return make_error(errc::kRecordCorrupt, "envelope names " + record->id().to_string() +
                                                ", stored under " + key_id.to_string());
  return record;
}

Error corrupt_records_error(const std::vector<BadRecord>& bad) {
  std::string message = "records fail their checks:";
  for (const auto& record : bad) message += " " + record.id + " (" + record.reason + ")";
  return make_error(errc::kRecordCorrupt, message, bad.front().id);
}

// Per execution: what its records say, for comparison with its summary.
struct RecordTally {
  std::uint64_t last_seq = 0;
  std::uint64_t count = 0;
};

// Checks every record whose key starts with `prefix` (all of them when
// empty) and every summary in `execution_ids` (all of them when empty).
Status scan(MDB_txn* txn, const Dbs& dbs, const std::vector<std::string>& execution_ids,
            ScanReport& report) {
  std::map<std::string, RecordTally, std::less<>> tallies;
  auto scan_records = [&](std::string_view prefix) -> Status {
    MDB_cursor* cursor = nullptr;
    if (int rc = mdb_cursor_open(txn, dbs.records, &cursor); rc != 0)
      return lmdb_error(rc, "opening a cursor");
    MDB_val key = as_val(prefix), value;
    int rc = mdb_cursor_get(cursor, &key, &value, prefix.empty() ? MDB_FIRST : MDB_SET_RANGE);
    for (; rc == 0; rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT)) {
      std::string_view key_bytes = as_view(key);
      if (!starts_with(key_bytes, prefix)) break;
      ++report.records_checked;
      auto id = parse_record_key(key_bytes);
      if (!id) {
        report.bad.push_back({"key:" + std::string(key_bytes.substr(0, key_bytes.find('\0'))), "",
                              std::nullopt, "record key is malformed"});
        continue;
      }
      auto& tally = tallies[id->execution_id];
      tally.last_seq = std::max(tally.last_seq, id->seq);
      ++tally.count;
      if (auto record = decode_stored_record(*id, as_view(value)); !record)
        report.bad.push_back(bad_record(*id, record.error().message));
    }
    mdb_cursor_close(cursor);
    return rc == MDB_NOTFOUND || rc == 0 ? Status{} : Status{lmdb_error(rc, "reading records")};
  };
  auto check_summary = [&](std::string_view execution_id, std::string_view bytes) {
    ++report.executions_checked;
    auto summary = decode_summary(execution_id, bytes);
    if (!summary) {
      report.bad.push_back(bad_summary(execution_id, summary.error().message));
      return;
    }
    RecordTally tally;
    if (auto found = tallies.find(execution_id); found != tallies.end()) tally = found->second;
    if (summary->last_seq != tally.last_seq || summary->record_count != tally.count)
      report.bad.push_back(
          bad_summary(execution_id, "summary says " + std::to_string(summary->record_count) +
                                        " records up to seq " + std::to_string(summary->last_seq) +
                                        ", the store holds " + std::to_string(tally.count) +
                                        " up to seq " + std::to_string(tally.last_seq)));
  };

  std::set<std::string, std::less<>> with_summary;
  if (execution_ids.empty()) {
    if (auto scanned = scan_records({}); !scanned) return scanned;
    MDB_cursor* cursor = nullptr;
    if (int rc = mdb_cursor_open(txn, dbs.executions, &cursor); rc != 0)
      return lmdb_error(rc, "opening a cursor");
    MDB_val key, value;
    int rc = mdb_cursor_get(cursor, &key, &value, MDB_FIRST);
    for (; rc == 0; rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT)) {
      check_summary(as_view(key), as_view(value));
      with_summary.emplace(as_view(key));
    }
    mdb_cursor_close(cursor);
    if (rc != MDB_NOTFOUND) return lmdb_error(rc, "reading summaries");
  } else {
    for (const auto& execution_id : execution_ids) {
      if (auto valid = validate_execution_id(execution_id, "execution_ids"); !valid) return valid;
      if (auto scanned = scan_records(record_key_prefix(execution_id)); !scanned) return scanned;
      MDB_val key = as_val(execution_id), value;
      int rc = mdb_get(txn, dbs.executions, &key, &value);
      if (rc == 0) {
        check_summary(execution_id, as_view(value));
        with_summary.insert(execution_id);
      } else if (rc != MDB_NOTFOUND) {
        return lmdb_error(rc, "reading a summary");
      } else if (!tallies.contains(execution_id)) {
        return make_error(errc::kExecutionUnknown, "no execution " + execution_id);
      }
    }
  }
  for (const auto& [execution_id, tally] : tallies)
    if (!with_summary.contains(execution_id))
      report.bad.push_back(
          bad_summary(execution_id, std::to_string(tally.count) + " records have no summary"));
  return {};
}

Status validate_options(const LmdbStoreOptions& options) {
  auto invalid = [](std::string field, std::string message) {
    return make_error(errc::kInvalidArgument, std::move(message), std::move(field));
  };
  if (options.path.empty()) return invalid("store.path", "is empty");
  if (options.max_bytes < kMinMaxBytes)
    return invalid("store.max_bytes", "must be at least " + std::to_string(kMinMaxBytes));
  if (options.initial_map_bytes == 0) return invalid("store.initial_map_bytes", "must not be 0");
  if (options.commit_window < std::chrono::microseconds(0) ||
      options.commit_window > std::chrono::seconds(1))
    return invalid("store.commit_window_us", "must be between 0 and 1000000");
  if (options.max_batch == 0) return invalid("store.max_batch", "must be at least 1");
  if (options.max_readers == 0) return invalid("store.max_readers", "must be at least 1");
  return {};
}

struct PendingAppend {
  AppendRequest request;
  AppendCallback done;
};

struct PendingCleanup {
  CleanupRequest request;
  CleanupCallback done;
};

struct PendingSetting {
  std::string name;
  std::string value;
  SettingCallback done;
};

using WriteOp = std::variant<PendingAppend, PendingCleanup, PendingSetting>;

std::string setting_key(std::string_view name) {
  return std::string(kSettingKeyPrefix) + std::string(name);
}

}  // namespace

std::optional<pid_t> store_open_elsewhere(const fs::path& path) {
  const int fd = ::open((path / "lock.mdb").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  struct flock probe {};
  probe.l_type = F_WRLCK;  // would a writer's lock conflict with a holder?
  probe.l_whence = SEEK_SET;
  probe.l_start = 0;
  probe.l_len = 1;
  const int rc = ::fcntl(fd, F_GETLK, &probe);
  ::close(fd);
  if (rc != 0 || probe.l_type == F_UNLCK) return std::nullopt;
  return probe.l_pid;
}

std::uint64_t cleanup_reserve_bytes(std::uint64_t max_bytes) {
  return std::min<std::uint64_t>(max_bytes / 8, std::uint64_t{64} << 20);
}

struct LmdbCheckpointStore::Impl {
  Impl(LmdbStoreOptions opts, OpenPathClaim path_claim)
      : options(std::move(opts)), claim(std::move(path_claim)) {}

  LmdbStoreOptions options;
  OpenPathClaim claim;
  EnvPtr env;
  Dbs dbs;
  std::uint64_t page_bytes = 4096;

  // Shared by every transaction, exclusive while the map is resized: LMDB
  // remaps on mdb_env_set_mapsize, which no open transaction may see.
  mutable std::shared_mutex map_mutex;

  std::mutex queue_mutex;
  std::condition_variable queue_cv;
  std::deque<WriteOp> queue;
  bool stopping = false;
  std::thread writer;

  mutable std::mutex stats_mutex;
  StoreStats counters;

  // Writer thread only.
  std::uint64_t map_bytes = 0;
  std::uint64_t commit_number = 0;
  bool map_grown_for_cleanup = false;
  std::string key_buffer, value_buffer;  // reused for every record put

  std::uint64_t append_limit() const {
    return options.max_bytes - cleanup_reserve_bytes(options.max_bytes);
  }

  std::int64_t now_ns() const { return options.clock ? options.clock() : unix_now_nanos(); }

  // ---- map size --------------------------------------------------------------

  // Sets the map to `bytes` (LMDB keeps it at least as large as the data).
  // Called with no transaction of this process open.
  Status resize_map(std::uint64_t bytes) {
    std::unique_lock lock(map_mutex);
    int rc = mdb_env_set_mapsize(env.get(), round_up(bytes, page_bytes));
    if (rc != 0) return lmdb_error(rc, "resizing the map");
    MDB_envinfo info;
    mdb_env_info(env.get(), &info);
    std::uint64_t before = map_bytes;
    map_bytes = info.me_mapsize;
    std::lock_guard stats_lock(stats_mutex);
    if (map_bytes > before) ++counters.map_grows;
    counters.map_bytes = map_bytes;
    return {};
  }

  // After MDB_MAP_FULL: grows the map toward `limit`; false when already there.
  bool grow_map(std::uint64_t limit, Status& failure) {
    if (map_bytes >= limit) return false;
    std::uint64_t target = std::min(limit, std::max(map_bytes * 2, map_bytes + kMinGrowBytes));
    failure = resize_map(target);
    return failure.has_value();
  }

  // ---- transactions ---------------------------------------------------------

  // A transaction and the shared map lock it needs; aborted unless committed.
  class Txn {
   public:
    Txn(const Impl& impl, unsigned flags) : impl_(impl), flags_(flags) {}
    ~Txn() { abort(); }

    // 0 or the LMDB error.
    int begin() {
      for (;;) {
        lock_ = std::shared_lock(impl_.map_mutex);
        int rc = mdb_txn_begin(impl_.env.get(), nullptr, flags_, &txn_);
        if (rc == 0) return 0;
        lock_.unlock();
        if (rc != MDB_MAP_RESIZED) return rc;
        // Another process grew the map: adopt its size, then retry.
        std::unique_lock exclusive(impl_.map_mutex);
        if (rc = mdb_env_set_mapsize(impl_.env.get(), 0); rc != 0) return rc;
      }
    }
    // For reads: begin() as a Status.
    Status begin_read() {
      int rc = begin();
      return rc == 0 ? Status{} : Status{lmdb_error(rc, "beginning a read transaction")};
    }
    int commit() {
      int rc = mdb_txn_commit(std::exchange(txn_, nullptr));
      lock_.unlock();
      return rc;
    }
    void abort() {
      if (txn_ != nullptr) mdb_txn_abort(std::exchange(txn_, nullptr));
      if (lock_.owns_lock()) lock_.unlock();
    }
    MDB_txn* get() const { return txn_; }

   private:
    const Impl& impl_;
    unsigned flags_;
    MDB_txn* txn_ = nullptr;
    std::shared_lock<std::shared_mutex> lock_;
  };

  // ---- writer ---------------------------------------------------------------

  void run_writer() {
    for (;;) {
      std::vector<PendingAppend> batch;
      std::optional<PendingCleanup> cleanup;
      std::optional<PendingSetting> setting;
      {
        std::unique_lock lock(queue_mutex);
        queue_cv.wait(lock, [&] { return stopping || !queue.empty(); });
        if (queue.empty()) return;  // stopping, and everything handed over is done
        if (options.commit_window.count() > 0 && !stopping && queue.size() < options.max_batch)
          queue_cv.wait_for(lock, options.commit_window,
                            [&] { return stopping || queue.size() >= options.max_batch; });
        if (auto* op = std::get_if<PendingCleanup>(&queue.front())) {
          cleanup = std::move(*op);
          queue.pop_front();
        } else if (auto* put = std::get_if<PendingSetting>(&queue.front())) {
          setting = std::move(*put);
          queue.pop_front();
        } else {
          while (!queue.empty() && batch.size() < options.max_batch &&
                 std::holds_alternative<PendingAppend>(queue.front())) {
            batch.push_back(std::get<PendingAppend>(std::move(queue.front())));
            queue.pop_front();
          }
        }
      }
      if (cleanup) {
        auto report = run_cleanup(cleanup->request);
        cleanup->done(std::move(report));
      } else if (setting) {
        Status written = write_setting(setting->name, setting->value);
        setting->done(std::move(written));
      } else {
        commit_appends(batch);
      }
    }
  }

  struct Outcome {
    std::optional<Error> error;  // the request's own failure
    bool excluded = false;       // failed for good in an earlier attempt: not retried
    AppendAck ack;
  };

  // Commits `batch` in one transaction (retrying after growing the map), then
  // acknowledges each request.
  void commit_appends(std::vector<PendingAppend>& batch) {
    if (std::exchange(map_grown_for_cleanup, false) && map_bytes > append_limit()) {
      // A cleanup grew the map into the reserve: appends stay below it
      // again (as far as LMDB can shrink the map: not below its highest
      // page ever used).
      if (auto resized = resize_map(append_limit()); !resized) {
        fail_all(batch, resized.error());
        return;
      }
    }
    std::vector<Outcome> outcomes(batch.size());
    for (;;) {
      std::int64_t started = mono_now_nanos();
      std::optional<std::size_t> inconsistent;
      std::uint64_t sync_ns = 0;
      int rc = try_commit(batch, outcomes, inconsistent, sync_ns);
      if (rc == 0) {
        std::int64_t elapsed = mono_now_nanos() - started;
        acknowledge(batch, outcomes, static_cast<std::uint64_t>(elapsed), sync_ns);
        return;
      }
      if (inconsistent) {
        // That request found a record where its summary promised none: it
        // fails alone, the others are retried.
        Outcome& outcome = outcomes[*inconsistent];
        outcome.error =
            make_error(errc::kRecordCorrupt,
                       "execution " + batch[*inconsistent].request.execution_id +
                           " has records beyond its summary's last seq; nothing appended",
                       batch[*inconsistent].request.execution_id + ":summary");
        outcome.excluded = true;
        continue;
      }
      if (rc == MDB_MAP_FULL) {
        Status grown;
        if (grow_map(append_limit(), grown)) continue;
        if (!grown) {
          fail_all(batch, grown.error());
          return;
        }
        fail_all(batch, make_error(errc::kStoreFull,
                                   "the store reached store.max_bytes (" +
                                       std::to_string(options.max_bytes) + " bytes, of which " +
                                       std::to_string(cleanup_reserve_bytes(options.max_bytes)) +
                                       " are kept for cleanup); nothing was written"));
        return;
      }
      if (rc == MDB_TXN_FULL && batch.size() > 1) {
        // Too many dirty pages for one transaction: commit the halves.
        std::vector<PendingAppend> second(std::make_move_iterator(batch.begin() + batch.size() / 2),
                                          std::make_move_iterator(batch.end()));
        batch.resize(batch.size() / 2);
        commit_appends(batch);
        commit_appends(second);
        return;
      }
      fail_all(batch, lmdb_error(rc, "committing appends"));
      return;
    }
  }

  // One attempt: puts every request not failed yet, commits. 0 or the LMDB
  // error (`inconsistent` set when a request found a record already stored).
  int try_commit(const std::vector<PendingAppend>& batch, std::vector<Outcome>& outcomes,
                 std::optional<std::size_t>& inconsistent, std::uint64_t& sync_ns) {
    Txn txn(*this, 0);
    if (int rc = txn.begin(); rc != 0) return rc;
    std::int64_t timestamp = now_ns();
    struct Slot {
      std::optional<ExecutionSummary> summary;
      bool dirty = false;
    };
    std::unordered_map<std::string, Slot> summaries;
    summaries.reserve(batch.size());
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const AppendRequest& request = batch[i].request;
      Outcome& outcome = outcomes[i];
      if (outcome.excluded) continue;
      outcome = {};
      auto [slot, first_time] = summaries.try_emplace(request.execution_id);
      if (first_time) {
        MDB_val key = as_val(request.execution_id), value;
        int rc = mdb_get(txn.get(), dbs.executions, &key, &value);
        if (rc == 0) {
          auto summary = decode_summary(request.execution_id, as_view(value));
          if (!summary) {
            outcome.error = make_error(errc::kRecordCorrupt,
                                       "the summary of " + request.execution_id + " is corrupt (" +
                                           summary.error().message + "); nothing appended",
                                       request.execution_id + ":summary");
            summaries.erase(slot);
            continue;
          }
          slot->second.summary = std::move(*summary);
        } else if (rc != MDB_NOTFOUND) {
          return rc;
        }
      }
      std::optional<ExecutionSummary>& summary = slot->second.summary;
      if (request.create && summary) {
        outcome.error =
            make_error(errc::kExecutionExists,
                       "execution " + request.execution_id + " already exists", "execution_id");
        continue;
      }
      if (!request.create && !summary) {
        outcome.error = make_error(errc::kExecutionUnknown, "no execution " + request.execution_id,
                                   "execution_id");
        continue;
      }
      std::uint64_t next_seq = (summary ? summary->last_seq : 0) + 1;
      if (request.expected_first_seq && *request.expected_first_seq != next_seq) {
        outcome.error = make_error(
            errc::kSeqConflict,
            "execution " + request.execution_id + " is at seq " + std::to_string(next_seq - 1) +
                ", the append expected to start at " + std::to_string(*request.expected_first_seq),
            "expected_first_seq");
        continue;
      }
      if (!summary) {
        summary.emplace();
        summary->execution_id = request.execution_id;
        summary->created_at_ns = timestamp;
      }
      std::uint64_t seq = summary->last_seq;
      outcome.ack = {request.execution_id, seq + 1, 0, timestamp, 0};
      for (const auto& draft : request.records) {
        ++seq;
        record_key_into(key_buffer, request.execution_id, seq);
        encode_record_into(value_buffer, request.execution_id, seq, draft.kind, timestamp,
                           draft.payload);
        MDB_val key = as_val(key_buffer), value = as_val(value_buffer);
        int rc = mdb_put(txn.get(), dbs.records, &key, &value, MDB_NOOVERWRITE);
        if (rc == MDB_KEYEXIST) inconsistent = i;
        if (rc != 0) return rc;
      }
      outcome.ack.last_seq = seq;
      summary->last_seq = seq;
      summary->record_count += request.records.size();
      summary->updated_at_ns = timestamp;
      if (request.status) summary->status = *request.status;
      slot->second.dirty = true;
    }
    for (const auto& [execution_id, slot] : summaries) {
      if (!slot.dirty) continue;
      std::string value_bytes = encode_summary(*slot.summary);
      MDB_val key = as_val(execution_id), value = as_val(value_bytes);
      if (int rc = mdb_put(txn.get(), dbs.executions, &key, &value, 0); rc != 0) return rc;
    }
    std::int64_t sync_started = mono_now_nanos();
    int rc = txn.commit();
    sync_ns = static_cast<std::uint64_t>(mono_now_nanos() - sync_started);
    return rc;
  }

  void acknowledge(std::vector<PendingAppend>& batch, std::vector<Outcome>& outcomes,
                   std::uint64_t commit_ns, std::uint64_t sync_ns) {
    ++commit_number;
    if (options.on_commit) options.on_commit(batch.size(), std::chrono::nanoseconds(commit_ns));
    {
      std::lock_guard lock(stats_mutex);
      ++counters.commits;
      counters.commit_ns_total += commit_ns;
      counters.commit_ns_max = std::max(counters.commit_ns_max, commit_ns);
      counters.sync_ns_total += sync_ns;
      counters.sync_ns_max = std::max(counters.sync_ns_max, sync_ns);
      std::uint64_t committed = 0;
      for (std::size_t i = 0; i < batch.size(); ++i) {
        if (outcomes[i].error) {
          ++counters.appends_failed;
          continue;
        }
        ++committed;
        counters.records_committed += batch[i].request.records.size();
      }
      counters.appends_committed += committed;
      counters.max_batch = std::max(counters.max_batch, committed);
    }
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (outcomes[i].error) {
        batch[i].done(std::move(*outcomes[i].error));
      } else {
        outcomes[i].ack.commit_number = commit_number;
        batch[i].done(std::move(outcomes[i].ack));
      }
    }
  }

  void fail_all(std::vector<PendingAppend>& batch, const Error& error) {
    {
      std::lock_guard lock(stats_mutex);
      counters.appends_failed += batch.size();
      if (error.code == errc::kStoreFull) counters.store_full_failures += batch.size();
    }
    for (auto& pending : batch) pending.done(error);
  }

  // ---- settings -------------------------------------------------------------

  // One transaction of its own (settings change rarely); like appends it
  // stays below the cleanup reserve.
  Status write_setting(const std::string& name, const std::string& value) {
    std::string key = setting_key(name);
    std::string bytes = encode_setting(name, value);
    for (;;) {
      Txn txn(*this, 0);
      int rc = txn.begin();
      if (rc == 0) {
        MDB_val stored_key = as_val(key), stored = as_val(bytes);
        rc = mdb_put(txn.get(), dbs.meta, &stored_key, &stored, 0);
      }
      if (rc == 0) rc = txn.commit();
      if (rc == 0) {
        std::lock_guard lock(stats_mutex);
        ++counters.commits;
        return {};
      }
      if (rc != MDB_MAP_FULL) return lmdb_error(rc, "writing setting " + name);
      Status grown;
      if (grow_map(append_limit(), grown)) continue;
      if (!grown) return grown.error();
      return make_error(errc::kStoreFull, "no room left to write setting " + name +
                                              " (store.max_bytes reached); nothing was written");
    }
  }

  // ---- cleanup --------------------------------------------------------------

  Expected<CleanupReport> run_cleanup(const CleanupRequest& request) {
    CleanupReport report;
    std::vector<std::string> doomed;
    {
      Txn txn(*this, MDB_RDONLY);
      if (auto begun = txn.begin_read(); !begun) return begun.error();
      auto consider = [&](std::string_view execution_id, std::string_view bytes, bool named) {
        auto summary = decode_summary(execution_id, bytes);
        if (!summary) return;  // validate reports it; a corrupt summary is never cleaned up
        if (!summary->status.finished) {
          if (named) report.refused_unfinished.emplace_back(execution_id);
          return;
        }
        if (summary->updated_at_ns < request.updated_before_ns) doomed.emplace_back(execution_id);
      };
      if (request.execution_ids.empty()) {
        MDB_cursor* cursor = nullptr;
        if (int rc = mdb_cursor_open(txn.get(), dbs.executions, &cursor); rc != 0)
          return lmdb_error(rc, "opening a cursor");
        MDB_val key, value;
        int rc = mdb_cursor_get(cursor, &key, &value, MDB_FIRST);
        for (; rc == 0; rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT))
          consider(as_view(key), as_view(value), false);
        mdb_cursor_close(cursor);
        if (rc != MDB_NOTFOUND) return lmdb_error(rc, "reading summaries");
      } else {
        for (const auto& execution_id : request.execution_ids) {
          MDB_val key = as_val(execution_id), value;
          int rc = mdb_get(txn.get(), dbs.executions, &key, &value);
          if (rc == MDB_NOTFOUND) {
            report.unknown.push_back(execution_id);
          } else if (rc != 0) {
            return lmdb_error(rc, "reading a summary");
          } else {
            consider(execution_id, as_view(value), true);
          }
        }
      }
    }
    std::size_t chunk = kCleanupChunk;
    for (std::size_t next = 0; next < doomed.size();) {
      std::size_t end = std::min(doomed.size(), next + chunk);
      std::uint64_t removed_records = 0;
      int rc = delete_executions(doomed, next, end, removed_records);
      if (rc == 0) {
        report.removed.insert(report.removed.end(), doomed.begin() + next, doomed.begin() + end);
        report.records_removed += removed_records;
        next = end;
        continue;
      }
      if (rc != MDB_MAP_FULL) return lmdb_error(rc, "removing executions");
      Status grown;
      if (grow_map(options.max_bytes, grown)) {
        map_grown_for_cleanup = true;
        continue;
      }
      if (!grown) return grown.error();
      if (chunk > 1) {
        chunk = 1;
        continue;
      }
      return make_error(errc::kStoreFull, "no room left to remove execution " + doomed[next] +
                                              " (removed " + std::to_string(report.removed.size()) +
                                              " before)");
    }
    if (!report.removed.empty()) mark_cleanup_done();
    return report;
  }

  // LMDB reuses the pages a transaction freed only from the second
  // transaction after it (the previous snapshot stays intact for crash
  // safety). One more small commit after a cleanup makes the room it freed
  // usable by the very next append. Best effort: the removal is committed.
  void mark_cleanup_done() {
    for (;;) {
      Txn txn(*this, 0);
      if (txn.begin() != 0) return;
      std::string stamp = std::to_string(now_ns());
      MDB_val key = as_val(kLastCleanupKey), value = as_val(stamp);
      int rc = mdb_put(txn.get(), dbs.meta, &key, &value, 0);
      if (rc == 0) rc = txn.commit();
      Status grown;
      if (rc != MDB_MAP_FULL || !grow_map(options.max_bytes, grown)) return;
      map_grown_for_cleanup = true;
    }
  }

  int delete_executions(const std::vector<std::string>& ids, std::size_t begin, std::size_t end,
                        std::uint64_t& removed_records) {
    Txn txn(*this, 0);
    if (int rc = txn.begin(); rc != 0) return rc;
    MDB_cursor* cursor = nullptr;
    if (int rc = mdb_cursor_open(txn.get(), dbs.records, &cursor); rc != 0) return rc;
    for (std::size_t i = begin; i < end; ++i) {
      std::string prefix = record_key_prefix(ids[i]);
      MDB_val key = as_val(prefix), value;
      int rc = mdb_cursor_get(cursor, &key, &value, MDB_SET_RANGE);
      while (rc == 0 && starts_with(as_view(key), prefix)) {
        if (rc = mdb_cursor_del(cursor, 0); rc != 0) break;
        ++removed_records;
        rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT);  // the one after the deleted
      }
      if (rc != 0 && rc != MDB_NOTFOUND) {
        mdb_cursor_close(cursor);
        return rc;
      }
      MDB_val summary_key = as_val(ids[i]);
      rc = mdb_del(txn.get(), dbs.executions, &summary_key, nullptr);
      if (rc != 0 && rc != MDB_NOTFOUND) {
        mdb_cursor_close(cursor);
        return rc;
      }
    }
    mdb_cursor_close(cursor);
    return txn.commit();
  }

  // ---- hand-over ----------------------------------------------------------------

  Status enqueue(WriteOp op) {
    {
      std::lock_guard lock(queue_mutex);
      if (stopping) return make_error(errc::kClosed, "the store is closing");
      queue.push_back(std::move(op));
      // The writer waits only on an empty queue, or for a batch to fill up.
      if (queue.size() != 1 && queue.size() != options.max_batch) return {};
    }
    queue_cv.notify_one();
    return {};
  }
};

// ---- open / close -----------------------------------------------------------------

LmdbCheckpointStore::LmdbCheckpointStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Expected<std::unique_ptr<LmdbCheckpointStore>> LmdbCheckpointStore::open(LmdbStoreOptions options) {
  if (auto valid = validate_options(options); !valid) return valid.error();
  std::error_code ec;
  fs::create_directories(options.path, ec);
  if (ec)
    return make_error(errc::kOpenFailed, options.path.string() + ": " + ec.message(), "store.path");
  auto claim = OpenPathClaim::claim(options.path);
  if (!claim) return claim.error();
  auto impl = std::make_unique<Impl>(std::move(options), std::move(*claim));
  const fs::path& path = impl->options.path;
  auto failed = [&](int rc, const std::string& what) {
    return make_error(errc::kOpenFailed, path.string() + ": " + what + ": " + lmdb_message(rc),
                      "store.path");
  };

  MDB_env* raw_env = nullptr;
  if (int rc = mdb_env_create(&raw_env); rc != 0) return failed(rc, "mdb_env_create");
  impl->env.reset(raw_env);
  impl->page_bytes = os_page_bytes();
  std::uint64_t existing = fs::file_size(path / "data.mdb", ec);
  if (ec) existing = 0;
  // A store larger than max_bytes (max_bytes lowered) opens; appends then
  // fail as full until cleanup.
  std::uint64_t initial = std::min(impl->options.initial_map_bytes, impl->append_limit());
  std::uint64_t map = round_up(std::max(initial, existing), impl->page_bytes);
  if (int rc = mdb_env_set_maxdbs(raw_env, 4); rc != 0) return failed(rc, "mdb_env_set_maxdbs");
  if (int rc = mdb_env_set_maxreaders(raw_env, impl->options.max_readers); rc != 0)
    return failed(rc, "mdb_env_set_maxreaders");
  if (int rc = mdb_env_set_mapsize(raw_env, map); rc != 0) return failed(rc, "mdb_env_set_mapsize");
  // MDB_NOTLS: read transactions run on any thread (CAF workers). No
  // MDB_NOSYNC: every commit is synced.
  if (int rc = mdb_env_open(raw_env, path.c_str(), MDB_NOTLS, 0600); rc != 0)
    return failed(rc, "mdb_env_open");
  int dead_readers = 0;
  if (int rc = mdb_reader_check(raw_env, &dead_readers); rc != 0)
    return failed(rc, "mdb_reader_check");

  MDB_txn* txn = nullptr;
  if (int rc = mdb_txn_begin(raw_env, nullptr, 0, &txn); rc != 0)
    return failed(rc, "mdb_txn_begin");
  auto dbs = open_dbs(txn, MDB_CREATE);
  Status version = dbs ? check_format_version(txn, *dbs, true) : Status{dbs.error()};
  if (!version) {
    mdb_txn_abort(txn);
    return make_error(version.error().code, path.string() + ": " + version.error().message,
                      "store.path");
  }
  if (int rc = mdb_txn_commit(txn); rc != 0) return failed(rc, "creating the databases");
  impl->dbs = *dbs;

  MDB_envinfo info;
  mdb_env_info(raw_env, &info);
  impl->map_bytes = info.me_mapsize;
  impl->counters.map_bytes = info.me_mapsize;
  Impl* writer_impl = impl.get();
  impl->writer = std::thread([writer_impl] { writer_impl->run_writer(); });
  return std::unique_ptr<LmdbCheckpointStore>(new LmdbCheckpointStore(std::move(impl)));
}

LmdbCheckpointStore::~LmdbCheckpointStore() {
  {
    std::lock_guard lock(impl_->queue_mutex);
    impl_->stopping = true;
  }
  impl_->queue_cv.notify_one();
  impl_->writer.join();
}

// ---- writes ---------------------------------------------------------------------------

Status LmdbCheckpointStore::append(AppendRequest request, AppendCallback done) {
  auto invalid = [](std::string message, std::string field) {
    return make_error(errc::kInvalidArgument, std::move(message), std::move(field));
  };
  if (!done) return invalid("no callback given", "done");
  if (auto valid = validate_execution_id(request.execution_id, "execution_id"); !valid)
    return valid;
  if (request.records.empty()) return invalid("an append needs at least one record", "records");
  for (std::size_t i = 0; i < request.records.size(); ++i)
    if (request.records[i].payload.size() > kMaxPayloadBytes)
      return invalid("payload of " + std::to_string(request.records[i].payload.size()) +
                         " bytes exceeds " + std::to_string(kMaxPayloadBytes),
                     "records[" + std::to_string(i) + "].payload");
  if (request.status && request.status->state.size() > kMaxStateBytes)
    return invalid("state name exceeds " + std::to_string(kMaxStateBytes) + " bytes",
                   "status.state");
  return impl_->enqueue(PendingAppend{std::move(request), std::move(done)});
}

Status LmdbCheckpointStore::cleanup(CleanupRequest request, CleanupCallback done) {
  if (!done) return make_error(errc::kInvalidArgument, "no callback given", "done");
  for (std::size_t i = 0; i < request.execution_ids.size(); ++i)
    if (auto valid = validate_execution_id(request.execution_ids[i],
                                           "execution_ids[" + std::to_string(i) + "]");
        !valid)
      return valid;
  return impl_->enqueue(PendingCleanup{std::move(request), std::move(done)});
}

Status LmdbCheckpointStore::put_setting(std::string name, std::string value, SettingCallback done) {
  if (!done) return make_error(errc::kInvalidArgument, "no callback given", "done");
  if (name.empty() || name.size() > kMaxSettingNameBytes)
    return make_error(errc::kInvalidArgument,
                      "a setting name has 1 to " + std::to_string(kMaxSettingNameBytes) + " bytes",
                      "name");
  if (value.size() > kMaxSettingValueBytes)
    return make_error(errc::kInvalidArgument,
                      "value of " + std::to_string(value.size()) + " bytes exceeds " +
                          std::to_string(kMaxSettingValueBytes),
                      "value");
  return impl_->enqueue(PendingSetting{std::move(name), std::move(value), std::move(done)});
}

// ---- reads ------------------------------------------------------------------------------

Expected<std::optional<std::string>> LmdbCheckpointStore::get_setting(std::string_view name) const {
  Impl::Txn txn(*impl_, MDB_RDONLY);
  if (auto begun = txn.begin_read(); !begun) return begun.error();
  std::string key = setting_key(name);
  MDB_val stored_key = as_val(key), value;
  int rc = mdb_get(txn.get(), impl_->dbs.meta, &stored_key, &value);
  if (rc == MDB_NOTFOUND) return std::optional<std::string>();
  if (rc != 0) return lmdb_error(rc, "reading setting " + std::string(name));
  auto decoded = decode_setting(name, as_view(value));
  if (!decoded) return decoded.error();
  return std::optional<std::string>(std::move(decoded).value());
}

Expected<std::vector<Record>> LmdbCheckpointStore::read_execution(std::string_view execution_id,
                                                                  std::uint64_t from_seq) const {
  if (auto valid = validate_execution_id(execution_id, "execution_id"); !valid)
    return valid.error();
  Impl::Txn txn(*impl_, MDB_RDONLY);
  if (auto begun = txn.begin_read(); !begun) return begun.error();
  MDB_val summary_key = as_val(execution_id), summary_value;
  int rc = mdb_get(txn.get(), impl_->dbs.executions, &summary_key, &summary_value);
  if (rc != 0 && rc != MDB_NOTFOUND) return lmdb_error(rc, "reading a summary");
  bool has_summary = rc == 0;

  std::vector<Record> records;
  std::vector<BadRecord> bad;
  std::string prefix = record_key_prefix(execution_id);
  std::string start = record_key(execution_id, from_seq);
  MDB_cursor* cursor = nullptr;
  if (rc = mdb_cursor_open(txn.get(), impl_->dbs.records, &cursor); rc != 0)
    return lmdb_error(rc, "opening a cursor");
  MDB_val key = as_val(start), value;
  for (rc = mdb_cursor_get(cursor, &key, &value, MDB_SET_RANGE);
       rc == 0 && starts_with(as_view(key), prefix);
       rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT)) {
    auto id = parse_record_key(as_view(key));
    if (!id) continue;  // cannot be: the prefix ends in the separator
    auto record = decode_stored_record(*id, as_view(value));
    if (record)
      records.push_back(std::move(*record));
    else
      bad.push_back(bad_record(*id, record.error().message));
  }
  mdb_cursor_close(cursor);
  if (rc != 0 && rc != MDB_NOTFOUND) return lmdb_error(rc, "reading records");
  if (!bad.empty()) return corrupt_records_error(bad);
  if (!has_summary && records.empty())
    return make_error(errc::kExecutionUnknown, "no execution " + std::string(execution_id),
                      "execution_id");
  return records;
}

Expected<ExecutionSummary> LmdbCheckpointStore::get_execution(std::string_view execution_id) const {
  if (auto valid = validate_execution_id(execution_id, "execution_id"); !valid)
    return valid.error();
  Impl::Txn txn(*impl_, MDB_RDONLY);
  if (auto begun = txn.begin_read(); !begun) return begun.error();
  MDB_val key = as_val(execution_id), value;
  int rc = mdb_get(txn.get(), impl_->dbs.executions, &key, &value);
  if (rc == MDB_NOTFOUND)
    return make_error(errc::kExecutionUnknown, "no execution " + std::string(execution_id),
                      "execution_id");
  if (rc != 0) return lmdb_error(rc, "reading a summary");
  auto summary = decode_summary(execution_id, as_view(value));
  if (!summary)
    return make_error(summary.error().code, summary.error().message,
                      std::string(execution_id) + ":summary");
  return summary;
}

Expected<ExecutionList> LmdbCheckpointStore::list_executions(const ExecutionFilter& filter) const {
  Impl::Txn txn(*impl_, MDB_RDONLY);
  if (auto begun = txn.begin_read(); !begun) return begun.error();
  ExecutionList list;
  MDB_cursor* cursor = nullptr;
  if (int rc = mdb_cursor_open(txn.get(), impl_->dbs.executions, &cursor); rc != 0)
    return lmdb_error(rc, "opening a cursor");
  MDB_val key, value;
  int rc = mdb_cursor_get(cursor, &key, &value, MDB_FIRST);
  for (; rc == 0; rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT)) {
    if (filter.limit != 0 && list.executions.size() >= filter.limit) break;
    auto summary = decode_summary(as_view(key), as_view(value));
    if (!summary) {
      list.bad.push_back(bad_summary(as_view(key), summary.error().message));
      continue;
    }
    using Finished = ExecutionFilter::Finished;
    if (filter.finished == Finished::Unfinished && summary->status.finished) continue;
    if (filter.finished == Finished::Finished && !summary->status.finished) continue;
    if (filter.state && summary->status.state != *filter.state) continue;
    list.executions.push_back(std::move(*summary));
  }
  mdb_cursor_close(cursor);
  if (rc != 0 && rc != MDB_NOTFOUND) return lmdb_error(rc, "reading summaries");
  return list;
}

Expected<ScanReport> LmdbCheckpointStore::validate(const ScanScope& scope) const {
  Impl::Txn txn(*impl_, MDB_RDONLY);
  if (auto begun = txn.begin_read(); !begun) return begun.error();
  ScanReport report;
  if (auto scanned = scan(txn.get(), impl_->dbs, scope.execution_ids, report); !scanned)
    return scanned.error();
  return report;
}

StoreStats LmdbCheckpointStore::stats() const {
  StoreStats copy;
  {
    std::lock_guard lock(impl_->stats_mutex);
    copy = impl_->counters;
  }
  std::lock_guard lock(impl_->queue_mutex);
  copy.queue_depth = impl_->queue.size();
  return copy;
}

Expected<StoreSpace> LmdbCheckpointStore::space() const {
  Impl::Txn txn(*impl_, MDB_RDONLY);
  if (auto begun = txn.begin_read(); !begun) return begun.error();
  MDB_envinfo info{};
  mdb_env_info(impl_->env.get(), &info);
  MDB_stat stat{};
  mdb_env_stat(impl_->env.get(), &stat);
  StoreSpace space;
  space.map_bytes = info.me_mapsize;
  space.page_bytes = stat.ms_psize;
  space.used_bytes = (info.me_last_pgno + 1) * std::uint64_t{stat.ms_psize};
  // The free list (dbi 0): each value is an IDL, its first word the count.
  MDB_cursor* cursor = nullptr;
  if (int rc = mdb_cursor_open(txn.get(), 0, &cursor); rc != 0)
    return lmdb_error(rc, "opening the free list");
  MDB_val key{}, value{};
  int rc = mdb_cursor_get(cursor, &key, &value, MDB_FIRST);
  for (; rc == 0; rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT)) {
    if (value.mv_size < sizeof(std::size_t)) continue;
    std::size_t count = 0;
    std::memcpy(&count, value.mv_data, sizeof count);
    space.free_pages += count;
  }
  mdb_cursor_close(cursor);
  if (rc != MDB_NOTFOUND) return lmdb_error(rc, "reading the free list");
  return space;
}

// ---- export / import ------------------------------------------------------------------

namespace {

// `directory` created if missing; it must hold no store.
Status prepare_copy_target(const fs::path& directory) {
  std::error_code ec;
  fs::create_directories(directory, ec);
  if (ec) return make_error(errc::kIo, directory.string() + ": " + ec.message());
  if (fs::exists(directory / "data.mdb", ec))
    return make_error(errc::kInvalidArgument, directory.string() + " already holds a store");
  return {};
}

}  // namespace

Status LmdbCheckpointStore::export_copy(const fs::path& directory) const {
  if (auto ready = prepare_copy_target(directory); !ready) return ready;
  std::shared_lock lock(impl_->map_mutex);
  int rc = mdb_env_copy2(impl_->env.get(), directory.c_str(), MDB_CP_COMPACT);
  if (rc != 0) return lmdb_error(rc, "exporting to " + directory.string());
  return {};
}

Status LmdbCheckpointStore::import_copy(const fs::path& exported, const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(exported / "data.mdb", ec))
    return make_error(errc::kInvalidArgument, exported.string() + " holds no data.mdb", "exported");
  if (auto ready = prepare_copy_target(path); !ready) return ready;
  auto source_claim = OpenPathClaim::claim(exported);
  if (!source_claim) return source_claim.error();
  auto target_claim = OpenPathClaim::claim(path);
  if (!target_claim) return target_claim.error();

  MDB_env* raw_env = nullptr;
  if (int rc = mdb_env_create(&raw_env); rc != 0) return lmdb_error(rc, "mdb_env_create");
  EnvPtr env(raw_env);
  mdb_env_set_maxdbs(raw_env, 4);
  // Nobody else uses an export: no lock file needed.
  if (int rc = mdb_env_open(raw_env, exported.c_str(), MDB_RDONLY | MDB_NOTLS | MDB_NOLOCK, 0600);
      rc != 0)
    return lmdb_error(rc, "opening " + exported.string());
  MDB_txn* txn = nullptr;
  if (int rc = mdb_txn_begin(raw_env, nullptr, MDB_RDONLY, &txn); rc != 0)
    return lmdb_error(rc, "reading " + exported.string());
  ScanReport report;
  auto dbs = open_dbs(txn, 0);
  Status checked = dbs ? check_format_version(txn, *dbs, false) : Status{dbs.error()};
  if (checked) checked = scan(txn, *dbs, {}, report);
  mdb_txn_abort(txn);
  if (!checked) return checked;
  if (!report.clean()) return corrupt_records_error(report.bad);
  if (int rc = mdb_env_copy2(raw_env, path.c_str(), MDB_CP_COMPACT); rc != 0)
    return lmdb_error(rc, "importing into " + path.string());
  return {};
}

}  // namespace sup::store
