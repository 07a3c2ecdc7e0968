#include "daemon/panic_message.hpp"

#include <csignal>

#include "daemon/utc_timestamp.hpp"

namespace sup::daemon {
namespace {

// Appends into a fixed buffer, dropping what does not fit, always keeping
// room for the closing (the JSON object's end and the newline).
class FixedLine {
 public:
  FixedLine(char* out, std::size_t capacity, std::string_view closing)
      : out_(out),
        limit_(capacity > closing.size() ? capacity - closing.size() : 0),
        closing_(capacity > closing.size() ? closing : std::string_view{}) {}

  void append(std::string_view text) {
    for (char c : text) put(c);
  }
  void append_decimal(long long value) {
    char digits[24];
    int count = 0;
    unsigned long long magnitude = value < 0 ? 0ULL - static_cast<unsigned long long>(value)
                                             : static_cast<unsigned long long>(value);
    do {
      digits[count++] = static_cast<char>('0' + magnitude % 10);
      magnitude /= 10;
    } while (magnitude != 0);
    if (value < 0) put('-');
    while (count > 0) put(digits[--count]);
  }
  void append_hex(std::uintptr_t value) {
    static constexpr char kHex[] = "0123456789abcdef";
    char digits[2 * sizeof(value)];
    int count = 0;
    do {
      digits[count++] = kHex[value & 0xf];
      value >>= 4;
    } while (value != 0);
    append("0x");
    while (count > 0) put(digits[--count]);
  }
  // The contents of a JSON string (without the quotes). An escape that
  // does not fit whole is dropped whole, so a truncated line stays JSON.
  void append_json_escaped(std::string_view text) {
    static constexpr char kHex[] = "0123456789abcdef";
    for (unsigned char c : text) {
      if (c == '"' || c == '\\') {
        char escape[] = {'\\', static_cast<char>(c)};
        append_whole({escape, sizeof escape});
      } else if (c < 0x20) {
        char escape[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xf]};
        append_whole({escape, sizeof escape});
      } else {
        put(static_cast<char>(c));
      }
    }
  }
  std::size_t finish() {
    for (char c : closing_) out_[size_++] = c;
    return size_;
  }

 private:
  // Once something did not fit, nothing more is appended: a line is cut,
  // never missing a piece in the middle.
  void put(char c) {
    if (size_ < limit_ && !full_)
      out_[size_++] = c;
    else
      full_ = true;
  }
  void append_whole(std::string_view piece) {
    if (size_ + piece.size() > limit_) full_ = true;
    append(piece);
  }

  char* out_;
  std::size_t limit_;
  std::string_view closing_;
  std::size_t size_ = 0;
  bool full_ = false;
};

FixedLine make_line(char* out, std::size_t capacity, PanicStyle style) {
  return FixedLine(out, capacity, style == PanicStyle::Json ? "\"}\n" : "\n");
}

// The record's opening; the caller appends the message, then finish().
void open_record(FixedLine& line, PanicStyle style, std::int64_t unix_nanos) {
  char timestamp[kTimestampLength];
  format_utc_timestamp(unix_nanos, timestamp);
  std::string_view ts(timestamp, kTimestampLength);
  switch (style) {
    case PanicStyle::Text:
      line.append(ts);
      line.append(" CRITICAL ");
      break;
    case PanicStyle::Json:
      line.append(R"({"ts":")");
      line.append(ts);
      line.append(R"(","level":"critical","msg":")");
      break;
    case PanicStyle::Journal:
      line.append("<2>");
      break;
  }
}

void append_message_text(FixedLine& line, PanicStyle style, std::string_view text) {
  if (style == PanicStyle::Json)
    line.append_json_escaped(text);
  else
    line.append(text);
}

}  // namespace

std::string_view signal_name(int signo) {
  switch (signo) {
    case SIGSEGV:
      return "SIGSEGV";
    case SIGBUS:
      return "SIGBUS";
    case SIGFPE:
      return "SIGFPE";
    case SIGILL:
      return "SIGILL";
    case SIGABRT:
      return "SIGABRT";
    default:
      return "signal";
  }
}

std::size_t format_signal_panic(char* out, std::size_t capacity, PanicStyle style, int signo,
                                int code, const void* fault_address, long sender_pid,
                                std::int64_t unix_nanos) {
  FixedLine line = make_line(out, capacity, style);
  open_record(line, style, unix_nanos);
  line.append("Panic: fatal signal ");
  line.append(signal_name(signo));
  if (signal_name(signo) == "signal") {
    line.append(" ");
    line.append_decimal(signo);
  }
  line.append(" (code ");
  line.append_decimal(code);
  if (code <= 0) {  // SI_USER, SI_QUEUE, SI_TKILL...: sent, not a fault
    line.append(", sent by pid ");
    line.append_decimal(sender_pid);
  } else {
    line.append(", addr ");
    line.append_hex(reinterpret_cast<std::uintptr_t>(fault_address));
  }
  line.append(")");
  return line.finish();
}

std::size_t format_terminate_panic(char* out, std::size_t capacity, PanicStyle style,
                                   std::string_view cause, std::int64_t unix_nanos) {
  FixedLine line = make_line(out, capacity, style);
  open_record(line, style, unix_nanos);
  line.append("Panic: std::terminate: ");
  append_message_text(line, style, cause);
  return line.finish();
}

}  // namespace sup::daemon
