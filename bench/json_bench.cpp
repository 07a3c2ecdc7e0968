// How the project writes JSON, measured: the one JsonWriter (src/json)
// against nlohmann::json (build the document, then dump with invalid UTF-8
// replaced), on the real payloads: the `state` answer (the seed's
// DashboardState; nlohmann's document is a copy of the parsed answer) of a 10,000-child
// tree, one event push line, one audit line. Both produce the same fields;
// the figures decided that JsonWriter is the one writer (docs/benchmarks.md).
//
//   build/bench/json_bench [--children=10000] [--rounds=30] [--lines=100000]
//   {"bench":"json","metric":"state_10000_json_writer_ms","value":...,"unit":"ms"}
#include <cstdint>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bench_report.hpp"
#include "ipc/encoding.hpp"
#include "supervisor/command_ledger.hpp"

namespace {

using nlohmann::json;
using sup::bench::steady_ns;

sup::SupervisorState sample_state(int children) {
  sup::SupervisorState state;
  state.state_generation = 42;
  state.captured_at_unix_ms = 1'795'428'000'123;
  for (int i = 0; i < children; ++i) {
    sup::ChildRuntimeRecord r;
    r.id = "worker-" + std::to_string(i);
    r.path = "root/pool/" + r.id;
    r.parent = "pool";
    r.kind = i % 2 ? sup::ChildKind::Process : sup::ChildKind::Task;
    r.state = i % 10 == 0 ? sup::ChildState::Restarting : sup::ChildState::Running;
    r.restart_count = static_cast<std::uint64_t>(i % 7);
    if (i % 3 == 0)
      r.last_exit =
          sup::TaskExit{sup::TaskExit::Failed, "exit status 3: \"disk full\"", 1'795'428'000'000};
    r.restart_budget = {4.5, 10, 0.5};
    r.backoff_ms = 250;
    r.started_at_unix_ms = 1'795'427'000'000 + i;
    if (i % 2) r.pid = 10'000 + i;
    r.generation = 3;
    r.liveness.readiness = sup::Readiness::Ready;
    state.child_runtime_records.push_back(std::move(r));
  }
  state.children.running = static_cast<std::uint32_t>(children);
  state.children.target_count = static_cast<std::uint32_t>(children);
  return state;
}

sup::Event sample_event() {
  sup::Event event;
  event.sequence = 123'456;
  event.event_type = "child_exited";
  event.severity = "warning";
  event.child_id = "worker-17";
  event.target_path = "root/pool/worker-17";
  event.occurred_at_unix_nanos = 1'795'428'000'123'456'789;
  event.payload = {{"task_exit", "TaskExit::Failed"},
                   {"exit_reason", "exit status 3 \xff (invalid byte from child output)"},
                   {"restart_count", "4"},
                   {"command_id", "c-9"}};
  return event;
}

json nlohmann_event_line(const sup::Event& event) {
  json payload = json::object();
  for (const auto& [name, value] : event.payload) payload[name] = value;
  json record = {{"target_id", "sup@bench"},
                 {"sequence", event.sequence},
                 {"correlation_id", event.payload.at("command_id")},
                 {"event_type", event.event_type},
                 {"severity", event.severity},
                 {"target_path", event.target_path},
                 {"child_id", event.child_id},
                 {"occurred_at_unix_nanos", event.occurred_at_unix_nanos},
                 {"config_version", "1"},
                 {"payload", std::move(payload)}};
  return {{"type", "event"}, {"target_id", "sup@bench"}, {"event", std::move(record)}};
}

std::string dump(const json& document) {
  return document.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

// Median of `rounds` timings of `encode`, in ns; `bytes` gets the output size.
template <class Encode>
double median_ns(int rounds, std::size_t& bytes, Encode&& encode) {
  std::vector<double> samples;
  for (int i = 0; i < rounds; ++i) {
    std::int64_t began = steady_ns();
    std::string out = encode();
    samples.push_back(static_cast<double>(steady_ns() - began));
    bytes = out.size();
  }
  return sup::bench::percentile(samples, 0.5);
}

}  // namespace

int main(int argc, char** argv) {
  int children = 10'000;
  int rounds = 30;
  int lines = 100'000;
  CLI::App app("JSON writing: JsonWriter against nlohmann::json on the real payloads",
               "json_bench");
  if (auto exit = sup::bench::parse_command_line(
          app, {{"--children", &children}, {"--rounds", &rounds}, {"--lines", &lines}}, argc, argv))
    return *exit;
  sup::bench::Reporter out("json", {{"children", std::to_string(children)}});
  const std::string state_metric = "state_" + std::to_string(children) + "_";

  // Both must parse back to the same document, or the comparison is void.
  sup::SupervisorState state = sample_state(children);
  const sup::ipc::DashboardContext context{"sup@bench", "bench", nullptr, nullptr};
  auto writer_state = [&] {
    return sup::ipc::response_line("r1", "state", "sup@bench", [&](sup::JsonWriter& w) {
      w.key("state");
      sup::ipc::write_dashboard_state(w, state, context);
    });
  };
  // nlohmann builds the same document (a deep copy of it: the allocations
  // of building it node by node) and dumps it.
  const json state_document = json::parse(writer_state());
  auto nlohmann_state = [&] {
    json built = state_document;
    return dump(built);
  };
  sup::Event event = sample_event();
  auto writer_event = [&] { return sup::ipc::event_push_line(event, "sup@bench"); };
  auto nlohmann_event = [&] { return dump(nlohmann_event_line(event)); };
  if (json::parse(writer_state()) != json::parse(nlohmann_state()) ||
      json::parse(writer_event()) != json::parse(nlohmann_event())) {
    std::fprintf(stderr, "json_bench: the candidates do not write the same documents\n");
    return 1;
  }

  std::size_t bytes = 0;
  out.figure(state_metric + "json_writer_ms", median_ns(rounds, bytes, writer_state) / 1e6, "ms");
  out.figure(state_metric + "bytes", static_cast<double>(bytes), "B");
  out.figure(state_metric + "nlohmann_ms", median_ns(rounds, bytes, nlohmann_state) / 1e6, "ms");

  // Lines are short: time a batch, report per line.
  auto per_line_ns = [&](auto&& encode) {
    return median_ns(rounds, bytes,
                     [&] {
                       std::string last;
                       for (int i = 0; i < lines; ++i) last = encode();
                       return last;
                     }) /
           lines;
  };
  out.figure("event_line_json_writer_ns", per_line_ns(writer_event), "ns");
  out.figure("event_line_nlohmann_ns", per_line_ns(nlohmann_event), "ns");

  sup::core::CommandLedger ledger(1);
  sup::CommandMeta meta{"c-1", "alice", "rotate the keys \"now\""};
  out.figure("audit_line_json_writer_ns", per_line_ns([&] {
               return ledger.record(meta, "restart_child", "worker-17",
                                    sup::CommandResult::accepted(), 1'795'428'000'123);
             }),
             "ns");
  return 0;
}
