// Unknown-field check. kubernetes-models validates types, enums and required
// fields but, like the API server in its lenient mode, lets unknown fields
// through; `kubectl apply` (strict field validation) rejects them, and a
// misspelt optional field (readinesProbe) would otherwise vanish silently.
// The known fields come from the package's own TypeScript declarations,
// which list every property of every API type and import each property's
// type from its own file.
"use strict";

const fs = require("node:fs");
const path = require("node:path");

const cache = new Map();  // .d.ts path -> {fields: Map(name -> typeRef), free: bool} or null (a leaf)

// Resolves `module` (a package path or one relative to `fromFile`) to its .d.ts.
function declarationPath(module, fromFile) {
  const js = module.startsWith(".")
    ? require.resolve(path.resolve(path.dirname(fromFile), module))
    : require.resolve(module);
  return js.replace(/\.(c|m)?js$/, ".d.ts");
}

// The first exported interface of a .d.ts: its properties and, for each, the
// .d.ts of its (element) type when that type is imported. Null when the file
// declares only a type alias (Quantity, IntOrString, Time: leaves).
function parseDeclaration(file) {
  if (cache.has(file)) return cache.get(file);
  const text = fs.readFileSync(file, "utf8");
  const imports = new Map();
  for (const m of text.matchAll(/^import \{ (\w+) \} from "([^"]+)";$/gm)) imports.set(m[1], m[2]);
  const start = text.search(/^export interface \w+( extends [\w, ]+)? \{$/m);
  if (start < 0) {
    cache.set(file, null);
    return null;
  }
  const header = text.slice(start, text.indexOf("\n", start));
  const body = text.slice(text.indexOf("\n", start) + 1, text.indexOf("\n}", start));
  const fields = new Map();
  if (/ extends .*\bTypeMeta\b/.test(header)) {
    fields.set("apiVersion", null);
    fields.set("kind", null);
  }
  // Properties sit at four spaces: `    "name"?: Type;` (a map type opens a
  // `{` block whose lines are deeper).
  for (const m of body.matchAll(/^ {4}"([^"]+)"\??: (.*)$/gm)) {
    const type = m[2].replace(/;$/, "");
    const element = (/^Array<(\w+)>$/.exec(type) || [null, type])[1];
    fields.set(m[1], imports.has(element) ? declarationPath(imports.get(element), file) : null);
  }
  // An interface with an index signature and no properties takes any keys.
  const result = { fields, free: fields.size === 0 };
  cache.set(file, result);
  return result;
}

// Appends "path: unknown field" lines for every key of `value` (recursively)
// that the declaration of its type does not list.
function walk(value, declFile, where, problems) {
  if (value === null || typeof value !== "object" || !declFile) return;
  if (Array.isArray(value)) {
    value.forEach((item, i) => walk(item, declFile, `${where}[${i}]`, problems));
    return;
  }
  const decl = parseDeclaration(declFile);
  if (!decl || decl.free) return;
  for (const [key, child] of Object.entries(value)) {
    if (!decl.fields.has(key)) {
      problems.push(`${where ? where + "." : ""}${key}: unknown field`);
      continue;
    }
    walk(child, decl.fields.get(key), where ? `${where}.${key}` : key, problems);
  }
}

// Unknown fields of one object whose model lives at `modelModule`
// (e.g. "kubernetes-models/apps/v1/Deployment").
function unknownFields(obj, modelModule) {
  const problems = [];
  walk(obj, declarationPath(modelModule), "", problems);
  return problems;
}

module.exports = { unknownFields };
