// What a tcpgate binary accepts, read from its own `--helpfull`: the flags
// (name, default, and the file that defines it) and whether it reads
// TCPGATE_<FLAG> environment variables.
"use strict";

const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

// `--helpfull` prints sections "  Flags from FILE:" with entries
// "    --name (description); default: value;" wrapped at 80 columns. Exits 1.
function parseHelpfull(text) {
  const flags = new Map();
  let section = "";
  let entry = null;
  const finish = () => {
    if (!entry) return;
    const flat = entry.text.replace(/\s+/g, " ").trim();
    const m = /^--(\w+) \(([\s\S]*)\); default: ([\s\S]*);$/.exec(flat);
    if (m) flags.set(m[1], { name: m[1], description: m[2], default: m[3].replace(/^"(.*)"$/, "$1"), file: entry.section });
    entry = null;
  };
  for (const line of text.split("\n")) {
    const header = /^ {2}Flags from (.+):$/.exec(line);
    if (header) {
      finish();
      section = header[1];
    } else if (/^ {4}--\w/.test(line)) {
      finish();
      entry = { text: line, section };
    } else if (entry && /^ {6}\S/.test(line)) {
      entry.text += " " + line;
    } else {
      finish();
    }
  }
  finish();
  return flags;
}

// {name, flags: Map, readsEnv, envFlags: Set} for binDir/name.
function describeBinary(binDir, name) {
  const exe = path.join(binDir, name);
  if (!fs.existsSync(exe)) throw new Error(`no binary ${exe} (build the default preset first)`);
  const run = spawnSync(exe, ["--helpfull"], { encoding: "utf8", timeout: 10000 });
  if (run.error) throw new Error(`${exe} --helpfull: ${run.error.message}`);
  const text = `${run.stdout}\n${run.stderr}`;
  const flags = parseHelpfull(text);
  if (flags.size === 0) throw new Error(`${exe} --helpfull listed no flags`);
  // The usage line tcpgate prints when it reads the environment.
  const readsEnv = text.includes("TCPGATE_<FLAG_IN_CAPITALS>");
  // Abseil's own flags (--flagfile, --fromenv, ...) are command-line only.
  const envFlags = new Set([...flags.values()].filter((f) => !/absl\//.test(f.file)).map((f) => f.name));
  return { name, flags, readsEnv, envFlags };
}

// Abseil durations: "20s", "1m30s", "100ms", "0", "inf". Seconds, or NaN.
function durationSeconds(text) {
  const s = String(text).trim();
  if (s === "0") return 0;
  if (s === "inf") return Infinity;
  const units = { h: 3600, m: 60, s: 1, ms: 1e-3, us: 1e-6, ns: 1e-9 };
  let total = 0;
  let rest = s;
  while (rest.length > 0) {
    const m = /^(\d+(?:\.\d+)?)(h|ms|us|ns|m|s)/.exec(rest);
    if (!m) return NaN;
    total += Number(m[1]) * units[m[2]];
    rest = rest.slice(m[0].length);
  }
  return total;
}

module.exports = { parseHelpfull, describeBinary, durationSeconds };
