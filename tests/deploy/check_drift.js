// Drift between the rendered manifests and what they configure: every flag a
// container sets (TCPGATE_* variables, --flag arguments) must be one its
// binary accepts (from its own --helpfull); declared ports must be where the
// binary listens; Services, probes and autoscalers must point at things that
// exist; the grace period must cover preStop plus the drain; the gateway's
// connections must fit under the backend's --max_connections; what the
// gateway may hold (calls, request bytes) must fit in its memory limit; and each
// binary, started with its container's configuration, must get as far as
// listening. Across objects: an overlay whose args replace the base's must
// pass every flag the base passes, and the containers of one render log in
// one format.
// Usage: node check_drift.js --bin BIN_DIR --repo REPO_ROOT [--base LABEL]... [LABEL=]RENDERED.yaml ...
//   --base LABEL: that render is a kustomize base, never deployed as is, so
//   its images need not be pinned; overlays' args are compared with it.
"use strict";

const childProcess = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

// Run by checkStarts() as `node -e`: starts argv[1..] and prints its output;
// SIGTERM at its first "listening on" (then waits for the exit), SIGKILL
// after 15 s without one.
const RUN_UNTIL_LISTENING = `
const proc = require("node:child_process").spawn(process.argv[1], process.argv.slice(2),
  { stdio: ["ignore", "pipe", "pipe"] });
let log = "";
const kill = setTimeout(() => proc.kill("SIGKILL"), 15000);
const take = (chunk) => {
  log += chunk;
  if (/listening on/.test(log)) proc.kill("SIGTERM");
};
proc.stdout.on("data", take);
proc.stderr.on("data", take);
proc.on("exit", () => {
  clearTimeout(kill);
  process.stdout.write(log);
});
`;
const { parseRenderArg, loadObjects, describe, podTemplateOf, selectorMatches, labelSelectorMatches, namespaceOf } = require("./lib/manifests");
const { describeBinary, durationSeconds } = require("./lib/flags");
const { makeStandInSecrets } = require("./lib/stand_in_secrets");

// The image's ENTRYPOINT (deploy/Dockerfile; its test checks it): what a
// container without `command` runs.
const IMAGE_ENTRYPOINT = "tcpgate";
// Flags that bound a binary's shutdown after SIGTERM.
const SHUTDOWN_FLAGS = ["drain_timeout", "shutdown_grace"];
const ENV_PREFIX = "TCPGATE_";
// Flags naming a file a Secret mounts, and the stand-in each gets when the
// binary is started to see that it accepts the configuration.
const SECRET_FILE_FLAGS = {
  tls_cert: "cert", tls_key: "key", tls_client_ca: "ca", tls_client_crl: "crl", auth_token_file: "token",
};
// What one gRPC call in flight holds in the gateway (measured ~17 KiB),
// and the rest of the process, for the memory-limit check.
const CALL_BYTES = 20 * 1024;
const PROCESS_BYTES = 64 * 2 ** 20;

// A Kubernetes quantity ("512Mi", "0.5Gi", "1e9", "1G", "512m") in bytes;
// undefined when absent, NaN when not a quantity.
function memoryBytes(quantity) {
  if (quantity === undefined || quantity === null) return undefined;
  const m = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(?:(Ki|Mi|Gi|Ti|Pi|Ei)|(m|k|M|G|T|P|E)|[eE]([+-]?\d+))?$/.exec(String(quantity).trim());
  if (!m) return NaN;
  const binary = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
  const decimal = { m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };
  const scale = m[2] ? binary[m[2]] : m[3] ? decimal[m[3]] : m[4] !== undefined ? 10 ** Number(m[4]) : 1;
  return Number(m[1]) * scale;
}

// Kubernetes' default terminationGracePeriodSeconds.
const DEFAULT_GRACE_SECONDS = 30;

function parseArgs(argv) {
  const opts = { bin: null, repo: null, bases: new Set(), renders: [] };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--bin") opts.bin = argv[++i];
    else if (argv[i] === "--repo") opts.repo = argv[++i];
    else if (argv[i] === "--base") opts.bases.add(argv[++i]);
    else opts.renders.push(parseRenderArg(argv[i]));
  }
  if (!opts.bin || !opts.repo || opts.renders.length === 0) {
    throw new Error("usage: node check_drift.js --bin BIN_DIR --repo REPO_ROOT [--base LABEL]... [LABEL=]RENDERED.yaml ...");
  }
  return opts;
}

