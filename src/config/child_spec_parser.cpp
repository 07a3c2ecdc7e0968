#include "config/child_spec_parser.hpp"

#include <algorithm>
#include <map>
#include <optional>

namespace sup::config {
namespace {

constexpr std::uint32_t kHourMs = 3'600'000;
constexpr std::uint32_t kDayMs = 86'400'000;
constexpr std::size_t kMaxIdLength = 64;
constexpr std::string_view kRelayId = "relay";

constexpr std::string_view kStrategyChoices = R"("one_for_one", "one_for_all", "rest_for_one")";
constexpr std::string_view kRestartChoices = R"("permanent", "transient", "temporary")";
constexpr std::string_view kKindChoices = R"("task", "process", "drill", "relay", "supervisor")";
constexpr std::string_view kDrillChoices =
    R"("crash_after", "panic", "flaky", "block_forever", "ignore_cancel", "busy")";

constexpr std::string_view kBudgetKeys[] = {"capacity", "refill_per_sec"};
constexpr std::string_view kBackoffKeys[] = {"initial_ms", "max_ms", "multiplier",
                                             "reset_after_ms"};
constexpr std::string_view kCrashLoopKeys[] = {"max_failures", "window_ms"};
constexpr std::string_view kSupervisorKeys[] = {"strategy", "intensity", "period_ms", "children"};

// Keys every child accepts, then those of its kind.
constexpr std::string_view kCommonKeys[] = {"id",     "kind",    "restart",   "shutdown_timeout_ms",
                                            "budget", "backoff", "crash_loop"};
std::vector<std::string_view> keys_for(ChildKind kind) {
  std::vector<std::string_view> keys(std::begin(kCommonKeys), std::end(kCommonKeys));
  auto add = [&keys](std::initializer_list<std::string_view> more) {
    keys.insert(keys.end(), more.begin(), more.end());
  };
  switch (kind) {
    case ChildKind::Task:
      add({"task", "heartbeat_timeout_ms"});
      break;
    case ChildKind::Process:
      add({"exec", "env", "cwd", "shell"});
      break;
    case ChildKind::Drill:
      add({"drill", "heartbeat_timeout_ms"});
      break;
    case ChildKind::Relay:
      add({"heartbeat_timeout_ms"});
      break;
    case ChildKind::Supervisor:
      keys.insert(keys.end(), std::begin(kSupervisorKeys), std::end(kSupervisorKeys));
      break;
  }
  return keys;
}

bool is_id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '-';
}

void check_id(const ObjectReader& child, const std::string& id, ChildKind kind) {
  if (id.size() > kMaxIdLength || !std::all_of(id.begin(), id.end(), is_id_char)) {
    child.fail("id", "\"" + id + "\" is not a valid id: 1 to 64 characters of A-Z a-z 0-9 _ . -");
  } else if (id == "root") {
    child.fail("id", "\"root\" is reserved for the root supervisor");
  } else if (id == kRelayId && kind != ChildKind::Relay) {
    child.fail("id", "\"relay\" is reserved for the child of kind \"relay\"");
  }
}

// Reads an optional nested object with its own strict key set.
std::optional<ObjectReader> nested(const ObjectReader& parent, std::string_view key,
                                   std::span<const std::string_view> allowed, ErrorSlot& errors) {
  const nlohmann::json* node = parent.find(key);
  if (!node) return std::nullopt;
  ObjectReader reader(*node, parent.field_path(key), errors);
  reader.allow_only(allowed);
  return reader;
}

void read_budget(const ObjectReader& child, BudgetSpec& out, ErrorSlot& errors) {
  auto budget = nested(child, "budget", kBudgetKeys, errors);
  if (!budget) return;
  // A restart spends a whole token, so less than one could never restart.
  budget->read("capacity", out.capacity, Range<double>{1.0, 1e6});
  budget->read("refill_per_sec", out.refill_per_sec, Range<double>{0.0, 1e6});
}

void read_backoff(const ObjectReader& child, BackoffSpec& out, ErrorSlot& errors) {
  auto backoff = nested(child, "backoff", kBackoffKeys, errors);
  if (!backoff) return;
  backoff->read("initial_ms", out.initial_ms, Range<std::uint32_t>{0, kHourMs});
  backoff->read("max_ms", out.max_ms, Range<std::uint32_t>{0, kDayMs});
  backoff->read("multiplier", out.multiplier, Range<double>{1.0, 1000.0});
  backoff->read("reset_after_ms", out.reset_after_ms, Range<std::uint32_t>{0, kDayMs});
  if (errors.ok() && out.max_ms < out.initial_ms) {
    backoff->fail("max_ms", "must be at least initial_ms (" + std::to_string(out.initial_ms) +
                                "), got " + std::to_string(out.max_ms));
  }
}

void read_crash_loop(const ObjectReader& child, CrashLoopSpec& out, ErrorSlot& errors) {
  auto crash_loop = nested(child, "crash_loop", kCrashLoopKeys, errors);
  if (!crash_loop) return;
  crash_loop->read("max_failures", out.max_failures, Range<std::uint32_t>{0, 1'000'000});
  crash_loop->read("window_ms", out.window_ms, Range<std::uint32_t>{1, kDayMs});
}

void read_process(const ObjectReader& child, ProcessSpec& out) {
  if (const nlohmann::json* exec = child.find("exec")) {
    if (!exec->is_array() || exec->empty()) {
      child.fail("exec", "must be a non-empty array of strings (argv), got " +
                             (exec->is_array() ? std::string("an empty array")
                                               : std::string(json_type_name(*exec))));
      return;
    }
    for (std::size_t i = 0; i < exec->size(); ++i) {
      const auto& arg = (*exec)[i];
      if (!arg.is_string()) {
        child.fail(index_path("exec", i),
                   "must be a string, got " + std::string(json_type_name(arg)));
        return;
      }
      out.argv.push_back(arg.get<std::string>());
    }
    if (out.argv[0].empty()) return child.fail("exec[0]", "the program must not be empty");
  } else {
    return child.fail("exec", "missing required key (the argv array of the process)");
  }
  if (const nlohmann::json* env = child.find("env")) {
    if (!env->is_object())
      return child.fail("env",
                        "must be an object of strings, got " + std::string(json_type_name(*env)));
    for (const auto& [name, value] : env->items()) {
      std::string env_key = "env." + name;
      if (name.empty() || name.find('=') != std::string::npos)
        return child.fail(env_key, "is not a valid environment variable name");
      if (!value.is_string())
        return child.fail(env_key, "must be a string, got " + std::string(json_type_name(value)));
      out.env[name] = value.get<std::string>();
    }
  }
  child.read("cwd", out.cwd);
  child.read("shell", out.shell);
}

void read_drill(const ObjectReader& child, DrillSpec& out, ErrorSlot& errors) {
  const nlohmann::json* node = child.find("drill");
  if (!node) {
    child.fail("drill",
               R"(missing required key, e.g. "drill": {"kind": "crash_after", "ms": 1500})");
    return;
  }
  if (!node->is_object()) {
    child.fail("drill", R"(must be an object, e.g. {"kind": "flaky", "ms": 2000, "p": 0.3}, got )" +
                            std::string(json_type_name(*node)));
    return;
  }
  ObjectReader drill(*node, child.field_path("drill"), errors);
  drill.read_enum("kind", out.kind, &drill_kind_from_string, kDrillChoices, Presence::Required);
  if (!errors.ok()) return;
  std::vector<std::string_view> keys{"kind"};
  std::uint32_t min_ms = 0;
  switch (out.kind) {
    case DrillKind::Flaky:
      keys.insert(keys.end(), {"ms", "p"});
      min_ms = 1;  // the period of the coin flips
      break;
    case DrillKind::CrashAfter:
    case DrillKind::Panic:
    case DrillKind::Busy:
      keys.push_back("ms");
      break;
    case DrillKind::BlockForever:
    case DrillKind::IgnoreCancel:
      break;
  }
  std::string context = "for drill kind \"" + std::string(to_string(out.kind)) + "\"";
  drill.allow_only(keys, context);
  drill.read("ms", out.ms, Range<std::uint32_t>{min_ms, kDayMs});
  drill.read("p", out.p, Range<double>{0.0, 1.0});
}

void read_child(const nlohmann::json& node, const std::string& path, ErrorSlot& errors,
                ChildSpec& out) {
  ObjectReader child(node, path, errors);
  child.read("id", out.id, Presence::Required);
  child.read_enum("kind", out.kind, &child_kind_from_string, kKindChoices, Presence::Required);
  if (!errors.ok()) return;
  check_id(child, out.id, out.kind);
  child.allow_only(keys_for(out.kind), "for kind \"" + std::string(to_string(out.kind)) + "\"");

  child.read_enum("restart", out.restart, &restart_type_from_string, kRestartChoices);
  child.read("shutdown_timeout_ms", out.shutdown_timeout_ms, Range<std::uint32_t>{0, kHourMs});
  read_budget(child, out.budget, errors);
  read_backoff(child, out.backoff, errors);
  read_crash_loop(child, out.crash_loop, errors);
  child.read("heartbeat_timeout_ms", out.heartbeat_timeout_ms, Range<std::uint32_t>{0, kDayMs});
  if (!errors.ok()) return;

  switch (out.kind) {
    case ChildKind::Task:
      child.read("task", out.task, Presence::Required);
      break;
    case ChildKind::Process:
      read_process(child, out.process);
      break;
    case ChildKind::Drill:
      read_drill(child, out.drill, errors);
      break;
    case ChildKind::Relay:
      if (out.id != kRelayId) child.fail("id", "a child of kind \"relay\" must have id \"relay\"");
      break;
    case ChildKind::Supervisor:
      read_supervisor_fields(child, {out.strategy, out.intensity, out.period_ms, out.children},
                             errors);
      break;
  }
}

struct TreeScan {
  std::map<std::string, std::string, std::less<>> id_paths;  // id → path of its "id" field
  std::optional<std::string> relay_path;
};

void check_subtree(const std::vector<ChildSpec>& children, const std::string& children_path,
                   TreeScan& scan, ErrorSlot& errors);

void check_node(const ChildSpec& child, const std::string& path, TreeScan& scan,
                ErrorSlot& errors) {
  std::string id_path = join_path(path, "id");
  if (child.kind == ChildKind::Relay) {
    if (scan.relay_path)
      return errors.fail(id_path, "only one child of kind \"relay\" is allowed (the first is at " +
                                      *scan.relay_path + ")");
    scan.relay_path = path;
  }
  auto [it, inserted] = scan.id_paths.emplace(child.id, id_path);
  if (!inserted)
    return errors.fail(id_path, "duplicate id \"" + child.id + "\" (first used at " + it->second +
                                    "); ids must be unique across the whole tree");
  check_subtree(child.children, join_path(path, "children"), scan, errors);
}

void check_subtree(const std::vector<ChildSpec>& children, const std::string& children_path,
                   TreeScan& scan, ErrorSlot& errors) {
  for (std::size_t i = 0; i < children.size() && errors.ok(); ++i)
    check_node(children[i], index_path(children_path, i), scan, errors);
}

}  // namespace

