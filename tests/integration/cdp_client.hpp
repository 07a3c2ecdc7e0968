// Headless Chromium driven over the DevTools protocol for the browser test:
// started with --remote-debugging-pipe (commands on its fd 3, answers and
// events on its fd 4, each a JSON message ended by '\0'), one page target
// attached in flat mode, and the few calls the test needs: navigate,
// evaluate an expression, capture a screenshot.
//
//   auto browser = sup::it::Browser::launch(chromium_path, profile_dir);
//   REQUIRE_MESSAGE(browser, browser.error().describe());
//   (*browser)->navigate("http://127.0.0.1:8080/");
//   auto title = (*browser)->evaluate("document.title");   // Expected<Json>
//   (*browser)->screenshot("dashboard.png");
#pragma once

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "subprocess.hpp"
#include "sup/error.hpp"

namespace sup::it {

class Browser {
 public:
  // Starts Chromium headless (no sandbox, no GPU, a profile of its own in
  // `profile_dir`) and attaches to a fresh page.
  static Expected<std::unique_ptr<Browser>> launch(const std::string& chromium,
                                                   const std::string& profile_dir,
                                                   std::chrono::milliseconds timeout);
  ~Browser();  // Browser.close, then the whole process session is killed
  Browser(const Browser&) = delete;
  Browser& operator=(const Browser&) = delete;

  Status navigate(const std::string& url);
  // Runtime.evaluate (promises awaited): the value, or the exception's text.
  Expected<nlohmann::json> evaluate(std::string_view expression);
  // A PNG of the page's viewport written to `path`.
  Status screenshot(const std::string& path);
  // Chromium's stderr, for failure messages.
  std::string log() const;

 private:
  Browser(std::unique_ptr<Subprocess> process, int to_browser, int from_browser,
          std::chrono::milliseconds timeout);
  // Sends a command (to the page's session when `session` is set) and
  // waits for its answer's `result`.
  Expected<nlohmann::json> call(std::string_view method, const nlohmann::json& params,
                                bool session = true);
  Expected<nlohmann::json> read_message(std::chrono::steady_clock::time_point deadline);

  std::unique_ptr<Subprocess> process_;
  int to_browser_;
  int from_browser_;
  std::chrono::milliseconds timeout_;
  std::string session_id_;
  std::string buffer_;
  long next_id_ = 1;
};

}  // namespace sup::it
