// Reading rendered manifests (`kubectl kustomize` output) and the small
// queries the checks share: pod templates, selectors, object names.
"use strict";

const fs = require("node:fs");
const YAML = require("yaml");

// "label=path" (or just "path", labelled by its file name) -> {label, path}.
function parseRenderArg(arg) {
  const eq = arg.indexOf("=");
  if (eq > 0) return { label: arg.slice(0, eq), path: arg.slice(eq + 1) };
  return { label: arg.replace(/^.*\//, "").replace(/\.ya?ml$/, ""), path: arg };
}

// Every non-empty document of a multi-document YAML file. Throws with the
// file name on a YAML syntax error.
function loadObjects(path) {
  const docs = YAML.parseAllDocuments(fs.readFileSync(path, "utf8"));
  const objects = [];
  for (const doc of docs) {
    if (doc.errors.length > 0) throw new Error(`${path}: ${doc.errors[0].message}`);
    const value = doc.toJS();
    if (value !== null && value !== undefined) objects.push(value);
  }
  return objects;
}

function describe(obj) {
  const name = (obj.metadata && obj.metadata.name) || "<no name>";
  return `${obj.kind || "<no kind>"}/${name}`;
}

// The pod spec and template labels of a workload, or null for other kinds.
function podTemplateOf(obj) {
  if (obj.kind === "Pod") return { labels: (obj.metadata || {}).labels || {}, spec: obj.spec || {} };
  const kinds = ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"];
  if (!kinds.includes(obj.kind)) return null;
  const template = (obj.spec || {}).template || {};
  return { labels: (template.metadata || {}).labels || {}, spec: template.spec || {} };
}

// matchLabels (and the plain map of a Service selector) against labels.
// matchExpressions are not used by these manifests: treated as no match.
function selectorMatches(selector, labels) {
  if (!selector) return false;
  const matchLabels = selector.matchLabels || (selector.matchExpressions ? null : selector);
  if (!matchLabels || selector.matchExpressions) return false;
  const keys = Object.keys(matchLabels);
  return keys.length > 0 && keys.every((k) => labels[k] === matchLabels[k]);
}

// A Kubernetes LabelSelector (NetworkPolicy's podSelector and
// namespaceSelector): matchLabels and matchExpressions must all hold; an
// empty selector selects everything.
function labelSelectorMatches(selector, labels) {
  if (!selector) return true;
  const byLabels = Object.entries(selector.matchLabels || {}).every(([k, v]) => labels[k] === v);
  const byExpressions = (selector.matchExpressions || []).every(({ key, operator, values }) => {
    const has = Object.prototype.hasOwnProperty.call(labels, key);
    switch (operator) {
      case "In": return has && (values || []).includes(labels[key]);
      case "NotIn": return !has || !(values || []).includes(labels[key]);
      case "Exists": return has;
      case "DoesNotExist": return !has;
      default: return false;
    }
  });
  return byLabels && byExpressions;
}

function namespaceOf(obj) {
  return (obj.metadata && obj.metadata.namespace) || "";
}

module.exports = { parseRenderArg, loadObjects, describe, podTemplateOf, selectorMatches, labelSelectorMatches, namespaceOf };
