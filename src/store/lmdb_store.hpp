// The LMDB backend of CheckpointStore: one environment per process (a
// directory holding data.mdb and lock.mdb), one writer thread that owns
// every write transaction and commits appends in groups, one fsync per
// group. docs/state-store.md has the schema and the failure modes.
//
//   auto store = LmdbCheckpointStore::open({.path = state_dir / "store"});
//   if (!store) return store.error();
//   (*store)->append(std::move(request), on_committed);
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>

#include "store/checkpoint_store.hpp"

namespace sup::store {

struct LmdbStoreOptions {
  // Directory of the environment (created if missing): STATE_DIR / store.path.
  std::filesystem::path path{};
  // Ceiling of the map, hence of data.mdb (store.max_bytes). Appends may use
  // it up to a reserve kept for cleanup (cleanup_reserve_bytes()).
  std::uint64_t max_bytes = std::uint64_t{1} << 30;
  // Map size of a new store (at most max_bytes); the map grows (doubling) up to max_bytes.
  std::uint64_t initial_map_bytes = std::uint64_t{64} << 20;
  // After the first append of a group arrives, how long the writer waits for
  // more before committing. 0: commit at once; appends that arrive while a
  // commit is syncing form the next group anyway.
  std::chrono::microseconds commit_window{0};
  // Most append requests in one transaction.
  std::size_t max_batch = 4096;
  // LMDB reader slots (concurrent read transactions across processes).
  unsigned max_readers = 126;
  // Unix nanoseconds stamped on records; empty: the system clock.
  std::function<std::int64_t()> clock{};
  // Called on the writer thread after each commit (before its
  // acknowledgements): append requests it held and how long the whole
  // transaction took. For metrics; keep it short.
  std::function<void(std::size_t appends, std::chrono::nanoseconds took)> on_commit{};
};

// Space of the environment (mdb_env_info, mdb_stat and the free list).
struct StoreSpace {
  std::uint64_t map_bytes = 0;   // the map's current size
  std::uint64_t used_bytes = 0;  // pages up to the last one in use × page size
  std::uint64_t free_pages = 0;  // pages on the free list, reusable
  std::uint64_t page_bytes = 0;
};

// The pid of another process that has the store at `path` open (a running
// daemon), if any: LMDB holds a shared fcntl lock on the first byte of
// lock.mdb for as long as an environment is open. Locks of this process
// are not seen. nullopt also when there is no lock file.
std::optional<pid_t> store_open_elsewhere(const std::filesystem::path& path);

// Space appends leave free for cleanup: deleting from LMDB needs new pages
// too, so a store that appends refuse as full can still be cleaned up.
std::uint64_t cleanup_reserve_bytes(std::uint64_t max_bytes);

class LmdbCheckpointStore final : public CheckpointStore {
 public:
  // Opens (or creates) the store; clears reader slots a crashed process left.
  // store_already_open if this process has it open already.
  static Expected<std::unique_ptr<LmdbCheckpointStore>> open(LmdbStoreOptions options);

  // Copies an export (a directory written by export_copy) to `path`, which
  // must not hold a store yet, after checking every record of it: an export
  // with a bad record is refused (record_corrupt naming the records).
  static Status import_copy(const std::filesystem::path& exported,
                            const std::filesystem::path& path);

  // Commits every append handed over before, acknowledges it, then closes.
  ~LmdbCheckpointStore() override;
  LmdbCheckpointStore(const LmdbCheckpointStore&) = delete;
  LmdbCheckpointStore& operator=(const LmdbCheckpointStore&) = delete;

  Status append(AppendRequest request, AppendCallback done) override;
  Status cleanup(CleanupRequest request, CleanupCallback done) override;
  Status put_setting(std::string name, std::string value, SettingCallback done) override;
  Expected<std::optional<std::string>> get_setting(std::string_view name) const override;
  Expected<std::vector<Record>> read_execution(std::string_view execution_id,
                                               std::uint64_t from_seq = 1) const override;
  Expected<ExecutionSummary> get_execution(std::string_view execution_id) const override;
  Expected<ExecutionList> list_executions(const ExecutionFilter& filter) const override;
  Expected<ScanReport> validate(const ScanScope& scope) const override;
  Status export_copy(const std::filesystem::path& directory) const override;
  StoreStats stats() const override;
  // A short read transaction; thread-safe.
  Expected<StoreSpace> space() const;

  struct Impl;

 private:
  explicit LmdbCheckpointStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sup::store