// "package.Service" names declared under proto/ (for gRPC probe services).
function protoServices(repo) {
  const services = new Set();
  const visit = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, entry.name);
      if (entry.isDirectory()) visit(p);
      else if (entry.name.endsWith(".proto")) {
        const text = fs.readFileSync(p, "utf8");
        const pkg = (/^package ([\w.]+);/m.exec(text) || [null, ""])[1];
        for (const m of text.matchAll(/^service (\w+)/gm)) services.add(pkg ? `${pkg}.${m[1]}` : m[1]);
      }
    }
  };
  visit(path.join(repo, "proto"));
  return services;
}

// The health name tcpgate serves for liveness probes (SERVING whatever the
// backends do, so no readiness probe may ask it), read from its source so
// that a rename there fails here.
function livenessHealthName(repo) {
  const header = fs.readFileSync(path.join(repo, "gateway", "health_publisher.h"), "utf8");
  const liveness = /constexpr char kLivenessServiceName\[\] = "([^"]+)";/.exec(header);
  if (!liveness) throw new Error("gateway/health_publisher.h declares no kLivenessServiceName");
  return liveness[1];
}

// The numeric uid of the last USER of deploy/Dockerfile, or null.
function dockerfileUid(repo) {
  const file = path.join(repo, "deploy", "Dockerfile");
  if (!fs.existsSync(file)) return null;
  const users = [...fs.readFileSync(file, "utf8").matchAll(/^USER\s+(\d+)/gim)];
  return users.length > 0 ? Number(users[users.length - 1][1]) : null;
}

// Seconds a preStop hook sleeps: exec ["sleep", "N"] (or via sh -c), or the
// native sleep action.
function preStopSeconds(container) {
  const preStop = ((container.lifecycle || {}).preStop) || {};
  if (preStop.sleep && preStop.sleep.seconds !== undefined) return Number(preStop.sleep.seconds);
  const command = ((preStop.exec || {}).command || []).join(" ");
  const m = /(?:^|[\s/])sleep\s+(\d+(?:\.\d+)?)s?\b/.exec(command);
  return m ? Number(m[1]) : 0;
}

function portOf(hostPort) {
  const m = /:(\d+)$/.exec(String(hostPort));
  return m ? Number(m[1]) : null;
}

class Checker {
  constructor(opts) {
    this.binDir = opts.bin;
    this.bases = opts.bases;
    this.baseArgFlags = new Map();  // "Kind/name/container" -> flags its args pass, from the bases
    this.binaries = new Map();
    this.services = protoServices(opts.repo);
    this.livenessName = livenessHealthName(opts.repo);
    this.uid = dockerfileUid(opts.repo);
    this.problems = [];
    this.unknownFlags = new Map();  // "binary --flag" -> Set of where it is set
    this.containers = 0;
  }

  fail(where, message) {
    this.problems.push(`${where}: ${message}`);
  }

  binary(name) {
    if (!this.binaries.has(name)) {
      try {
        this.binaries.set(name, describeBinary(this.binDir, name));
      } catch (e) {
        this.binaries.set(name, { error: e.message });
      }
    }
    return this.binaries.get(name);
  }

  unknownFlag(binary, flag, setting) {
    const key = `${binary} --${flag}`;
    if (!this.unknownFlags.has(key)) this.unknownFlags.set(key, new Set());
    this.unknownFlags.get(key).add(setting);
  }

