// The engine's record payloads: every record an execution produces reads
// back identical through its JSON payload, and a payload that is not a
// record of the spec is refused with the field that is wrong.
#include <doctest/doctest.h>

#include "dag/parser.hpp"
#include "dag/record_codec.hpp"

namespace {

using namespace sup::dag;

DagSpec parse(std::string_view text) {
  auto spec = parse_dag(text);
  REQUIRE_MESSAGE(spec, (spec ? "" : spec.error().describe()));
  return std::move(spec).value();
}

void check_round_trip(const DagSpec& spec, const Record& record) {
  std::string payload = encode_record_payload(spec, record);
  auto back = decode_record_payload(spec, payload, record.sequence);
  REQUIRE_MESSAGE(back, (back ? "" : back.error().describe()));
  CHECK(back->sequence == record.sequence);
  CHECK(back->node == record.node);
  CHECK(back->execution_from == record.execution_from);
  CHECK(back->execution_to == record.execution_to);
  CHECK(back->node_from == record.node_from);
  CHECK(back->node_to == record.node_to);
  CHECK(back->attempt == record.attempt);
  CHECK(back->epoch == record.epoch);
  CHECK(back->reason == record.reason);
  if (record.result.empty()) {
    CHECK(back->result.empty());
  } else {
    CHECK(nlohmann::json::parse(back->result) == nlohmann::json::parse(record.result));
  }
}

constexpr std::string_view kSpec =
    R"({"nodes":[{"id":"a","run":{"exec":["true"]}},{"id":"b","deps":["a"],"run":{"exec":["true"]}}]})";

}  // namespace

TEST_CASE("every record of a whole execution reads back from its payload") {
  DagSpec spec = parse(kSpec);
  ExecutionCore core(spec, "e-1");
  std::vector<Record> all;
  std::vector<StartAttempt> running;
  // Everything durable at once; attempts succeed in start order, node a
  // publishing a result.
  auto apply = [&](const Effects& fx) {
    all.insert(all.end(), fx.records.begin(), fx.records.end());
    if (fx.records.empty()) return;
    Effects durable = core.on_durable(fx.records.back().sequence);
    running.insert(running.end(), durable.starts.begin(), durable.starts.end());
  };
  apply(core.start(4));
  while (!running.empty()) {
    StartAttempt start = running.front();
    running.erase(running.begin());
    apply(core.on_attempt_exit(start.node, start.epoch, {}, 0.5, 4,
                               start.node == 0 ? R"({"rows": [1, 2]})" : ""));
  }
  CHECK(core.state() == ExecutionState::Completed);
  REQUIRE(all.size() >= 8);
  bool saw_result = false;
  for (const Record& record : all) {
    saw_result = saw_result || !record.result.empty();
    check_round_trip(spec, record);
  }
  CHECK(saw_result);

  auto restored = ExecutionCore::restore(spec, "e-1", all);
  REQUIRE_MESSAGE(restored, (restored ? "" : restored.error().describe()));
  CHECK(restored->state() == ExecutionState::Completed);
}

TEST_CASE("a payload that is not a record of the spec names the wrong field") {
  DagSpec spec = parse(kSpec);
  struct Case {
    std::string_view payload;
    std::string_view field;
  };
  for (const Case& c :
       {Case{"not json", "$"}, Case{"[1]", "$"}, Case{R"({"from":"RUNNING","to":"NOPE"})", "to"},
        Case{R"({"to":"RUNNING"})", "from"},
        Case{R"({"node":"zz","from":"READY","to":"RUNNING","attempt":1,"epoch":1})", "node"},
        Case{R"({"node":"a","from":"READY","to":"RUNNING","epoch":1})", "attempt"},
        Case{R"({"node":"a","from":"READY","to":"RUNNING","attempt":-1,"epoch":1})", "attempt"},
        Case{R"({"node":"a","from":"READY","to":"RUNNING","attempt":1})", "epoch"}}) {
    CAPTURE(c.payload);
    auto record = decode_record_payload(spec, c.payload, 3);
    REQUIRE_FALSE(record);
    CHECK(record.error().code == kRecordPayloadErrorCode);
    CHECK(record.error().field_path == c.field);
  }
}
