// The metric families a built tcpgate exports: starts it (embedded backend,
// loopback ports, mutual TLS with a revocation list and a token file, so the
// families of TLS and token rotation are there too), reads its /metrics page and stops it. Shared by
// the dashboard and alert rule checks, so a metric renamed in the code fails
// both.
"use strict";

const childProcess = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

// Mutual TLS with a revocation list, and a token file (openssl-made, removed
// at exit), so the gateway exports every family, those of TLS, revocation
// and token rotation too.
function secureFlags() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dashboard-check-"));
  process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
  const made = childProcess.spawnSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt",
    "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=dashboard-check",
    "-keyout", path.join(dir, "key.pem"), "-out", path.join(dir, "cert.pem")], { encoding: "utf8" });
  if (made.status !== 0) throw new Error(`openssl could not make a certificate: ${made.stderr}`);
  fs.writeFileSync(path.join(dir, "token"), "dashboard-check-token\n");
  // The self-signed certificate as the client CA too, with a revocation list
  // it issues (openssl ca), for the revocation list's family.
  fs.writeFileSync(path.join(dir, "index.txt"), "");
  fs.writeFileSync(path.join(dir, "ca.cnf"), `[ca]\ndefault_ca = test_ca\n[test_ca]\ndatabase = ${path.join(dir, "index.txt")}\n` +
    "default_md = sha256\ndefault_crl_days = 1\n");
  const crl = childProcess.spawnSync("openssl", ["ca", "-config", path.join(dir, "ca.cnf"), "-gencrl",
    "-keyfile", path.join(dir, "key.pem"), "-cert", path.join(dir, "cert.pem"), "-out", path.join(dir, "crl.pem")],
    { encoding: "utf8" });
  if (crl.status !== 0) throw new Error(`openssl could not make a revocation list: ${crl.stderr}`);
  return [`--tls_cert=${path.join(dir, "cert.pem")}`, `--tls_key=${path.join(dir, "key.pem")}`,
          `--tls_client_ca=${path.join(dir, "cert.pem")}`, `--tls_client_crl=${path.join(dir, "crl.pem")}`,
          `--auth_token_file=${path.join(dir, "token")}`, `--tls_stage_dir=${dir}`];
}

// Starts tcpgate (embedded backend, loopback ports, secureFlags()), reads
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

module.exports = { exportedFamilies, exportedSeries };