  checkRender(label, objects) {
    const byKind = (kind) => objects.filter((o) => o.kind === kind);
    const find = (kind, ns, name) => objects.find((o) => o.kind === kind && namespaceOf(o) === ns && o.metadata.name === name);
    const workloads = objects.map((o) => ({ obj: o, pod: podTemplateOf(o) })).filter((w) => w.pod);
    const gateways = [];   // {w, poolSize, targets, where}
    this.loaded = new Set();  // ConfigMaps some container loads
    const maxConns = new Map();  // workload object -> max_connections

    const logFormats = [];  // {where, value, source}
    for (const w of workloads) {
      const ns = namespaceOf(w.obj);
      for (const c of w.pod.spec.containers || []) {
        this.containers++;
        const where = `${label}: ${describe(w.obj)} container ${c.name}`;
        const result = this.checkContainer(label, where, w, c, (name) => find("ConfigMap", ns, name));
        if (!result) continue;
        if (result.logFormat) logFormats.push({ where, ...result.logFormat });
        this.checkArgsKept(label, where, `${w.obj.kind}/${w.obj.metadata.name}/${c.name}`, result.argFlags);
        if (result.backends) {
          gateways.push({ w, where, poolSize: result.poolSize, targets: result.backends, memory: result.memory });
        }
        if (result.maxConnections !== undefined) maxConns.set(w.obj, result.maxConnections);
      }
    }

    // One log format per deployment: a log pipeline parses one (an overlay
    // that made the gateway's logs JSON left the backend's text).
    const formats = new Set(logFormats.map((f) => f.value));
    if (formats.size > 1) {
      this.fail(label, `containers log in different formats: ${logFormats.map((f) => `${f.where.slice(label.length + 2)}: ${f.value} (${f.source})`).join("; ")}`);
    }

    // A ConfigMap of flags that no container loads configures nothing.
    for (const cm of byKind("ConfigMap")) {
      const keys = Object.keys(cm.data || {}).filter((k) => k.startsWith(ENV_PREFIX));
      if (keys.length > 0 && !this.loaded.has(cm)) this.fail(`${label}: ${describe(cm)}`, `sets ${keys.join(", ")} but no container loads it`);
    }

    const selected = (ns, selector) => workloads.filter((w) => namespaceOf(w.obj) === ns && selectorMatches(selector, w.pod.labels));
    const declares = (w, target) => (w.pod.spec.containers || []).some((c) =>
      (c.ports || []).some((p) => (typeof target === "number" ? p.containerPort === target : p.name === target)));

    for (const s of byKind("Service")) {
      const where = `${label}: ${describe(s)}`;
      const pods = selected(namespaceOf(s), (s.spec || {}).selector);
      if (pods.length === 0) {
        this.fail(where, `selector ${JSON.stringify((s.spec || {}).selector)} matches no pod template`);
        continue;
      }
      for (const p of (s.spec || {}).ports || []) {
        const target = p.targetPort === undefined ? p.port : p.targetPort;
        for (const w of pods) {
          if (!declares(w, target)) this.fail(where, `port ${p.name || p.port} targets ${target}, which ${describe(w.obj)} declares on no container`);
        }
      }
    }

    for (const h of byKind("HorizontalPodAutoscaler")) {
      const where = `${label}: ${describe(h)}`;
      const ref = (h.spec || {}).scaleTargetRef || {};
      if (!find(ref.kind, namespaceOf(h), ref.name)) this.fail(where, `scaleTargetRef ${ref.kind}/${ref.name} is not in the render`);
      if ((h.spec.minReplicas || 1) > h.spec.maxReplicas) this.fail(where, `minReplicas ${h.spec.minReplicas} > maxReplicas ${h.spec.maxReplicas}`);
    }
    for (const b of byKind("PodDisruptionBudget")) {
      if (selected(namespaceOf(b), (b.spec || {}).selector).length === 0) {
        this.fail(`${label}: ${describe(b)}`, "selector matches no pod template");
      }
    }
    const policies = byKind("NetworkPolicy");
    for (const np of policies) {
      const pods = workloads.filter((w) => namespaceOf(w.obj) === namespaceOf(np) &&
        labelSelectorMatches((np.spec || {}).podSelector, w.pod.labels));
      if (pods.length === 0) this.fail(`${label}: ${describe(np)}`, "podSelector matches no pod template");
    }
    // A namespace's labels as a namespaceSelector sees them: its own, from
    // the render if it is there, and the name label Kubernetes sets.
    const namespaceLabels = (name) => {
      const object = objects.find((o) => o.kind === "Namespace" && o.metadata.name === name);
      return { ...((object && object.metadata.labels) || {}), "kubernetes.io/metadata.name": name };
    };
    // Whether the NetworkPolicies let the gateway's pods (labels and
    // namespace) reach workload w on its container port `port` over TCP:
    // yes when no policy isolates w's ingress, else some rule of a policy
    // selecting w must admit them, as Kubernetes reads it (an empty or
    // missing `from`/`ports` admits all; a peer without namespaceSelector
    // means the policy's own namespace; an ipBlock names addresses, which a
    // render cannot match to pods, so it admits nothing here).
    const ingressAllowed = (w, gateway, port) => {
      const ns = namespaceOf(w.obj);
      const isolating = policies.filter((np) => namespaceOf(np) === ns &&
        labelSelectorMatches((np.spec || {}).podSelector, w.pod.labels) &&
        ((np.spec.policyTypes || ["Ingress"]).includes("Ingress")));
      if (isolating.length === 0) return true;
      const peerAdmits = (np, peer) => {
        if (peer.ipBlock) return false;
        const namespaceOk = peer.namespaceSelector
          ? labelSelectorMatches(peer.namespaceSelector, namespaceLabels(gateway.ns))
          : gateway.ns === namespaceOf(np);
        return namespaceOk && labelSelectorMatches(peer.podSelector, gateway.labels);
      };
      const portMatches = (rulePort) => {
        if ((rulePort.protocol || "TCP") !== "TCP") return false;
        if (rulePort.port === undefined) return true;
        if (typeof rulePort.port === "number") {
          return rulePort.endPort ? port >= rulePort.port && port <= rulePort.endPort : port === rulePort.port;
        }
        // A named port admits whichever containerPort carries that name.
        return (w.pod.spec.containers || []).some((c) => (c.ports || []).some((p) =>
          p.name === rulePort.port && p.containerPort === port && (p.protocol || "TCP") === "TCP"));
      };
      return isolating.some((np) => (np.spec.ingress || []).some((rule) =>
        (!rule.from || rule.from.length === 0 || rule.from.some((peer) => peerAdmits(np, peer))) &&
        (!rule.ports || rule.ports.length === 0 || rule.ports.some(portMatches))));
    };
    // The container port a connection to `port` of Service svc reaches on
    // workload w: the same port for a headless Service (DNS gives pod
    // addresses), else the Service port's targetPort, by number or name.
    const podPort = (svc, w, port) => {
      if (svc.spec.clusterIP === "None") return port;
      const servicePort = (svc.spec.ports || []).find((p) => p.port === port);
      if (!servicePort) return port;
      const target = servicePort.targetPort === undefined ? servicePort.port : servicePort.targetPort;
      if (typeof target === "number") return target;
      for (const c of w.pod.spec.containers || []) {
        for (const p of c.ports || []) if (p.name === target) return p.containerPort;
      }
      return port;
    };

    // Each gateway pod opens up to pool_size connections to each backend
    // address; at the autoscaler's maximum that must fit under the backend's
    // --max_connections.
    for (const g of gateways) {
      const ns = namespaceOf(g.w.obj);
      const hpa = byKind("HorizontalPodAutoscaler").find((h) => namespaceOf(h) === ns &&
        h.spec.scaleTargetRef.kind === g.w.obj.kind && h.spec.scaleTargetRef.name === g.w.obj.metadata.name);
      const gatewayPods = hpa ? hpa.spec.maxReplicas : (g.w.obj.spec.replicas || 1);
      let backendPods = 0;
      for (const target of g.targets) {
        const m = /^([^:]+):(\d+)$/.exec(target);
        if (!m) {
          this.fail(g.where, `backend "${target}" is not host:port`);
          continue;
        }
        const labels = m[1].split(".");
        const svc = find("Service", labels.length > 1 && labels[1] !== "svc" ? labels[1] : ns, labels[0]);
        if (!svc) {
          this.fail(g.where, `backend ${target}: no Service ${labels[0]} in the render`);
          continue;
        }
        const port = Number(m[2]);
        const pods = selected(namespaceOf(svc), svc.spec.selector);
        if (svc.spec.clusterIP === "None") {
          // Headless: DNS gives pod addresses, so the port is the pods' own.
          for (const w of pods) {
            if (!declares(w, port)) this.fail(g.where, `backend ${target}: headless ${describe(svc)} resolves to ${describe(w.obj)} pods, which declare no containerPort ${port}`);
          }
        } else if (!(svc.spec.ports || []).some((p) => p.port === port)) {
          this.fail(g.where, `backend ${target}: ${describe(svc)} has no port ${port}`);
        }
        for (const w of pods) {
          const backendHpa = byKind("HorizontalPodAutoscaler").find((h) => namespaceOf(h) === namespaceOf(w.obj) &&
            h.spec.scaleTargetRef.kind === w.obj.kind && h.spec.scaleTargetRef.name === w.obj.metadata.name);
          backendPods += backendHpa ? backendHpa.spec.maxReplicas : (w.obj.spec.replicas || 1);
          const reached = podPort(svc, w, port);
          if (!ingressAllowed(w, { labels: g.w.pod.labels, ns }, reached)) {
            this.fail(g.where, `backend ${target}: the NetworkPolicies selecting ${describe(w.obj)} let no gateway pod in on port ${reached}`);
          }
          const cap = maxConns.get(w.obj);
          if (cap > 0 && gatewayPods * g.poolSize > cap) {
            this.fail(g.where, `up to ${gatewayPods} gateway pods x pool_size ${g.poolSize} = ${gatewayPods * g.poolSize} connections per backend pod, over ${describe(w.obj)}'s --max_connections=${cap}`);
          }
        }
      }
      if (g.memory) {
        this.checkMemory(g.where, g.memory, backendPods * g.poolSize * g.memory.bytesPerConnection,
          `${backendPods} backend pods x pool_size ${g.poolSize} x --max_pending_bytes_per_connection ${g.memory.bytesPerConnection}`);
      }
    }
  }

