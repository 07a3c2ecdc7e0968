#include "dag/parser.hpp"

#include <algorithm>
#include <array>
#include <string>
#include <utility>
#include <vector>

#include "config/bounded_json_stream.hpp"
#include "config/json_fields.hpp"
#include "dag/limits.hpp"

namespace sup::dag {
namespace {

using config::ErrorSlot;
using config::index_path;
using config::join_path;
using config::ObjectReader;
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

// Where a value sits, formatted only when an error names it: building a
// path string for every value read would cost more than reading it.
// It refers to `base`, which must outlive it (no temporaries).
class Where {
 public:
  Where(const std::string& base, std::string_view key) : base_(base), key_(key) {}
  Where(const std::string& base, std::string_view key, std::size_t index)
      : base_(base), key_(key), index_(index) {}
  Where(std::string&&, std::string_view) = delete;
  Where(std::string&&, std::string_view, std::size_t) = delete;

  std::string str() const {
    std::string path = key_.empty() ? base_ : join_path(base_, key_);
    return index_ == kNoIndex ? path : index_path(path, index_);
  }

 private:
  static constexpr std::size_t kNoIndex = static_cast<std::size_t>(-1);
  const std::string& base_;
  std::string_view key_;
  std::size_t index_ = kNoIndex;
};

const std::string kRoot;

class DagBuilder {
 public:
  explicit DagBuilder(const ParseOptions& options) : options_(options) {}

  // From text: the nodes are read one by one while the document is parsed,
  // so the whole spec never exists as a DOM.
  Expected<DagSpec> parse(std::string_view text) {
    config::StreamedArray nodes{"nodes", [this](std::size_t index, json&& node) {
                                  if (index >= kMaxNodes) {
                                    fail("nodes",
                                         "has more than " + std::to_string(kMaxNodes) + " nodes");
                                    return false;
                                  }
                                  read_node(node, index);
                                  return errors_.ok();
                                }};
    auto document = config::parse_bounded_json(
        text, {.max_depth = kMaxJsonDepth, .error_code = kSpecErrorCode, .root_path = "$"}, nodes);
    if (errors_.ok() && !document) return document.error();
    if (errors_.ok()) read_document(*document, /*nodes_read=*/true);
    return finish();
  }

  Expected<DagSpec> build(const json& document) {
    read_document(document, /*nodes_read=*/false);
    return finish();
  }

 private:
  Expected<DagSpec> finish() {
    if (errors_.ok()) resolve_deps();
    if (errors_.ok()) order_topologically();
    if (!errors_.ok()) {
      Error error = errors_.take();
      error.code = kSpecErrorCode;
      if (error.field_path.empty()) error.field_path = "$";
      return error;
    }
    return std::move(spec_);
  }

  void fail(std::string path, std::string message) {
    errors_.fail(std::move(path), std::move(message));
  }
  void fail(const Where& where, std::string message) { fail(where.str(), std::move(message)); }

  // A string within `max_bytes`, free of control characters.
  const std::string* text(const json& value, const Where& where, std::size_t max_bytes,
                          bool allow_empty = false) {
    if (!value.is_string()) {
      fail(where, "must be a string, got " + std::string(config::json_type_name(value)));
      return nullptr;
    }
    const auto& string = value.get_ref<const std::string&>();
    if (string.empty() && !allow_empty) {
      fail(where, "must not be empty");
      return nullptr;
    }
    if (string.size() > max_bytes) {
      fail(where,
           "is " + std::to_string(string.size()) + " bytes; at most " + std::to_string(max_bytes));
      return nullptr;
    }
    if (has_control(string)) {
      fail(where, "must not contain control characters");
      return nullptr;
    }
    return &string;
  }

  const std::string* name(const json& value, const Where& where) {
    const std::string* string = text(value, where, kMaxIdBytes);
    if (string && !is_name(*string)) {
      fail(where, "\"" + *string + "\" is not a valid name: " + kNameRule);
      return nullptr;
    }
    return string;
  }

  // An optional name at `base`.`key` into `out`.
  void optional_name(const json& object, const std::string& base, std::string_view key,
                     std::string& out) {
    auto it = object.find(key);
    if (it == object.end()) return;
    if (const std::string* string = name(*it, Where(base, key))) out = *string;
  }

  // An optional array at `base`.`key` of at most `max_items`, each item
  // passed to `item(value, where)`.
  template <class Item>
  void array(const json& object, const std::string& base, std::string_view key,
             std::size_t max_items, Item item) {
    auto it = object.find(key);
    if (it == object.end()) return;
    const json& value = *it;
    if (!value.is_array())
      return fail(Where(base, key),
                  "must be an array, got " + std::string(config::json_type_name(value)));
    if (value.size() > max_items)
      return fail(Where(base, key), "has " + std::to_string(value.size()) + " entries; at most " +
                                        std::to_string(max_items));
    for (std::size_t i = 0; i < value.size() && errors_.ok(); ++i)
      item(value[i], Where(base, key, i));
  }

