#include "audit/audit_writer.hpp"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <sstream>
#include <thread>

using sup::audit::AuditSink;
using sup::audit::AuditWriter;
using sup::audit::FileSink;
using namespace std::chrono_literals;

namespace {

constexpr auto kDeadline = 10s;

template <class Condition>
bool eventually(Condition condition) {
  auto give_up = std::chrono::steady_clock::now() + kDeadline;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > give_up) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

// A sink the test steers: it can fail (ENOSPC, like a full disk), accept
// only a prefix before failing, or hold the writer until released.
class ScriptedSink final : public AuditSink {
 public:
  struct Script {
    std::mutex mutex;
    std::condition_variable released;
    std::string written;
    bool full = false;
    std::size_t room = SIZE_MAX;  // bytes accepted before the next failure
    bool held = false;
    int writes = 0;
  };
  explicit ScriptedSink(std::shared_ptr<Script> script) : script_(std::move(script)) {}
  Written write(std::string_view bytes) override {
    std::unique_lock lock(script_->mutex);
    script_->released.wait(lock, [&] { return !script_->held; });
    ++script_->writes;
    if (script_->full) return {0, ENOSPC};
    std::size_t n = std::min(bytes.size(), script_->room);
    script_->written.append(bytes.substr(0, n));
    if (n < bytes.size()) {
      script_->room = 0;
      return {n, ENOSPC};
    }
    if (script_->room != SIZE_MAX) script_->room -= n;
    return {n, 0};
  }
  const std::string& name() const override { return name_; }

 private:
  std::shared_ptr<Script> script_;
  std::string name_ = "scripted";
};

struct Fixture {
  std::shared_ptr<ScriptedSink::Script> script = std::make_shared<ScriptedSink::Script>();
  AuditWriter writer;
  explicit Fixture(AuditWriter::Options options = {.max_held_bytes = 1 << 20, .retry_after = 5ms})
      : writer(std::make_unique<ScriptedSink>(script), options) {}
  int writes() {
    std::lock_guard lock(script->mutex);
    return script->writes;
  }
  std::string written() {
    std::lock_guard lock(script->mutex);
    return script->written;
  }
  void set(const std::function<void(ScriptedSink::Script&)>& change) {
    {
      std::lock_guard lock(script->mutex);
      change(*script);
    }
    script->released.notify_all();
  }
};

std::string lines(int from, int to) {
  std::string out;
  for (int i = from; i < to; ++i) out += "line " + std::to_string(i) + "\n";
  return out;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

TEST_CASE("lines reach the sink in order, each with its newline") {
  Fixture f;
  for (int i = 0; i < 100; ++i) f.writer.append("line " + std::to_string(i));
  CHECK(f.writer.flush(kDeadline));
  CHECK(f.written() == lines(0, 100));
  CHECK_FALSE(f.writer.failing());
  CHECK(f.writer.status().write_failures == 0);
}

TEST_CASE("append never waits for the sink: lines gather and go in one batch") {
  Fixture f;
  CHECK(f.writer.flush(kDeadline));  // the opening write is done
  f.set([](auto& s) { s.held = true; });
  f.writer.append("line 0");  // taken by the writer, which now waits in the sink
  for (int i = 1; i < 1000; ++i) f.writer.append("line " + std::to_string(i));
  int writes_before = f.writes();
  f.set([](auto& s) { s.held = false; });
  CHECK(f.writer.flush(kDeadline));
  CHECK(f.written() == lines(0, 1000));
  CHECK(f.writes() - writes_before <= 2);  // "line 0", then the 999 gathered meanwhile
}

TEST_CASE("a full disk is counted and reported; the lines are written once there is room") {
  Fixture f;
  CHECK(f.writer.flush(kDeadline));
  f.set([](auto& s) { s.full = true; });
  f.writer.append("line 0");
  f.writer.append("line 1");
  CHECK(eventually([&] { return f.writer.failing(); }));
  CHECK(eventually([&] { return f.writer.status().write_failures >= 2; }));  // retried
  CHECK(f.writer.status().last_error == std::strerror(ENOSPC));
  CHECK_FALSE(f.writer.flush(50ms));
  f.writer.append("line 2");
  f.set([](auto& s) { s.full = false; });
  CHECK(eventually([&] { return !f.writer.failing(); }));
  CHECK(f.writer.flush(kDeadline));
  CHECK(f.written() == lines(0, 3));
  CHECK(f.writer.status().dropped_lines == 0);
}

TEST_CASE("a write cut short continues where it stopped") {
  Fixture f;
  CHECK(f.writer.flush(kDeadline));
  f.set([](auto& s) { s.room = 10; });  // "line 0\nlin"
  f.writer.append("line 0");
  f.writer.append("line 1");
  CHECK(eventually([&] { return f.writer.failing(); }));
  f.set([](auto& s) { s.room = SIZE_MAX; });
  CHECK(f.writer.flush(kDeadline));
  CHECK(f.written() == lines(0, 2));
}

TEST_CASE("held lines are bounded: the oldest are dropped and counted, a cut line is ended") {
  Fixture f({.max_held_bytes = 64, .retry_after = 5ms});
  CHECK(f.writer.flush(kDeadline));
  f.set([](auto& s) { s.room = 3; });  // "lin" of line 0 reaches the file
  f.writer.append("line 0");
  CHECK(eventually([&] { return f.writer.failing(); }));
  f.set([](auto& s) { s.full = true; });
  for (int i = 1; i < 40; ++i) f.writer.append("line " + std::to_string(i));
  CHECK(f.writer.status().dropped_lines > 0);
  f.set([](auto& s) {
    s.full = false;
    s.room = SIZE_MAX;
  });
  CHECK(f.writer.flush(kDeadline));
  std::string text = f.written();
  CHECK(text.starts_with("lin\n"));  // the cut line, ended
  CHECK(text.ends_with(lines(38, 40)));
  CHECK(text.size() <= 3 + 1 + 64);
}

TEST_CASE("file sink: created 0600, a world-readable file narrowed, /dev/full fails with ENOSPC") {
  auto dir =
      std::filesystem::temp_directory_path() / ("audit_writer_test." + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  ::umask(022);
  {
    AuditWriter writer(std::make_unique<FileSink>((dir / "audit.log").string()), {});
    writer.append(R"({"command":"restart_child"})");
    CHECK(writer.flush(kDeadline));
  }
  struct stat info {};
  REQUIRE(::stat((dir / "audit.log").c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0600);
  CHECK(read_file(dir / "audit.log") == "{\"command\":\"restart_child\"}\n");

  std::ofstream(dir / "old.log") << "x\n";
  std::filesystem::permissions(dir / "old.log", std::filesystem::perms(0644));
  FileSink old((dir / "old.log").string());
  CHECK(old.write("y\n").error == 0);
  REQUIRE(::stat((dir / "old.log").c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0640);

  FileSink full("/dev/full");
  auto written = full.write("z\n");
  CHECK(written.error == ENOSPC);
  CHECK(written.bytes == 0);
  std::filesystem::remove_all(dir);
}

TEST_CASE("a log that cannot be opened fails before the first line") {
  AuditWriter writer(std::make_unique<FileSink>("/nonexistent-dir/audit.log"),
                     {.max_held_bytes = 1024, .retry_after = 5ms});
  CHECK(eventually([&] { return writer.failing(); }));
  CHECK(writer.status().last_error == std::strerror(ENOENT));
}
