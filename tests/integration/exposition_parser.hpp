// A small parser of the Prometheus text exposition format (version 0.0.4),
// for tests: the families (# TYPE / # HELP) and every sample with its labels.
//
//   auto scrape = sup::it::parse_exposition(text);
//   REQUIRE(scrape);
//   double crashes = scrape->value("supervisor_child_exits_total", {{"kind", "Panicked"}});
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sup/error.hpp"

namespace sup::it {

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct Exposition {
  std::map<std::string, std::string> types;  // family name -> counter, gauge, histogram...
  std::map<std::string, std::string> help;
  std::vector<Sample> samples;

  // A family declared with # TYPE.
  bool has_family(std::string_view name) const;
  // The samples of `name` whose labels include `labels`.
  std::vector<const Sample*> find(std::string_view name,
                                  const std::map<std::string, std::string>& labels = {}) const;
  // The one matching sample's value; nullopt when none or several match.
  std::optional<double> value(std::string_view name,
                              const std::map<std::string, std::string>& labels = {}) const;
};

// InvalidArgument naming the line for anything outside the format.
Expected<Exposition> parse_exposition(std::string_view text);

}  // namespace sup::it
