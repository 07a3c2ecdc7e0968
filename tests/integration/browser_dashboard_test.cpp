// The web dashboard in a real browser (docs/http.md, "Web dashboard"):
// headless Chromium, driven over the DevTools protocol, loads GET / from
// the real daemon running the default config, and the page (not the test)
// must show every child, a restart count rising after `supctl kill` without
// a reload, a runbook action sent through its confirmation with a reason
// (and audited), and the example pipeline submitted from the page reaching
// COMPLETED with its node graph. A screenshot is saved under the build tree.
// Without Chromium the test fails: tools/setup installs it.
#include <doctest/doctest.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "cdp_client.hpp"
#include "serving_daemon.hpp"

using namespace std::chrono_literals;
using sup::it::Browser;
using sup::it::Json;
using sup::it::scaled;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(in, "cannot read " << path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// config/supervisor.json (comments and all) with the test's socket, state
// dir, JSON logs and any free ports.
Json default_config(const sup::it::TempDir& dir) {
  Json config = Json::parse(read_file(std::string(SUP_IT_SOURCE_DIR) + "/config/supervisor.json"),
                            nullptr, true, /*ignore_comments=*/true);
  Json base = sup::it::base_config(dir);
  for (const char* key : {"state_dir", "log", "runtime", "http", "metrics"})
    config[key] = base[key];
  config["dashboard"]["path"] = base["dashboard"]["path"];
  return config;
}

void collect_ids(const Json& children, std::vector<std::string>& out) {
  for (const Json& child : children) {
    out.push_back(child["id"].get<std::string>());
    if (child.contains("children")) collect_ids(child["children"], out);
  }
}

// Polls `expression` in the page until it is neither null nor false; its value.
Json await_page(Browser& browser, const std::string& expression, const std::string& what,
                std::chrono::milliseconds timeout = scaled(60s)) {
  Json last;
  std::string error;
  bool held = sup::it::eventually(
      [&] {
        auto value = browser.evaluate(expression);
        if (!value) {
          error = value.error().describe();
          return false;
        }
        last = *value;
        return !last.is_null() && last != false;
      },
      timeout, 200ms);
  REQUIRE_MESSAGE(held, what << ": the page never showed it; last value " << last.dump() << " "
                             << error << "\nchromium:\n"
                             << browser.log());
  return last;
}

Json evaluate(Browser& browser, const std::string& expression) {
  auto value = browser.evaluate(expression);
  REQUIRE_MESSAGE(value, value.error().describe());
  return *value;
}

// JS: the text of `cell` in the tree's row of `child`, or null.
std::string child_cell(const std::string& child, const std::string& cell) {
  return "(() => { const row = [...document.querySelectorAll('#children tbody tr')].find(r => "
         "r.dataset.child === " +
         Json(child).dump() + "); const cell = row && row.querySelector('." + cell +
         "'); return cell ? cell.textContent : null; })()";
}

}  // namespace

