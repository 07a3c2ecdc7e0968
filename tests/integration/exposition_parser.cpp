#include "exposition_parser.hpp"

#include <cmath>
#include <cstdlib>

namespace sup::it {
namespace {

bool name_char(char c, bool first) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
         (!first && c >= '0' && c <= '9');
}

}  // namespace

bool Exposition::has_family(std::string_view name) const {
  return types.count(std::string(name)) != 0;
}

std::vector<const Sample*> Exposition::find(
    std::string_view name, const std::map<std::string, std::string>& labels) const {
  std::vector<const Sample*> out;
  for (const Sample& sample : samples) {
    if (sample.name != name) continue;
    bool match = true;
    for (const auto& [key, value] : labels) {
      auto it = sample.labels.find(key);
      match = match && it != sample.labels.end() && it->second == value;
    }
    if (match) out.push_back(&sample);
  }
  return out;
}

std::optional<double> Exposition::value(std::string_view name,
                                        const std::map<std::string, std::string>& labels) const {
  auto found = find(name, labels);
  if (found.size() != 1) return std::nullopt;
  return found.front()->value;
}

Expected<Exposition> parse_exposition(std::string_view text) {
  Exposition out;
  std::size_t line_number = 0;
  while (!text.empty()) {
    std::size_t newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text = newline == std::string_view::npos ? std::string_view{} : text.substr(newline + 1);
    ++line_number;
    auto bad = [&](const std::string& why) {
      return make_error(ErrorCode::InvalidArgument, "line " + std::to_string(line_number) + ": " +
                                                        why + ": " + std::string(line));
    };
    if (line.empty()) continue;
    if (line.front() == '#') {
      for (std::string_view kind : {"# TYPE ", "# HELP "}) {
        if (line.substr(0, kind.size()) != kind) continue;
        std::string_view rest = line.substr(kind.size());
        std::size_t space = rest.find(' ');
        if (space == std::string_view::npos) return bad("no value after the name");
        std::string name(rest.substr(0, space));
        std::string value(rest.substr(space + 1));
        if (kind == "# TYPE ") {
          if (value != "counter" && value != "gauge" && value != "histogram" &&
              value != "summary" && value != "untyped")
            return bad("unknown type");
          out.types[name] = value;
        } else {
          out.help[name] = value;
        }
      }
      continue;
    }
    Sample sample;
    std::size_t i = 0;
    while (i < line.size() && name_char(line[i], i == 0)) ++i;
    if (i == 0) return bad("no metric name");
    sample.name = std::string(line.substr(0, i));
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        std::size_t start = i;
        while (i < line.size() && name_char(line[i], i == start)) ++i;
        std::string key(line.substr(start, i - start));
        if (key.empty() || i + 1 >= line.size() || line[i] != '=' || line[i + 1] != '"')
          return bad("bad label");
        i += 2;
        std::string value;
        while (i < line.size() && line[i] != '"') {
          if (line[i] == '\\' && i + 1 < line.size()) {
            char escaped = line[++i];
            value.push_back(escaped == 'n' ? '\n' : escaped);
          } else {
            value.push_back(line[i]);
          }
          ++i;
        }
        if (i >= line.size()) return bad("unterminated label value");
        ++i;  // the closing quote
        sample.labels[key] = value;
        if (i < line.size() && line[i] == ',') ++i;
      }
      if (i >= line.size()) return bad("unterminated labels");
      ++i;  // '}'
    }
    if (i >= line.size() || line[i] != ' ') return bad("no value");
    std::string value(line.substr(i + 1));
    std::size_t space = value.find(' ');  // an optional timestamp follows
    if (space != std::string::npos) value.resize(space);
    if (value == "+Inf") {
      sample.value = INFINITY;
    } else if (value == "-Inf") {
      sample.value = -INFINITY;
    } else if (value == "NaN") {
      sample.value = NAN;
    } else {
      char* end = nullptr;
      sample.value = std::strtod(value.c_str(), &end);
      if (end == value.c_str() || *end != '\0') return bad("bad value");
    }
    out.samples.push_back(std::move(sample));
  }
  return out;
}

}  // namespace sup::it