void read_supervisor_fields(const ObjectReader& reader, SupervisorFields out, ErrorSlot& errors) {
  reader.read_enum("strategy", out.strategy, &strategy_from_string, kStrategyChoices);
  reader.read("intensity", out.intensity, Range<std::uint32_t>{0, 1'000'000});
  reader.read("period_ms", out.period_ms, Range<std::uint32_t>{1, kDayMs});
  const nlohmann::json* children = reader.find("children");
  if (!children) return;
  std::string children_path = reader.field_path("children");
  if (!children->is_array())
    return errors.fail(children_path, "must be an array of child specs, got " +
                                          std::string(json_type_name(*children)));
  out.children.resize(children->size());
  for (std::size_t i = 0; i < children->size() && errors.ok(); ++i)
    read_child((*children)[i], index_path(children_path, i), errors, out.children[i]);
}

void check_tree(const std::vector<ChildSpec>& children, const std::string& children_path,
                ErrorSlot& errors) {
  TreeScan scan;
  check_subtree(children, children_path, scan, errors);
}

Expected<ChildSpec> parse_child_spec(const nlohmann::json& node, const std::string& path) {
  ErrorSlot errors;
  ChildSpec spec;
  read_child(node, path, errors, spec);
  if (errors.ok()) {
    TreeScan scan;
    check_node(spec, path, scan, errors);
  }
  if (!errors.ok()) return errors.take();
  return spec;
}

}  // namespace sup::config
