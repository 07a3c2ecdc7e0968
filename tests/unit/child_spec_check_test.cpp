// The one child-spec check every entry runs: each rule refuses with the
// field path, and a spec that passes is left alone. The executable lookup
// is a fake except where find_executable itself is under test.
#include "spec/child_spec_check.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <limits>

using namespace sup;
using namespace sup::spec;

namespace {

bool any_program(const std::string&, const std::string&) {
  return true;
}

ChildSpec process(std::string id, std::vector<std::string> argv) {
  ChildSpec spec;
  spec.id = std::move(id);
  spec.kind = ChildKind::Process;
  spec.process.argv = std::move(argv);
  return spec;
}

// field_path of the refusal, or "" when the spec passes.
std::string refusal(const ChildSpec& spec, const ExecutableLookup& lookup = any_program) {
  auto checked = check_child_spec(spec, "spec", lookup);
  if (checked) return "";
  CHECK(checked.error().code == ErrorCode::InvalidArgument);
  return checked.error().field_path;
}

template <class Mutate>
std::string refusal_of(Mutate mutate) {
  ChildSpec spec = process("ok", {"prog"});
  mutate(spec);
  return refusal(spec);
}

}  // namespace

TEST_CASE("a plain spec passes") {
  CHECK(refusal(process("ingest.v2_a-1", {"prog", "--flag"})) == "");
  ChildSpec task;
  task.id = "t";
  task.task = "worker";
  CHECK(refusal(task) == "");
}

TEST_CASE("ids: empty, too long, '/', control characters, root") {
  CHECK(refusal(process("", {"prog"})) == "spec.id");
  CHECK(refusal(process(std::string(65, 'a'), {"prog"})) == "spec.id");
  CHECK(refusal(process(std::string(64, 'a'), {"prog"})) == "");
  CHECK(refusal(process("a/b", {"prog"})) == "spec.id");
  CHECK(refusal(process("a\nb", {"prog"})) == "spec.id");
  CHECK(refusal(process(std::string("a\0b", 3), {"prog"})) == "spec.id");
  CHECK(refusal(process("root", {"prog"})) == "spec.id");
}

TEST_CASE("argv, env and cwd: empty, NUL bytes, bad names, sizes") {
  CHECK(refusal(process("p", {})) == "spec.exec");
  CHECK(refusal(process("p", {""})) == "spec.exec[0]");
  CHECK(refusal(process("p", {"prog", std::string("a\0b", 3)})) == "spec.exec[1]");
  CHECK(refusal(process("p", {"prog", std::string(kMaxArgBytes + 1, 'x')})) == "spec.exec[1]");
  CHECK(refusal_of([](ChildSpec& s) { s.process.env["A=B"] = "1"; }) == "spec.env.A=B");
  CHECK(refusal_of([](ChildSpec& s) { s.process.env[""] = "1"; }) == "spec.env.");
  CHECK(refusal_of([](ChildSpec& s) { s.process.env["A"] = std::string("x\0y", 3); }) ==
        "spec.env.A");
  CHECK(refusal_of([](ChildSpec& s) { s.process.cwd = std::string("/tmp\0x", 6); }) == "spec.cwd");
}

TEST_CASE("the program must resolve to an executable, unless a shell runs it") {
  auto nothing = [](const std::string&, const std::string&) { return false; };
  CHECK(refusal(process("p", {"missing"}), nothing) == "spec.exec[0]");
  ChildSpec shell = process("p", {"exit 3"});
  shell.process.shell = true;
  CHECK(refusal(shell, nothing) == "");
}

TEST_CASE("find_executable resolves like posix_spawnp") {
  CHECK(find_executable("/bin/sh", ""));
  CHECK(find_executable("sh", ""));  // through PATH
  CHECK_FALSE(find_executable("/nonexistent/sup-check-binary", ""));
  CHECK_FALSE(find_executable("sup-check-no-such-program", ""));
  CHECK_FALSE(find_executable("/etc/passwd", ""));  // not executable
  CHECK_FALSE(find_executable("/bin", ""));         // a directory
  CHECK(find_executable("./sh", "/bin"));           // relative to the child's cwd
  CHECK_FALSE(find_executable("", ""));
}

