// The main of every test executable. A test case skipped by its decorator
// (`TEST_CASE("..." * doctest::skip(!running_as_root()))`) makes the
// executable exit 77, which ctest reports as skipped (SKIP_RETURN_CODE, set
// by sup_add_test), unless a case failed: a skip never counts as a pass,
// and never hides a failure.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

namespace {

constexpr int kSkippedExitCode = 77;

int decorator_skips = 0;

// Counts the cases skipped by a skip decorator (cases filtered out on the
// command line are reported skipped too; those do not count).
struct SkipCounter : doctest::IReporter {
  explicit SkipCounter(const doctest::ContextOptions&) {}
  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats&) override {}
  void test_case_start(const doctest::TestCaseData&) override {}
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats&) override {}
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData& test_case) override {
    if (test_case.m_skip) ++decorator_skips;
  }
};

REGISTER_LISTENER("skip_counter", 1, SkipCounter);

}  // namespace

int main(int argc, char** argv) {
  doctest::Context context(argc, argv);
  const int failed = context.run();
  if (context.shouldExit() || failed != 0) return failed;
  return decorator_skips > 0 ? kSkippedExitCode : 0;
}
