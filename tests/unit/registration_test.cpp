// The registration with a seed relay, pure part: the request as the relay
// deserializes it (deny_unknown_fields), the ack as the relay writes it,
// and the lease/renewal/backoff state machine driven with explicit times.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "json/json_writer.hpp"
#include "registration/registration_lease.hpp"
#include "registration/registration_protocol.hpp"
#include "sup/command.hpp"

using namespace sup::registration;
using nlohmann::json;

namespace {

LeaseSettings settings(std::uint32_t lease_seconds = 30, std::uint32_t heartbeat_ms = 10'000) {
  return {"supervisor@host", lease_seconds, heartbeat_ms, 7};
}

Ack ok_ack(std::string target_id = "supervisor@host") {
  return {true, std::move(target_id), "registered", "", "", false};
}

}  // namespace

TEST_CASE("the request carries exactly the seed's fields and the seed's bare command names") {
  auto request = make_request("supervisor@host", "payments host", "/run/sup.sock", 30);
  std::string line = encode_request(request);
  REQUIRE(line.back() == '\n');
  CHECK(line.find('\n') == line.size() - 1);  // one line
  json parsed = json::parse(line);

  std::set<std::string> keys;
  for (const auto& [key, value] : parsed.items()) keys.insert(key);
  CHECK(keys == std::set<std::string>{"target_id", "display_name", "ipc_path", "lease_seconds",
                                      "supported_commands"});
  CHECK(parsed["target_id"] == "supervisor@host");
  CHECK(parsed["display_name"] == "payments host");
  CHECK(parsed["ipc_path"] == "/run/sup.sock");
  CHECK(parsed["lease_seconds"] == 30);

  std::set<std::string> names;
  for (const auto& command : parsed["supported_commands"]) {
    CHECK(command.size() == 3);
    CHECK(command["idempotent"].is_boolean());
    CHECK(command["timeout_seconds"].get<std::uint32_t>() > 0);
    names.insert(command["name"].get<std::string>());
  }
  CHECK(names == std::set<std::string>{"restart_child", "pause_child", "resume_child",
                                       "quarantine_child", "remove_child", "add_child",
                                       "shutdown_tree"});
  // Every name is one of our vocabulary, with its table's attributes.
  for (const auto& command : parsed["supported_commands"]) {
    const sup::CommandInfo* info = sup::find_command(command["name"].get<std::string>());
    REQUIRE(info);
    CHECK(command["idempotent"] == info->idempotent);
    CHECK(command["timeout_seconds"] == info->timeout_seconds);
  }
}

TEST_CASE("the relay's acks decode; anything else is refused with a field path") {
  auto ok = decode_ack(R"({"ok":true,"target_id":"t","status":"registered","retryable":false})"
                       "\n");
  REQUIRE(ok);
  CHECK(ok->ok);
  CHECK(ok->target_id == "t");
  CHECK(ok->status == "registered");

  auto refused = decode_ack(
      R"({"ok":false,"error":{"code":"ipc_path_not_allowed","message":"IPC path is outside allowed prefixes"},"retryable":false})");
  REQUIRE(refused);
  CHECK_FALSE(refused->ok);
  CHECK(refused->error_code == "ipc_path_not_allowed");
  CHECK(refused->error_message == "IPC path is outside allowed prefixes");
  CHECK_FALSE(refused->retryable);

  auto extra = decode_ack(R"({"ok":true,"lease_expires_at":"later"})");  // lenient reader
  CHECK(extra);

  struct Case {
    std::string line;
    std::string field_path;
  };
  const Case bad[] = {
      {"", ""},
      {"not json", ""},
      {"[true]", ""},
      {R"({"status":"registered"})", "ok"},
      {R"({"ok":"true"})", "ok"},
      {R"({"ok":true,"target_id":7})", "target_id"},
      {R"({"ok":false,"error":"nope"})", "error"},
      {R"({"ok":false,"error":{"code":1}})", "error.code"},
      {R"({"ok":true,"retryable":1})", "retryable"},
      {R"({"ok":true,"ok":false})", "ok"},
      {R"({"ok":true,"error":{"a":{"b":{"c":{}}}}})", "error.a.b.c"},
  };
  for (const auto& c : bad) {
    CAPTURE(c.line);
    auto ack = decode_ack(c.line);
    REQUIRE_FALSE(ack);
    CHECK(ack.error().code == sup::ErrorCode::InvalidArgument);
    if (!c.field_path.empty()) CHECK(ack.error().field_path == c.field_path);
  }
  CHECK_FALSE(decode_ack(std::string(kMaxAckBytes + 1, ' ')));
}

