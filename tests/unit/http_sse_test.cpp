// The pure parts of the web dashboard's HTTP side: SSE framing, the
// Last-Event-ID read as a sequence, what a resuming stream replays, the
// commands' body, and the embedded assets.
#include <doctest/doctest.h>

#include <string>

#include "http/command_body.hpp"
#include "http/sse.hpp"
#include "http/web_assets.hpp"

using namespace sup::http;

TEST_CASE("an SSE event is its id, its type and one data line per line, then a blank line") {
  CHECK(sse_event(42, "", R"({"a":1})") == "id: 42\ndata: {\"a\":1}\n\n");
  CHECK(sse_event(0, "gap", "x") == "event: gap\ndata: x\n\n");
  CHECK(sse_event(7, "", "one\ntwo\r\nthree\rfour") ==
        "id: 7\ndata: one\ndata: two\ndata: three\ndata: four\n\n");
  CHECK(sse_event(1, "", "") == "id: 1\ndata: \n\n");
  CHECK(sse_event(1, "", "end\n") == "id: 1\ndata: end\ndata: \n\n");
}

TEST_CASE("an SSE comment cannot end early: line breaks become spaces") {
  CHECK(sse_comment("keepalive") == ": keepalive\n\n");
  CHECK(sse_comment("a\nb\rc") == ": a b c\n\n");
  CHECK(sse_retry(2000) == "retry: 2000\n\n");
}

TEST_CASE("Last-Event-ID is a sequence or nothing") {
  auto none = parse_last_event_id("", "Last-Event-ID");
  REQUIRE(none);
  CHECK_FALSE(none->has_value());
  auto some = parse_last_event_id("1234", "Last-Event-ID");
  REQUIRE(some);
  CHECK(**some == 1234);
  auto max = parse_last_event_id("18446744073709551615", "Last-Event-ID");
  REQUIRE(max);
  CHECK(**max == UINT64_MAX);
  for (const char* bad : {"18446744073709551616", "-1", "+1", " 1", "1 ", "0x10", "abc", "1.5",
                          "123456789012345678901"}) {
    auto refused = parse_last_event_id(bad, "query.last_event_id");
    REQUIRE_MESSAGE(!refused, bad);
    CHECK(refused.error().code == sup::ErrorCode::InvalidArgument);
    CHECK(refused.error().field_path == "query.last_event_id");
  }
}

TEST_CASE("a resuming stream replays what is held, names what is lost, resets on a newer id") {
  // Everything missed is still held.
  CHECK(plan_replay(50, {10, 90}) == ReplayPlan{.replay_after = 50});
  CHECK(plan_replay(9, {10, 90}) == ReplayPlan{.replay_after = 9});
  CHECK(plan_replay(90, {10, 90}) == ReplayPlan{.replay_after = 90});
  // Events 1..9 are gone: a gap, then what is held.
  CHECK(plan_replay(0, {10, 90}) == ReplayPlan{.replay_after = 0, .lost_from = 1, .lost_to = 9});
  CHECK(plan_replay(4, {10, 90}) == ReplayPlan{.replay_after = 4, .lost_from = 5, .lost_to = 9});
  // An id beyond the newest: another run of the daemon; everything held.
  CHECK(plan_replay(500, {10, 90}) == ReplayPlan{.replay_after = 0, .reset = true});
  // Nothing held yet: nothing to replay, nothing known lost.
  CHECK(plan_replay(7, {}) == ReplayPlan{.replay_after = 7});
}

TEST_CASE("a command's body: a reason is required, command_id and confirmed are optional") {
  auto full =
      parse_command_body(R"({"reason":"fixed the input","command_id":"c-1","confirmed":true})");
  REQUIRE(full);
  CHECK(*full == CommandBody{"fixed the input", "c-1", true});
  auto minimal = parse_command_body(R"({"reason":"drill"})");
  REQUIRE(minimal);
  CHECK(*minimal == CommandBody{"drill", "", false});

  struct Case {
    const char* body;
    const char* field;
  };
  for (const Case& c :
       {Case{"", "body"}, Case{"[]", "body"}, Case{"{", "body"}, Case{"{}", "body.reason"},
        Case{R"({"reason":"  "})", "body.reason"}, Case{R"({"reason":7})", "body.reason"},
        Case{R"({"reason":"x","confirmed":"yes"})", "body.confirmed"},
        Case{R"({"reason":"x","command_id":""})", "body.command_id"},
        Case{R"({"reason":"x","by":"me"})", "body.by"},
        Case{R"({"reason":"x","reason":"y"})", "body.reason"}}) {
    auto refused = parse_command_body(c.body);
    REQUIRE_MESSAGE(!refused, c.body);
    CHECK(refused.error().code == sup::ErrorCode::InvalidArgument);
    CHECK_MESSAGE(refused.error().field_path.rfind(c.field, 0) == 0,
                  std::string(c.body) << " named " << refused.error().field_path);
  }
  std::string long_reason = R"({"reason":")" + std::string(1025, 'r') + R"("})";
  auto too_long = parse_command_body(long_reason);
  REQUIRE_FALSE(too_long);
  CHECK(too_long.error().field_path == "body.reason");
}

TEST_CASE("the dashboard's files are compiled in and found by plain name only") {
  const WebAsset* index = find_web_asset(kWebIndex);
  REQUIRE(index != nullptr);
  CHECK(index->content_type == "text/html; charset=utf-8");
  CHECK(index->body.find("<html") != std::string_view::npos);
  const WebAsset* script = find_web_asset("app.js");
  REQUIRE(script != nullptr);
  CHECK(script->content_type == "text/javascript; charset=utf-8");
  const WebAsset* style = find_web_asset("app.css");
  REQUIRE(style != nullptr);
  CHECK(style->content_type == "text/css; charset=utf-8");
  // Every file the page names is served (no dangling reference, nothing
  // fetched from elsewhere).
  for (std::string_view name : {"/assets/app.js", "/assets/app.css"})
    CHECK(index->body.find(name) != std::string_view::npos);
  CHECK(index->body.find("http://") == std::string_view::npos);
  CHECK(index->body.find("https://") == std::string_view::npos);
  for (const char* bad : {"", ".", "..", "../index.html", "a/b", ".hidden", "nope.js"})
    CHECK_MESSAGE(find_web_asset(bad) == nullptr, bad);
  CHECK(content_type_of("x.svg") == "image/svg+xml");
  CHECK(content_type_of("x.bin") == "application/octet-stream");
}
