// Stand-ins for the files a Secret mounts for tcpgate, made with openssl in
// a temporary directory removed at exit: a self-signed certificate and its
// key (the certificate doubles as the client CA bundle), a revocation list
// that certificate issues (openssl ca), and a bearer token. For checks that
// start the real binary with TLS, mutual TLS, revocation and a token on.
"use strict";

const childProcess = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

function openssl(args, what) {
  const run = childProcess.spawnSync("openssl", args, { encoding: "utf8" });
  if (run.status !== 0) throw new Error(`openssl could not make ${what}: ${run.stderr}`);
}

// {dir, cert, key, ca, crl, token}: paths of the files, in `dir`.
function makeStandInSecrets(name) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${name}-`));
  process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
  const file = (f) => path.join(dir, f);
  openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
    "-subj", `/CN=${name}`, "-keyout", file("key.pem"), "-out", file("cert.pem")], "a certificate");
  fs.writeFileSync(file("index.txt"), "");
  fs.writeFileSync(file("ca.cnf"), `[ca]\ndefault_ca = stand_in\n[stand_in]\ndatabase = ${file("index.txt")}\n` +
    "default_md = sha256\ndefault_crl_days = 1\n");
  openssl(["ca", "-config", file("ca.cnf"), "-gencrl", "-keyfile", file("key.pem"), "-cert", file("cert.pem"),
    "-out", file("crl.pem")], "a revocation list");
  fs.writeFileSync(file("token"), `${name}-token\n`);
  return { dir, cert: file("cert.pem"), key: file("key.pem"), ca: file("cert.pem"), crl: file("crl.pem"),
           token: file("token") };
}

module.exports = { makeStandInSecrets };