  // An overlay's patch replaces a container's whole args list (strategic
  // merge replaces lists of strings): every flag the base passes must be
  // passed again (its value may change), or the overlay drops a setting
  // without saying so. Bases are checked first (see main) and remembered.
  checkArgsKept(label, where, key, argFlags) {
    if (this.bases.has(label)) {
      this.baseArgFlags.set(key, argFlags);
      return;
    }
    const base = this.baseArgFlags.get(key);
    if (!base) return;
    const dropped = [...base].filter((flag) => !argFlags.has(flag));
    if (dropped.length > 0) {
      this.fail(where, `args drop ${dropped.map((f) => `--${f}`).join(", ")}, which the base passes: an overlay that replaces args must repeat every base flag`);
    }
  }

  // What a gateway can hold fits in its memory limit, so that overload is
  // refused (RESOURCE_EXHAUSTED) before the pod is OOM-killed: each call in
  // flight holds about 17 KiB (measured, docs/operations.md; counted as
  // 20 KiB), plus the request bytes waiting at backend connections, plus
  // 64 MiB for the rest of the process, within 80 % of the limit.
  checkMemory(where, memory, requestBytes, requestBytesWhy) {
    const limit = memoryBytes(memory.limit);
    const calls = memory.maxPending * CALL_BYTES;
    const mib = (bytes) => Math.round(bytes / 2 ** 20);
    if (limit === undefined) {
      this.fail(where, `no memory limit: --max_pending ${memory.maxPending} calls alone could take ${mib(calls)} MiB`);
    } else if (Number.isNaN(limit) || !(limit > 0)) {
      this.fail(where, `memory limit "${memory.limit}" is not a quantity this check understands`);
    } else if (!(calls + requestBytes + PROCESS_BYTES <= 0.8 * limit)) {
      this.fail(where, `--max_pending=${memory.maxPending} (${memory.maxPendingSource}) x 20 KiB = ${mib(calls)} MiB of calls, + ${mib(requestBytes)} MiB of requests at backends (${requestBytesWhy}) + 64 MiB is over 80 % of the ${memory.limit} memory limit: the pod would be OOM-killed before it refused anything`);
    }
  }

