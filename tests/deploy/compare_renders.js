// Compares two renders of the same kustomization (e.g. by kustomize v5 and
// by kubectl 1.20's kustomize v2.0.3): the same objects with the same
// content, ignoring document order and the generated ConfigMap name hash
// (its algorithm changed between versions). Catches a field or patch one
// version silently drops.
// Usage: node compare_renders.js [LABEL=]A.yaml [LABEL=]B.yaml
"use strict";

const { parseRenderArg, loadObjects } = require("./lib/manifests");
const util = require("node:util");

// kind/namespace/name -> object, with "name-<hash>" of generated ConfigMaps
// and Secrets (and every reference to them) replaced by "name-HASH".
function normalize(objects) {
  const renames = new Map();
  for (const o of objects) {
    const m = /^(.*)-[a-z0-9]{10}$/.exec((o.metadata || {}).name || "");
    if ((o.kind === "ConfigMap" || o.kind === "Secret") && m) renames.set(o.metadata.name, `${m[1]}-HASH`);
  }
  const rename = (v) => {
    if (typeof v === "string") return renames.has(v) ? renames.get(v) : v;
    if (Array.isArray(v)) return v.map(rename);
    // An empty map and a missing one mean the same to the API server (v2.0.3
    // leaves `labels: {}` on a merged ConfigMap).
    if (v && typeof v === "object") {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, rename(x)])
        .filter(([, x]) => !(x && typeof x === "object" && !Array.isArray(x) && Object.keys(x).length === 0)));
    }
    return v;
  };
  const byKey = new Map();
  for (const o of objects.map(rename)) byKey.set(`${o.kind}/${(o.metadata || {}).namespace || ""}/${(o.metadata || {}).name}`, o);
  return byKey;
}

// Paths where a and b differ (at most `limit`).
function differences(a, b, where, out, limit) {
  if (out.length >= limit) return;
  if (util.isDeepStrictEqual(a, b)) return;
  if (a && b && typeof a === "object" && typeof b === "object" && Array.isArray(a) === Array.isArray(b)) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      differences(a[k], b[k], Array.isArray(a) ? `${where}[${k}]` : `${where}.${k}`, out, limit);
    }
    return;
  }
  out.push(`${where}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
}

function main(args) {
  if (args.length !== 2) {
    console.error("usage: node compare_renders.js [LABEL=]A.yaml [LABEL=]B.yaml");
    return 2;
  }
  const [ra, rb] = args.map(parseRenderArg);
  const a = normalize(loadObjects(ra.path));
  const b = normalize(loadObjects(rb.path));
  const problems = [];
  for (const key of new Set([...a.keys(), ...b.keys()])) {
    if (!a.has(key)) problems.push(`${key}: only in ${rb.label}`);
    else if (!b.has(key)) problems.push(`${key}: only in ${ra.label}`);
    else {
      const diffs = [];
      differences(a.get(key), b.get(key), "", diffs, 5);
      for (const d of diffs) problems.push(`${key}${d} (${ra.label} vs ${rb.label})`);
    }
  }
  for (const p of problems) console.error(`FAIL ${p}`);
  console.log(`compare_renders: ${ra.label} and ${rb.label}: ${problems.length === 0 ? `same ${a.size} objects` : problems.length + " differences"}`);
  return problems.length === 0 ? 0 : 1;
}

process.exitCode = main(process.argv.slice(2));
