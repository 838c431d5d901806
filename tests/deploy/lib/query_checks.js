// The rules every PromQL query of ours (dashboard panels, alert rules)
// follows: it names only series tcpgate exports, takes rate() and increase()
// of counters only, and keeps process_* series to tcpgate's own targets
// ("and on (instance) tcpgate_...": every exporter has process_*).
"use strict";

// Problems of `expr` against the set of exported series names, and the
// tcpgate/process series it uses.
function queryProblems(expr, series) {
  const problems = [];
  const used = [];
  for (const m of String(expr).matchAll(/\b(?:tcpgate|process)_\w+/g)) {
    used.push(m[0]);
    if (!series.has(m[0])) problems.push(`queries ${m[0]}, which tcpgate does not export`);
  }
  if (/\bprocess_\w+/.test(expr) && !/\band on \(instance\) tcpgate_\w+/.test(expr)) {
    problems.push(`queries process_* without "and on (instance) tcpgate_..." (every exporter has them)`);
  }
  if (/\b(?:rate|increase)\((?!\w+_total\b|\w+_bucket\b|\w+_sum\b|\w+_count\b)/.test(expr)) {
    problems.push(`rate() or increase() over something that is not a counter: ${expr}`);
  }
  return { problems, used };
}

module.exports = { queryProblems };
