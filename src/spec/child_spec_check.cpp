#include "spec/child_spec_check.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <optional>
#include <sstream>
#include <vector>

namespace sup::spec {
namespace {

std::string join(std::string_view path, std::string_view key) {
  if (path.empty()) return std::string(key);
  return std::string(path) + "." + std::string(key);
}

std::string index(std::string_view path, std::size_t i) {
  return std::string(path) + "[" + std::to_string(i) + "]";
}

std::string number_text(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

// Collects the first failure; later checks become no-ops.
class Checker {
 public:
  bool ok() const { return !error_; }
  Status result() const {
    if (error_) return *error_;
    return {};
  }

  void fail(std::string field_path, std::string message) {
    if (!error_)
      error_ = make_error(ErrorCode::InvalidArgument, std::move(message), std::move(field_path));
  }

  void range(std::string_view path, std::uint32_t value, std::uint32_t min, std::uint32_t max) {
    if (value >= min && value <= max) return;
    std::string bounds = min == 0
                             ? "at most " + std::to_string(max)
                             : "between " + std::to_string(min) + " and " + std::to_string(max);
    fail(std::string(path), "must be an integer " + bounds + ", got " + std::to_string(value));
  }

  void range(std::string_view path, double value, double min, double max) {
    if (std::isfinite(value) && value >= min && value <= max) return;
    fail(std::string(path), "must be a number between " + number_text(min) + " and " +
                                number_text(max) + ", got " + number_text(value));
  }

  // Bounded, and no NUL: the kernel would cut the string there.
  void text(std::string_view path, const std::string& value, std::size_t max_bytes) {
    if (value.size() > max_bytes)
      return fail(std::string(path), "must be at most " + std::to_string(max_bytes) +
                                         " bytes, got " + std::to_string(value.size()));
    if (value.find('\0') != std::string::npos)
      fail(std::string(path), "must not contain a NUL byte");
  }

 private:
  std::optional<Error> error_;
};

bool is_id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '-';
}

bool blank(const std::string& text) {
  return text.find_first_not_of(" \t\r\n") == std::string::npos;
}

// Printable, for messages: control characters and long ids are the point of
// the refusal, not something to echo raw.
std::string shown(const std::string& id) {
  std::string out;
  for (char c : id.substr(0, kMaxIdBytes)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (id.size() > kMaxIdBytes) out += "...";
  return out;
}

void check_id(Checker& checker, std::string_view path, const std::string& id) {
  if (id.empty()) return checker.fail(std::string(path), "must not be empty");
  if (id.size() > kMaxIdBytes || !std::all_of(id.begin(), id.end(), is_id_char))
    return checker.fail(std::string(path), "\"" + shown(id) +
                                               "\" is not a valid id: 1 to 64 characters of "
                                               "A-Z a-z 0-9 _ . -");
  if (id == "root") checker.fail(std::string(path), "\"root\" is reserved for the root supervisor");
}

void check_process(Checker& checker, std::string_view path, const ProcessSpec& process,
                   const ExecutableLookup& lookup) {
  std::string exec = join(path, "exec");
  if (process.argv.empty()) return checker.fail(exec, "must be a non-empty argv");
  if (process.argv.size() > kMaxArgs)
    return checker.fail(exec, "must have at most " + std::to_string(kMaxArgs) + " elements");
  for (std::size_t i = 0; i < process.argv.size(); ++i)
    checker.text(index(exec, i), process.argv[i], kMaxArgBytes);
  if (process.argv[0].empty()) checker.fail(index(exec, 0), "the program must not be empty");
  if (process.env.size() > kMaxArgs)
    checker.fail(join(path, "env"), "must have at most " + std::to_string(kMaxArgs) + " entries");
  for (const auto& [name, value] : process.env) {
    std::string at = join(join(path, "env"), name);
    if (name.empty() || name.find('=') != std::string::npos)
      checker.fail(at, "is not a valid environment variable name (empty or with '=')");
    checker.text(at, name, kMaxNameBytes);
    checker.text(at, value, kMaxArgBytes);
  }
  checker.text(join(path, "cwd"), process.cwd, kMaxArgBytes);
  // A shell command's first word may be a builtin; /bin/sh itself runs it.
  if (checker.ok() && !process.shell && !lookup(process.argv[0], process.cwd))
    checker.fail(index(exec, 0),
                 "\"" + process.argv[0] + "\" is not an executable file" +
                     (process.argv[0].find('/') == std::string::npos ? " in the PATH" : ""));
}

void check_node(Checker& checker, const ChildSpec& spec, std::string_view path,
                const ExecutableLookup& lookup, std::size_t depth);

void check_children(Checker& checker, const std::vector<ChildSpec>& children,
                    std::string_view children_path, const ExecutableLookup& lookup,
                    std::size_t depth) {
  for (std::size_t i = 0; i < children.size() && checker.ok(); ++i)
    check_node(checker, children[i], index(children_path, i), lookup, depth);
}

void check_node(Checker& checker, const ChildSpec& spec, std::string_view path,
                const ExecutableLookup& lookup, std::size_t depth) {
  if (depth > kMaxNestingDepth)
    return checker.fail(std::string(path), "supervisors nest at most " +
                                               std::to_string(kMaxNestingDepth) + " levels deep");
  check_id(checker, join(path, "id"), spec.id);
  checker.range(join(path, "shutdown_timeout_ms"), spec.shutdown_timeout_ms, 0, kMaxTimeoutMs);
  // A restart spends a whole token, so less than one could never restart.
  checker.range(join(path, "budget.capacity"), spec.budget.capacity, 1.0, kMaxBudgetRate);
  checker.range(join(path, "budget.refill_per_sec"), spec.budget.refill_per_sec, 0.0,
                kMaxBudgetRate);
  const BackoffSpec& backoff = spec.backoff;
  checker.range(join(path, "backoff.initial_ms"), backoff.initial_ms, 0, kMaxTimeoutMs);
  checker.range(join(path, "backoff.max_ms"), backoff.max_ms, 0, kMaxPeriodMs);
  checker.range(join(path, "backoff.multiplier"), backoff.multiplier, 1.0, kMaxMultiplier);
  checker.range(join(path, "backoff.reset_after_ms"), backoff.reset_after_ms, 0, kMaxPeriodMs);
  if (checker.ok() && backoff.max_ms < backoff.initial_ms)
    checker.fail(join(path, "backoff.max_ms"), "must be at least initial_ms (" +
                                                   std::to_string(backoff.initial_ms) + "), got " +
                                                   std::to_string(backoff.max_ms));
  checker.range(join(path, "crash_loop.max_failures"), spec.crash_loop.max_failures, 0, kMaxCount);
  checker.range(join(path, "crash_loop.window_ms"), spec.crash_loop.window_ms, 1, kMaxPeriodMs);
  checker.range(join(path, "heartbeat_timeout_ms"), spec.heartbeat_timeout_ms, 0, kMaxPeriodMs);
  if (!checker.ok()) return;

  switch (spec.kind) {
    case ChildKind::Task:
      if (blank(spec.task)) return checker.fail(join(path, "task"), "must name a registered task");
      checker.text(join(path, "task"), spec.task, kMaxNameBytes);
      break;
    case ChildKind::Process:
      check_process(checker, path, spec.process, lookup);
      break;
    case ChildKind::Drill:
      checker.range(join(path, "drill.ms"), spec.drill.ms,
                    spec.drill.kind == DrillKind::Flaky ? 1 : 0, kMaxPeriodMs);
      checker.range(join(path, "drill.p"), spec.drill.p, 0.0, 1.0);
      break;
    case ChildKind::Endpoint:
      break;
    case ChildKind::Supervisor:
      checker.range(join(path, "intensity"), spec.intensity, 0, kMaxCount);
      checker.range(join(path, "period_ms"), spec.period_ms, 1, kMaxPeriodMs);
      check_children(checker, spec.children, join(path, "children"), lookup, depth + 1);
      break;
  }
}

void collect_ids(Checker& checker, const std::vector<ChildSpec>& children,
                 std::string_view children_path, std::map<std::string, std::string>& first_at) {
  for (std::size_t i = 0; i < children.size() && checker.ok(); ++i) {
    std::string path = index(children_path, i);
    std::string id_path = join(path, "id");
    auto [it, inserted] = first_at.emplace(children[i].id, id_path);
    if (!inserted)
      return checker.fail(id_path, "duplicate id \"" + shown(children[i].id) +
                                       "\" (first used at " + it->second +
                                       "); ids must be unique across the whole tree");
    collect_ids(checker, children[i].children, join(path, "children"), first_at);
  }
}

bool executable_file(const std::string& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode) &&
         ::access(path.c_str(), X_OK) == 0;
}

}  // namespace

bool find_executable(const std::string& program, const std::string& cwd) {
  if (program.empty()) return false;
  if (program.find('/') != std::string::npos) {
    if (program.front() == '/' || cwd.empty()) return executable_file(program);
    return executable_file(cwd + "/" + program);
  }
  // posix_spawnp searches the daemon's PATH (glibc's default when unset).
  const char* path_env = std::getenv("PATH");
  std::string_view dirs = path_env ? path_env : "/bin:/usr/bin";
  while (true) {
    std::size_t colon = dirs.find(':');
    std::string_view dir = dirs.substr(0, colon);
    std::string candidate = (dir.empty() ? std::string(".") : std::string(dir)) + "/" + program;
    if (executable_file(candidate)) return true;
    if (colon == std::string_view::npos) return false;
    dirs.remove_prefix(colon + 1);
  }
}

Status check_child_spec(const ChildSpec& spec, std::string_view path,
                        const ExecutableLookup& lookup, std::size_t depth) {
  Checker checker;
  check_node(checker, spec, path, lookup, depth);
  if (checker.ok() && spec.kind == ChildKind::Supervisor) {
    std::map<std::string, std::string> first_at{{spec.id, join(path, "id")}};
    collect_ids(checker, spec.children, join(path, "children"), first_at);
  }
  return checker.result();
}

Status check_supervisor_spec(const SupervisorSpec& root, const ExecutableLookup& lookup) {
  Checker checker;
  checker.range("intensity", root.intensity, 0, kMaxCount);
  checker.range("period_ms", root.period_ms, 1, kMaxPeriodMs);
  check_children(checker, root.children, "children", lookup, 1);
  std::map<std::string, std::string> first_at;
  if (checker.ok()) collect_ids(checker, root.children, "children", first_at);
  return checker.result();
}

Status check_command_meta(const CommandMeta& meta, std::string_view target) {
  Checker checker;
  auto field = [&checker](std::string_view name, const std::string& value, std::size_t max) {
    if (blank(value)) return checker.fail(std::string(name), "must not be blank");
    checker.text(name, value, max);
  };
  field("command_id", meta.command_id, kMaxCommandIdBytes);
  field("requested_by", meta.requested_by, kMaxRequestedByBytes);
  field("reason", meta.reason, kMaxReasonBytes);
  if (target.size() > kMaxIdBytes)
    checker.fail("target", "must be at most " + std::to_string(kMaxIdBytes) + " bytes, got " +
                               std::to_string(target.size()));
  return checker.result();
}

}  // namespace sup::spec
