// The shipped example DAGs run as written: every node's command, in
// dependency order, through /bin/sh with the engine's environment contract
// (docs/dag.md, "Node environment"), on a machine with only coreutils.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "dag/limits.hpp"
#include "dag/parser.hpp"

namespace {

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Runs `action` with `env` added to this process's environment; the exit status.
int run(const sup::dag::Action& action, const std::map<std::string, std::string>& env) {
  pid_t pid = fork();
  if (pid == 0) {
    for (const auto& [name, value] : env) setenv(name.c_str(), value.c_str(), 1);
    for (const auto& [name, value] : action.env) setenv(name.c_str(), value.c_str(), 1);
    if (action.shell) {
      execl("/bin/sh", "sh", "-c", action.argv[0].c_str(), static_cast<char*>(nullptr));
    } else {
      std::vector<char*> argv;
      for (const auto& arg : action.argv) argv.push_back(const_cast<char*>(arg.c_str()));
      argv.push_back(nullptr);
      execvp(argv[0], argv.data());
    }
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

struct Sandbox {
  std::filesystem::path dir;
  Sandbox() {
    std::string pattern = (std::filesystem::temp_directory_path() / "dag-example-XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    dir = pattern;
  }
  ~Sandbox() { std::filesystem::remove_all(dir); }
};

}  // namespace

TEST_CASE("document_pipeline: the 11 nodes run in order and publish valid results") {
  auto spec = sup::dag::parse_dag(read_file(SUP_SOURCE_DIR "/config/dags/document_pipeline.json"));
  REQUIRE(spec);
  Sandbox sandbox;
  for (auto index : spec->topological_order) {
    const auto& node = spec->nodes[index];
    CAPTURE(node.id);
    std::string output = (sandbox.dir / (node.id + ".out")).string();
    std::map<std::string, std::string> env{
        {std::string(sup::dag::kEnvExecutionId), "e-test"},
        {std::string(sup::dag::kEnvNodeId), node.id},
        {std::string(sup::dag::kEnvAttempt), "1"},
        {std::string(sup::dag::kEnvOutput), output},
        {std::string(sup::dag::kEnvParamPrefix) + "workdir", sandbox.dir.string()}};
    REQUIRE(run(node.run, env) == 0);
    if (std::filesystem::exists(output)) {
      std::string result = read_file(output);
      CHECK(result.size() <= sup::dag::kMaxNodeOutputBytes);
      CHECK_MESSAGE(nlohmann::json::accept(result), result);
    }
  }
  // The last stage found every stage's output and wrote the report.
  CHECK(std::filesystem::file_size(sandbox.dir / "e-test" / "report.txt") > 0);
  CHECK(read_file(sandbox.dir / "e-test" / "causal.txt") == "2 causal statements\n");
}

TEST_CASE("flaky_retry: the flaky node fails its first attempt and passes its second") {
  auto spec = sup::dag::parse_dag(read_file(SUP_SOURCE_DIR "/config/dags/flaky_retry.json"));
  REQUIRE(spec);
  const auto& flaky = spec->nodes[*spec->find("flaky")];
  CHECK(run(flaky.run, {{std::string(sup::dag::kEnvAttempt), "1"}}) == 1);
  CHECK(run(flaky.run, {{std::string(sup::dag::kEnvAttempt), "2"}}) == 0);
  CHECK(flaky.retry.max_attempts >= 2);
}
