// The daemon config's keys of DAG executions: store.path, store.max_bytes,
// executions.max_parallel_nodes (docs/config.md): defaults, values, and
// refusals naming the field.
#include <doctest/doctest.h>

#include "config/daemon_config.hpp"

namespace {

constexpr std::string_view kBase = R"({"children": [], "dashboard": {"enabled": false})";

sup::Expected<sup::config::DaemonConfig> parse_with(std::string_view extra) {
  std::string text(kBase);
  text += extra;
  text += "}";
  return sup::config::parse_config(text);
}

}  // namespace

TEST_CASE("store and executions keys default when absent") {
  auto config = parse_with("");
  REQUIRE_MESSAGE(config, (config ? "" : config.error().describe()));
  CHECK(config->store.path == "store");
  CHECK(config->store.max_bytes == (std::uint64_t{1} << 30));
  CHECK(config->executions.max_parallel_nodes == 16);
  CHECK(config->executions.stuck_after_ms == 600'000);
}

TEST_CASE("store and executions keys are read") {
  auto config = parse_with(
      R"(, "store": {"path": "db", "max_bytes": 4194304}, "executions": {"max_parallel_nodes": 3, "stuck_after_ms": 0})");
  REQUIRE_MESSAGE(config, (config ? "" : config.error().describe()));
  CHECK(config->store.path == "db");
  CHECK(config->store.max_bytes == 4194304);
  CHECK(config->executions.max_parallel_nodes == 3);
  CHECK(config->executions.stuck_after_ms == 0);
}

TEST_CASE("bad store and executions values name their field") {
  struct Case {
    std::string_view extra;
    std::string_view field;
  };
  for (const Case& c :
       {Case{R"(, "store": {"path": " "})", "store.path"},
        Case{R"(, "store": {"max_bytes": 1000})", "store.max_bytes"},
        Case{R"(, "store": {"max_bytes": "big"})", "store.max_bytes"},
        Case{R"(, "store": {"size": 1})", "store.size"},
        Case{R"(, "executions": {"max_parallel_nodes": 0})", "executions.max_parallel_nodes"},
        Case{R"(, "executions": {"max_parallel_nodes": 10001})", "executions.max_parallel_nodes"},
        Case{R"(, "executions": {"stuck_after_ms": 50})", "executions.stuck_after_ms"},
        Case{R"(, "executions": {"stuck_after_ms": -1})", "executions.stuck_after_ms"},
        Case{R"(, "executions": {"stuck_after_ms": 604800001})", "executions.stuck_after_ms"}}) {
    CAPTURE(c.extra);
    auto config = parse_with(c.extra);
    REQUIRE_FALSE(config);
    CHECK(config.error().code == sup::ErrorCode::InvalidConfig);
    CHECK(config.error().field_path == c.field);
  }
}
