#include "dag/parser.hpp"

#include <algorithm>
#include <array>
#include <string>
#include <utility>
#include <vector>

#include "config/json_fields.hpp"
#include "dag/limits.hpp"
#include "dag/strict_json.hpp"

namespace sup::dag {
namespace {

using config::ErrorSlot;
using config::index_path;
using config::join_path;
using config::ObjectReader;
using config::Presence;
using config::Range;
using nlohmann::json;

constexpr std::array<std::string_view, 6> kDagKeys = {"name",   "description", "max_parallel",
                                                      "labels", "params",      "nodes"};
constexpr std::array<std::string_view, 12> kNodeKeys = {
    "id",         "description", "deps",       "phase", "plan_unit", "run",
    "compensate", "retry",       "timeout_ms", "risk",  "artifacts", "uses"};
constexpr std::array<std::string_view, 5> kActionKeys = {"exec", "shell", "env", "cwd", "task"};
constexpr std::array<std::string_view, 5> kRetryKeys = {"max_attempts", "initial_ms", "max_ms",
                                                        "multiplier", "non_retryable_exit_codes"};
constexpr std::size_t kMaxDescriptionBytes = 4 * kMaxTextBytes;

bool is_control(unsigned char c) {
  return c < 0x20 || c == 0x7f;
}

bool has_control(std::string_view text) {
  return std::any_of(text.begin(), text.end(),
                     [](char c) { return is_control(static_cast<unsigned char>(c)); });
}

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.';
}

// Node ids, deps, phases, plan units, task and dependency names: they end
// up in idempotency keys ("<execution>/<node>/<attempt>"), file names and
// command lines, so no '/', no spaces, no leading '-' or '.'.
bool is_name(std::string_view text) {
  if (text.empty() || text.size() > kMaxIdBytes) return false;
  if (text.front() == '-' || text.front() == '.') return false;
  return std::all_of(text.begin(), text.end(), is_name_char);
}

// Environment variable and param names: [A-Za-z_][A-Za-z0-9_]*.
bool is_env_name(std::string_view text) {
  if (text.empty() || (text.front() >= '0' && text.front() <= '9')) return false;
  return std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

const std::string kNameRule = "1 to " + std::to_string(kMaxIdBytes) +
                              " characters of A-Z a-z 0-9 _ - . , not starting with '-' or '.'";

class DagBuilder {
 public:
  explicit DagBuilder(const ParseOptions& options) : options_(options) {}

  Expected<DagSpec> build(const json& document) {
    read_document(document);
    if (errors_.ok()) resolve_deps();
    if (errors_.ok()) order_topologically();
    if (!errors_.ok()) {
      Error error = errors_.take();
      error.code = std::string(kSpecErrorCode);
      if (error.field_path.empty()) error.field_path = "$";
      return error;
    }
    return std::move(spec_);
  }

 private:
  void fail(std::string path, std::string message) {
    errors_.fail(std::move(path), std::move(message));
  }

  // A string within `max_bytes`, free of control characters.
  const std::string* text(const json& value, const std::string& path, std::size_t max_bytes,
                          bool allow_empty = false) {
    if (!value.is_string())
      return fail(path, "must be a string, got " + std::string(config::json_type_name(value))),
             nullptr;
    const auto& string = value.get_ref<const std::string&>();
    if (string.empty() && !allow_empty) return fail(path, "must not be empty"), nullptr;
    if (string.size() > max_bytes)
      return fail(path, "is " + std::to_string(string.size()) + " bytes; at most " +
                            std::to_string(max_bytes)),
             nullptr;
    if (has_control(string)) return fail(path, "must not contain control characters"), nullptr;
    return &string;
  }

  const std::string* name(const json& value, const std::string& path) {
    const std::string* string = text(value, path, kMaxIdBytes);
    if (string && !is_name(*string)) {
      fail(path, "\"" + *string + "\" is not a valid name: " + kNameRule);
      return nullptr;
    }
    return string;
  }

  // An optional array at `reader`.`key` of at most `max_items`, each item
  // passed to `item(value, path)`.
  template <class Item>
  void array(const ObjectReader& reader, std::string_view key, std::size_t max_items, Item item) {
    const json* value = reader.find(key);
    if (!value) return;
    std::string path = reader.field_path(key);
    if (!value->is_array())
      return fail(path, "must be an array, got " + std::string(config::json_type_name(*value)));
    if (value->size() > max_items)
      return fail(path, "has " + std::to_string(value->size()) + " entries; at most " +
                            std::to_string(max_items));
    for (std::size_t i = 0; i < value->size() && errors_.ok(); ++i)
      item((*value)[i], index_path(path, i));
  }

  // An array of names with no repeats.
  void names(const ObjectReader& reader, std::string_view key, std::size_t max_items,
             std::vector<std::string>& out) {
    array(reader, key, max_items, [&](const json& value, const std::string& path) {
      const std::string* string = name(value, path);
      if (!string) return;
      if (std::find(out.begin(), out.end(), *string) != out.end())
        return fail(path, "\"" + *string + "\" is listed twice");
      out.push_back(*string);
    });
  }

  void read_document(const json& document) {
    ObjectReader root(document, "", errors_);
    root.allow_only(kDagKeys);
    if (const json* value = root.find("name")) {
      if (const std::string* string = text(*value, "name", kMaxTextBytes)) spec_.name = *string;
    }
    if (const json* value = root.find("description"))
      text(*value, "description", kMaxDescriptionBytes);
    spec_.max_parallel = kDefaultMaxParallel;
    root.read("max_parallel", spec_.max_parallel, Range<std::uint32_t>{1, kMaxParallel});
    read_labels(root);
    read_params(root);
    const json* nodes = root.find("nodes");
    if (!errors_.ok()) return;
    if (!nodes) return fail("nodes", "missing required key");
    if (!nodes->is_array())
      return fail("nodes", "must be an array, got " + std::string(config::json_type_name(*nodes)));
    if (nodes->empty()) return fail("nodes", "must list at least one node");
    if (nodes->size() > kMaxNodes)
      return fail("nodes", "has " + std::to_string(nodes->size()) + " nodes; at most " +
                               std::to_string(kMaxNodes));
    spec_.nodes.resize(nodes->size());
    dep_names_.resize(nodes->size());
    for (std::size_t i = 0; i < nodes->size() && errors_.ok(); ++i)
      read_node((*nodes)[i], index_path("nodes", i), i);
  }

  void read_labels(const ObjectReader& root) {
    const json* labels = root.find("labels");
    if (!labels) return;
    if (!labels->is_object())
      return fail("labels", "must be an object of strings, got " +
                                std::string(config::json_type_name(*labels)));
    if (labels->size() > kMaxLabels)
      return fail("labels", "has " + std::to_string(labels->size()) + " labels; at most " +
                                std::to_string(kMaxLabels));
    for (const auto& [key, value] : labels->items()) {
      std::string path = join_path("labels", key);
      if (!text(json(key), path, kMaxLabelBytes)) return;
      const std::string* string = text(value, path, kMaxLabelBytes, /*allow_empty=*/true);
      if (!string) return;
      spec_.labels.emplace_back(key, *string);
    }
  }

  void read_params(const ObjectReader& root) {
    const json* params = root.find("params");
    if (!params) return;
    if (!params->is_object())
      return fail("params",
                  "must be an object, got " + std::string(config::json_type_name(*params)));
    for (const auto& [key, value] : params->items()) {
      std::string path = join_path("params", key);
      if (!is_env_name(key))
        return fail(path, "param names are [A-Za-z_][A-Za-z0-9_]* (each becomes SUP_PARAM_<name>)");
      if (value.is_string() && has_control(value.get_ref<const std::string&>()))
        return fail(path,
                    "must not contain control characters (it is exported to the environment)");
    }
    if (std::size_t bytes = params->dump().size(); bytes > kMaxParamsBytes)
      return fail("params", "is " + std::to_string(bytes) + " bytes as JSON; at most " +
                                std::to_string(kMaxParamsBytes));
    spec_.params = *params;
  }

  void read_node(const json& value, const std::string& path, std::size_t index) {
    NodeSpec& node = spec_.nodes[index];
    ObjectReader reader(value, path, errors_);
    reader.allow_only(kNodeKeys);
    if (!errors_.ok()) return;
    const json* id = reader.find("id");
    if (!id) return fail(reader.field_path("id"), "missing required key");
    if (const std::string* string = name(*id, reader.field_path("id"))) node.id = *string;
    if (const json* description = reader.find("description"))
      text(*description, reader.field_path("description"), kMaxDescriptionBytes);
    read_deps(reader, index);
    if (const json* phase = reader.find("phase")) {
      if (const std::string* string = name(*phase, reader.field_path("phase")))
        node.phase = *string;
    }
    if (const json* unit = reader.find("plan_unit")) {
      if (const std::string* string = name(*unit, reader.field_path("plan_unit")))
        node.plan_unit = *string;
    }
    if (const json* run = reader.find("run")) {
      node.run = read_action(*run, reader.field_path("run"));
    } else {
      fail(reader.field_path("run"), "missing required key");
    }
    if (const json* compensate = reader.find("compensate"))
      node.compensate = read_action(*compensate, reader.field_path("compensate"));
    reader.read_enum("risk", node.risk, &risk_from_string, kRiskChoices);
    node.retry = default_retry_policy(node.risk);
    if (const json* retry = reader.find("retry"))
      read_retry(*retry, reader.field_path("retry"), node);
    reader.read("timeout_ms", node.timeout_ms, Range<std::uint32_t>{1, kMaxTimeoutMs});
    array(reader, "artifacts", kMaxArtifacts, [&](const json& artifact, const std::string& at) {
      if (const std::string* string = text(artifact, at, kMaxPathBytes))
        node.artifacts.push_back(*string);
    });
    names(reader, "uses", kMaxUses, node.uses);
  }

  void read_deps(const ObjectReader& reader, std::size_t index) {
    std::vector<const std::string*>& deps = dep_names_[index];
    array(reader, "deps", kMaxNodes, [&](const json& value, const std::string& path) {
      const std::string* string = name(value, path);
      if (!string) return;
      if (std::any_of(deps.begin(), deps.end(),
                      [&](const std::string* d) { return *d == *string; }))
        return fail(path, "\"" + *string + "\" is listed twice");
      deps.push_back(string);
    });
    deps_total_ += deps.size();
    if (errors_.ok() && deps_total_ > kMaxDepsTotal)
      fail(reader.field_path("deps"),
           "the spec has more than " + std::to_string(kMaxDepsTotal) + " dependencies in all");
  }

  Action read_action(const json& value, const std::string& path) {
    Action action;
    ObjectReader reader(value, path, errors_);
    reader.allow_only(kActionKeys);
    if (!errors_.ok()) return action;
    const json* exec = reader.find("exec");
    const json* task = reader.find("task");
    if (exec && task) {
      fail(reader.field_path("task"), "give either exec (a command) or task, not both");
      return action;
    }
    if (!exec && !task) {
      fail(path, "needs exec (a command's argv) or task (a registered task's name)");
      return action;
    }
    if (task) {
      action.kind = Action::Kind::Task;
      for (std::string_view key : {"shell", "env", "cwd"}) {
        if (reader.find(key)) {
          fail(reader.field_path(key), "applies to exec only, not to a task");
          return action;
        }
      }
      const std::string* string = name(*task, reader.field_path("task"));
      if (!string) return action;
      if (options_.task_exists && !options_.task_exists(*string)) {
        fail(reader.field_path("task"), "no task named \"" + *string + "\" is registered");
        return action;
      }
      action.task = *string;
      return action;
    }
    action.kind = Action::Kind::Exec;
    std::size_t argv_bytes = 0;
    array(reader, "exec", kMaxArgvEntries, [&](const json& arg, const std::string& at) {
      const std::string* string =
          text(arg, at, kMaxArgvBytes, /*allow_empty=*/!action.argv.empty());
      if (!string) return;
      argv_bytes += string->size();
      if (argv_bytes > kMaxArgvBytes)
        return fail(at, "argv exceeds " + std::to_string(kMaxArgvBytes) + " bytes in all");
      action.argv.push_back(*string);
    });
    if (errors_.ok() && action.argv.empty()) fail(reader.field_path("exec"), "must not be empty");
    reader.read("shell", action.shell);
    if (errors_.ok() && action.shell && action.argv.size() != 1)
      fail(reader.field_path("exec"),
           "with shell: true, exec is exactly one string, the script for /bin/sh -c");
    read_env(reader, action);
    if (const json* cwd = reader.find("cwd")) {
      const std::string* string = text(*cwd, reader.field_path("cwd"), kMaxPathBytes);
      if (string && string->front() != '/') {
        fail(reader.field_path("cwd"), "must be an absolute path");
      } else if (string) {
        action.cwd = *string;
      }
    }
    return action;
  }

  void read_env(const ObjectReader& reader, Action& action) {
    const json* env = reader.find("env");
    if (!env) return;
    std::string path = reader.field_path("env");
    if (!env->is_object())
      return fail(path,
                  "must be an object of strings, got " + std::string(config::json_type_name(*env)));
    if (env->size() > kMaxEnvEntries)
      return fail(path, "has " + std::to_string(env->size()) + " variables; at most " +
                            std::to_string(kMaxEnvEntries));
    std::size_t bytes = 0;
    for (const auto& [key, value] : env->items()) {
      std::string at = join_path(path, key);
      if (!is_env_name(key)) return fail(at, "variable names are [A-Za-z_][A-Za-z0-9_]*");
      if (key.starts_with(kReservedEnvPrefix))
        return fail(at, "names starting with SUP_ are set by the engine (docs/dag.md)");
      const std::string* string = text(value, at, kMaxEnvBytes, /*allow_empty=*/true);
      if (!string) return;
      bytes += key.size() + string->size();
      if (bytes > kMaxEnvBytes)
        return fail(at, "env exceeds " + std::to_string(kMaxEnvBytes) + " bytes in all");
      action.env.emplace_back(key, *string);
    }
  }

  void read_retry(const json& value, const std::string& path, NodeSpec& node) {
    ObjectReader reader(value, path, errors_);
    reader.allow_only(kRetryKeys);
    RetryPolicy& policy = node.retry;
    reader.read("max_attempts", policy.max_attempts, Range<std::uint32_t>{1, kMaxRetryAttempts});
    reader.read("initial_ms", policy.initial_ms, Range<std::uint32_t>{0, kMaxRetryDelayMs});
    reader.read("max_ms", policy.max_ms, Range<std::uint32_t>{0, kMaxRetryDelayMs});
    reader.read("multiplier", policy.multiplier, Range<double>{1.0, kMaxRetryMultiplier});
    if (errors_.ok() && policy.initial_ms > policy.max_ms) {
      if (reader.find("max_ms"))
        return fail(reader.field_path("max_ms"),
                    "must be at least initial_ms (" + std::to_string(policy.initial_ms) + ")");
      return fail(reader.field_path("initial_ms"),
                  "exceeds max_ms (" + std::to_string(policy.max_ms) + ", the default for risk \"" +
                      std::string(to_string(node.risk)) + "\"); set max_ms too");
    }
    array(reader, "non_retryable_exit_codes", kMaxNonRetryableExitCodes,
          [&](const json& code, const std::string& at) {
            if (!code.is_number_integer() || code.get<std::int64_t>() < 0 ||
                code.get<std::int64_t>() > 255)
              return fail(at, "must be an exit status between 0 and 255, got " + code.dump());
            policy.non_retryable_exit_codes.push_back(code.get<int>());
          });
  }

  void resolve_deps() {
    std::vector<NodeSpec>& nodes = spec_.nodes;
    spec_.index_by_id.reserve(nodes.size());
    for (NodeIndex i = 0; i < nodes.size(); ++i) {
      auto [it, inserted] = spec_.index_by_id.emplace(nodes[i].id, i);
      if (!inserted)
        return fail(
            join_path(index_path("nodes", i), "id"),
            "duplicate id \"" + nodes[i].id + "\"; first at " + index_path("nodes", it->second));
    }
    for (NodeIndex i = 0; i < nodes.size(); ++i) {
      nodes[i].deps.reserve(dep_names_[i].size());
      for (std::size_t j = 0; j < dep_names_[i].size(); ++j) {
        auto it = spec_.index_by_id.find(*dep_names_[i][j]);
        if (it == spec_.index_by_id.end())
          return fail(index_path(join_path(index_path("nodes", i), "deps"), j),
                      "no node has id \"" + *dep_names_[i][j] + "\"");
        nodes[i].deps.push_back(it->second);
        nodes[it->second].dependents.push_back(i);
      }
    }
  }

  // Kahn's algorithm, roots in declaration order. Nodes it cannot order sit
  // on or behind a cycle: each has an unordered dep, so following those
  // from any of them must come back around.
  void order_topologically() {
    std::vector<NodeSpec>& nodes = spec_.nodes;
    std::vector<std::uint32_t> waiting(nodes.size());
    std::vector<NodeIndex>& order = spec_.topological_order;
    order.reserve(nodes.size());
    for (NodeIndex i = 0; i < nodes.size(); ++i) {
      waiting[i] = static_cast<std::uint32_t>(nodes[i].deps.size());
      if (waiting[i] == 0) order.push_back(i);
    }
    for (std::size_t next = 0; next < order.size(); ++next) {
      for (NodeIndex dependent : nodes[order[next]].dependents)
        if (--waiting[dependent] == 0) order.push_back(dependent);
    }
    if (order.size() == nodes.size()) return;
    report_cycle(waiting);
  }

  void report_cycle(const std::vector<std::uint32_t>& waiting) {
    const std::vector<NodeSpec>& nodes = spec_.nodes;
    constexpr std::size_t kNotVisited = static_cast<std::size_t>(-1);
    std::vector<std::size_t> position(nodes.size(), kNotVisited);
    std::vector<NodeIndex> walk;
    NodeIndex current = static_cast<NodeIndex>(
        std::find_if(waiting.begin(), waiting.end(), [](std::uint32_t w) { return w > 0; }) -
        waiting.begin());
    std::size_t closing_dep = 0;
    while (position[current] == kNotVisited) {
      position[current] = walk.size();
      walk.push_back(current);
      const auto& deps = nodes[current].deps;
      closing_dep = static_cast<std::size_t>(
          std::find_if(deps.begin(), deps.end(), [&](NodeIndex d) { return waiting[d] > 0; }) -
          deps.begin());
      current = deps[closing_dep];
    }
    std::string cycle;
    for (std::size_t k = position[current]; k < walk.size(); ++k)
      cycle += nodes[walk[k]].id + " -> ";
    cycle += nodes[current].id;
    fail(index_path(join_path(index_path("nodes", walk.back()), "deps"), closing_dep),
         "dependency cycle: " + cycle);
  }

  const ParseOptions& options_;
  ErrorSlot errors_;
  DagSpec spec_;
  // Per node, its deps as written (pointers into the document).
  std::vector<std::vector<const std::string*>> dep_names_;
  std::size_t deps_total_ = 0;
};

}  // namespace

Expected<DagSpec> build_dag(const nlohmann::json& document, const ParseOptions& options) {
  return DagBuilder(options).build(document);
}

Expected<DagSpec> parse_dag(std::string_view text, const ParseOptions& options) {
  if (text.size() > kMaxSpecBytes)
    return make_error(std::string(kSpecErrorCode),
                      "the spec is " + std::to_string(text.size()) + " bytes; at most " +
                          std::to_string(kMaxSpecBytes),
                      "$");
  auto document = parse_strict_json(text, kMaxJsonDepth, kSpecErrorCode);
  if (!document) return document.error();
  return build_dag(*document, options);
}

}  // namespace sup::dag
