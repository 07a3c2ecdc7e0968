#include "cdp_client.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>

namespace sup::it {
namespace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// RFC 4648 base64 (Page.captureScreenshot's data); nullopt when malformed.
std::optional<std::string> base64_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size() * 3 / 4);
  unsigned bits = 0;
  int count = 0;
  for (char c : text) {
    if (c == '=') break;
    int value = base64_value(c);
    if (value < 0) return std::nullopt;
    bits = (bits << 6) | static_cast<unsigned>(value);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out.push_back(static_cast<char>((bits >> count) & 0xff));
    }
  }
  return out;
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace

Expected<std::unique_ptr<Browser>> Browser::launch(const std::string& chromium,
                                                   const std::string& profile_dir,
                                                   std::chrono::milliseconds timeout) {
  int commands[2];  // we write [1]; Chromium reads fd 3
  int answers[2];   // Chromium writes fd 4; we read [0]
  if (pipe2(commands, O_CLOEXEC) != 0 || pipe2(answers, O_CLOEXEC) != 0)
    return make_error(ErrorCode::SpawnFailed, std::string("pipe2: ") + std::strerror(errno));
  auto process = Subprocess::spawn(
      {.argv = {chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                "--disable-background-networking", "--mute-audio", "--remote-debugging-pipe",
                "--user-data-dir=" + profile_dir, "--window-size=1400,1100", "about:blank"},
       .pass_fds = {{commands[0], 3}, {answers[1], 4}}});
  close(commands[0]);
  close(answers[1]);
  if (!process) {
    close(commands[1]);
    close(answers[0]);
    return process.error();
  }
  std::unique_ptr<Browser> browser(
      new Browser(std::move(*process), commands[1], answers[0], timeout));
  // A page of our own, attached in flat mode (commands carry its sessionId).
  auto target = browser->call("Target.createTarget", {{"url", "about:blank"}}, false);
  if (!target) return target.error();
  auto attached = browser->call("Target.attachToTarget",
                                {{"targetId", (*target)["targetId"]}, {"flatten", true}}, false);
  if (!attached) return attached.error();
  browser->session_id_ = (*attached)["sessionId"].get<std::string>();
  for (const char* domain : {"Page.enable", "Runtime.enable"})
    if (auto enabled = browser->call(domain, Json::object()); !enabled) return enabled.error();
  return browser;
}

Browser::Browser(std::unique_ptr<Subprocess> process, int to_browser, int from_browser,
                 std::chrono::milliseconds timeout)
    : process_(std::move(process)),
      to_browser_(to_browser),
      from_browser_(from_browser),
      timeout_(timeout) {
  // A write to a browser that died must fail, not kill the test.
  std::signal(SIGPIPE, SIG_IGN);
}

Browser::~Browser() {
  (void)call("Browser.close", Json::object(), false);
  process_->wait_exit(std::chrono::seconds(5));
  close(to_browser_);
  close(from_browser_);
}  // ~Subprocess kills what is left of its session

Status Browser::navigate(const std::string& url) {
  auto navigated = call("Page.navigate", {{"url", url}});
  if (!navigated) return navigated.error();
  if (navigated->contains("errorText"))
    return make_error(ErrorCode::Unavailable,
                      "navigating to " + url + ": " + (*navigated)["errorText"].dump());
  return {};
}

Expected<Json> Browser::evaluate(std::string_view expression) {
  auto answer = call("Runtime.evaluate",
                     {{"expression", expression}, {"returnByValue", true}, {"awaitPromise", true}});
  if (!answer) return answer.error();
  if (answer->contains("exceptionDetails"))
    return make_error(ErrorCode::FailedPrecondition,
                      "the page threw: " + (*answer)["exceptionDetails"].dump());
  const Json& result = (*answer)["result"];
  return result.contains("value") ? result["value"] : Json();
}

Status Browser::screenshot(const std::string& path) {
  auto shot = call("Page.captureScreenshot", {{"format", "png"}});
  if (!shot) return shot.error();
  auto png = base64_decode((*shot)["data"].get<std::string>());
  if (!png) return make_error(ErrorCode::DataLoss, "the screenshot's base64 is malformed");
  std::ofstream out(path, std::ios::binary);
  out.write(png->data(), static_cast<std::streamsize>(png->size()));
  if (!out) return make_error(ErrorCode::Internal, "cannot write " + path);
  return {};
}

std::string Browser::log() const {
  return process_->text(Stream::Err);
}

Expected<Json> Browser::call(std::string_view method, const Json& params, bool session) {
  long id = next_id_++;
  Json message = {{"id", id}, {"method", method}, {"params", params}};
  if (session && !session_id_.empty()) message["sessionId"] = session_id_;
  std::string text = message.dump();
  text.push_back('\0');
  if (!write_all(to_browser_, text))
    return make_error(ErrorCode::Disconnected, "chromium closed its DevTools pipe");
  auto deadline = Clock::now() + timeout_;
  while (true) {
    auto answer = read_message(deadline);
    if (!answer) return answer.error();
    if (!answer->contains("id") || (*answer)["id"] != id) continue;  // an event, or late
    if (answer->contains("error"))
      return make_error(ErrorCode::FailedPrecondition,
                        std::string(method) + ": " + (*answer)["error"].dump());
    return (*answer)["result"];
  }
}

Expected<Json> Browser::read_message(Clock::time_point deadline) {
  while (true) {
    std::size_t end = buffer_.find('\0');
    if (end != std::string::npos) {
      Json message = Json::parse(buffer_.substr(0, end), nullptr, false);
      buffer_.erase(0, end + 1);
      if (message.is_discarded())
        return make_error(ErrorCode::DataLoss, "chromium sent a message that is not JSON");
      return message;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return make_error(ErrorCode::Timeout, "chromium did not answer in time");
    pollfd watch{from_browser_, POLLIN, 0};
    int ready = poll(&watch, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    char chunk[64 << 10];
    ssize_t n = read(from_browser_, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return make_error(ErrorCode::Disconnected, "chromium closed its DevTools pipe");
    buffer_.append(chunk, static_cast<std::size_t>(n));
  }
}

}  // namespace sup::it
