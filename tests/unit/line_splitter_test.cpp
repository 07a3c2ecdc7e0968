#include "process/line_splitter.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using sup::process::LineSplitter;

namespace {

std::vector<std::string> drain(LineSplitter& lines) {
  std::vector<std::string> out;
  while (auto line = lines.next_line()) out.emplace_back(*line);
  return out;
}

}  // namespace

TEST_CASE("complete lines come out without their newline, a partial one waits") {
  LineSplitter lines;
  lines.append("alpha\nbeta\r\n\ngam");
  CHECK(drain(lines) == std::vector<std::string>{"alpha", "beta", ""});
  lines.append("ma\n");
  CHECK(drain(lines) == std::vector<std::string>{"gamma"});
  CHECK_FALSE(lines.take_rest().has_value());
}

TEST_CASE("a line split across many small appends is found once complete") {
  LineSplitter lines;
  const std::string text = "one byte at a time\r\n";
  std::vector<std::string> got;
  for (char c : text) {
    lines.append(std::string_view(&c, 1));
    for (auto& line : drain(lines)) got.push_back(line);
  }
  CHECK(got == std::vector<std::string>{"one byte at a time"});
}

TEST_CASE("the unterminated remainder is delivered at the end, without a trailing CR") {
  LineSplitter lines;
  lines.append("first\nlast words\r");
  CHECK(drain(lines) == std::vector<std::string>{"first"});
  auto rest = lines.take_rest();
  REQUIRE(rest.has_value());
  CHECK(*rest == "last words");
  CHECK_FALSE(lines.take_rest().has_value());
}

TEST_CASE("a line longer than the limit comes out in pieces of the limit") {
  constexpr std::size_t kMax = LineSplitter::kMaxLineBytes;
  LineSplitter lines;
  const std::string long_line = std::string(kMax, 'a') + std::string(kMax, 'b') + "tail";
  lines.append(long_line + "\nnext\n");
  auto got = drain(lines);
  REQUIRE(got.size() == 4);
  CHECK(got[0] == std::string(kMax, 'a'));
  CHECK(got[1] == std::string(kMax, 'b'));
  CHECK(got[2] == "tail");
  CHECK(got[3] == "next");
}

TEST_CASE("a line of exactly the limit is not split, even when its newline arrives later") {
  constexpr std::size_t kMax = LineSplitter::kMaxLineBytes;
  LineSplitter lines;
  lines.append(std::string(kMax, 'x'));
  CHECK(drain(lines).empty());
  lines.append("\n");
  auto got = drain(lines);
  REQUIRE(got.size() == 1);
  CHECK(got[0].size() == kMax);
}

TEST_CASE("an unterminated flood is bounded: pieces come out as soon as the limit is passed") {
  constexpr std::size_t kMax = LineSplitter::kMaxLineBytes;
  LineSplitter lines;
  lines.append(std::string(kMax + 10, 'z'));
  auto got = drain(lines);
  REQUIRE(got.size() == 1);
  CHECK(got[0].size() == kMax);
  auto rest = lines.take_rest();
  REQUIRE(rest.has_value());
  CHECK(rest->size() == 10);
}
