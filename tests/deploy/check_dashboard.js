// Checks deploy/grafana/tcpgate.json: valid JSON, unique panel ids, every
// panel queries something, every metric it queries is one tcpgate exports
// (read from the /metrics page of the built binary, so a metric renamed in
// the code fails here), and the metrics an operator needs have a panel.
// Usage: node check_dashboard.js DASHBOARD.json TCPGATE_BINARY
"use strict";

const childProcess = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

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
};

// TLS and a token file (an openssl-made certificate, removed at exit), so
// the gateway exports every family, those of TLS and token rotation too.
function secureFlags() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dashboard-check-"));
  process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
  const made = childProcess.spawnSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt",
    "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=dashboard-check",
    "-keyout", path.join(dir, "key.pem"), "-out", path.join(dir, "cert.pem")], { encoding: "utf8" });
  if (made.status !== 0) throw new Error(`openssl could not make a certificate: ${made.stderr}`);
  fs.writeFileSync(path.join(dir, "token"), "dashboard-check-token\n");
  return [`--tls_cert=${path.join(dir, "cert.pem")}`, `--tls_key=${path.join(dir, "key.pem")}`,
          `--auth_token_file=${path.join(dir, "token")}`, `--tls_stage_dir=${dir}`];
}

// Starts tcpgate (embedded backend, loopback ports, TLS and a token), reads
// its /metrics page and stops it; resolves with {family name: type} from
// its # TYPE lines.
function exportedFamilies(binary) {
  return new Promise((resolve, reject) => {
    const proc = childProcess.spawn(binary, ["--listen=127.0.0.1:0", "--admin_listen=127.0.0.1:0", ...secureFlags()],
      { stdio: ["ignore", "ignore", "pipe"] });
    let log = "";
    let asked = false;
    const giveUp = setTimeout(() => {
      proc.kill("SIGKILL");
      reject(new Error(`tcpgate did not report its admin port within 20 s: ${log}`));
    }, 20000);
    let exited = false;
    const finish = (error, families) => {
      clearTimeout(giveUp);
      const settle = () => (error ? reject(error) : resolve(families));
      if (exited) return settle();
      // Settles once the gateway has exited, so no process outlives the check.
      proc.removeAllListeners("exit");
      const kill = setTimeout(() => proc.kill("SIGKILL"), 10000);
      proc.on("exit", () => {
        clearTimeout(kill);
        settle();
      });
      proc.kill("SIGTERM");
    };
    proc.on("exit", (code) => {
      exited = true;
      if (!asked) finish(new Error(`tcpgate exited early (${code}): ${log}`));
    });
    proc.stderr.on("data", (chunk) => {
      log += chunk;
      const match = /admin listening on 127\.0\.0\.1:(\d+)/.exec(log);
      if (!match || asked) return;
      asked = true;
      fetch(`http://127.0.0.1:${match[1]}/metrics`)
        .then((response) => response.text())
        .then((page) => {
          const families = {};
          for (const m of page.matchAll(/^# TYPE (\S+) (\S+)$/gm)) families[m[1]] = m[2];
          finish(null, families);
        }, (error) => finish(error));
    });
  });
}

// Every series name a family exports: a histogram's are NAME_bucket,
// NAME_sum and NAME_count.
function exportedSeries(families) {
  const names = new Set();
  for (const [name, type] of Object.entries(families)) {
    if (type === "histogram") for (const s of ["_bucket", "_sum", "_count"]) names.add(name + s);
    else names.add(name);
  }
  return names;
}

async function main(args) {
  if (args.length !== 2) {
    console.error("usage: node check_dashboard.js DASHBOARD.json TCPGATE_BINARY");
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
  for (const name of Object.keys(MUST_SHOW)) {
    const family = MUST_SHOW[name] === "histogram" ? [`${name}_bucket`] : [name];
    if (!family.some((n) => used.has(n))) problems.push(`no panel shows ${name}`);
  }
  for (const p of problems) console.error(`FAIL ${args[0]}: ${p}`);
  console.log(`check_dashboard: ${panels.length} panels, ${used.size} series: ${problems.length === 0 ? "OK" : problems.length + " problems"}`);
  return problems.length === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (error) => {
  console.error(`FAIL: ${error.message}`);
  process.exitCode = 1;
});