TEST_CASE(
    "the dashboard in headless Chromium: the tree, a live restart, an audited action, a "
    "pipeline to COMPLETED, a screenshot") {
  const std::string chromium = SUP_IT_CHROMIUM;
  REQUIRE_MESSAGE((!chromium.empty() && access(chromium.c_str(), X_OK) == 0),
                  "chromium is not installed (found: \"" << chromium
                                                         << "\"): tools/setup installs the Debian "
                                                            "package `chromium`");
  sup::it::TempDir dir;
  Json config = default_config(dir);
  auto daemon = sup::it::require_serving_daemon(dir, config);
  std::uint16_t port = daemon->http_port();
  REQUIRE_MESSAGE(port != 0, daemon->log_text());

  auto launched = Browser::launch(chromium, dir.file("chromium-profile"), scaled(60s));
  REQUIRE_MESSAGE(launched, launched.error().describe());
  Browser& browser = **launched;
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/";
  sup::Status navigated = browser.navigate(url);
  REQUIRE_MESSAGE(navigated, navigated.error().describe());

  // Every child of the default config, nested ones included.
  std::vector<std::string> ids;
  collect_ids(config["children"], ids);
  REQUIRE(ids.size() >= 8);
  await_page(browser,
             "(() => { const want = " + Json(ids).dump() +
                 "; const have = new Set([...document.querySelectorAll('#children tbody tr')]"
                 ".map(r => r.dataset.child)); return want.every(id => have.has(id)); })()",
             "every child of the default config in the tree");
  await_page(browser, "document.body.dataset.stream === 'open'", "the event stream open");
  await_page(browser, "document.querySelectorAll('#events tbody tr').length > 0",
             "the events held by the daemon replayed into the list");

  // A restart seen live: supctl kills ticker; its count rises in the page,
  // and the kill's events arrive over the stream.
  Json restarts_before = evaluate(browser, "Number(" + child_cell("ticker", "restart_count") + ")");
  Json newest_before = evaluate(browser,
                                "Math.max(0, ...[...document.querySelectorAll('#events tbody tr')]"
                                ".map(r => Number(r.dataset.sequence) || 0))");
  auto killed = daemon->supctl({"kill", "ticker", "--yes"});
  REQUIRE_MESSAGE(killed.code() == 0, killed.describe());
  await_page(browser,
             "Number(" + child_cell("ticker", "restart_count") + ") > " + restarts_before.dump(),
             "ticker's restart count above " + restarts_before.dump());
  await_page(browser,
             "[...document.querySelectorAll('#events tbody tr')].some(r => "
             "Number(r.dataset.sequence) > " +
                 newest_before.dump() + " && r.textContent.includes('ticker'))",
             "an event about ticker after the kill, over the stream");

  // A runbook action behind its confirmation: quarantine flaky with a reason.
  evaluate(browser,
           "[...document.querySelectorAll('#children tbody tr')].find(r => r.dataset.child === "
           "'flaky').querySelector('button[data-command=\"quarantine_child\"]').click(); true");
  await_page(browser, "document.querySelector('#confirm').open", "the confirmation asking why");
  // Without a reason it does not go (the field is required).
  evaluate(browser, "document.querySelector('#confirm-ok').click(); true");
  CHECK(evaluate(browser, "document.querySelector('#confirm').open") == true);
  evaluate(browser,
           "document.querySelector('#confirm-reason').value = 'browser test drill'; "
           "document.querySelector('#confirm-ok').click(); true");
  await_page(browser, child_cell("flaky", "state") + " === 'Quarantined'",
             "flaky quarantined from the page");
  std::string audit =
      sup::it::wait_for_audit(dir.file("state"), {"browser test drill", "quarantine_child"});
  CHECK_MESSAGE(audit.find("browser test drill") != std::string::npos, audit);
  CHECK_MESSAGE(audit.find("quarantine_child") != std::string::npos, audit);

  // The example pipeline, submitted from the page, to COMPLETED.
  Json spec = Json::parse(
      read_file(std::string(SUP_IT_SOURCE_DIR) + "/config/dags/document_pipeline.json"));
  spec["params"]["workdir"] = dir.file("pipeline");
  std::size_t node_count = spec["nodes"].size();
  evaluate(browser,
           "document.querySelector('#submit').open = true; "
           "document.querySelector('#dag').value = " +
               Json(spec.dump(2)).dump() + "; document.querySelector('#submit-dag').click(); true");
  Json execution_id = await_page(browser,
                                 "(() => { const m = document.querySelector('#notice').textContent"
                                 ".match(/^submitted (\\S+)$/); return m ? m[1] : null; })()",
                                 "the submission acknowledged");
  await_page(browser,
             "(() => { const row = [...document.querySelectorAll('#executions tbody tr')].find("
             "r => r.dataset.execution === " +
                 execution_id.dump() +
                 "); return row ? row.querySelector('.state').textContent === 'COMPLETED' : false; "
                 "})()",
             "execution " + execution_id.dump() + " COMPLETED in the list", scaled(120s));
  await_page(browser,
             "document.querySelector('#execution-state').textContent === 'COMPLETED' && "
             "[...document.querySelectorAll('#nodes tbody tr .state')].filter(s => s.textContent "
             "=== 'COMPLETED').length === " +
                 std::to_string(node_count) +
                 " && document.querySelectorAll('#graph g[data-node]').length === " +
                 std::to_string(node_count),
             "every node COMPLETED in the detail and the graph", scaled(60s));

  const std::string shot = std::string(SUP_IT_ARTIFACT_DIR) + "/dashboard.png";
  sup::Status saved = browser.screenshot(shot);
  REQUIRE_MESSAGE(saved, saved.error().describe());
  std::string png = read_file(shot);
  CHECK(png.size() > 10'000);
  CHECK(png.rfind("\x89PNG", 0) == 0);
  MESSAGE("screenshot: " << shot);
}
