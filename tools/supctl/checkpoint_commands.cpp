#include "supctl/checkpoint_commands.hpp"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <memory>
#include <ostream>
#include <set>
#include <vector>

#include "store/content_hash.hpp"
#include "store/export_archive.hpp"
#include "store/lmdb_store.hpp"
#include "supctl/text_table.hpp"

namespace sup::cli {
namespace {

namespace fs = std::filesystem;
using store::LmdbCheckpointStore;

fs::path store_path_of(const CheckpointOptions& options) {
  if (!options.store_path.empty()) return options.store_path;
  return fs::path(options.state_dir) / "store";
}

// Beside the store: STATE_DIR/<name> (artifacts, snapshots).
fs::path beside_store(const CheckpointOptions& options, std::string_view name) {
  if (!options.state_dir.empty()) return fs::path(options.state_dir) / name;
  return fs::path(options.store_path).parent_path() / name;
}

fs::path artifacts_path_of(const CheckpointOptions& options) {
  return beside_store(options, "artifacts");
}

bool has_store_location(CommandContext& context, const CheckpointOptions& options) {
  if (!options.state_dir.empty() || !options.store_path.empty()) return true;
  context.fail(ExitCode::Usage, "checkpoint: give --state-dir DIR (or --store DIR)");
  return false;
}

// The store, opened for reading; nullptr once the failure was reported.
// A missing store is an error: opening would create an empty one.
std::unique_ptr<LmdbCheckpointStore> open_store(CommandContext& context,
                                                const CheckpointOptions& options) {
  if (!has_store_location(context, options)) return nullptr;
  const fs::path path = store_path_of(options);
  std::error_code ec;
  if (!fs::exists(path / "data.mdb", ec)) {
    context.fail(ExitCode::NotDone, "no store at " + path.string() +
                                        " (give the daemon's state dir with --state-dir, or "
                                        "its store.path with --store)");
    return nullptr;
  }
  auto opened = LmdbCheckpointStore::open({.path = path});
  if (!opened) {
    context.fail(ExitCode::NotDone,
                 "cannot open the store at " + path.string() + ": " + opened.error().describe());
    return nullptr;
  }
  return std::move(opened).value();
}

std::string rfc3339(std::int64_t unix_ns) {
  const std::time_t seconds = static_cast<std::time_t>(unix_ns / 1'000'000'000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

nlohmann::json summary_json(const store::ExecutionSummary& summary) {
  return {{"execution_id", summary.execution_id},
          {"state", summary.status.state},
          {"finished", summary.status.finished},
          {"records", summary.record_count},
          {"last_seq", summary.last_seq},
          {"created_at", rfc3339(summary.created_at_ns)},
          {"updated_at", rfc3339(summary.updated_at_ns)}};
}

// The payload as JSON when it is JSON (the engine's records are), else text.
nlohmann::json payload_json(const std::string& payload) {
  auto parsed = nlohmann::json::parse(payload, nullptr, /*allow_exceptions=*/false);
  return parsed.is_discarded() ? nlohmann::json(payload) : parsed;
}

nlohmann::json record_json(const store::Record& record, bool with_payload) {
  nlohmann::json json = {{"checkpoint_id", record.id().to_string()},
                         {"execution_id", record.execution_id},
                         {"seq", record.seq},
                         {"kind", std::string(store::to_string(record.kind))},
                         {"timestamp", rfc3339(record.timestamp_ns)},
                         {"payload_bytes", record.payload.size()}};
  if (with_payload) json["payload"] = payload_json(record.payload);
  return json;
}

nlohmann::json bad_json(const std::vector<store::BadRecord>& bad) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& record : bad)
    list.push_back(
        {{"id", record.id}, {"execution_id", record.execution_id}, {"reason", record.reason}});
  return list;
}

// Executions in scope: one (--execution), the N most recently updated
// (--recent), or all; plus the summaries that failed their checks.
std::optional<store::ExecutionList> executions_in_scope(CommandContext& context,
                                                        const LmdbCheckpointStore& store,
                                                        const CheckpointOptions& options) {
  if (!options.execution.empty()) {
    auto summary = store.get_execution(options.execution);
    if (!summary) {
      context.fail(ExitCode::NotDone, summary.error().describe());
      return std::nullopt;
    }
    return store::ExecutionList{{*summary}, {}};
  }
  auto list = store.list_executions({});
  if (!list) {
    context.fail(ExitCode::NotDone, list.error().describe());
    return std::nullopt;
  }
  if (options.recent > 0 && list->executions.size() > options.recent) {
    std::stable_sort(
        list->executions.begin(), list->executions.end(),
        [](const auto& a, const auto& b) { return a.updated_at_ns > b.updated_at_ns; });
    list->executions.resize(options.recent);
  }
  return std::move(list).value();
}

void print_table(std::ostream& out, const TextTable& table, CommandContext& context) {
  for (const std::string& line : table.render(context.io().out_columns)) out << line << "\n";
}

void print_bad(std::ostream& out, const std::vector<store::BadRecord>& bad) {
  for (const auto& record : bad) out << "BAD " << record.id << ": " << record.reason << "\n";
}

ExitCode list_records(CommandContext& context, const LmdbCheckpointStore& store,
                      const CheckpointOptions& options) {
  auto records = store.read_execution(options.execution);
  if (!records) return context.fail(ExitCode::NotDone, records.error().describe());
  std::size_t first = 0;
  if (options.recent > 0 && records->size() > options.recent)
    first = records->size() - options.recent;
  std::ostream& out = context.io().out;
  if (context.options().json) {
    nlohmann::json list = nlohmann::json::array();
    for (std::size_t i = first; i < records->size(); ++i)
      list.push_back(record_json((*records)[i], false));
    out << nlohmann::json{{"checkpoints", list}}.dump() << "\n";
    return ExitCode::Ok;
  }
  TextTable table({{"CHECKPOINT"}, {"KIND"}, {"TIME"}, {"BYTES", Align::Right}});
  for (std::size_t i = first; i < records->size(); ++i) {
    const auto& record = (*records)[i];
    table.add_row({record.id().to_string(), std::string(store::to_string(record.kind)),
                   rfc3339(record.timestamp_ns), std::to_string(record.payload.size())});
  }
  print_table(out, table, context);
  return ExitCode::Ok;
}

}  // namespace

ExitCode list_checkpoints(CommandContext& context, const CheckpointOptions& options) {
  auto store = open_store(context, options);
  if (!store) return context.failure();
  if (!options.execution.empty()) return list_records(context, *store, options);
  auto list = executions_in_scope(context, *store, options);
  if (!list) return context.failure();
  std::ostream& out = context.io().out;
  if (context.options().json) {
    nlohmann::json executions = nlohmann::json::array();
    for (const auto& summary : list->executions) executions.push_back(summary_json(summary));
    out << nlohmann::json{{"executions", executions}, {"bad", bad_json(list->bad)}}.dump() << "\n";
  } else {
    TextTable table({{"EXECUTION"}, {"STATE"}, {"RECORDS", Align::Right}, {"UPDATED"}});
    for (const auto& summary : list->executions)
      table.add_row({summary.execution_id, summary.status.state,
                     std::to_string(summary.record_count), rfc3339(summary.updated_at_ns)});
    print_table(out, table, context);
    print_bad(out, list->bad);
  }
  return list->bad.empty() ? ExitCode::Ok : ExitCode::NotDone;
}

ExitCode inspect_checkpoint(CommandContext& context, const CheckpointOptions& options) {
  auto store = open_store(context, options);
  if (!store) return context.failure();
  std::ostream& out = context.io().out;
  if (options.id.find(':') == std::string::npos) {
    auto summary = store->get_execution(options.id);
    if (!summary) return context.fail(ExitCode::NotDone, summary.error().describe());
    auto records = store->read_execution(options.id);
    if (!records) return context.fail(ExitCode::NotDone, records.error().describe());
    nlohmann::json json = summary_json(*summary);
    json["checkpoints"] = nlohmann::json::array();
    for (const auto& record : *records) json["checkpoints"].push_back(record_json(record, true));
    out << json.dump(context.options().json ? -1 : 2) << "\n";
    return ExitCode::Ok;
  }
  auto id = store::CheckpointId::parse(options.id);
  if (!id) return context.fail(ExitCode::Usage, "checkpoint id: " + id.error().describe());
  auto records = store->read_execution(id->execution_id, id->seq);
  if (!records) return context.fail(ExitCode::NotDone, records.error().describe());
  if (records->empty() || records->front().seq != id->seq)
    return context.fail(ExitCode::NotDone, "no checkpoint " + options.id);
  out << record_json(records->front(), true).dump(context.options().json ? -1 : 2) << "\n";
  return ExitCode::Ok;
}

ExitCode validate_checkpoints(CommandContext& context, const CheckpointOptions& options) {
  auto store = open_store(context, options);
  if (!store) return context.failure();
  store::ScanScope scope;
  std::vector<store::BadRecord> bad_summaries;
  if (!options.execution.empty() || options.recent > 0) {
    auto list = executions_in_scope(context, *store, options);
    if (!list) return context.failure();
    for (const auto& summary : list->executions)
      scope.execution_ids.push_back(summary.execution_id);
    bad_summaries = list->bad;
  }
  auto report = store->validate(scope);
  if (!report) return context.fail(ExitCode::NotDone, report.error().describe());
  store::merge_bad_records(report->bad, std::move(bad_summaries));
  std::ostream& out = context.io().out;
  if (context.options().json) {
    out << nlohmann::json{{"executions_checked", report->executions_checked},
                          {"records_checked", report->records_checked},
                          {"clean", report->clean()},
                          {"bad", bad_json(report->bad)}}
               .dump()
        << "\n";
  } else {
    print_bad(out, report->bad);
    out << report->executions_checked << " executions, " << report->records_checked
        << " records checked: "
        << (report->clean() ? "clean" : std::to_string(report->bad.size()) + " bad") << "\n";
  }
  return report->clean() ? ExitCode::Ok : ExitCode::NotDone;
}

ExitCode export_checkpoints(CommandContext& context, const CheckpointOptions& options) {
  auto store = open_store(context, options);
  if (!store) return context.failure();
  std::ostream& out = context.io().out;
  std::ostream& err = context.io().err;
  err << "exporting " << store_path_of(options).string() << " to " << options.output << " ...\n";
  auto report = store::write_export_archive(*store, artifacts_path_of(options), options.output);
  if (!report) return context.fail(ExitCode::NotDone, "export: " + report.error().describe());
  // A backup keeps what there is; the operator is told what an import will refuse.
  if (!report->bad.empty())
    err << "warning: " << report->bad.size()
        << " records failed their checks and were exported as they are; an import refuses "
           "this archive (supctl checkpoint validate names them)\n";
  for (const std::string& hash : report->missing_artifacts)
    err << "warning: artifact blob " << hash << " is missing or damaged under "
        << artifacts_path_of(options).string() << ": left out\n";
  if (context.options().json) {
    out << nlohmann::json{{"output", options.output},
                          {"executions", report->executions},
                          {"records", report->records},
                          {"artifacts", report->artifacts},
                          {"archive_bytes", report->archive_bytes},
                          {"bad", bad_json(report->bad)},
                          {"missing_artifacts", report->missing_artifacts}}
               .dump()
        << "\n";
  } else {
    out << "exported " << report->executions << " executions (" << report->records << " records, "
        << report->artifacts << " artifact blobs) to " << options.output << " ("
        << report->archive_bytes << " bytes)\n";
  }
  return ExitCode::Ok;
}

ExitCode import_checkpoints(CommandContext& context, const CheckpointOptions& options) {
  if (!has_store_location(context, options)) return context.failure();
  auto report = store::import_export_archive(options.archive, store_path_of(options),
                                             artifacts_path_of(options));
  if (!report) return context.fail(ExitCode::NotDone, "import: " + report.error().describe());
  std::ostream& out = context.io().out;
  if (context.options().json) {
    out << nlohmann::json{{"archive", options.archive},
                          {"executions", report->manifest.executions},
                          {"records", report->manifest.records},
                          {"artifacts", report->artifacts},
                          {"created_at", report->manifest.created_at},
                          {"hostname", report->manifest.hostname}}
               .dump()
        << "\n";
  } else {
    out << "imported " << report->manifest.executions << " executions (" << report->manifest.records
        << " records, " << report->artifacts << " artifact blobs) exported from "
        << report->manifest.hostname << " at " << report->manifest.created_at << " into "
        << store_path_of(options).string() << "\n";
  }
  return ExitCode::Ok;
}

namespace {

// Blobs under `artifacts` that no snapshot record names any more and whose
// file is older than `cutoff`: a blob written for a snapshot that is not
// committed yet is newer than any cutoff, so it is never taken.
std::vector<fs::path> unreferenced_blobs(const LmdbCheckpointStore& store,
                                         const fs::path& artifacts, fs::file_time_type cutoff) {
  auto named = store::named_artifacts(store);
  if (!named || !named->complete) return {};  // a corrupt record may name any blob: keep them all
  std::vector<fs::path> unreferenced;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(artifacts, ec)) {
    const std::string name = entry.path().filename().string();
    const std::string hash = std::string(store::kSha256Prefix) + name;
    if (!entry.is_regular_file(ec) || !store::is_content_hash(hash)) continue;
    if (named->hashes.contains(hash)) continue;
    if (entry.last_write_time(ec) < cutoff) unreferenced.push_back(entry.path());
  }
  return unreferenced;
}

}  // namespace

