// DAG spec parser and validator: accepted specs, every refusal naming its
// field path, cycles named as paths, limits, and generated specs (random
// DAGs, random corruptions of valid ones).
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include "dag/limits.hpp"
#include "dag/parser.hpp"

namespace {

using nlohmann::json;
using sup::dag::parse_dag;

json node(std::string id, std::vector<std::string> deps = {}) {
  return json{{"id", id}, {"deps", deps}, {"run", {{"exec", {"true"}}}}};
}

json spec_of(std::vector<json> nodes) {
  return json{{"nodes", nodes}};
}

// The error of parsing `text`; fails the test if it parses.
sup::Error error_of(const std::string& text, const sup::dag::ParseOptions& options = {}) {
  auto spec = parse_dag(text, options);
  REQUIRE_MESSAGE(!spec, "accepted: " << text.substr(0, 200));
  CHECK(spec.error().code == sup::dag::kSpecErrorCode);
  CHECK(!spec.error().field_path.empty());
  return spec.error();
}

sup::Error error_of(const json& document) {
  return error_of(document.dump());
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A random DAG: node i depends on up to `max_deps` earlier nodes.
json random_dag(std::mt19937& rng, std::size_t count, std::size_t max_deps) {
  std::vector<json> nodes;
  for (std::size_t i = 0; i < count; ++i) {
    std::vector<std::string> deps;
    if (i > 0) {
      std::size_t wanted = std::uniform_int_distribution<std::size_t>(0, max_deps)(rng);
      for (std::size_t k = 0; k < wanted; ++k) {
        std::string dep =
            "n" + std::to_string(std::uniform_int_distribution<std::size_t>(0, i - 1)(rng));
        if (std::find(deps.begin(), deps.end(), dep) == deps.end()) deps.push_back(dep);
      }
    }
    json n = node("n" + std::to_string(i), deps);
    static const char* kRisks[] = {"low", "medium", "high", "critical"};
    n["risk"] = kRisks[rng() % 4];
    if (rng() % 3 == 0) n["retry"] = {{"max_attempts", 3}, {"initial_ms", 10}, {"max_ms", 100}};
    if (rng() % 4 == 0) n["compensate"] = {{"exec", {"/bin/sh", "-c", "echo undo"}}};
    if (rng() % 5 == 0) n["phase"] = "phase" + std::to_string(rng() % 3);
    nodes.push_back(std::move(n));
  }
  // Declaration order need not be topological.
  std::shuffle(nodes.begin(), nodes.end(), rng);
  return spec_of(nodes);
}

}  // namespace

TEST_CASE("a minimal spec parses with the documented defaults") {
  auto spec = parse_dag(R"({"nodes": [{"id": "a", "run": {"exec": ["true"]}}]})");
  REQUIRE(spec);
  REQUIRE(spec->nodes.size() == 1);
  const auto& a = spec->nodes[0];
  CHECK(a.id == "a");
  CHECK(a.risk == sup::dag::Risk::Medium);
  CHECK(a.retry.max_attempts ==
        sup::dag::default_retry_policy(sup::dag::Risk::Medium).max_attempts);
  CHECK(a.timeout_ms == 0);
  CHECK(a.run.kind == sup::dag::Action::Kind::Exec);
  CHECK(a.run.argv == std::vector<std::string>{"true"});
  CHECK(spec->max_parallel == sup::dag::kDefaultMaxParallel);
  CHECK(spec->params.is_object());
}

TEST_CASE("every key is read") {
  auto spec = parse_dag(R"({
    "name": "deploy", "description": "x", "max_parallel": 3,
    "labels": {"team": "infra"}, "params": {"workdir": "/tmp/w", "depth": 2},
    "nodes": [
      {"id": "build", "phase": "compile", "plan_unit": "unit-1", "description": "b",
       "run": {"exec": ["make", "-j2"], "env": {"CC": "gcc"}, "cwd": "/src"},
       "compensate": {"exec": ["make clean"], "shell": true},
       "retry": {"max_attempts": 7, "initial_ms": 0, "max_ms": 50, "multiplier": 1.5,
                 "non_retryable_exit_codes": [2, 126]},
       "timeout_ms": 60000, "risk": "critical", "artifacts": ["/src/out.bin"], "uses": ["registry"]},
      {"id": "ship", "deps": ["build"], "run": {"task": "publish"}}
    ]})");
  REQUIRE(spec);
  CHECK(spec->name == "deploy");
  CHECK(spec->max_parallel == 3);
  CHECK(spec->labels == std::vector<std::pair<std::string, std::string>>{{"team", "infra"}});
  CHECK(spec->params["depth"] == 2);
  const auto& build = spec->nodes[0];
  CHECK(build.phase == "compile");
  CHECK(build.plan_unit == "unit-1");
  CHECK(build.run.env == std::vector<std::pair<std::string, std::string>>{{"CC", "gcc"}});
  CHECK(build.run.cwd == "/src");
  REQUIRE(build.compensate);
  CHECK(build.compensate->shell);
  CHECK(build.retry.max_attempts == 7);
  CHECK(build.retry.initial_ms == 0);
  CHECK(build.retry.max_ms == 50);
  CHECK(build.retry.multiplier == 1.5);
  CHECK(build.retry.non_retryable_exit_codes == std::vector<int>{2, 126});
  CHECK(build.timeout_ms == 60000);
  CHECK(build.risk == sup::dag::Risk::Critical);
  CHECK(build.artifacts == std::vector<std::string>{"/src/out.bin"});
  CHECK(build.uses == std::vector<std::string>{"registry"});
  CHECK(build.dependents == std::vector<sup::dag::NodeIndex>{1});
  const auto& ship = spec->nodes[1];
  CHECK(ship.deps == std::vector<sup::dag::NodeIndex>{0});
  CHECK(ship.run.kind == sup::dag::Action::Kind::Task);
  CHECK(ship.run.task == "publish");
  CHECK(spec->find("ship") == 1u);
  CHECK(!spec->find("nope"));
}