TEST_CASE("registered on the first ack, renewed every heartbeat, the lease counted from the ack") {
  RegistrationLease lease(settings(30, 10'000), "/run/relay.sock");
  CHECK(lease.status().state == State::Registering);
  lease.start(1000);
  CHECK(lease.next_attempt_at_ms() == 1000);

  Step first = lease.acknowledged(1005, 1'700'000'000'000, ok_ack());
  CHECK(first.kind == Step::Registered);
  CHECK(first.next_in_ms == 10'000);
  CHECK(lease.next_attempt_at_ms() == 11'005);
  CHECK(lease.status().state == State::Registered);
  CHECK(lease.status().lease_expires_at_unix_ms == 1'700'000'030'000);
  CHECK(lease.status().registrations == 1);

  Step renewal = lease.acknowledged(11'010, 1'700'000'010'005, ok_ack());
  CHECK(renewal.kind == Step::Renewed);
  CHECK(lease.status().lease_expires_at_unix_ms == 1'700'000'040'005);
  CHECK(lease.status().registrations == 2);
  // The renewal is due before the lease runs out, with room for a whole attempt.
  CHECK(lease.next_attempt_at_ms() + attempt_timeout_ms(settings(30, 10'000)) < 11'010 + 30'000);
}

TEST_CASE("an attempt never outlasts the lease left after a heartbeat") {
  CHECK(attempt_timeout_ms(settings(30, 10'000)) == kMaxAttemptMs);
  CHECK(attempt_timeout_ms(settings(2, 1'500)) == 500);
  CHECK(attempt_timeout_ms(settings(1, 999)) == 1);
}

TEST_CASE("failures back off with jitter up to one heartbeat, are logged 1st, 2nd, 4th, ...") {
  const std::uint32_t heartbeat = 2000;
  RegistrationLease lease(settings(30, heartbeat), "/run/relay.sock");
  lease.start(0);
  std::int64_t now = 0;
  std::vector<bool> logged;
  for (std::uint32_t n = 1; n <= 40; ++n) {
    Step step = lease.failed(now, "connect: Connection refused");
    CHECK(step.kind == Step::Failed);
    CHECK(step.failures == n);
    CHECK(step.next_in_ms >= 10);
    // The ceiling of attempt n: 100 ms doubling, saturating at the heartbeat.
    std::int64_t ceiling = std::min<std::int64_t>(heartbeat, 100LL << std::min(n - 1, 20u));
    CHECK(step.next_in_ms <= std::max<std::int64_t>(ceiling, 10));
    CHECK(lease.next_attempt_at_ms() == now + step.next_in_ms);
    logged.push_back(step.should_log);
    now = lease.next_attempt_at_ms();
  }
  CHECK(logged[0]);
  CHECK(logged[1]);
  CHECK_FALSE(logged[2]);
  CHECK(logged[3]);
  CHECK_FALSE(logged[4]);
  CHECK(logged[7]);
  CHECK(logged[31]);
  CHECK(lease.status().state == State::Failed);
  CHECK(lease.status().last_error == "connect: Connection refused");
  CHECK(lease.status().consecutive_failures == 40);
  CHECK_FALSE(lease.status().lease_expires_at_unix_ms);

  // A different reason is news: logged whatever the count.
  CHECK(lease.failed(now, "connect: No such file or directory").should_log);

  Step back = lease.acknowledged(now, 5'000, ok_ack());
  CHECK(back.kind == Step::Recovered);
  CHECK(back.failures == 41);
  CHECK(lease.status().state == State::Registered);
  CHECK(lease.status().last_error.empty());
  CHECK(lease.status().consecutive_failures == 0);
}

TEST_CASE("a refusal or an ack for another target is a failure, retried") {
  RegistrationLease lease(settings(), "/run/relay.sock");
  lease.start(0);
  lease.acknowledged(0, 0, ok_ack());
  Step refused = lease.acknowledged(
      10'000, 10'000, {false, "", "", "invalid_lease_seconds", "lease too long", false});
  CHECK(refused.kind == Step::Failed);
  CHECK(lease.status().state == State::Failed);
  CHECK(lease.status().last_error ==
        "the relay refused the registration: invalid_lease_seconds: lease too long (not "
        "retryable)");
  CHECK(lease.status().lease_expires_at_unix_ms == 30'000);  // the last lease granted

  Step other = lease.acknowledged(20'000, 20'000, ok_ack("someone-else"));
  CHECK(other.kind == Step::Failed);
  CHECK(lease.status().last_error.find("someone-else") != std::string::npos);
  CHECK(lease.acknowledged(30'000, 30'000, ok_ack("")).kind == Step::Recovered);
}

TEST_CASE("the same seed draws the same retry delays") {
  RegistrationLease a(settings(30, 10'000), "/p");
  RegistrationLease b(settings(30, 10'000), "/p");
  for (int i = 0; i < 10; ++i) CHECK(a.failed(0, "x").next_in_ms == b.failed(0, "x").next_in_ms);
}

TEST_CASE("the status health and state report") {
  RegistrationStatus disabled;
  CHECK(disabled.state == State::Disabled);
  CHECK(to_string(disabled.state) == "disabled");

  RegistrationLease lease(settings(), "/run/relay.sock");
  CHECK(to_string(lease.status().state) == "registering");
  lease.failed(0, "connect: Connection refused");
  RegistrationStatus failed = lease.status();
  CHECK(to_string(failed.state) == "failed");
  CHECK(failed.relay_path == "/run/relay.sock");
  CHECK(failed.last_error == "connect: Connection refused");
  CHECK(failed.consecutive_failures == 1);
  lease.acknowledged(0, 1000, ok_ack());
  RegistrationStatus registered = lease.status();
  CHECK(to_string(registered.state) == "registered");
  CHECK(registered.last_error.empty());
  CHECK(registered.lease_expires_at_unix_ms == 31'000);
  CHECK(registered.registrations == 1);
}
