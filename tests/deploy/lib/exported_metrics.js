// The metric families a built tcpgate exports: starts it (embedded backend,
// loopback ports, mutual TLS with a revocation list and a token file, so the
// families of TLS and token rotation are there too), reads its /metrics
// page and stops it. Shared by the dashboard and alert rule checks, so a
// metric renamed in the code fails both.
"use strict";

const childProcess = require("node:child_process");
const { makeStandInSecrets } = require("./stand_in_secrets");

// Mutual TLS with a revocation list, and a token file, so the gateway
// exports every family, those of TLS, revocation and token rotation too.
function secureFlags() {
  const secrets = makeStandInSecrets("metrics-check");
  return [`--tls_cert=${secrets.cert}`, `--tls_key=${secrets.key}`, `--tls_client_ca=${secrets.ca}`,
          `--tls_client_crl=${secrets.crl}`, `--auth_token_file=${secrets.token}`, `--tls_stage_dir=${secrets.dir}`];
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