TEST_CASE("refusals name the field path") {
  struct Case {
    std::string text;
    std::string path;
    std::string message_part;
  };
  const std::string ok_run = R"("run": {"exec": ["true"]})";
  const Case cases[] = {
      {R"([1])", "$", "must be an object"},
      {R"({"nodes": []})", "nodes", "at least one"},
      {R"({})", "nodes", "missing"},
      {R"({"nodes": [{"id": "a", )" + ok_run + R"(, "dep": []}]})", "nodes[0].dep",
       "did you mean \"deps\""},
      {R"({"nodes": [{"id": "a", "run": {"exec": []}}]})", "nodes[0].run.exec", "empty"},
      {R"({"nodes": [{"id": "a", "run": {"exec": [""]}}]})", "nodes[0].run.exec[0]", "empty"},
      {R"({"nodes": [{"id": "a", "run": {}}]})", "nodes[0].run", "exec"},
      {R"({"nodes": [{"id": "a"}]})", "nodes[0].run", "missing"},
      {R"({"nodes": [{"id": "a", "run": {"exec": ["x"], "task": "t"}}]})", "nodes[0].run.task",
       "not both"},
      {R"({"nodes": [{"id": "a", "run": {"task": "t", "cwd": "/"}}]})", "nodes[0].run.cwd",
       "exec only"},
      {R"({"nodes": [{"id": "a", "run": {"exec": ["a", "b"], "shell": true}}]})",
       "nodes[0].run.exec", "exactly one string"},
      {R"({"nodes": [{"id": "a", "run": {"exec": ["x"], "env": {"SUP_NODE_ID": "x"}}}]})",
       "nodes[0].run.env.SUP_NODE_ID", "set by the engine"},
      {R"({"nodes": [{"id": "a", "run": {"exec": ["x"], "env": {"1X": "x"}}}]})",
       "nodes[0].run.env.1X", "variable names"},
      {R"({"nodes": [{"id": "a", "run": {"exec": ["x"], "cwd": "rel"}}]})", "nodes[0].run.cwd",
       "absolute"},
      {R"({"nodes": [{"id": "a/b", )" + ok_run + "}]}", "nodes[0].id", "not a valid name"},
      {R"({"nodes": [{"id": "-a", )" + ok_run + "}]}", "nodes[0].id", "not a valid name"},
      {R"({"nodes": [{"id": 7, )" + ok_run + "}]}", "nodes[0].id", "must be a string"},
      {R"({"nodes": [{"id": "a", )" + ok_run + R"(, "risk": "extreme"}]})", "nodes[0].risk",
       "low, medium, high, critical"},
      {R"({"nodes": [{"id": "a", )" + ok_run + R"(, "timeout_ms": 0}]})", "nodes[0].timeout_ms",
       "between 1"},
      {R"({"nodes": [{"id": "a", )" + ok_run + R"(, "retry": {"max_attempts": 0}}]})",
       "nodes[0].retry.max_attempts", "between 1"},
      {R"({"nodes": [{"id": "a", )" + ok_run + R"(, "retry": {"multiplier": 0.5}}]})",
       "nodes[0].retry.multiplier", "between 1"},
      {R"({"nodes": [{"id": "a", )" + ok_run + R"(, "retry": {"initial_ms": 10, "max_ms": 5}}]})",
       "nodes[0].retry.max_ms", "at least initial_ms"},
      {R"({"nodes": [{"id": "a", )" + ok_run + R"(, "retry": {"initial_ms": 9999999}}]})",
       "nodes[0].retry.initial_ms", "set max_ms too"},
      {R"({"nodes": [{"id": "a", )" + ok_run +
           R"(, "retry": {"non_retryable_exit_codes": [1, 256]}}]})",
       "nodes[0].retry.non_retryable_exit_codes[1]", "between 0 and 255"},
      {R"({"nodes": [{"id": "a", )" + ok_run + R"(, "uses": ["db", "db"]}]})", "nodes[0].uses[1]",
       "listed twice"},
      {R"({"nodes": [{"id": "a", )" + ok_run + R"(, "artifacts": "x"}]})", "nodes[0].artifacts",
       "must be an array"},
      {R"({"nodes": [{"id": "a", )" + ok_run + R"(}, {"id": "a", )" + ok_run + "}]}", "nodes[1].id",
       "duplicate id \"a\"; first at nodes[0]"},
      {R"({"nodes": [{"id": "a", "deps": ["b"], )" + ok_run + "}]}", "nodes[0].deps[0]",
       "no node has id \"b\""},
      {R"({"nodes": [{"id": "b", )" + ok_run + R"(}, {"id": "a", "deps": ["b", "b"], )" + ok_run +
           "}]}",
       "nodes[1].deps[1]", "listed twice"},
      {R"({"max_parallel": 0, "nodes": [{"id": "a", )" + ok_run + "}]}", "max_parallel",
       "between 1"},
      {R"({"params": {"bad-name": 1}, "nodes": [{"id": "a", )" + ok_run + "}]}", "params.bad-name",
       "param names"},
      {R"({"labels": {"team": 1}, "nodes": [{"id": "a", )" + ok_run + "}]}", "labels.team",
       "must be a string"},
      {R"({"nodes": [{"id": "a", )" + ok_run + R"(, "id": "b"}]})", "nodes[0].id", "duplicate key"},
      {R"({"nodes": [{"id": "a", "deps": ["b" "c"]}]})", "nodes[0].deps[1]", "invalid JSON"},
      {R"({"nodes": [{"id": "a\u0000", )" + ok_run + "}]}", "nodes[0].id", "control"},
      {R"({"nodes": [{"id": "a", "run": {"exec": ["echo", "x\u001by"]}}]})", "nodes[0].run.exec[1]",
       "control"},
      {R"({"nodes": [{"id": "a", "run": {"exec": ["x"], "env": {"A": "\n"}}}]})",
       "nodes[0].run.env.A", "control"},
      {"", "$", "invalid JSON"},
      {R"({"nodes": [{"id": "a", )" + ok_run + "}]} trailing", "$", "invalid JSON"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    sup::Error error = error_of(c.text);
    CHECK(error.field_path == c.path);
    CHECK_MESSAGE(error.message.find(c.message_part) != std::string::npos, error.message);
    // build_dag (a document parsed elsewhere, e.g. nested in an IPC request)
    // refuses at the same path whatever the syntax layer did not catch.
    auto document = json::parse(c.text, nullptr, /*allow_exceptions=*/false);
    if (document.is_discarded() || c.message_part == "duplicate key") continue;
    auto built = sup::dag::build_dag(document);
    REQUIRE(!built);
    CHECK(built.error().code == sup::dag::kSpecErrorCode);
    CHECK(built.error().field_path == c.path);
  }
}

TEST_CASE("build_dag on a parsed document gives the same spec as parse_dag") {
  std::mt19937 rng(3);
  for (int round = 0; round < 20; ++round) {
    // Through text, as a nested spec arrives: nlohmann gives parsed
    // non-negative integers the unsigned type, which config's ObjectReader
    // requires (a signed 3 built in C++ is refused as negative).
    json document = json::parse(random_dag(rng, 1 + rng() % 100, 3).dump());
    auto parsed = parse_dag(document.dump());
    auto built = sup::dag::build_dag(document);
    REQUIRE(parsed);
    REQUIRE_MESSAGE(built, (built ? "" : built.error().describe()));
    REQUIRE(parsed->nodes.size() == built->nodes.size());
    CHECK(parsed->topological_order == built->topological_order);
    for (std::size_t i = 0; i < parsed->nodes.size(); ++i) {
      CHECK(parsed->nodes[i].id == built->nodes[i].id);
      CHECK(parsed->nodes[i].deps == built->nodes[i].deps);
      CHECK(parsed->nodes[i].risk == built->nodes[i].risk);
    }
  }
}

TEST_CASE("a cycle is reported as its path at the dependency that closes it") {
  json cyclic = spec_of({node("start"), node("a", {"start", "c"}), node("b", {"a"}),
                         node("c", {"b"}), node("after", {"c"})});
  sup::Error error = error_of(cyclic);
  CHECK(error.message == "dependency cycle: a -> c -> b -> a");
  CHECK(error.field_path == "nodes[2].deps[0]");

  sup::Error self = error_of(spec_of({node("x", {"x"})}));
  CHECK(self.message == "dependency cycle: x -> x");
  CHECK(self.field_path == "nodes[0].deps[0]");
}

TEST_CASE("limits: document size, nesting depth, node count, argv") {
  std::string huge(sup::dag::kMaxSpecBytes + 1, ' ');
  CHECK(error_of(huge).field_path == "$");

  // Checked while parsing: a million brackets are refused at the 33rd.
  std::string deep(1'000'000, '[');
  sup::Error error = error_of(deep);
  CHECK(error.message.find("nested deeper than") != std::string::npos);
  CHECK(error.field_path ==
        "[0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0]"
        "[0][0][0][0][0][0][0][0][0]");
  std::string deep_params = R"({"params": {"p": )" + std::string(40, '[');
  CHECK(error_of(deep_params).field_path.starts_with("params.p[0]"));

  std::vector<json> many;
  for (std::size_t i = 0; i <= sup::dag::kMaxNodes; ++i)
    many.push_back(node("n" + std::to_string(i)));
  CHECK(error_of(spec_of(many)).field_path == "nodes");

  json long_argv = spec_of({node("a")});
  long_argv["nodes"][0]["run"]["exec"] = json::array();
  for (int i = 0; i < 5; ++i)
    long_argv["nodes"][0]["run"]["exec"].push_back(std::string(sup::dag::kMaxArgvBytes / 4, 'x'));
  error = error_of(long_argv);
  CHECK(error.field_path == "nodes[0].run.exec[4]");
  CHECK(error.message.find("in all") != std::string::npos);
}

TEST_CASE("a wide fan-in: one node listing 20,000 deps, a repeat caught at its index") {
  std::vector<json> nodes;
  std::vector<std::string> all;
  for (int i = 0; i < 20'000; ++i) {
    nodes.push_back(node("n" + std::to_string(i)));
    all.push_back("n" + std::to_string(i));
  }
  nodes.push_back(node("join", all));
  auto spec = parse_dag(spec_of(nodes).dump());
  REQUIRE(spec);
  CHECK(spec->nodes.back().deps.size() == 20'000);
  all.push_back("n7");
  nodes.back() = node("join", all);
  sup::Error error = error_of(spec_of(nodes));
  CHECK(error.field_path == "nodes[20000].deps[20000]");
  CHECK(error.message == "\"n7\" is listed twice");
}

TEST_CASE("tasks are checked against the registry when one is given") {
  std::string text = R"({"nodes": [{"id": "a", "run": {"task": "known"},
                                     "compensate": {"task": "unknown"}}]})";
  CHECK(parse_dag(text));
  sup::dag::ParseOptions options{
      .task_exists = [](std::string_view name) { return name == "known"; }};
  sup::Error error = error_of(text, options);
  CHECK(error.field_path == "nodes[0].compensate.task");
  CHECK(error.message.find("no task named \"unknown\"") != std::string::npos);
}

