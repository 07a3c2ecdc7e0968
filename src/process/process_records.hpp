// Remembers, in a directory of the daemon's state dir, every process child
// that is running, so that a daemon started after a crash of the previous
// one (kill -9, OOM kill, segfault) finds and kills what that one left
// behind before it starts its own children: never two copies of a child.
//
// Each spawn gets a random token, set in the child's environment as
// SUP_PROCESS_TOKEN (inherited by what it starts, through setsid included),
// and a record file named after the token:
//   line 1, written before the spawn:  v1 <boot_id> <token> <child_id>
//   line 2, appended after the spawn:  <pgid> <leader start time in clock ticks>
// The file is removed once the child's group is killed and reaped. Records
// survive kill -9 without fsync: the kernel keeps written data across a
// process's death, and a machine crash ends the children too (a record of
// another boot is discarded).
//
// A process is taken for a leftover only when it proves it: it carries a
// recorded token in its environment, or it is in a recorded process group
// whose leader is still the recorded process (same pid and start time; while
// the leader lives, its pid and group id cannot be reused). A pid recycled
// by an unrelated process is never killed.
//
//   auto records = ProcessRecords::open(state_dir + "/processes");
//   if (!records) return records.error();
//   SweepResult swept = records->sweep_leftovers(std::chrono::seconds(5));
//   std::string token = records->begin(child_id);   // before the spawn
//   records->complete(token, pid);                    // after it
//   records->forget(token);                           // once reaped
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sup/error.hpp"

namespace sup::process {

// The environment variable carrying a spawn's token.
inline constexpr std::string_view kTokenVariable = "SUP_PROCESS_TOKEN";

struct ProcessRecord {
  std::string boot_id;
  std::string token;
  std::string child_id;
  pid_t pgid = 0;  // 0: the spawn had not returned when the record was last written
  std::uint64_t start_ticks = 0;
};

std::string encode_record_head(const ProcessRecord& record);
std::string encode_record_spawned(const ProcessRecord& record);
// nullopt for anything but a well-formed record (a truncated second line
// leaves a record without pgid).
std::optional<ProcessRecord> decode_record(std::string_view text);

// The fields of /proc/<pid>/stat the records need.
struct ProcStat {
  char state = '?';
  pid_t pgid = 0;
  std::uint64_t start_ticks = 0;
};
std::optional<ProcStat> parse_proc_stat(std::string_view text);
std::optional<ProcStat> read_proc_stat(pid_t pid);

// Whether an environment block ("A=1\0B=2\0") holds exactly `assignment`.
bool environment_contains(std::string_view environment, std::string_view assignment);

struct LeftoverProcess {
  std::string child_id;
  pid_t pid = 0;
};

struct SweepResult {
  std::vector<LeftoverProcess> killed;
  std::vector<LeftoverProcess> still_alive;  // did not die within the wait
  std::size_t stale_records = 0;             // of another boot or unreadable
};

class ProcessRecords {
 public:
  // Creates `directory` (mode 0700) if needed.
  static sup::Expected<ProcessRecords> open(std::string directory);

  // Kills every leftover of the records found, waits up to `wait` for them to
  // be gone, and removes the records. Call before the first spawn.
  SweepResult sweep_leftovers(std::chrono::milliseconds wait);

  // Writes the record of a spawn about to happen; returns its token.
  // Thread-safe, like complete() and forget().
  sup::Expected<std::string> begin(const std::string& child_id);
  // Completes it with the spawned group leader's pid.
  void complete(const std::string& token, pid_t pid);
  void forget(const std::string& token);

  const std::string& directory() const { return directory_; }

 private:
  ProcessRecords(std::string directory, std::string boot_id);
  std::string path_of(std::string_view token) const;

  std::string directory_;
  std::string boot_id_;
};

}  // namespace sup::process
