// Checks deploy/grafana/tcpgate.json: valid JSON, unique panel ids, every
// panel queries something, every metric it queries is one tcpgate exports
// (read from the /metrics page of the built binary, so a metric renamed in
// the code fails here), and the metrics an operator needs have a panel.
// With --rules-out FILE it also writes every query as a Prometheus recording
// rule (Grafana's variables replaced by plain values), for `promtool check
// rules` to parse with Prometheus's own PromQL parser.
// Usage: node check_dashboard.js [--rules-out FILE] DASHBOARD.json TCPGATE_BINARY
"use strict";

const fs = require("node:fs");
const { exportedFamilies, exportedSeries } = require("./lib/exported_metrics");
const { queryProblems } = require("./lib/query_checks");

// The metrics the dashboard must show (docs/operations.md), with their type.
const MUST_SHOW = {
  tcpgate_requests_total: "counter",
  tcpgate_request_duration_seconds: "histogram",
  tcpgate_requests_in_flight: "gauge",
  tcpgate_backend_connections: "gauge",
  tcpgate_backend_reconnects_total: "counter",
  tcpgate_late_responses_total: "counter",
  tcpgate_late_response_window_retirements_total: "counter",
  tcpgate_backend_ejections_total: "counter",
  tcpgate_pool_pending: "gauge",
  process_resident_memory_bytes: "gauge",
  process_open_fds: "gauge",
  process_max_fds: "gauge",
  tcpgate_tls_certificate_expiry_timestamp_seconds: "gauge",
  tcpgate_tls_reloads_total: "counter",
  tcpgate_auth_token_reloads_total: "counter",
  tcpgate_tls_files_refused: "gauge",
  tcpgate_auth_token_file_refused: "gauge",
};

// The dashboard's queries as one group of recording rules, its variables
// given values Prometheus accepts.
function recordingRules(queries) {
  const plain = (expr) => expr.replaceAll("$__rate_interval", "5m").replace(/\$\w+/g, ".*");
  const rules = queries.map((expr, i) => `      - record: dashboard_query_${i + 1}\n        expr: ${JSON.stringify(plain(expr))}\n`);
  return `groups:\n  - name: tcpgate-dashboard-queries\n    rules:\n${rules.join("")}`;
}

async function main(argv) {
  let rulesOut = null;
  const args = [...argv];
  if (args[0] === "--rules-out") {
    rulesOut = args[1];
    args.splice(0, 2);
  }
  if (args.length !== 2) {
    console.error("usage: node check_dashboard.js [--rules-out FILE] DASHBOARD.json TCPGATE_BINARY");
    return 2;
  }
  const problems = [];
  let dash;
  try {
    dash = JSON.parse(fs.readFileSync(args[0], "utf8"));
  } catch (e) {
    console.error(`FAIL ${args[0]}: ${e.message}`);
    return 1;
  }
  const families = await exportedFamilies(args[1]);
  for (const [name, type] of Object.entries(MUST_SHOW)) {
    if (families[name] !== type) problems.push(`tcpgate exports no ${type} ${name} (it has: ${families[name] || "none"})`);
  }
  const series = exportedSeries(families);
  const used = new Set();
  const ids = new Set();
  const queries = [];
  const panels = dash.panels || [];
  if (!dash.title || !dash.uid) problems.push("the dashboard needs a title and a uid");
  for (const p of panels) {
    const where = `panel ${p.id} "${p.title}"`;
    if (ids.has(p.id)) problems.push(`${where}: duplicate id`);
    ids.add(p.id);
    if (!p.gridPos) problems.push(`${where}: no gridPos`);
    if (p.type === "row") continue;
    const targets = p.targets || [];
    if (targets.length === 0) problems.push(`${where}: no queries`);
    for (const t of targets) {
      if (!t.expr) problems.push(`${where}: target ${t.refId} has no expr`);
      const checked = queryProblems(t.expr, series);
      for (const name of checked.used) used.add(name);
      for (const problem of checked.problems) problems.push(`${where}: ${problem}`);
      if (t.expr) queries.push(t.expr);
    }
  }
  for (const name of Object.keys(MUST_SHOW)) {
    const family = MUST_SHOW[name] === "histogram" ? [`${name}_bucket`] : [name];
    if (!family.some((n) => used.has(n))) problems.push(`no panel shows ${name}`);
  }
  if (rulesOut) fs.writeFileSync(rulesOut, recordingRules(queries));
  for (const p of problems) console.error(`FAIL ${args[0]}: ${p}`);
  console.log(`check_dashboard: ${panels.length} panels, ${used.size} series: ${problems.length === 0 ? "OK" : problems.length + " problems"}`);
  return problems.length === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (error) => {
  console.error(`FAIL: ${error.message}`);
  process.exitCode = 1;
});
