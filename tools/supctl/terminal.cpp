#include "supctl/terminal.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

namespace sup::cli {
namespace {

// Alternate screen, cursor hidden, autowrap off, screen cleared; and back.
constexpr std::string_view kEnter = "\x1b[?1049h\x1b[?25l\x1b[?7l\x1b[H\x1b[2J";
constexpr std::string_view kLeave = "\x1b[0m\x1b[?7h\x1b[?25h\x1b[?1049l";
constexpr int kCaughtSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGWINCH};

std::atomic<int> signal_write_fd{-1};

void forward_signal(int signal_number) {
  const int saved_errno = errno;
  const int fd = signal_write_fd.load(std::memory_order_relaxed);
  if (fd >= 0) {
    const auto byte = static_cast<unsigned char>(signal_number);
    // A full pipe already holds a wake-up; losing this byte loses nothing.
    [[maybe_unused]] ssize_t ignored = ::write(fd, &byte, 1);
  }
  errno = saved_errno;
}

Status write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t written = ::write(fd, bytes.data(), bytes.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      return make_error(ErrorCode::IoError,
                        std::string("writing to the terminal failed: ") + std::strerror(errno));
    }
    bytes.remove_prefix(static_cast<std::size_t>(written));
  }
  return {};
}

}  // namespace

std::optional<ScreenSize> terminal_size(int fd) {
  winsize size{};
  if (::ioctl(fd, TIOCGWINSZ, &size) != 0 || size.ws_col == 0 || size.ws_row == 0)
    return std::nullopt;
  return ScreenSize{size.ws_col, size.ws_row};
}

Expected<std::unique_ptr<TerminalSession>> TerminalSession::open(int in_fd, int out_fd) {
  if (!::isatty(out_fd))
    return make_error(ErrorCode::Unavailable,
                      "the live dashboard needs a terminal (stdout is not one); "
                      "`supctl dashboard --once` prints a single frame");
  std::unique_ptr<TerminalSession> session(new TerminalSession(in_fd, out_fd));
  termios input{};
  if (::isatty(in_fd) && ::tcgetattr(in_fd, &input) == 0) {
    session->saved_input_ = input;
    // Keys arrive one by one and are not echoed; ISIG stays, so Ctrl-C is
    // a SIGINT the SignalPipe catches.
    input.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO);
    input.c_cc[VMIN] = 0;
    input.c_cc[VTIME] = 0;
    ::tcsetattr(in_fd, TCSANOW, &input);
  }
  if (auto entered = write_all(out_fd, kEnter); !entered) return entered.error();
  return session;
}

TerminalSession::~TerminalSession() {
  [[maybe_unused]] Status left = write_all(out_fd_, kLeave);
  if (saved_input_) ::tcsetattr(in_fd_, TCSANOW, &*saved_input_);
}

ScreenSize TerminalSession::size() const {
  return terminal_size(out_fd_).value_or(ScreenSize{});
}

std::string TerminalSession::read_keys() {
  std::string keys;
  if (!saved_input_) return keys;
  char buffer[64];
  for (;;) {
    const ssize_t got = ::read(in_fd_, buffer, sizeof buffer);
    if (got > 0) {
      keys.append(buffer, static_cast<std::size_t>(got));
      if (static_cast<std::size_t>(got) < sizeof buffer) return keys;
      continue;
    }
    if (got < 0 && errno == EINTR) continue;
    return keys;
  }
}

Status TerminalSession::write(std::string_view bytes) {
  return write_all(out_fd_, bytes);
}

Expected<std::unique_ptr<SignalPipe>> SignalPipe::install() {
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC | O_NONBLOCK) != 0)
    return make_error(ErrorCode::IoError, std::string("pipe2: ") + std::strerror(errno));
  std::unique_ptr<SignalPipe> pipe(
      new SignalPipe(process::UniqueFd(ends[0]), process::UniqueFd(ends[1])));
  int expected = -1;
  if (!signal_write_fd.compare_exchange_strong(expected, pipe->write_end_.get()))
    return make_error(ErrorCode::Unavailable, "signals are already routed to another SignalPipe");
  for (int signal_number : kCaughtSignals) {
    struct sigaction action {};
    action.sa_handler = forward_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    struct sigaction previous {};
    ::sigaction(signal_number, &action, &previous);
    pipe->previous_.emplace_back(signal_number, previous);
  }
  return pipe;
}

SignalPipe::SignalPipe(process::UniqueFd read_end, process::UniqueFd write_end)
    : read_end_(std::move(read_end)), write_end_(std::move(write_end)) {}

SignalPipe::~SignalPipe() {
  for (const auto& [signal_number, previous] : previous_)
    ::sigaction(signal_number, &previous, nullptr);
  if (!previous_.empty()) signal_write_fd.store(-1);
}

std::vector<int> SignalPipe::take() {
  std::vector<int> signals;
  unsigned char buffer[32];
  for (;;) {
    const ssize_t got = ::read(read_end_.get(), buffer, sizeof buffer);
    if (got <= 0) {
      if (got < 0 && errno == EINTR) continue;
      return signals;
    }
    signals.insert(signals.end(), buffer, buffer + got);
  }
}

}  // namespace sup::cli
