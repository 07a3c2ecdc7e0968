#include "config/bounded_json.hpp"

#include <optional>
#include <utility>
#include <vector>

#include "config/bounded_json_stream.hpp"

namespace sup::config {
namespace {

using nlohmann::json;

// nlohmann's SAX interface, building the document like its own DOM parser
// while keeping the stack of open containers, so that the depth is checked
// as each one opens and an error can name where it happened. Returning
// false stops the parse at once.
class PathTrackingBuilder {
 public:
  PathTrackingBuilder(const JsonParseOptions& options, const StreamedArray* streamed)
      : options_(options), streamed_(streamed) {}

  bool null() { return put(json(nullptr)); }
  bool boolean(bool value) { return put(json(value)); }
  bool number_integer(json::number_integer_t value) { return put(json(value)); }
  bool number_unsigned(json::number_unsigned_t value) { return put(json(value)); }
  bool number_float(json::number_float_t value, const json::string_t&) { return put(json(value)); }
  bool string(json::string_t& value) { return put(json(std::move(value))); }
  bool binary(json::binary_t&) { return fail(current_path(), "binary values are not JSON"); }

  bool start_object(std::size_t) { return open(json::object()); }
  bool start_array(std::size_t) { return open(json::array()); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }

  bool key(json::string_t& name) {
    Frame& frame = frames_.back();
    bool duplicate = frame.container->contains(name);
    frame.key = std::move(name);
    frame.has_key = true;
    if (duplicate)
      return fail(current_path(),
                  "duplicate key \"" + frame.key + "\": the object defines it more than once");
    return true;
  }

  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& ex) {
    std::string_view what = ex.what();
    // "[json.exception.parse_error.101] parse error at line 3, column 5: ..."
    // → "invalid JSON at line 3, column 5: ..."; "number overflow parsing
    // '1e999'" (out_of_range.406) has no position: its path says where.
    if (auto at = what.find(" at line "); at != std::string_view::npos)
      return fail(current_path(), "invalid JSON " + std::string(what.substr(at + 1)));
    if (auto bracket = what.find("] "); bracket != std::string_view::npos)
      what.remove_prefix(bracket + 2);
    return fail(current_path(), "invalid JSON: " + std::string(what));
  }

  Expected<json> take() && {
    if (stopped_) return make_error(options_.error_code, "stopped by the streamed array's taker");
    if (error_) return std::move(*error_);
    return std::move(root_);
  }

 private:
  struct Frame {
    json* container;
    std::string key;  // objects: the key whose value is being read
    bool has_key = false;
    bool streamed = false;  // streamed_'s array
  };

  bool open(json container) {
    if (frames_.size() >= options_.max_depth)
      return fail(current_path(),
                  "JSON nested deeper than " + std::to_string(options_.max_depth) + " levels");
    bool streams = streamed_ && frames_.size() == 1 && container.is_array() &&
                   frames_[0].container->is_object() && frames_[0].has_key &&
                   frames_[0].key == streamed_->key;
    json* placed = place(std::move(container));
    frames_.push_back(Frame{placed, {}, false, streams});
    return true;
  }

  bool close() {
    frames_.pop_back();
    if (frames_.empty()) return true;
    frames_.back().has_key = false;
    return hand_over();
  }

  bool put(json value) {
    place(std::move(value));
    if (frames_.empty()) return true;
    frames_.back().has_key = false;
    return hand_over();
  }

  // A value just completed in the streamed array goes to its taker.
  bool hand_over() {
    Frame& frame = frames_.back();
    if (!frame.streamed) return true;
    json& element = frame.container->back();
    if (streamed_->take(frame.container->size() - 1, std::move(element))) {
      element = nullptr;
      return true;
    }
    stopped_ = true;
    return false;
  }

  json* place(json value) {
    if (frames_.empty()) {
      root_ = std::move(value);
      return &root_;
    }
    Frame& frame = frames_.back();
    if (frame.container->is_array()) {
      auto& array = frame.container->get_ref<json::array_t&>();
      array.push_back(std::move(value));
      return &array.back();
    }
    auto& object = frame.container->get_ref<json::object_t&>();
    return &object.emplace(frame.key, std::move(value)).first->second;
  }

  // "nodes[3].deps[0]": for an array, the element being read (the last one
  // when a nested container is open, else the next one). Built only for an
  // error, so parsing costs no path strings.
  std::string current_path() const {
    std::string path;
    for (std::size_t i = 0; i < frames_.size(); ++i) {
      const Frame& frame = frames_[i];
      bool innermost = i + 1 == frames_.size();
      if (frame.container->is_array()) {
        std::size_t index = frame.container->size() - (innermost ? 0 : 1);
        path += "[" + std::to_string(index) + "]";
      } else if (frame.has_key) {
        if (!path.empty()) path += '.';
        path += frame.key;
      }
    }
    return path.empty() ? options_.root_path : path;
  }

  bool fail(std::string path, std::string message) {
    if (!error_) error_ = make_error(options_.error_code, std::move(message), std::move(path));
    return false;
  }

  const JsonParseOptions& options_;
  const StreamedArray* streamed_;  // may be null
  bool stopped_ = false;
  json root_;
  std::vector<Frame> frames_;
  std::optional<Error> error_;
};

Expected<json> parse(std::string_view text, const JsonParseOptions& options,
                     const StreamedArray* streamed) {
  PathTrackingBuilder builder(options, streamed);
  json::sax_parse(text.begin(), text.end(), &builder, nlohmann::json::input_format_t::json,
                  /*strict=*/true, options.allow_comments);
  return std::move(builder).take();
}

}  // namespace

Expected<nlohmann::json> parse_bounded_json(std::string_view text,
                                            const JsonParseOptions& options) {
  return parse(text, options, nullptr);
}

Expected<nlohmann::json> parse_bounded_json(std::string_view text, const JsonParseOptions& options,
                                            const StreamedArray& streamed) {
  return parse(text, options, &streamed);
}

}  // namespace sup::config
