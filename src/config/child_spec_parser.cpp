#include "config/child_spec_parser.hpp"

#include <algorithm>
#include <optional>

#include "spec/child_spec_check.hpp"

namespace sup::config {
namespace {

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
    case ChildKind::Endpoint:
      add({"heartbeat_timeout_ms"});
      break;
    case ChildKind::Supervisor:
      keys.insert(keys.end(), std::begin(kSupervisorKeys), std::end(kSupervisorKeys));
      break;
  }
  return keys;
}

// The id rules of every entry are spec::check_child_spec's; the relay's
// name is the config's own.
void check_relay_id(const ObjectReader& child, const std::string& id, ChildKind kind) {
  if (id == kRelayId && kind != ChildKind::Endpoint)
    child.fail("id", "\"relay\" is reserved for the child of kind \"relay\"");
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
  budget->read("capacity", out.capacity);
  budget->read("refill_per_sec", out.refill_per_sec);
}

void read_backoff(const ObjectReader& child, BackoffSpec& out, ErrorSlot& errors) {
  auto backoff = nested(child, "backoff", kBackoffKeys, errors);
  if (!backoff) return;
  backoff->read("initial_ms", out.initial_ms);
  backoff->read("max_ms", out.max_ms);
  backoff->read("multiplier", out.multiplier);
  backoff->read("reset_after_ms", out.reset_after_ms);
}

void read_crash_loop(const ObjectReader& child, CrashLoopSpec& out, ErrorSlot& errors) {
  auto crash_loop = nested(child, "crash_loop", kCrashLoopKeys, errors);
  if (!crash_loop) return;
  crash_loop->read("max_failures", out.max_failures);
  crash_loop->read("window_ms", out.window_ms);
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
  } else {
    return child.fail("exec", "missing required key (the argv array of the process)");
  }
  if (const nlohmann::json* env = child.find("env")) {
    if (!env->is_object())
      return child.fail("env",
                        "must be an object of strings, got " + std::string(json_type_name(*env)));
    for (const auto& [name, value] : env->items()) {
      std::string env_key = "env." + name;
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
  switch (out.kind) {
    case DrillKind::Flaky:
      keys.insert(keys.end(), {"ms", "p"});
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
  drill.read("ms", out.ms);
  drill.read("p", out.p);
}

void read_child(const nlohmann::json& node, const std::string& path, ErrorSlot& errors,
                ChildSpec& out) {
  ObjectReader child(node, path, errors);
  child.read("id", out.id, Presence::Required);
  child.read_enum("kind", out.kind, &child_kind_from_string, kKindChoices, Presence::Required);
  if (!errors.ok()) return;
  check_relay_id(child, out.id, out.kind);
  child.allow_only(keys_for(out.kind), "for kind \"" + std::string(to_string(out.kind)) + "\"");

  child.read_enum("restart", out.restart, &restart_type_from_string, kRestartChoices);
  child.read("shutdown_timeout_ms", out.shutdown_timeout_ms);
  read_budget(child, out.budget, errors);
  read_backoff(child, out.backoff, errors);
  read_crash_loop(child, out.crash_loop, errors);
  child.read("heartbeat_timeout_ms", out.heartbeat_timeout_ms);
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
    case ChildKind::Endpoint:
      if (out.id != kRelayId) child.fail("id", "a child of kind \"relay\" must have id \"relay\"");
      break;
    case ChildKind::Supervisor:
      read_supervisor_fields(child, {out.strategy, out.intensity, out.period_ms, out.children},
                             errors);
      break;
  }
}

// Path of the first relay child met, so a second one can name it.
void check_single_relay(const std::vector<ChildSpec>& children, const std::string& children_path,
                        std::optional<std::string>& relay_path, ErrorSlot& errors) {
  for (std::size_t i = 0; i < children.size() && errors.ok(); ++i) {
    std::string path = index_path(children_path, i);
    if (children[i].kind == ChildKind::Endpoint) {
      if (relay_path)
        return errors.fail(
            join_path(path, "id"),
            "only one child of kind \"relay\" is allowed (the first is at " + *relay_path + ")");
      relay_path = path;
    }
    check_single_relay(children[i].children, join_path(path, "children"), relay_path, errors);
  }
}

}  // namespace

void read_supervisor_fields(const ObjectReader& reader, SupervisorFields out, ErrorSlot& errors) {
  reader.read_enum("strategy", out.strategy, &strategy_from_string, kStrategyChoices);
  reader.read("intensity", out.intensity);
  reader.read("period_ms", out.period_ms);
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
  std::optional<std::string> relay_path;
  check_single_relay(children, children_path, relay_path, errors);
}

Expected<ChildSpec> parse_child_spec(const nlohmann::json& node, const std::string& path) {
  ErrorSlot errors;
  ChildSpec spec;
  read_child(node, path, errors, spec);
  if (errors.ok()) {
    std::optional<std::string> relay_path;
    if (spec.kind == ChildKind::Endpoint) relay_path = path;
    check_single_relay(spec.children, join_path(path, "children"), relay_path, errors);
  }
  if (!errors.ok()) return errors.take();
  if (auto valid = spec::check_child_spec(spec, path); !valid) return valid.error();
  return spec;
}

}  // namespace sup::config