ExitCode cleanup_checkpoints(CommandContext& context, const CheckpointOptions& options) {
  auto store = open_store(context, options);
  if (!store) return context.failure();
  const auto age = std::chrono::hours(24) * options.max_age_days;
  const auto cutoff_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                             (std::chrono::system_clock::now() - age).time_since_epoch())
                             .count();
  auto report = store::cleanup_and_wait(*store, {.updated_before_ns = cutoff_ns});
  if (!report) return context.fail(ExitCode::NotDone, "cleanup: " + report.error().describe());
  std::uint64_t blobs_removed = 0;
  // A blob at least an hour old: the daemon writes a blob before the record
  // naming it commits, and a cleanup with --max-age-days 0 must not race it.
  const auto blob_age = std::max<std::chrono::system_clock::duration>(age, std::chrono::hours(1));
  for (const fs::path& blob : unreferenced_blobs(*store, artifacts_path_of(options),
                                                 fs::file_time_type::clock::now() - blob_age)) {
    std::error_code ec;
    if (fs::remove(blob, ec)) ++blobs_removed;
  }
  std::ostream& out = context.io().out;
  if (context.options().json) {
    out << nlohmann::json{{"removed", report->removed},
                          {"records_removed", report->records_removed},
                          {"artifact_blobs_removed", blobs_removed}}
               .dump()
        << "\n";
  } else {
    out << "removed " << report->removed.size() << " finished executions older than "
        << options.max_age_days << " days (" << report->records_removed << " records, "
        << blobs_removed << " artifact blobs); unfinished executions are never removed\n";
  }
  return ExitCode::Ok;
}

