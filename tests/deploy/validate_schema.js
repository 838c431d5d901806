// Validates every object of rendered manifests against the Kubernetes API
// schema (kubernetes-models: types, enums, formats, required fields) and
// rejects fields the API does not define.
// Usage: node validate_schema.js [LABEL=]RENDERED.yaml ...
"use strict";

const { parseRenderArg, loadObjects, describe } = require("./lib/manifests");
const { unknownFields } = require("./lib/strict_fields");

// apiVersion "apps/v1" kind "Deployment" -> "kubernetes-models/apps/v1/Deployment";
// the core group ("v1") sits at the package root.
function modelModule(obj) {
  if (typeof obj.apiVersion !== "string" || typeof obj.kind !== "string") return null;
  return `kubernetes-models/${obj.apiVersion}/${obj.kind}`;
}

// ajv's JSON pointer "/spec/containers/0/ports" -> "spec.containers[0].ports".
function fieldPath(pointer) {
  let out = "";
  for (const raw of pointer.split("/").slice(1)) {
    const seg = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    out += /^\d+$/.test(seg) ? `[${seg}]` : (out ? "." : "") + seg;
  }
  return out || "(object)";
}

function details(err) {
  if (err.params && err.params.allowedValues) return ` (${err.params.allowedValues.join(", ")})`;
  return "";
}

function validateObject(obj) {
  const module = modelModule(obj);
  if (!module) return ["no apiVersion or kind"];
  let Model;
  try {
    Model = require(module)[obj.kind];
  } catch (e) {
    return [`no schema for ${obj.apiVersion} ${obj.kind} in kubernetes-models`];
  }
  if (typeof Model !== "function") return [`no schema for ${obj.apiVersion} ${obj.kind} in kubernetes-models`];
  const problems = [];
  try {
    new Model(obj).validate();
  } catch (e) {
    if (!Array.isArray(e.errors)) throw e;
    for (const err of e.errors) problems.push(`${fieldPath(err.instancePath)}: ${err.message}${details(err)}`);
  }
  for (const p of unknownFields(obj, module)) problems.push(p);
  return problems;
}

function main(args) {
  if (args.length === 0) {
    console.error("usage: node validate_schema.js [LABEL=]RENDERED.yaml ...");
    return 2;
  }
  let failures = 0;
  let checked = 0;
  for (const arg of args) {
    const { label, path } = parseRenderArg(arg);
    let objects;
    try {
      objects = loadObjects(path);
    } catch (e) {
      console.error(`FAIL ${label}: ${e.message}`);
      failures++;
      continue;
    }
    if (objects.length === 0) {
      console.error(`FAIL ${label}: no objects in ${path}`);
      failures++;
    }
    for (const obj of objects) {
      checked++;
      for (const problem of validateObject(obj)) {
        console.error(`FAIL ${label}: ${describe(obj)}: ${problem}`);
        failures++;
      }
    }
  }
  const renders = args.map((a) => parseRenderArg(a).label).join(", ");
  console.log(`validate_schema: ${checked} objects in ${renders}: ${failures === 0 ? "OK" : failures + " problems"}`);
  return failures === 0 ? 0 : 1;
}

process.exitCode = main(process.argv.slice(2));