  // Checks one container; returns what the cross-object checks need.
  checkContainer(label, where, w, c, findConfigMap) {
    const binaryName = c.command && c.command.length > 0 ? path.basename(c.command[0]) : IMAGE_ENTRYPOINT;
    const bin = this.binary(binaryName);
    if (bin.error) {
      this.fail(where, `runs ${binaryName}: ${bin.error}`);
      return null;
    }
    const settings = new Map();  // flag -> {value, source}

    // Environment: envFrom ConfigMaps, then env (later entries win, as in Kubernetes).
    const env = [];
    for (const from of c.envFrom || []) {
      if (!from.configMapRef) continue;
      const cm = findConfigMap(from.configMapRef.name);
      if (!cm) {
        if (!from.configMapRef.optional) this.fail(where, `envFrom ConfigMap ${from.configMapRef.name} is not in the render`);
        continue;
      }
      this.loaded.add(cm);
      for (const [k, v] of Object.entries(cm.data || {})) env.push({ name: (from.prefix || "") + k, value: v, source: `ConfigMap ${cm.metadata.name}` });
    }
    for (const e of c.env || []) {
      if (e.value !== undefined) env.push({ name: e.name, value: e.value, source: "env" });
      else if (e.valueFrom && e.valueFrom.configMapKeyRef) {
        const ref = e.valueFrom.configMapKeyRef;
        const cm = findConfigMap(ref.name);
        if (!cm || !(ref.key in (cm.data || {}))) this.fail(where, `env ${e.name}: ConfigMap ${ref.name} key ${ref.key} is not in the render`);
        else {
          this.loaded.add(cm);
          env.push({ name: e.name, value: cm.data[ref.key], source: `ConfigMap ${ref.name}` });
        }
      }
    }
    for (const e of env) {
      if (!e.name.startsWith(ENV_PREFIX)) continue;
      const flag = e.name.slice(ENV_PREFIX.length).toLowerCase();
      if (!bin.readsEnv) {
        this.fail(where, `${e.name} (${e.source}) has no effect: ${binaryName} reads no environment; pass --${flag}=... in args`);
        continue;
      }
      if (!bin.envFlags.has(flag)) {
        this.fail(where, `${e.name} (${e.source}) sets --${flag}, which ${binaryName} does not accept`);
        this.unknownFlag(binaryName, flag, e.name);
      }
      settings.set(flag, { value: String(e.value), source: `${e.name} (${e.source})` });
    }

    // Arguments win over the environment.
    for (const arg of c.args || []) {
      const m = /^--?([\w-]+)(?:=([\s\S]*))?$/.exec(arg);
      if (!m) {
        this.fail(where, `argument "${arg}" is not a --flag=value`);
        continue;
      }
      let flag = m[1];
      let value = m[2];
      if (value === undefined && !bin.flags.has(flag) && flag.startsWith("no") && bin.flags.has(flag.slice(2))) {
        flag = flag.slice(2);
        value = "false";
      }
      if (!bin.flags.has(flag)) {
        this.fail(where, `argument ${arg}: ${binaryName} has no flag --${flag}`);
        this.unknownFlag(binaryName, flag, arg);
      }
      settings.set(flag, { value: value === undefined ? "true" : value, source: arg });
    }
    const value = (flag) => (settings.has(flag) ? settings.get(flag).value : bin.flags.has(flag) ? bin.flags.get(flag).default : undefined);
    const sourceOf = (flag) => (settings.has(flag) ? settings.get(flag).source : `default of --${flag}`);

    // Ports: every --listen / --*_listen port declared, every declared port listened on.
    const listens = new Map();  // port -> flag
    for (const flag of new Set([...bin.flags.keys(), ...settings.keys()])) {
      if (flag !== "listen" && !flag.endsWith("_listen")) continue;
      const port = portOf(value(flag));
      if (port) listens.set(port, flag);
    }
    const ports = c.ports || [];
    for (const p of ports) {
      if (!listens.has(p.containerPort)) {
        this.fail(where, `containerPort ${p.containerPort} (${p.name || "unnamed"}) is not where ${binaryName} listens (${[...listens].map(([port, f]) => `${port} from ${sourceOf(f)}`).join(", ") || "no listen flags"})`);
      }
    }
    for (const [port, flag] of listens) {
      if (!ports.some((p) => p.containerPort === port)) this.fail(where, `${binaryName} listens on ${port} (${sourceOf(flag)}) but the container declares no containerPort ${port}`);
    }

    // Probes point at declared ports; gRPC probes at a served service.
    for (const kind of ["readinessProbe", "livenessProbe", "startupProbe"]) {
      const probe = c[kind];
      if (!probe) continue;
      const action = probe.grpc || probe.httpGet || probe.tcpSocket;
      if (!action) continue;
      const target = action.port;
      const ok = ports.some((p) => (typeof target === "number" ? p.containerPort === target : p.name === target));
      if (!ok) this.fail(where, `${kind} port ${target} is not a declared container port`);
      if (probe.grpc && probe.grpc.service === this.livenessName) {
        if (kind === "readinessProbe") {
          this.fail(where, `readinessProbe asks gRPC health about "${this.livenessName}", which stays SERVING with every backend down and through a drain: ask "tcpgate.v1.Gateway"`);
        }
      } else if (probe.grpc && probe.grpc.service && !this.services.has(probe.grpc.service)) {
        this.fail(where, `${kind} asks gRPC health about "${probe.grpc.service}", which neither a proto/ file declares (${[...this.services].join(", ")}) nor tcpgate serves for liveness ("${this.livenessName}")`);
      }
    }

    // TLS on the gRPC port: kubelet's gRPC probe cannot connect to it.
    if (bin.flags.has("tls_cert") && value("tls_cert")) {
      for (const kind of ["readinessProbe", "livenessProbe", "startupProbe"]) {
        if (c[kind] && c[kind].grpc) {
          this.fail(where, `${kind} is a gRPC probe, which cannot connect to a TLS port (--tls_cert from ${sourceOf("tls_cert")}): probe ${kind === "livenessProbe" ? "/healthz" : "/readyz"} on the admin port`);
        }
      }
    }
    // Secret files come from a volume, and not through subPath: kubelet never
    // updates a subPath mount, so a rotated Secret would not reach the
    // gateway, which reads the files again to take up a rotation.
    for (const flag of Object.keys(SECRET_FILE_FLAGS)) {
      if (!bin.flags.has(flag) || !value(flag)) continue;
      const file = value(flag);
      const mount = (c.volumeMounts || []).find((m) => file.startsWith(m.mountPath.replace(/\/$/, "") + "/") || file === m.mountPath);
      if (!mount) {
        this.fail(where, `--${flag}=${file} (${sourceOf(flag)}) is under no volumeMount of the container`);
      } else if (mount.subPath || mount.subPathExpr) {
        this.fail(where, `--${flag}=${file} comes through a subPath mount, which kubelet never updates: a rotated Secret would not reach the gateway`);
      } else {
        this.checkSecretReadable(where, w.pod.spec, c, mount, flag, file);
      }
    }

    // The grace period covers the preStop sleep and the binary's drain.
    const shutdownFlag = SHUTDOWN_FLAGS.find((f) => bin.flags.has(f));
    if (shutdownFlag) {
      const drain = durationSeconds(value(shutdownFlag));
      const sleep = preStopSeconds(c);
      const grace = w.pod.spec.terminationGracePeriodSeconds === undefined ? DEFAULT_GRACE_SECONDS : w.pod.spec.terminationGracePeriodSeconds;
      if (Number.isNaN(drain)) this.fail(where, `--${shutdownFlag}=${value(shutdownFlag)} is not a duration`);
      else if (!(grace > sleep + drain)) {
        this.fail(where, `terminationGracePeriodSeconds ${grace} must exceed the preStop sleep ${sleep}s + --${shutdownFlag} ${drain}s (${sourceOf(shutdownFlag)}), or the kubelet kills calls still draining`);
      }
    }

    // Memory: see checkMemory (the request bytes held for backends need
    // the backend pods, known only across objects).
    const memory = bin.flags.has("max_pending")
      ? {
          limit: ((c.resources || {}).limits || {}).memory,
          maxPending: Number(value("max_pending")),
          maxPendingSource: sourceOf("max_pending"),
          bytesPerConnection: Number(value("max_pending_bytes_per_connection")),
        }
      : undefined;

    // A binary that reads TCPGATE_* must not get Kubernetes' service-link
    // variables (a Service named tcpgate adds TCPGATE_PORT, ...).
    if (bin.readsEnv && w.pod.spec.enableServiceLinks !== false) {
      this.fail(where, `${binaryName} reads ${ENV_PREFIX}* variables: set enableServiceLinks: false so Services' link variables cannot set its flags`);
    }

    this.checkSecurity(where, w.pod.spec, c);
    if (!this.bases.has(label)) this.checkImage(where, c.image);
    this.checkStarts(where, binaryName, env, c.args || [], [...listens.values()]);

    const result = {};
    if (bin.flags.has("backends")) {
      const targets = String(value("backends") || "").split(",").map((t) => t.trim()).filter(Boolean);
      if (targets.length > 0) {
        result.backends = targets;
        result.poolSize = Number(value("pool_size"));
      }
    }
    if (bin.flags.has("max_connections")) result.maxConnections = Number(value("max_connections"));
    result.argFlags = new Set([...settings].filter(([, s]) => s.source.startsWith("-")).map(([flag]) => flag));
    if (bin.flags.has("log_format")) result.logFormat = { value: value("log_format"), source: sourceOf("log_format") };
    if (memory) {
      if (result.backends) result.memory = memory;
      else this.checkMemory(where, memory, 0, "an embedded backend");
    }
    return result;
  }