namespace {

constexpr std::string_view kSnapshotSuffix = ".tar.gz";

// 1..128 of [A-Za-z0-9._-], not starting with '.': a file name, never a path.
bool is_snapshot_name(std::string_view name) {
  if (name.empty() || name.size() > 128 || name.front() == '.') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

bool check_full_type(CommandContext& context, const CheckpointOptions& options) {
  if (options.type == "FULL") return true;
  context.fail(ExitCode::Usage, "--type " + options.type +
                                    ": only FULL snapshots exist (the whole store and its "
                                    "artifact blobs)");
  return false;
}

struct SnapshotEntry {
  std::string name;
  fs::path path;
  std::uint64_t bytes = 0;
  Expected<store::ExportManifest> manifest;
};

}  // namespace

ExitCode snapshot_checkpoints(CommandContext& context, const CheckpointOptions& options) {
  if (!options.type.empty() && !check_full_type(context, options)) return context.failure();
  if (!is_snapshot_name(options.name))
    return context.fail(
        ExitCode::Usage,
        "--name \"" + options.name + "\": 1 to 128 of A-Z a-z 0-9 . _ - (not starting with '.')");
  auto store = open_store(context, options);
  if (!store) return context.failure();
  const fs::path path =
      beside_store(options, "snapshots") / (options.name + std::string(kSnapshotSuffix));
  context.io().err << "writing snapshot " << path.string() << " ...\n";
  auto report = store::write_export_archive(*store, artifacts_path_of(options), path);
  if (!report) return context.fail(ExitCode::NotDone, "snapshot: " + report.error().describe());
  if (!report->bad.empty())
    context.io().err << "warning: " << report->bad.size()
                     << " records failed their checks: this snapshot cannot be restored "
                        "until they are dealt with (supctl checkpoint validate names them)\n";
  std::ostream& out = context.io().out;
  if (context.options().json)
    out << nlohmann::json{{"name", options.name},
                          {"path", path.string()},
                          {"executions", report->executions},
                          {"records", report->records},
                          {"artifacts", report->artifacts},
                          {"bytes", report->archive_bytes}}
               .dump()
        << "\n";
  else
    out << "snapshot " << options.name << ": " << report->executions << " executions ("
        << report->records << " records, " << report->artifacts << " artifact blobs), "
        << report->archive_bytes << " bytes at " << path.string() << "\n";
  return ExitCode::Ok;
}

ExitCode list_snapshots(CommandContext& context, const CheckpointOptions& options) {
  if (!check_full_type(context, options)) return context.failure();
  if (!has_store_location(context, options)) return context.failure();
  const fs::path dir = beside_store(options, "snapshots");
  std::vector<SnapshotEntry> snapshots;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string file = entry.path().filename().string();
    if (!entry.is_regular_file(ec) || !file.ends_with(kSnapshotSuffix)) continue;
    const std::string name = file.substr(0, file.size() - kSnapshotSuffix.size());
    if (!is_snapshot_name(name)) continue;
    snapshots.push_back(
        {name, entry.path(), entry.file_size(ec), store::verify_export_archive(entry.path())});
  }
  // Newest first (RFC 3339 UTC strings sort by time); damaged ones last.
  std::sort(snapshots.begin(), snapshots.end(), [](const auto& a, const auto& b) {
    if (a.manifest.has_value() != b.manifest.has_value()) return a.manifest.has_value();
    if (a.manifest && b.manifest && a.manifest->created_at != b.manifest->created_at)
      return a.manifest->created_at > b.manifest->created_at;
    return a.name < b.name;
  });
  std::ostream& out = context.io().out;
  if (context.options().json) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& snapshot : snapshots) {
      nlohmann::json item = {{"name", snapshot.name},
                             {"status", snapshot.manifest ? "VALID" : "DAMAGED"},
                             {"path", snapshot.path.string()},
                             {"bytes", snapshot.bytes}};
      if (snapshot.manifest) {
        item["created_at"] = snapshot.manifest->created_at;
        item["executions"] = snapshot.manifest->executions;
        item["records"] = snapshot.manifest->records;
      } else {
        item["problem"] = snapshot.manifest.error().describe();
      }
      list.push_back(std::move(item));
    }
    out << nlohmann::json{{"snapshots", list}}.dump() << "\n";
    return ExitCode::Ok;
  }
  // STATUS first and NAME second: the runbook takes `grep VALID | head -1 |
  // awk '{print $2}'` (DAMAGED, not INVALID, so that grep VALID skips it).
  TextTable table(
      {{"STATUS"}, {"NAME"}, {"CREATED"}, {"EXECUTIONS", Align::Right}, {"BYTES", Align::Right}});
  for (const auto& snapshot : snapshots)
    table.add_row({snapshot.manifest ? "VALID" : "DAMAGED", snapshot.name,
                   snapshot.manifest ? snapshot.manifest->created_at : "-",
                   snapshot.manifest ? std::to_string(snapshot.manifest->executions) : "-",
                   std::to_string(snapshot.bytes)});
  print_table(out, table, context);
  for (const auto& snapshot : snapshots)
    if (!snapshot.manifest)
      context.io().err << "DAMAGED " << snapshot.name << ": "
                       << snapshot.manifest.error().describe() << "\n";
  return ExitCode::Ok;
}