  // An array of names with no repeats.
  void names(const json& object, const std::string& base, std::string_view key,
             std::size_t max_items, std::vector<std::string>& out) {
    array(object, base, key, max_items, [&](const json& value, const Where& where) {
      const std::string* string = name(value, where);
      if (!string) return;
      if (std::find(out.begin(), out.end(), *string) != out.end())
        return fail(where, "\"" + *string + "\" is listed twice");
      out.push_back(*string);
    });
  }

  void read_document(const json& document, bool nodes_read) {
    ObjectReader root(document, "", errors_);
    root.allow_only(kDagKeys);
    if (!errors_.ok()) return;
    if (const json* value = root.find("name")) {
      if (const std::string* string = text(*value, Where(kRoot, "name"), kMaxTextBytes))
        spec_.name = *string;
    }
    if (const json* value = root.find("description"))
      text(*value, Where(kRoot, "description"), kMaxDescriptionBytes);
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
    if (nodes_read) return;
    for (std::size_t i = 0; i < nodes->size() && errors_.ok(); ++i) read_node((*nodes)[i], i);
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
    static const std::string kLabels = "labels";
    for (const auto& [key, value] : labels->items()) {
      if (!text(json(key), Where(kLabels, key), kMaxLabelBytes)) return;
      const std::string* string = text(value, Where(kLabels, key), kMaxLabelBytes,
                                       /*allow_empty=*/true);
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

  void read_node(const json& value, std::size_t index) {
    std::string path = index_path("nodes", index);
    spec_.nodes.emplace_back();
    dep_offsets_.push_back(dep_names_.size());
    NodeSpec& node = spec_.nodes.back();
    ObjectReader reader(value, path, errors_);
    reader.allow_only(kNodeKeys);
    if (!errors_.ok()) return;
    const json* id = reader.find("id");
    if (!id) return fail(Where(path, "id"), "missing required key");
    if (const std::string* string = name(*id, Where(path, "id"))) node.id = *string;
    if (const json* description = reader.find("description"))
      text(*description, Where(path, "description"), kMaxDescriptionBytes);
    read_deps(value, path);
    optional_name(value, path, "phase", node.phase);
    optional_name(value, path, "plan_unit", node.plan_unit);
    if (const json* run = reader.find("run")) {
      node.run = read_action(*run, join_path(path, "run"));
    } else {
      fail(Where(path, "run"), "missing required key");
    }
    if (const json* compensate = reader.find("compensate"))
      node.compensate = read_action(*compensate, join_path(path, "compensate"));
    reader.read_enum("risk", node.risk, &risk_from_string, kRiskChoices);
    node.retry = default_retry_policy(node.risk);
    if (const json* retry = reader.find("retry"))
      read_retry(*retry, join_path(path, "retry"), node);
    reader.read("timeout_ms", node.timeout_ms, Range<std::uint32_t>{1, kMaxTimeoutMs});
    array(value, path, "artifacts", kMaxArtifacts, [&](const json& artifact, const Where& where) {
      if (const std::string* string = text(artifact, where, kMaxPathBytes))
        node.artifacts.push_back(*string);
    });
    names(value, path, "uses", kMaxUses, node.uses);
  }

  void read_deps(const json& node, const std::string& path) {
    array(node, path, "deps", kMaxNodes, [&](const json& value, const Where& where) {
      if (const std::string* string = name(value, where)) dep_names_.push_back(*string);
    });
    if (errors_.ok() && dep_names_.size() > kMaxDepsTotal)
      fail(Where(path, "deps"),
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
      fail(Where(path, "task"), "give either exec (a command) or task, not both");
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
          fail(Where(path, key), "applies to exec only, not to a task");
          return action;
        }
      }
      const std::string* string = name(*task, Where(path, "task"));
      if (!string) return action;
      if (options_.task_exists && !options_.task_exists(*string)) {
        fail(Where(path, "task"), "no task named \"" + *string + "\" is registered");
        return action;
      }
      action.task = *string;
      return action;
    }
    action.kind = Action::Kind::Exec;
    std::size_t argv_bytes = 0;
    array(value, path, "exec", kMaxArgvEntries, [&](const json& arg, const Where& where) {
      const std::string* string =
          text(arg, where, kMaxArgvBytes, /*allow_empty=*/!action.argv.empty());
      if (!string) return;
      argv_bytes += string->size();
      if (argv_bytes > kMaxArgvBytes)
        return fail(where, "argv exceeds " + std::to_string(kMaxArgvBytes) + " bytes in all");
      action.argv.push_back(*string);
    });
    if (errors_.ok() && action.argv.empty()) fail(Where(path, "exec"), "must not be empty");
    reader.read("shell", action.shell);
    if (errors_.ok() && action.shell && action.argv.size() != 1)
      fail(Where(path, "exec"),
           "with shell: true, exec is exactly one string, the script for /bin/sh -c");
    read_env(reader, path, action);
    if (const json* cwd = reader.find("cwd")) {
      const std::string* string = text(*cwd, Where(path, "cwd"), kMaxPathBytes);
      if (string && string->front() != '/') {
        fail(Where(path, "cwd"), "must be an absolute path");
      } else if (string) {
        action.cwd = *string;
      }
    }
    return action;
  }

