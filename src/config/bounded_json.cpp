#include "config/bounded_json.hpp"

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config/json_fields.hpp"

namespace sup::config {
namespace {

// Thrown from the parser callback to stop at the first refusal; the
// message is kept in the Tracker.
struct StopParsing {};

// Follows the parser's position, so errors name the element by path.
class Tracker {
 public:
  explicit Tracker(std::size_t max_depth) : max_depth_(max_depth) {}

  void on_event(int depth, nlohmann::json::parse_event_t event, const nlohmann::json& parsed) {
    using Event = nlohmann::json::parse_event_t;
    switch (event) {
      case Event::object_start:
      case Event::array_start: {
        std::string path = element_path();
        // `depth` counts the containers around this one.
        if (static_cast<std::size_t>(depth) + 1 > max_depth_)
          stop(path, "JSON nested deeper than " + std::to_string(max_depth_) + " levels");
        frames_.push_back({event == Event::array_start, std::move(path), {}, {}, 0});
        break;
      }
      case Event::object_end:
      case Event::array_end:
        frames_.pop_back();
        break;
      case Event::key: {
        Frame& top = frames_.back();
        top.key = parsed.get<std::string>();
        if (!top.keys.insert(top.key).second)
          stop(join_path(top.path, top.key), "duplicate key: the object defines it more than once");
        break;
      }
      case Event::value:
        element_path();
        break;
    }
  }

  // The path of the value being read now, without moving on.
  std::string current_path() const {
    if (frames_.empty()) return {};
    const Frame& parent = frames_.back();
    if (parent.is_array) return index_path(parent.path, parent.next_index);
    return join_path(parent.path, parent.key);
  }

  const std::optional<Error>& refusal() const { return refusal_; }

 private:
  struct Frame {
    bool is_array;
    std::string path;
    std::string key;  // the current key (objects)
    std::set<std::string> keys;
    std::size_t next_index;  // the next element's index (arrays)
  };

  [[noreturn]] void stop(std::string path, std::string message) {
    refusal_ = make_error(ErrorCode::InvalidArgument, std::move(message), std::move(path));
    throw StopParsing{};
  }

  // The path of the element that starts now, advancing array positions.
  std::string element_path() {
    if (frames_.empty()) return {};
    Frame& parent = frames_.back();
    if (parent.is_array) return index_path(parent.path, parent.next_index++);
    return join_path(parent.path, parent.key);
  }

  std::size_t max_depth_;
  std::vector<Frame> frames_;
  std::optional<Error> refusal_;
};

// "[json.exception.parse_error.101] parse error at line 3, column 5: ..."
// → "parse error at line 3, column 5: ...".
std::string without_exception_id(std::string_view what) {
  auto end_of_id = what.find("] ");
  return std::string(end_of_id == std::string_view::npos ? what : what.substr(end_of_id + 2));
}

}  // namespace

Expected<nlohmann::json> parse_bounded_json(std::string_view text, JsonParseOptions options) {
  Tracker tracker(options.max_depth);
  try {
    return nlohmann::json::parse(
        text.begin(), text.end(),
        [&tracker](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
          tracker.on_event(depth, event, parsed);
          return true;
        },
        /*allow_exceptions=*/true, options.allow_comments);
  } catch (const StopParsing&) {
    return *tracker.refusal();
  } catch (const nlohmann::json::out_of_range& e) {
    // A number beyond a double's range: say where it is.
    return make_error(ErrorCode::InvalidArgument, without_exception_id(e.what()),
                      tracker.current_path());
  } catch (const nlohmann::json::exception& e) {
    // "... parse error at line 3, column 5: ..." → "invalid JSON at line 3, column 5: ..."
    std::string_view what = e.what();
    auto at = what.find(" at line ");
    return make_error(ErrorCode::InvalidArgument,
                      at == std::string_view::npos
                          ? "invalid JSON: " + without_exception_id(what)
                          : "invalid JSON " + std::string(what.substr(at + 1)));
  }
}

}  // namespace sup::config