ExitCode restore_checkpoint(CommandContext& context, const CheckpointOptions& options) {
  if (!has_store_location(context, options)) return context.failure();
  const std::string& id = options.checkpoint_id;
  if (id.find(':') != std::string::npos)
    return context.fail(ExitCode::NotDone,
                        "restore " + id +
                            ": rolling one execution back to a checkpoint is not built yet "
                            "(issue 10's partial rollback); restore takes the name of a FULL "
                            "snapshot (supctl checkpoint list --type FULL)");
  const fs::path archive = beside_store(options, "snapshots") / (id + std::string(kSnapshotSuffix));
  std::error_code ec;
  if (!is_snapshot_name(id) || !fs::exists(archive, ec))
    return context.fail(ExitCode::NotDone, "no FULL snapshot named \"" + id + "\" in " +
                                               archive.parent_path().string() +
                                               " (supctl checkpoint list --type FULL)");
  const fs::path store_path = store_path_of(options);
  if (auto pid = store::store_open_elsewhere(store_path))
    return context.fail(ExitCode::NotDone,
                        "the store " + store_path.string() + " is open in process " +
                            std::to_string(*pid) +
                            " (the daemon?): stop it first, restore replaces the whole store");
  // The store in place is moved aside, never deleted: a restore can be undone.
  const fs::path aside = store_path.string() + ".before-restore-" +
                         std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                            std::chrono::system_clock::now().time_since_epoch())
                                            .count());
  const bool had_store = fs::exists(store_path, ec);
  if (had_store) {
    fs::rename(store_path, aside, ec);
    if (ec)
      return context.fail(ExitCode::NotDone,
                          "cannot move " + store_path.string() + " aside: " + ec.message());
  }
  context.io().err << "restoring snapshot " << id << " into " << store_path.string() << " ...\n";
  auto imported = store::import_export_archive(archive, store_path, artifacts_path_of(options));
  if (!imported) {
    fs::remove_all(store_path, ec);
    if (had_store) fs::rename(aside, store_path, ec);
    return context.fail(ExitCode::NotDone, "restore " + id + ": " + imported.error().describe() +
                                               " (the store was left as it was)");
  }
  std::ostream& out = context.io().out;
  std::optional<store::ScanReport> verified;
  if (options.verify) {
    auto store = open_store(context, options);
    if (!store) return context.failure();
    auto report = store->validate({});
    if (!report) return context.fail(ExitCode::NotDone, "verify: " + report.error().describe());
    verified = std::move(*report);
  }
  if (context.options().json) {
    nlohmann::json json = {{"restored", id},
                           {"executions", imported->manifest.executions},
                           {"records", imported->manifest.records},
                           {"created_at", imported->manifest.created_at},
                           {"previous_store", had_store ? aside.string() : ""}};
    if (verified) json["verify"] = {{"clean", verified->clean()}, {"bad", bad_json(verified->bad)}};
    out << json.dump() << "\n";
  } else {
    out << "restored snapshot " << id << " (" << imported->manifest.executions
        << " executions, taken " << imported->manifest.created_at << ")";
    if (had_store) out << "; the previous store is kept at " << aside.string();
    out << "\n";
    if (verified) {
      print_bad(out, verified->bad);
      out << "verify: " << verified->executions_checked << " executions, "
          << verified->records_checked << " records checked: "
          << (verified->clean() ? "clean" : std::to_string(verified->bad.size()) + " bad") << "\n";
    }
  }
  return verified && !verified->clean() ? ExitCode::NotDone : ExitCode::Ok;
}

}  // namespace sup::cli
