// The terminal while the live dashboard owns it, and the signals it reacts to.
//
// TerminalSession switches to the alternate screen, hides the cursor, turns
// autowrap off and reads keys unbuffered without echo; its destructor puts
// all of it back, so quitting with q, Ctrl-C, SIGTERM or SIGHUP leaves the
// shell as it was. SignalPipe turns those signals (and SIGWINCH) into bytes
// on a pipe the dashboard's poll(2) loop watches, so no work happens in a
// signal handler.
//
//   SignalPipe signals;                      // before the session: Ctrl-C is caught
//   auto terminal = TerminalSession::open(STDIN_FILENO, STDOUT_FILENO);
//   if (!terminal) die(terminal.error().message);
//   (*terminal)->write(encode_frame(frame, (*terminal)->size().rows));
#pragma once

#include <signal.h>
#include <termios.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "process/unique_fd.hpp"
#include "sup/error.hpp"
#include "supctl/screen_frame.hpp"

namespace sup::cli {

// The size of the terminal on `fd`; nullopt when it is not a terminal.
std::optional<ScreenSize> terminal_size(int fd);

class TerminalSession {
 public:
  // Fails when `out_fd` is not a terminal. `in_fd` is read for keys when it
  // is a terminal.
  static Expected<std::unique_ptr<TerminalSession>> open(int in_fd, int out_fd);
  ~TerminalSession();
  TerminalSession(const TerminalSession&) = delete;
  TerminalSession& operator=(const TerminalSession&) = delete;

  ScreenSize size() const;
  // -1 when keys cannot be read (stdin is not a terminal).
  int key_fd() const { return saved_input_ ? in_fd_ : -1; }
  // Pressed keys, without waiting; empty when none.
  std::string read_keys();
  Status write(std::string_view bytes);

 private:
  TerminalSession(int in_fd, int out_fd) : in_fd_(in_fd), out_fd_(out_fd) {}

  int in_fd_;
  int out_fd_;
  std::optional<termios> saved_input_;
};

class SignalPipe {
 public:
  // Catches SIGINT, SIGTERM, SIGHUP and SIGWINCH until destroyed. One at a
  // time per process.
  static Expected<std::unique_ptr<SignalPipe>> install();
  ~SignalPipe();
  SignalPipe(const SignalPipe&) = delete;
  SignalPipe& operator=(const SignalPipe&) = delete;

  int fd() const { return read_end_.get(); }
  // The signals caught since the last call, in order.
  std::vector<int> take();

 private:
  SignalPipe(process::UniqueFd read_end, process::UniqueFd write_end);

  process::UniqueFd read_end_;
  process::UniqueFd write_end_;
  std::vector<std::pair<int, struct sigaction>> previous_;
};

}  // namespace sup::cli
