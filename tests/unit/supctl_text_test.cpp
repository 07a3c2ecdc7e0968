// supctl's text building blocks: formats, sanitizing, tables, the sequence
// tracker, the reconnect backoff, the confirmation prompt and ids.
#include <doctest/doctest.h>

#include <cstdlib>
#include <ctime>
#include <sstream>

#include "supctl/confirm.hpp"
#include "supctl/identity.hpp"
#include "supctl/reconnect_backoff.hpp"
#include "supctl/sequence_tracker.hpp"
#include "supctl/text_format.hpp"
#include "supctl/text_table.hpp"

using namespace sup::cli;

TEST_CASE("durations read at a glance") {
  CHECK(format_duration_ms(0) == "0ms");
  CHECK(format_duration_ms(850) == "850ms");
  CHECK(format_duration_ms(1599) == "1.5s");
  CHECK(format_duration_ms(42'000) == "42s");
  CHECK(format_duration_ms(123'000) == "2m03s");
  CHECK(format_duration_ms(3'725'000) == "1h02m");
  CHECK(format_duration_ms(273'600'000) == "3d04h");
  CHECK(format_age(10'000, 7'500) == "2.5s");
  CHECK(format_age(10'000, 12'000) == "0ms");  // a clock a little ahead is not negative
}

TEST_CASE("tokens round down so an unaffordable restart never reads as affordable") {
  CHECK(format_tokens(0.99, 3) == "0.9/3");
  CHECK(format_tokens(2.53, 5) == "2.5/5");
  CHECK(format_tokens(5, 5) == "5.0/5");
  CHECK(format_tokens(-0.2, 5) == "0.0/5");
  CHECK(format_rate(99.54) == "99.5/s");
  CHECK(format_rate(1234.4) == "1234/s");
  CHECK(format_rate(12'345) == "12.3k/s");
}

TEST_CASE("local times in both styles") {
  ::setenv("TZ", "UTC", 1);
  ::tzset();
  CHECK(format_local_time(1'700'000'000'123, TimeStyle::Full) == "2023-11-14 22:13:20.123");
  CHECK(format_local_time(1'700'000'000'123, TimeStyle::Clock) == "22:13:20");
}

TEST_CASE("untrusted text cannot reach the terminal as control sequences") {
  CHECK(sanitize("ok\x1b[2Jgone") == "ok?[2Jgone");
  CHECK(sanitize("tab\there\nnext") == "tab here next");
  CHECK(sanitize("bad \xff byte") == "bad ? byte");
  CHECK(sanitize("c1 \xc2\x9b control") == "c1 ? control");
  CHECK(sanitize("overlong \xc0\xaf") == "overlong ??");
  CHECK(sanitize("caf\xc3\xa9 \xe2\x9c\x93") == "caf\xc3\xa9 \xe2\x9c\x93");
}

TEST_CASE("fitting counts code points and cuts on their boundaries") {
  CHECK(display_width("caf\xc3\xa9") == 4);
  CHECK(fit("worker-b-with-a-long-name", 10) == "worker-b-\xe2\x80\xa6");
  CHECK(fit("caf\xc3\xa9s", 4) == "caf\xe2\x80\xa6");
  CHECK(fit("short", 10) == "short");
  CHECK(fit("anything", 0).empty());
  CHECK(pad_right("ab", 4) == "ab  ");
  CHECK(pad_left("ab", 4) == "  ab");
  CHECK(display_width(pad_right("caf\xc3\xa9", 6)) == 6);
  CHECK(strip_qualifier("TaskExit::Failed") == "Failed");
  CHECK(strip_qualifier("plain") == "plain");
}

TEST_CASE("tables align columns and give way to fit a width") {
  TextTable table(
      {{"ID", Align::Left, 4, true}, {"N", Align::Right}, {"NOTE", Align::Left, 6, true}});
  table.add_row({"alpha", "1", "a note that is long"});
  table.add_row({"b", "100", ""});

  const auto wide = table.render();
  REQUIRE(wide.size() == 3);
  CHECK(wide[0] == "ID       N  NOTE");
  CHECK(wide[1] == "alpha    1  a note that is long");
  CHECK(wide[2] == "b      100");  // no trailing spaces

  const auto narrow = table.render(20);
  for (const auto& line : narrow) CHECK(display_width(line) <= 20);
  CHECK(narrow[1].find("alpha") == 0);  // NOTE, the widest, gave way first
  CHECK(narrow[1].find("\xe2\x80\xa6") != std::string::npos);

  // Below every minimum the lines themselves are cut.
  for (const auto& line : table.render(8)) CHECK(display_width(line) <= 8);
}

TEST_CASE("optional columns are left out, highest rank first, before lines are cut") {
  TextTable table({{"ID"},
                   {"KIND", Align::Left, 0, false, 1},
                   {"PID", Align::Right, 0, false, 2},
                   {"NOTE", Align::Left, 4, true}});
  table.add_row({"worker-a", "process", "4242", "exit status 3"});
  CHECK(table.render(40)[1] == "worker-a  process  4242  exit status 3");
  CHECK(table.render(30)[1] ==
        "worker-a  process  4242  exit\xe2\x80\xa6");                       // NOTE gives way first
  CHECK(table.render(28)[1] == "worker-a  process  exit sta\xe2\x80\xa6");  // then PID goes
  CHECK(table.render(20)[1] == "worker-a  exit stat\xe2\x80\xa6");
  CHECK(table.render(20)[0] == "ID        NOTE");
  CHECK(table.render(5)[1] == "work\xe2\x80\xa6");
}

TEST_CASE("the sequence tracker reports gaps and repeats") {
  SequenceTracker tracker;
  CHECK(tracker.observe(40).fresh);  // the first one sets the baseline: no gap
  CHECK_FALSE(tracker.observe(40).fresh);
  auto jump = tracker.observe(44);
  CHECK(jump.fresh);
  REQUIRE(jump.gap);
  CHECK(jump.gap->first == 41);
  CHECK(jump.gap->last == 43);
  CHECK_FALSE(tracker.observe(42).fresh);
  CHECK_FALSE(tracker.observe(45).gap);

  SequenceTracker resumed(10);
  auto first = resumed.observe(12);
  REQUIRE(first.gap);
  CHECK(first.gap->first == 11);
  CHECK(first.gap->last == 11);

  resumed.rebase(3);  // a restarted daemon counts from scratch
  CHECK(resumed.observe(4).fresh);
}

TEST_CASE("reconnect backoff doubles from 100 ms to a 2 s cap") {
  ReconnectBackoff backoff;
  std::vector<long> delays;
  for (int i = 0; i < 7; ++i) delays.push_back(static_cast<long>(backoff.next().count()));
  CHECK(delays == std::vector<long>{100, 200, 400, 800, 1600, 2000, 2000});
  CHECK(backoff.attempts() == 7);
  backoff.reset();
  CHECK(backoff.attempts() == 0);
  CHECK(backoff.next().count() == 100);
}

TEST_CASE("dangerous commands need a yes") {
  std::ostringstream prompt;
  std::istringstream nothing;
  CHECK(confirm("Remove?", true, false, nothing, prompt) == Confirmation::Confirmed);
  CHECK(confirm("Remove?", false, false, nothing, prompt) == Confirmation::NeedsFlag);
  CHECK(prompt.str().empty());  // a script is never asked

  std::istringstream yes(" Yes \n");
  CHECK(confirm("Remove 'x'?", false, true, yes, prompt) == Confirmation::Confirmed);
  CHECK(prompt.str() == "Remove 'x'? [y/N] ");
  std::istringstream no("n\n");
  CHECK(confirm("Remove?", false, true, no, prompt) == Confirmation::Declined);
  std::istringstream enter("\n");
  CHECK(confirm("Remove?", false, true, enter, prompt) == Confirmation::Declined);
  std::istringstream closed;
  CHECK(confirm("Remove?", false, true, closed, prompt) == Confirmation::Declined);
}

TEST_CASE("identity defaults") {
  const std::string id = random_command_id();
  CHECK(id.size() == 32);
  CHECK(id.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(random_command_id() != id);

  ::setenv("SUPERVISOR_SOCKET", "/run/custom.sock", 1);
  CHECK(default_socket_path() == "/run/custom.sock");
  ::setenv("SUPERVISOR_SOCKET", "", 1);
  CHECK(default_socket_path() == "/tmp/supervisor.sock");
  ::unsetenv("SUPERVISOR_SOCKET");

  ::setenv("USER", "alice", 1);
  CHECK(default_requested_by().rfind("alice", 0) == 0);
  ::unsetenv("USER");
  CHECK_FALSE(default_requested_by().empty());
}
