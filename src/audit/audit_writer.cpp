#include "audit/audit_writer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "sup/log.hpp"

namespace sup::audit {

// ---- FileSink ----------------------------------------------------------------

FileSink::FileSink(std::string path) : path_(std::move(path)) {}

FileSink::~FileSink() {
  if (fd_ >= 0) ::close(fd_);
}

AuditSink::Written FileSink::write(std::string_view bytes) {
  if (reopen_) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ < 0) return {0, errno};
    // A file left by an older version may be world-readable: narrow it.
    struct stat info {};
    if (::fstat(fd_, &info) == 0 && S_ISREG(info.st_mode) && (info.st_mode & 0137) != 0) {
      (void)::fchmod(fd_, info.st_mode & 0640);
    }
    reopen_ = false;
  }
  std::size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int error = n < 0 ? errno : EIO;
      reopen_ = true;
      return {done, error};
    }
    done += static_cast<std::size_t>(n);
  }
  return {done, 0};
}

// ---- AuditWriter -------------------------------------------------------------

AuditWriter::AuditWriter(std::unique_ptr<AuditSink> sink, Options options)
    : sink_(std::move(sink)), options_(options), thread_([this] { run(); }) {}

AuditWriter::~AuditWriter() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void AuditWriter::append(std::string_view line) {
  {
    std::lock_guard lock(mutex_);
    held_.append(line);
    held_.push_back('\n');
    if (held_.size() > options_.max_held_bytes) drop_oldest_lines();
  }
  wake_.notify_one();
}

void AuditWriter::drop_oldest_lines() {
  while (held_.size() > options_.max_held_bytes && !held_.empty()) {
    std::size_t end = held_.find('\n');
    held_.erase(0, end == std::string::npos ? held_.size() : end + 1);
    ++status_.dropped_lines;
    // The file holds the start of a line whose end is now gone: the next
    // write ends it first, so the lines after it stay lines of their own.
    if (std::exchange(held_starts_mid_line_, false)) file_ends_mid_line_ = true;
  }
}

bool AuditWriter::flush(std::chrono::milliseconds limit) {
  std::unique_lock lock(mutex_);
  const std::uint64_t after = attempts_;
  retry_now_ = true;
  wake_.notify_one();
  attempted_.wait_for(lock, limit, [&] {
    return (held_.empty() && !writing_) || (attempts_ > after && status_.failing);
  });
  return held_.empty() && !writing_;
}

AuditStatus AuditWriter::status() const {
  std::lock_guard lock(mutex_);
  return status_;
}

void AuditWriter::run() {
  std::unique_lock lock(mutex_);
  // A first, empty write opens the file: a log that cannot even be opened
  // shows as failing before the first command.
  bool probe = true;
  while (true) {
    if (!probe) {
      if (status_.failing) {
        wake_.wait_for(lock, options_.retry_after, [&] { return stopping_ || retry_now_; });
      } else {
        wake_.wait(lock, [&] { return stopping_ || retry_now_ || !held_.empty(); });
      }
      retry_now_ = false;
      if (held_.empty() && !status_.failing) {
        attempted_.notify_all();
        if (stopping_) return;
        continue;
      }
    }
    probe = false;
    std::string batch = std::exchange(held_, {});
    const bool batch_starts_mid_line = std::exchange(held_starts_mid_line_, false);
    const bool ends_cut_line = std::exchange(file_ends_mid_line_, false);
    if (ends_cut_line) batch.insert(0, "\n");
    writing_ = true;
    lock.unlock();
    AuditSink::Written written = sink_->write(batch);
    lock.lock();
    writing_ = false;
    ++attempts_;
    if (written.error != 0) {
      if (written.bytes == 0 && ends_cut_line) {
        batch.erase(0, 1);  // still owed: not a line of its own
        file_ends_mid_line_ = true;
        held_starts_mid_line_ = batch_starts_mid_line;
      } else {
        held_starts_mid_line_ =
            written.bytes > 0 ? batch[written.bytes - 1] != '\n' : batch_starts_mid_line;
        batch.erase(0, written.bytes);
      }
      held_.insert(0, batch);
      if (held_.size() > options_.max_held_bytes) drop_oldest_lines();
      ++status_.write_failures;
      status_.last_error = std::strerror(written.error);
      if (!status_.failing) {
        status_.failing = true;
        failing_.store(true, std::memory_order_relaxed);
        log(LogLevel::Error, "cannot write the audit log; retrying, commands may be refused",
            {{"PATH", sink_->name()}, {"ERROR", status_.last_error}});
      }
    } else if (status_.failing) {
      status_.failing = false;
      failing_.store(false, std::memory_order_relaxed);
      log(LogLevel::Info, "the audit log is written again",
          {{"PATH", sink_->name()},
           {"WRITE_FAILURES", std::to_string(status_.write_failures)},
           {"DROPPED_LINES", std::to_string(status_.dropped_lines)}});
    }
    attempted_.notify_all();
    if (stopping_ && (held_.empty() || status_.failing)) return;
  }
}

}  // namespace sup::audit
