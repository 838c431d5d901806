// Checks deploy/prometheus/tcpgate-alerts.yaml beyond what promtool does:
// each rule is an alert with a unique Tcpgate... name, a severity of
// critical or warning, a summary and a description; its query names only
// series the built tcpgate exports (read from its /metrics page) and follows
// the query rules (lib/query_checks.js); every family the operations guide
// says to alert on has an alert; every alert is in the guide's "Alerts"
// table. Then runs the rules' unit tests (alerts_test.yaml) with promtool,
// against a copy of the rules without annotations (promtool compares
// annotations whole; `promtool check rules` checks their templates).
// Usage: node check_alerts.js RULES.yaml TCPGATE_BINARY OPERATIONS.md PROMTOOL
"use strict";

const childProcess = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const YAML = require("yaml");
const { exportedFamilies, exportedSeries } = require("./lib/exported_metrics");
const { queryProblems } = require("./lib/query_checks");

// The families docs/operations.md ("Metrics") says to alert on, and the
// files' refusal gauges (the counters count a refusal once).
const MUST_ALERT_ON = [
  "tcpgate_requests_total",
  "tcpgate_request_duration_seconds_bucket",
  "tcpgate_backend_connections",
  "tcpgate_late_response_window_retirements_total",
  "tcpgate_tls_certificate_expiry_timestamp_seconds",
  "tcpgate_tls_files_refused",
  "tcpgate_tls_client_crl_next_update_timestamp_seconds",
  "tcpgate_auth_token_file_refused",
  "process_open_fds",
  "process_resident_memory_bytes",
  "tcpgate_backend_error_lines_total",
];

function runUnitTests(rules, promtool) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "alerts-test-"));
  try {
    const bare = structuredClone(rules);
    for (const group of bare.groups) for (const rule of group.rules) delete rule.annotations;
    fs.writeFileSync(path.join(dir, "tcpgate-alerts.yaml"), YAML.stringify(bare));
    fs.copyFileSync(path.join(__dirname, "alerts_test.yaml"), path.join(dir, "alerts_test.yaml"));
    const run = childProcess.spawnSync(promtool, ["test", "rules", "alerts_test.yaml"], { cwd: dir, encoding: "utf8" });
    return run.status === 0 ? null : `promtool test rules failed:\n${run.stdout}${run.stderr}`;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(args) {
  if (args.length !== 4) {
    console.error("usage: node check_alerts.js RULES.yaml TCPGATE_BINARY OPERATIONS.md PROMTOOL");
    return 2;
  }
  const [rulesFile, binary, guideFile, promtool] = args;
  const problems = [];
  const rules = YAML.parse(fs.readFileSync(rulesFile, "utf8"));
  const guide = fs.readFileSync(guideFile, "utf8");
  const alertsSection = (/\n## Alerts\n([\s\S]*?)(\n## |$)/.exec(guide) || [])[1] || "";
  if (!alertsSection) problems.push(`${guideFile} has no "## Alerts" section`);
  const series = exportedSeries(await exportedFamilies(binary));
  const names = new Set();
  const used = new Set();
  for (const group of rules.groups || []) {
    for (const rule of group.rules || []) {
      const where = `alert ${rule.alert || rule.record}`;
      if (!rule.alert) {
        problems.push(`${where}: not an alert (recording rules belong elsewhere)`);
        continue;
      }
      if (!/^Tcpgate[A-Z]\w+$/.test(rule.alert)) problems.push(`${where}: name it Tcpgate<CamelCase>`);
      if (names.has(rule.alert)) problems.push(`${where}: duplicate name`);
      names.add(rule.alert);
      if (!["critical", "warning"].includes(rule.labels?.severity)) problems.push(`${where}: severity must be critical or warning`);
      if (!rule.annotations?.summary || !rule.annotations?.description) problems.push(`${where}: needs a summary and a description`);
      const checked = queryProblems(rule.expr, series);
      for (const name of checked.used) used.add(name);
      for (const problem of checked.problems) problems.push(`${where}: ${problem}`);
      if (!alertsSection.includes(`\`${rule.alert}\``)) problems.push(`${where}: not in ${guideFile}'s "Alerts" table`);
    }
  }
  for (const name of MUST_ALERT_ON) {
    if (!used.has(name)) problems.push(`no alert uses ${name}, which the operations guide says to alert on`);
  }
  const failedTests = runUnitTests(rules, promtool);
  if (failedTests) problems.push(failedTests);
  for (const p of problems) console.error(`FAIL ${rulesFile}: ${p}`);
  console.log(`check_alerts: ${names.size} alerts, ${used.size} series: ${problems.length === 0 ? "OK" : problems.length + " problems"}`);
  return problems.length === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (error) => {
  console.error(`FAIL: ${error.message}`);
  process.exitCode = 1;
});