TEST_CASE("random DAGs parse, with a topological order") {
  std::mt19937 rng(20261129);
  for (int round = 0; round < 50; ++round) {
    json document = random_dag(rng, 1 + rng() % 200, 4);
    auto spec = parse_dag(document.dump());
    REQUIRE_MESSAGE(spec, spec.error().describe());
    REQUIRE(spec->topological_order.size() == spec->nodes.size());
    std::vector<std::size_t> position(spec->nodes.size());
    for (std::size_t k = 0; k < spec->topological_order.size(); ++k)
      position[spec->topological_order[k]] = k;
    for (std::size_t i = 0; i < spec->nodes.size(); ++i) {
      CHECK(spec->nodes[i].id == document["nodes"][i]["id"]);
      for (auto dep : spec->nodes[i].deps) CHECK(position[dep] < position[i]);
    }
  }
}

TEST_CASE("a random back edge in a random DAG is reported as a cycle through it") {
  std::mt19937 rng(7);
  for (int round = 0; round < 50; ++round) {
    json document = random_dag(rng, 2 + rng() % 100, 3);
    auto spec = parse_dag(document.dump());
    REQUIRE(spec);
    // Pick a node with a dep and make one of its ancestors depend on it.
    std::size_t i = rng() % spec->nodes.size();
    while (spec->nodes[i].deps.empty()) i = (i + 1) % spec->nodes.size();
    std::size_t ancestor = spec->nodes[i].deps[rng() % spec->nodes[i].deps.size()];
    document["nodes"][ancestor]["deps"].push_back(spec->nodes[i].id);
    sup::Error error = error_of(document);
    CHECK(error.message.starts_with("dependency cycle: "));
    CHECK(error.field_path.starts_with("nodes["));
    // The cycle's first and last names are the same node.
    std::string cycle = error.message.substr(std::string("dependency cycle: ").size());
    CHECK(cycle.substr(0, cycle.find(' ')) == cycle.substr(cycle.rfind(' ') + 1));
  }
}