  // The binary accepts the container's configuration as a whole: started
  // with its environment and arguments (its listen addresses moved to free
  // loopback ports), it gets as far as listening. The binaries refuse, at
  // start, values that cannot work together (drain_notice over
  // drain_timeout, min_idle over pool_size, ...): a ConfigMap that passed
  // the name checks above could still crash-loop every pod.
  checkStarts(where, binaryName, env, args, listenFlags) {
    const childEnv = { PATH: process.env.PATH };
    for (const e of env) childEnv[e.name] = String(e.value);
    const overrides = listenFlags.map((flag) => `--${flag}=127.0.0.1:0`);
    // Files a Secret would mount (not in the render) get stand-ins made
    // here, for the flags the container sets; the command line wins over
    // the environment.
    for (const [flag, file] of Object.entries(SECRET_FILE_FLAGS)) {
      const envName = ENV_PREFIX + flag.toUpperCase();
      if (childEnv[envName] !== undefined || args.some((a) => a.startsWith(`--${flag}=`))) {
        overrides.push(`--${flag}=${this.secretStandIn(file)}`);
      }
    }
    // A small Node program runs the binary and stops it at its first
    // "listening on" (or its exit, or after 15 s on a slow machine), so a
    // quick start costs little and a slow one is not taken for a refusal.
    const run = childProcess.spawnSync(process.execPath, ["-e", RUN_UNTIL_LISTENING,
      path.join(this.binDir, binaryName), ...args, ...overrides], {
      env: childEnv, timeout: 30000, killSignal: "SIGKILL", encoding: "utf8",
    });
    const log = `${run.stdout || ""}${run.stderr || ""}`;
    if (!/listening on/.test(log)) {
      const firstLines = log.split("\n").filter(Boolean).slice(0, 3).join(" | ");
      this.fail(where, `${binaryName} does not start with this configuration: ${firstLines || `exit ${run.status}`}`);
    }
  }

