// The audit log of operator commands: one JSON line per command, appended
// by a thread of its own so the control loop never waits for a disk.
//
// The loop hands a line over (`append`, a short lock, no I/O); the writer
// thread writes whatever has gathered in one write(2) call. A failed write
// (a full disk, a file on a broken mount) keeps the unwritten bytes,
// counts the failure, logs it once, and is retried every `retry_ms` with
// the file reopened, so auditing resumes by itself once space is back.
// While it fails, `status().failing` is true: the control loop turns health
// `degraded` and, unless configured otherwise, refuses commands.
//
//   AuditWriter audit(std::make_unique<FileSink>(state_dir + "/audit.log"), {});
//   audit.append(ledger.record(meta, "restart_child", id, result, now_ms));
//   if (audit.status().failing) ...;
//   audit.flush(std::chrono::seconds(2));   // at shutdown
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace sup::audit {

// Where the bytes go. Called from the writer thread only.
class AuditSink {
 public:
  struct Written {
    std::size_t bytes = 0;  // a prefix of what was asked, all of it on success
    int error = 0;          // errno of the failure, 0 on success
  };
  virtual ~AuditSink() = default;
  virtual Written write(std::string_view bytes) = 0;
  // What the operator should look at ("/var/lib/supervisor/audit.log").
  virtual const std::string& name() const = 0;
};

// Appends to a file created with mode 0600 (audit lines name operators and
// their reasons). After a failure the file is reopened before the next
// write: it may have been rotated away, or its mount repaired.
class FileSink final : public AuditSink {
 public:
  explicit FileSink(std::string path);
  ~FileSink() override;
  FileSink(const FileSink&) = delete;
  FileSink& operator=(const FileSink&) = delete;
  Written write(std::string_view bytes) override;
  const std::string& name() const override { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
  bool reopen_ = true;
};

struct AuditStatus {
  bool failing = false;              // the last write failed; unwritten lines are held
  std::uint64_t write_failures = 0;  // failed write attempts since start
  std::uint64_t dropped_lines = 0;   // lines given up on (held bytes over the limit)
  std::string last_error;            // strerror of the last failure
};

class AuditWriter {
 public:
  struct Options {
    // Unwritten bytes held while the sink fails; beyond it the oldest lines
    // are dropped (and counted).
    std::size_t max_held_bytes = 4u << 20;
    std::chrono::milliseconds retry_after{500};
  };

  AuditWriter(std::unique_ptr<AuditSink> sink, Options options);
  // Writes what is held (one last attempt) and stops the thread.
  ~AuditWriter();
  AuditWriter(const AuditWriter&) = delete;
  AuditWriter& operator=(const AuditWriter&) = delete;

  // One line, without its newline. Never blocks on I/O.
  void append(std::string_view line);
  // Waits until every line appended so far has been written, or one
  // attempt at it failed, or `limit` passed. True when nothing is held.
  bool flush(std::chrono::milliseconds limit);

  bool failing() const { return failing_.load(std::memory_order_relaxed); }
  AuditStatus status() const;
  const std::string& name() const { return sink_->name(); }

 private:
  void run();
  void hold(std::string_view bytes);  // mutex_ held
  void drop_oldest_lines();           // mutex_ held

  std::unique_ptr<AuditSink> sink_;
  Options options_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;       // the writer: lines, or stop
  std::condition_variable attempted_;  // flush(): an attempt ended
  std::string held_;                   // appended, not yet written
  bool held_starts_mid_line_ = false;  // held_ begins with the rest of a half-written line
  bool file_ends_mid_line_ = false;    // that rest was dropped: the next write ends the line
  std::uint64_t attempts_ = 0;         // writes ended, failed or not
  bool writing_ = false;               // a batch is out of held_, being written
  bool retry_now_ = false;             // flush() asks for an attempt without waiting
  bool stopping_ = false;
  AuditStatus status_;
  std::atomic<bool> failing_{false};
  std::thread thread_;
};

}  // namespace sup::audit