TEST_CASE("absurd numbers are refused by field") {
  const double inf = std::numeric_limits<double>::infinity();
  const double nan = std::nan("");
  CHECK(refusal_of([](ChildSpec& s) { s.shutdown_timeout_ms = kMaxTimeoutMs + 1; }) ==
        "spec.shutdown_timeout_ms");
  CHECK(refusal_of([](ChildSpec& s) { s.budget.capacity = 0.5; }) == "spec.budget.capacity");
  CHECK(refusal_of([&](ChildSpec& s) { s.budget.capacity = inf; }) == "spec.budget.capacity");
  CHECK(refusal_of([&](ChildSpec& s) { s.budget.refill_per_sec = nan; }) ==
        "spec.budget.refill_per_sec");
  CHECK(refusal_of([](ChildSpec& s) { s.backoff.initial_ms = kMaxTimeoutMs + 1; }) ==
        "spec.backoff.initial_ms");
  CHECK(refusal_of([](ChildSpec& s) { s.backoff.max_ms = UINT32_MAX; }) == "spec.backoff.max_ms");
  CHECK(refusal_of([](ChildSpec& s) {
          s.backoff.initial_ms = 500;
          s.backoff.max_ms = 100;
        }) == "spec.backoff.max_ms");
  CHECK(refusal_of([](ChildSpec& s) { s.backoff.multiplier = 0.5; }) == "spec.backoff.multiplier");
  CHECK(refusal_of([&](ChildSpec& s) { s.backoff.multiplier = nan; }) == "spec.backoff.multiplier");
  CHECK(refusal_of([](ChildSpec& s) { s.crash_loop.window_ms = 0; }) ==
        "spec.crash_loop.window_ms");
  CHECK(refusal_of([](ChildSpec& s) { s.crash_loop.max_failures = kMaxCount + 1; }) ==
        "spec.crash_loop.max_failures");
  CHECK(refusal_of([](ChildSpec& s) { s.heartbeat_timeout_ms = UINT32_MAX; }) ==
        "spec.heartbeat_timeout_ms");
  CHECK(refusal_of([](ChildSpec& s) { s.backoff.initial_ms = 0; }) == "");  // valid: at once

  ChildSpec drill;
  drill.id = "d";
  drill.kind = ChildKind::Drill;
  drill.drill = {.kind = DrillKind::Flaky, .ms = 0, .p = 0.5};
  CHECK(refusal(drill) == "spec.drill.ms");
  drill.drill = {.kind = DrillKind::Flaky, .ms = 10, .p = 1.5};
  CHECK(refusal(drill) == "spec.drill.p");
}

TEST_CASE("supervisors: intensity, period, duplicates, depth") {
  ChildSpec parent;
  parent.id = "s";
  parent.kind = ChildKind::Supervisor;
  parent.intensity = kMaxCount + 1;
  CHECK(refusal(parent) == "spec.intensity");
  parent.intensity = 10;
  parent.period_ms = 0;
  CHECK(refusal(parent) == "spec.period_ms");
  parent.period_ms = 1000;
  parent.children = {process("a", {"prog"}), process("a", {"prog"})};
  CHECK(refusal(parent) == "spec.children[1].id");
  parent.children = {process("s", {"prog"})};
  CHECK(refusal(parent) == "spec.children[0].id");  // the supervisor's own id
  parent.children = {process("a", {""})};
  CHECK(refusal(parent) == "spec.children[0].exec[0]");

  // kMaxNestingDepth levels pass; one more is refused at the first too deep.
  ChildSpec chain;
  chain.id = "s1";
  chain.kind = ChildKind::Supervisor;
  ChildSpec* inner = &chain;
  for (std::size_t depth = 2; depth <= kMaxNestingDepth; ++depth) {
    inner->children.resize(1);
    inner = &inner->children[0];
    inner->id = "s" + std::to_string(depth);
    inner->kind = ChildKind::Supervisor;
  }
  CHECK(refusal(chain) == "");
  inner->children = {process("leaf", {"prog"})};
  std::string too_deep = refusal(chain);
  CHECK(too_deep.size() == std::string("spec").size() + kMaxNestingDepth * 12);
  CHECK(too_deep.ends_with(".children[0]"));
}

TEST_CASE("a root: its own numbers, its children, ids unique across the tree") {
  SupervisorSpec root;
  root.children = {process("a", {"/bin/sh"})};
  CHECK(check_supervisor_spec(root).has_value());
  root.intensity = kMaxCount + 1;
  CHECK(check_supervisor_spec(root).error().field_path == "intensity");
  root.intensity = 1;
  ChildSpec nested;
  nested.id = "n";
  nested.kind = ChildKind::Supervisor;
  nested.children = {process("a", {"/bin/sh"})};
  root.children.push_back(nested);
  auto duplicate = check_supervisor_spec(root);
  REQUIRE_FALSE(duplicate.has_value());
  CHECK(duplicate.error().field_path == "children[1].children[0].id");
  CHECK(duplicate.error().message.find("first used at children[0].id") != std::string::npos);
}

TEST_CASE("command fields: blank, too long, NUL; the target is a child id") {
  CommandMeta ok{"c-1", "alice", "why"};
  CHECK(check_command_meta(ok, "ingest").has_value());
  CHECK(check_command_meta(ok, "").has_value());  // shutdown_tree
  CHECK(check_command_meta({" ", "alice", "why"}, "x").error().field_path == "command_id");
  CHECK(check_command_meta({"c", "", "why"}, "x").error().field_path == "requested_by");
  CHECK(check_command_meta({"c", "a", "\t"}, "x").error().field_path == "reason");
  CHECK(check_command_meta({std::string(kMaxCommandIdBytes + 1, 'c'), "a", "r"}, "x")
            .error()
            .field_path == "command_id");
  CHECK(check_command_meta({"c", "a", std::string(900'000, 'r')}, "x").error().field_path ==
        "reason");
  CHECK(check_command_meta({"c", std::string("a\0b", 3), "r"}, "x").error().field_path ==
        "requested_by");
  CHECK(check_command_meta(ok, std::string(900'000, 't')).error().field_path == "target");
}
