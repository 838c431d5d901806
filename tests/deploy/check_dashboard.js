// Checks deploy/grafana/tcpgate.json: valid JSON, unique panel ids, every
// panel queries something, and every metric it queries is one tcpgate
// exports (the list below, as in docs/operations.md).
// Usage: node check_dashboard.js DASHBOARD.json
"use strict";

const fs = require("node:fs");

// name -> type; a histogram also exports NAME_bucket, NAME_sum, NAME_count.
const METRICS = {
  tcpgate_requests_total: "counter",
  tcpgate_request_duration_seconds: "histogram",
  tcpgate_requests_in_flight: "gauge",
  tcpgate_backend_connections: "gauge",
  tcpgate_backend_reconnects_total: "counter",
  tcpgate_late_responses_total: "counter",
  tcpgate_backend_ejections_total: "counter",
  tcpgate_pool_pending: "gauge",
  process_resident_memory_bytes: "gauge",
  process_open_fds: "gauge",
  process_max_fds: "gauge",
};

function exportedSeries() {
  const names = new Set();
  for (const [name, type] of Object.entries(METRICS)) {
    if (type === "histogram") for (const s of ["_bucket", "_sum", "_count"]) names.add(name + s);
    else names.add(name);
  }
  return names;
}

function main(args) {
  if (args.length !== 1) {
    console.error("usage: node check_dashboard.js DASHBOARD.json");
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
  const series = exportedSeries();
  const used = new Set();
  const ids = new Set();
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
      for (const m of String(t.expr).matchAll(/\b(?:tcpgate|process)_\w+/g)) {
        used.add(m[0]);
        if (!series.has(m[0])) problems.push(`${where}: queries ${m[0]}, which tcpgate does not export`);
      }
      // process_* comes from every Prometheus client (Prometheus itself,
      // exporters, sidecars): keep only the gateway's own targets.
      if (/\bprocess_\w+/.test(t.expr) && !/\band on \(instance\) tcpgate_\w+/.test(t.expr)) {
        problems.push(`${where}: queries process_* without "and on (instance) tcpgate_..." (every exporter has them)`);
      }
      if (/\brate\((?!\w+_total\b|\w+_bucket\b|\w+_sum\b|\w+_count\b)/.test(t.expr)) problems.push(`${where}: rate() over something that is not a counter: ${t.expr}`);
    }
  }
  for (const name of Object.keys(METRICS)) {
    const family = METRICS[name] === "histogram" ? [`${name}_bucket`] : [name];
    if (!family.some((n) => used.has(n))) problems.push(`no panel shows ${name}`);
  }
  for (const p of problems) console.error(`FAIL ${args[0]}: ${p}`);
  console.log(`check_dashboard: ${panels.length} panels, ${used.size} series: ${problems.length === 0 ? "OK" : problems.length + " problems"}`);
  return problems.length === 0 ? 0 : 1;
}

process.exitCode = main(process.argv.slice(2));
