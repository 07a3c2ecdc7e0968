// The one JSON writer: escapes, UTF-8 checking, numbers; checked by parsing
// the output back with nlohmann.
#include "json/json_writer.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>

using nlohmann::json;
using sup::JsonWriter;

TEST_CASE("JsonWriter escapes strings and keeps output valid for any bytes") {
  JsonWriter w;
  w.begin_object()
      .field("quote", std::string_view("a\"b\\c\n\t\x01"))
      .field("utf8", std::string_view("h\xC3\xA9llo \xF0\x9F\x98\x80"))
      .field("invalid", std::string_view("x\xFF\xC3y\xED\xA0\x80z", 8))
      .field("empty", std::string_view())  // data() is null: UBSan checks the copy
      .field("neg", -5)
      .field("big", std::uint64_t{18446744073709551615u})
      .field("real", 0.25)
      .field("nan", std::numeric_limits<double>::quiet_NaN())
      .field("flag", false)
      .key("list")
      .begin_array()
      .value(1)
      .null()
      .begin_object()
      .end_object()
      .end_array()
      .end_object();
  std::string out = w.take_line();
  CHECK(out.back() == '\n');
  json parsed = json::parse(out);
  CHECK(parsed["quote"] == "a\"b\\c\n\t\x01");
  CHECK(parsed["utf8"] == "h\xC3\xA9llo \xF0\x9F\x98\x80");
  // Each invalid byte becomes U+FFFD; valid neighbours survive.
  CHECK(parsed["invalid"] == "x\xEF\xBF\xBD\xEF\xBF\xBDy\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBDz");
  CHECK(parsed["empty"] == "");
  CHECK(parsed["neg"] == -5);
  CHECK(parsed["big"].get<std::uint64_t>() == 18446744073709551615u);
  CHECK(parsed["real"] == 0.25);
  CHECK(parsed["nan"].is_null());
  CHECK(parsed["flag"] == false);
  CHECK(parsed["list"] == json::array({1, nullptr, json::object()}));

  // take() leaves an empty writer, ready for the next document.
  w.begin_array().value(std::string(100'000, 'z')).end_array();
  CHECK(w.take() == "[\"" + std::string(100'000, 'z') + "\"]");
  CHECK(w.value(7).take() == "7");
}
