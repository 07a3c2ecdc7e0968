// `supctl checkpoint list|inspect|validate|export|export-all|import|cleanup|
// snapshot|restore`: the checkpoint tools, run on a state dir's store
// directly (--state-dir), so that they work while the daemon is down, which is when a 3 a.m.
// operator needs them most. LMDB lets them read (and export) while a daemon writes the same store.
//
//   supctl checkpoint validate --state-dir /var/lib/supervisor
//   supctl checkpoint list --state-dir /var/lib/supervisor --recent 20
//   supctl checkpoint inspect exec-42:7 --state-dir /var/lib/supervisor --json
//   supctl checkpoint export-all --state-dir /var/lib/supervisor --output /backup/s.tar.gz
//   supctl checkpoint import /backup/s.tar.gz --state-dir /var/lib/supervisor-new
//   supctl checkpoint cleanup --max-age-days 7 --state-dir /var/lib/supervisor
//   supctl checkpoint snapshot --type FULL --name pre-recovery --state-dir /var/lib/supervisor
//   supctl checkpoint restore --checkpoint-id pre-recovery --verify --state-dir /var/lib/supervisor
#pragma once

#include <cstddef>
#include <string>

#include "supctl/command_context.hpp"

namespace sup::cli {

struct CheckpointOptions {
  std::string state_dir;      // the store is <state_dir>/store ...
  std::string store_path;     // ... unless given (the daemon's store.path)
  std::string execution;      // only this execution
  std::size_t recent = 0;     // only the N most recently updated executions (0: all)
  bool all = false;           // validate --all, the runbooks' spelling of the default
  std::string id;             // inspect: "<execution_id>:<seq>" or an execution id
  std::string output;         // export: the archive to write
  std::string archive;        // import: the archive to read
  unsigned max_age_days = 0;  // cleanup: finished executions older than this go
  std::string type;           // list/snapshot: "FULL" (whole-store snapshots)
  std::string name;           // snapshot: its name
  std::string checkpoint_id;  // restore: a FULL snapshot's name
  bool verify = false;        // restore: validate the restored store and report
};

// Executions (id, state, records, last update); with --execution, that
// execution's checkpoints (records) instead.
ExitCode list_checkpoints(CommandContext& context, const CheckpointOptions& options);
// One checkpoint (record) with its payload, or one execution's summary and
// records.
ExitCode inspect_checkpoint(CommandContext& context, const CheckpointOptions& options);
// Checks every record and summary in scope (checksums, keys, summaries
// against records). NotDone (exit 1) naming every bad record id when one
// fails.
ExitCode validate_checkpoints(CommandContext& context, const CheckpointOptions& options);
// Writes every execution and the artifact blobs they name to a .tar.gz
// (docs/state-store.md, "Export and import"); refuses to overwrite a file.
ExitCode export_checkpoints(CommandContext& context, const CheckpointOptions& options);
// Checks an export archive and installs it in a state dir without a store.
ExitCode import_checkpoints(CommandContext& context, const CheckpointOptions& options);
// Removes finished executions last updated more than max_age_days ago, and
// artifact blobs that no remaining snapshot names and that are as old;
// never anything an unfinished execution needs.
ExitCode cleanup_checkpoints(CommandContext& context, const CheckpointOptions& options);
// A FULL snapshot: the export archive of the whole store, kept as
// STATE_DIR/snapshots/NAME.tar.gz (works while the daemon runs).
ExitCode snapshot_checkpoints(CommandContext& context, const CheckpointOptions& options);
// `list --type FULL`: the snapshots, newest first, each checked (VALID or
// DAMAGED with the reason), as the runbook greps them.
ExitCode list_snapshots(CommandContext& context, const CheckpointOptions& options);
// Replaces the whole store with a FULL snapshot; the daemon must be stopped
// (the store must not be open elsewhere). The old store is moved aside.
ExitCode restore_checkpoint(CommandContext& context, const CheckpointOptions& options);

}  // namespace sup::cli