  // A stand-in for a mounted secret file (lib/stand_in_secrets.js), made
  // once per run.
  secretStandIn(kind) {
    if (!this.standIns) this.standIns = makeStandInSecrets("drift-check");
    return this.standIns[kind];
  }

  // A Secret's files are root's: the container's user reads them through
  // "other" bits, through the group when the pod sets fsGroup (kubelet then
  // gives them that group), or as root.
  checkSecretReadable(where, podSpec, c, mount, flag, file) {
    const volume = (podSpec.volumes || []).find((v) => v.name === mount.name);
    if (!volume || !volume.secret) return;
    const relative = file.slice(mount.mountPath.replace(/\/$/, "").length + 1);
    const item = (volume.secret.items || []).find((i) => i.path === relative);
    const mode = item && item.mode !== undefined ? item.mode : volume.secret.defaultMode !== undefined ? volume.secret.defaultMode : 0o644;
    const pod = podSpec.securityContext || {};
    const container = c.securityContext || {};
    const user = container.runAsUser !== undefined ? container.runAsUser : pod.runAsUser;
    // With fsGroup, kubelet gives a read-only Secret volume's files that
    // group and adds group read (0440), whatever the mode asked.
    const readable = (mode & 0o004) !== 0 || pod.fsGroup !== undefined || ((mode & 0o400) !== 0 && user === 0);
    if (!readable) {
      this.fail(where, `--${flag}=${file}: the Secret volume "${mount.name}" gives its files mode 0${mode.toString(8)}, owned by root, and the pod sets no fsGroup: uid ${user} cannot read them (set securityContext.fsGroup, or a mode readable by others)`);
    }
  }