TEST_CASE("random corruptions of valid specs never crash and every error names a path") {
  std::mt19937 rng(42);
  const std::string alphabet = "{}[]\":,\\ 0123456789abcdeftruenl-\x01\x7f";
  int refused = 0;
  for (int round = 0; round < 2000; ++round) {
    std::string text = random_dag(rng, 1 + rng() % 12, 3).dump();
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !text.empty(); ++e) {
      std::size_t at = rng() % text.size();
      switch (rng() % 4) {
        case 0:
          text.erase(at, 1 + rng() % 8);
          break;
        case 1:
          text.insert(at, 1, alphabet[rng() % alphabet.size()]);
          break;
        case 2:
          text[at] = alphabet[rng() % alphabet.size()];
          break;
        default:
          text.insert(at, text.substr(rng() % text.size(), rng() % 16));
          break;
      }
    }
    auto spec = parse_dag(text);
    if (spec) continue;
    ++refused;
    CHECK(spec.error().code == sup::dag::kSpecErrorCode);
    CHECK_MESSAGE(!spec.error().field_path.empty(), text);
    CHECK(!spec.error().message.empty());
  }
  // Most byte-level corruptions break something.
  CHECK(refused > 1000);
}

TEST_CASE("random semantic corruptions are refused at the corrupted node") {
  std::mt19937 rng(99);
  for (int round = 0; round < 500; ++round) {
    json document = random_dag(rng, 2 + rng() % 30, 3);
    std::size_t i = rng() % document["nodes"].size();
    json& victim = document["nodes"][i];
    std::string prefix = "nodes[" + std::to_string(i) + "]";
    switch (rng() % 7) {
      case 0:
        victim["colour"] = "red";
        prefix += ".colour";
        break;
      case 1:
        victim["deps"].push_back("ghost");
        prefix += ".deps";
        break;
      case 2:
        victim["risk"] = 3;
        prefix += ".risk";
        break;
      case 3:
        victim["run"]["exec"] = json::array();
        prefix += ".run.exec";
        break;
      case 4:
        victim["timeout_ms"] = -1;
        prefix += ".timeout_ms";
        break;
      case 5:
        victim["id"] = "has space";
        prefix += ".id";
        break;
      default:
        victim.erase("run");
        prefix += ".run";
        break;
    }
    sup::Error error = error_of(document);
    CHECK_MESSAGE(error.field_path.starts_with(prefix), error.field_path << " vs " << prefix);
  }
}

TEST_CASE("the shipped example DAGs are valid") {
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(SUP_SOURCE_DIR "/config/dags")) {
    if (entry.path().extension() != ".json") continue;
    CAPTURE(entry.path());
    auto spec = parse_dag(read_file(entry.path()));
    CHECK_MESSAGE(spec, (spec ? "" : spec.error().describe()));
    ++count;
  }
  CHECK(count >= 2);
  auto pipeline = parse_dag(read_file(SUP_SOURCE_DIR "/config/dags/document_pipeline.json"));
  REQUIRE(pipeline);
  CHECK(pipeline->nodes.size() == 11);
}