  void read_env(const ObjectReader& reader, const std::string& action_path, Action& action) {
    const json* env = reader.find("env");
    if (!env) return;
    std::string path = join_path(action_path, "env");
    if (!env->is_object())
      return fail(path,
                  "must be an object of strings, got " + std::string(config::json_type_name(*env)));
    if (env->size() > kMaxEnvEntries)
      return fail(path, "has " + std::to_string(env->size()) + " variables; at most " +
                            std::to_string(kMaxEnvEntries));
    std::size_t bytes = 0;
    for (const auto& [key, value] : env->items()) {
      Where where(path, key);
      if (!is_env_name(key)) return fail(where, "variable names are [A-Za-z_][A-Za-z0-9_]*");
      if (key.starts_with(kReservedEnvPrefix))
        return fail(where, "names starting with SUP_ are set by the engine (docs/dag.md)");
      const std::string* string = text(value, where, kMaxEnvBytes, /*allow_empty=*/true);
      if (!string) return;
      bytes += key.size() + string->size();
      if (bytes > kMaxEnvBytes)
        return fail(where, "env exceeds " + std::to_string(kMaxEnvBytes) + " bytes in all");
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
        return fail(Where(path, "max_ms"),
                    "must be at least initial_ms (" + std::to_string(policy.initial_ms) + ")");
      return fail(Where(path, "initial_ms"),
                  "exceeds max_ms (" + std::to_string(policy.max_ms) + ", the default for risk \"" +
                      std::string(to_string(node.risk)) + "\"); set max_ms too");
    }
    array(value, path, "non_retryable_exit_codes", kMaxNonRetryableExitCodes,
          [&](const json& code, const Where& where) {
            if (!code.is_number_integer() || code.get<std::int64_t>() < 0 ||
                code.get<std::int64_t>() > 255)
              return fail(where, "must be an exit status between 0 and 255, got " + code.dump());
            policy.non_retryable_exit_codes.push_back(code.get<int>());
          });
  }

  void resolve_deps() {
    std::vector<NodeSpec>& nodes = spec_.nodes;
    dep_offsets_.push_back(dep_names_.size());
    spec_.index_by_id.reserve(nodes.size());
    for (NodeIndex i = 0; i < nodes.size(); ++i) {
      auto [it, inserted] = spec_.index_by_id.emplace(nodes[i].id, i);
      if (!inserted)
        return fail(
            join_path(index_path("nodes", i), "id"),
            "duplicate id \"" + nodes[i].id + "\"; first at " + index_path("nodes", it->second));
    }
    // listed_by[d] == i: node i already listed d (linear, whatever the
    // number of deps of one node).
    constexpr NodeIndex kNobody = static_cast<NodeIndex>(-1);
    std::vector<NodeIndex> listed_by(nodes.size(), kNobody);
    for (NodeIndex i = 0; i < nodes.size(); ++i) {
      std::size_t first = dep_offsets_[i];
      std::size_t count = dep_offsets_[i + 1] - first;
      nodes[i].deps.reserve(count);
      for (std::size_t j = 0; j < count; ++j) {
        const std::string& dep = dep_names_[first + j];
        auto it = spec_.index_by_id.find(dep);
        if (it == spec_.index_by_id.end())
          return fail(index_path(join_path(index_path("nodes", i), "deps"), j),
                      "no node has id \"" + dep + "\"");
        if (listed_by[it->second] == i)
          return fail(index_path(join_path(index_path("nodes", i), "deps"), j),
                      "\"" + dep + "\" is listed twice");
        listed_by[it->second] = i;
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
  // The deps of every node as written, node after node: those of node i
  // start at dep_offsets_[i].
  std::vector<std::string> dep_names_;
  std::vector<std::size_t> dep_offsets_;
};

}  // namespace

Expected<DagSpec> build_dag(const nlohmann::json& document, const ParseOptions& options) {
  return DagBuilder(options).build(document);
}

Expected<DagSpec> parse_dag(std::string_view text, const ParseOptions& options) {
  if (text.size() > kMaxSpecBytes)
    return make_error(kSpecErrorCode,
                      "the spec is " + std::to_string(text.size()) + " bytes; at most " +
                          std::to_string(kMaxSpecBytes),
                      "$");
  return DagBuilder(options).parse(text);
}

}  // namespace sup::dag