  // The "restricted" Pod Security Standard, a read-only root, and the
  // image's uid.
  checkSecurity(where, podSpec, c) {
    const pod = podSpec.securityContext || {};
    const sc = c.securityContext || {};
    const either = (key) => (sc[key] !== undefined ? sc[key] : pod[key]);
    if (either("runAsNonRoot") !== true) this.fail(where, "runAsNonRoot must be true");
    if (sc.allowPrivilegeEscalation !== false) this.fail(where, "allowPrivilegeEscalation must be false");
    if (sc.readOnlyRootFilesystem !== true) this.fail(where, "readOnlyRootFilesystem must be true");
    if (!((sc.capabilities || {}).drop || []).includes("ALL")) this.fail(where, "capabilities must drop ALL");
    if (((either("seccompProfile") || {}).type) !== "RuntimeDefault") this.fail(where, "seccompProfile must be RuntimeDefault");
    const uid = either("runAsUser");
    if (this.uid !== null && uid !== undefined && uid !== this.uid) this.fail(where, `runAsUser ${uid} differs from the image's USER ${this.uid} (deploy/Dockerfile)`);
  }

  checkImage(where, image) {
    const last = String(image).split("/").pop();
    if (last.includes("@sha256:")) return;
    const tag = last.includes(":") ? last.slice(last.indexOf(":") + 1) : "";
    if (!tag || tag === "latest") this.fail(where, `image ${image} is not pinned to a tag or digest`);
  }
}

function main(argv) {
  let opts;
  try {
    opts = parseArgs(argv);
  } catch (e) {
    console.error(e.message);
    return 2;
  }
  const checker = new Checker(opts);
  // Bases first: overlays are compared with them (checkArgsKept).
  const ordered = [...opts.renders].sort((a, b) => Number(opts.bases.has(b.label)) - Number(opts.bases.has(a.label)));
  for (const { label, path: file } of ordered) {
    let objects;
    try {
      objects = loadObjects(file);
    } catch (e) {
      checker.fail(label, e.message);
      continue;
    }
    try {
      checker.checkRender(label, objects);
    } catch (e) {
      // A shape the checks did not expect (the schema check reports why).
      checker.fail(label, `check crashed: ${e.stack}`);
    }
  }
  for (const p of checker.problems) console.error(`FAIL ${p}`);
  const labels = opts.renders.map((r) => r.label).join(", ");
  if (checker.unknownFlags.size > 0) {
    const list = [...checker.unknownFlags].map(([flag, where]) => `${flag} (${[...where].join(", ")})`);
    console.error(`check_drift: flags the manifests set but the binaries do not accept: ${list.join("; ")}`);
  }
  console.log(`check_drift: ${checker.containers} containers in ${labels}: ${checker.problems.length === 0 ? "OK" : checker.problems.length + " problems"}`);
  return checker.problems.length === 0 ? 0 : 1;
}

process.exitCode = main(process.argv.slice(2));
