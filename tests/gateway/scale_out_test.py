#!/usr/bin/python3
"""Scale-out test: the shape of a small cluster, as processes on one machine.

Three tcpgate-backend processes listen on the same port P of their own
loopback address (127.0.0.2, .3, .4; all of 127/8 is local on Linux) and are
found through one name, backends.tcpgate.test:P, the way a Kubernetes
headless Service answers with one address per pod. The name resolves through
nss_wrapper (LD_PRELOAD=libnss_wrapper.so, NSS_WRAPPER_HOSTS=a hosts file
this test writes and rewrites), so the gateways use the real system resolver
(getaddrinfo) without root and without touching /etc/hosts.

Two tcpgate gateways (--resolve_interval=500ms) serve a gRPC client that
balances round robin over both (target ipv4:127.0.0.1:G1,127.0.0.1:G2) and
keeps a steady load of Send calls, each with a unique uid, checking the uid
and val of every answer. The service config is the one docs/operations.md
recommends: round_robin, client-side health checking on tcpgate.v1.Gateway,
and a retry policy for UNAVAILABLE. Steps:

  1. steady load: both gateways and all three backends take calls;
  2. SIGTERM one gateway: it exits 0 with no drain timeout (calls in flight
     there take ~25 ms, within the drain notice; python_client_test holds
     one across the signal) and the client moves to the other;
  3. kill -9 one backend: the pool drops it, calls keep succeeding; then it
     leaves the hosts file and the pool forgets it;
  4. a new backend on 127.0.0.5:P joins the hosts file: the surviving gateway
     sends it requests within a few resolve intervals (its /metrics).

At the end every call must have had exactly one answer: none unanswered,
none crossed (another call's uid or val), no error. Prints a table.

Usage: scale_out_test.py BIN_DIR REPO_ROOT [--no-retry] [--no-health-check] [--markdown FILE]
  --no-retry, --no-health-check: leave that part out of the client's service
  config, to measure what it buys; errors are then reported, not failed on.
"""
import argparse
import collections
import glob
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import gateway_process  # tests/gateway, beside this file
from gateway_process import begin_test, log_text, scrape, start_gateway

parser = argparse.ArgumentParser()
parser.add_argument("bin")
parser.add_argument("root")
parser.add_argument("--no-retry", action="store_true")
parser.add_argument("--no-health-check", action="store_true")
parser.add_argument("--markdown")
args = parser.parse_args()

WORK = begin_test(args.root, "tcpgate-scale-", stuck_after=100)  # ctest gives it 120 s.
NAME = "backends.tcpgate.test"
HOSTS = os.path.join(WORK, "hosts")
RESOLVE_INTERVAL_S = 0.5
ANSWER_DELAY_MS = 25  # Each backend answers this late, so calls are in flight when processes stop.
THREADS = 8
RATE_PER_THREAD = 30  # Calls per second per client thread (each takes a little over the delay).
STRICT = not args.no_retry and not args.no_health_check

import grpc  # noqa: E402
from tcpgate.v1 import gateway_pb2, gateway_pb2_grpc  # noqa: E402

processes = []
failures = []


def check(condition, what):
    print(("ok   " if condition else "FAIL ") + what, flush=True)
    if not condition:
        failures.append(what)
    return condition


def fatal(what):
    print(f"FAIL {what} (logs in {WORK})", flush=True)
    for proc in processes:
        if proc.poll() is None:
            proc.kill()
    sys.exit(1)


def await_true(condition, timeout, what):
    """Polls `condition` until it holds, at most `timeout` seconds; returns the seconds it took."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if condition():
            return time.monotonic() - start
        time.sleep(0.02)
    fatal(f"{what}: not within {timeout} s")


# ---- The name: a hosts file for nss_wrapper ----

def nss_preload(binary):
    """LD_PRELOAD for `binary`: nss_wrapper, behind the ASan runtime when the binary has one
    (ASan insists on coming first)."""
    found = glob.glob("/usr/lib/*/libnss_wrapper.so") + glob.glob("/usr/lib/libnss_wrapper.so")
    if not found:
        fatal("libnss_wrapper.so not found: install libnss-wrapper (scripts/install-deps.sh does)")
    preload = [found[0]]
    ldd = subprocess.run(["ldd", binary], capture_output=True, text=True).stdout
    asan = re.search(r"libasan\.so\.\d+ => (\S+)", ldd)
    if asan:
        preload.insert(0, asan.group(1))
    return " ".join(preload)


hosts_generation = 0
HOSTS_STAMP = int(time.time()) - 100000


def write_hosts(ips):
    """Replaces the hosts file. nss_wrapper reloads a file whose inode or mtime (in whole seconds)
    changed: a new file, renamed over the old, with a distinct mtime."""
    global hosts_generation
    hosts_generation += 1
    tmp = HOSTS + ".tmp"
    with open(tmp, "w") as f:
        f.write("".join(f"{ip} {NAME}\n" for ip in ips))
    stamp = HOSTS_STAMP + hosts_generation
    os.utime(tmp, (stamp, stamp))
    os.replace(tmp, HOSTS)


def common_free_port(ips):
    """A port free on every address in `ips`."""
    for _ in range(100):
        sockets = []
        try:
            first = socket.socket()
            sockets.append(first)
            first.bind((ips[0], 0))
            port = first.getsockname()[1]
            for ip in ips[1:]:
                s = socket.socket()
                sockets.append(s)
                s.bind((ip, port))
            return port
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    fatal("no port free on all of " + ", ".join(ips))


# ---- Processes ----

def spawn(name, argv):
    proc = gateway_process.spawn(WORK, name, argv)
    processes.append(proc)
    return proc


def log_match(proc, pattern):
    return re.search(pattern, log_text(proc))


def wait_log(proc, pattern, timeout=10):
    return gateway_process.wait_log(proc, pattern, timeout) or fatal(f"no '{pattern}' in {proc.name}'s log")


def start_backend(ip, port):
    proc = spawn(f"backend-{ip}", [f"{args.bin}/tcpgate-backend", f"--listen={ip}:{port}", "--threads=1",
                                   "--log_connections=false", f"--answer_delay={ANSWER_DELAY_MS}ms"])
    wait_log(proc, r"listening on")
    return proc


class Gateway:
    def __init__(self, name, port):
        binary = f"{args.bin}/tcpgate"
        # nss_wrapper's getaddrinfo keeps a hash table (hsearch) without a
        # lock: the gateway resolving its backends' name on the pool's thread
        # while gRPC resolves the listen address at start crashed it in
        # there once in a day's five CI runs under ASan (SEGV in __GI___hsearch_r under
        # libnss_wrapper). getaddrinfo is thread-safe; the test's preload is
        # not. Such a start is tried once more; any other failure is fatal.
        for attempt in (1, 2):
            try:
                self.proc, self.port = start_gateway(
                    binary, WORK, f"--backends={NAME}:{port}", f"--resolve_interval={int(RESOLVE_INTERVAL_S * 1000)}ms",
                    "--threads=1", "--drain_timeout=5s",
                    env={"LD_PRELOAD": nss_preload(binary), "NSS_WRAPPER_HOSTS": HOSTS})
                break
            except SystemExit as error:
                if attempt == 2 or "hsearch" not in str(error):
                    fatal(f"{name} did not start: {error}")
                print(f"note: {name} crashed inside nss_wrapper's hsearch at start; starting it again", flush=True)
        self.proc.name = self.name = name
        processes.append(self.proc)
        self.admin = self.proc.admin
        wait_log(self.proc, r"health: SERVING")

    def metrics(self):
        return scrape(self)

    def backend_sample(self, family, address, label, value):
        return self.metrics().get(
            f'{family}{{backend="{NAME}:{PORT}",address="{address}:{PORT}",{label}="{value}"}}')

    def sent_ok(self, address):
        return self.backend_sample("tcpgate_backend_requests_total", address, "result", "ok") or 0

    def connection_errors(self, address):
        return self.backend_sample("tcpgate_backend_requests_total", address, "result", "connection_error") or 0

    def ready(self, address):
        return self.backend_sample("tcpgate_backend_connections", address, "state", "ready") or 0

    def knows(self, address):
        return self.backend_sample("tcpgate_backend_connections", address, "state", "ready") is not None

    def calls_ok(self):
        return self.metrics().get('tcpgate_requests_total{rpc="Send",code="OK"}', 0)

    def in_flight(self):
        return self.metrics().get("tcpgate_requests_in_flight", 0)


# ---- The client ----

def service_config():
    config = {"loadBalancingConfig": [{"round_robin": {}}]}
    if not args.no_health_check:
        config["healthCheckConfig"] = {"serviceName": "tcpgate.v1.Gateway"}
    if not args.no_retry:
        config["methodConfig"] = [{
            "name": [{"service": "tcpgate.v1.Gateway", "method": "Send"}],
            "retryPolicy": {
                "maxAttempts": 4,
                "initialBackoff": "0.05s",
                "maxBackoff": "0.5s",
                "backoffMultiplier": 2,
                "retryableStatusCodes": ["UNAVAILABLE"],
            },
        }]
    return json.dumps(config)


class Load:
    """THREADS client threads, each sending RATE_PER_THREAD unary calls a second, one at a time."""

    def __init__(self, stub):
        self.stub = stub
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.phase = None
        self.phases = []
        self.counts = collections.defaultdict(collections.Counter)
        self.threads = [threading.Thread(target=self.run, args=(t,), daemon=True) for t in range(THREADS)]

    def enter(self, phase):
        with self.lock:
            self.phase = phase
            self.phases.append(phase)

    def run(self, t):
        i = 0
        next_at = time.monotonic()
        while not self.stop.is_set():
            uid, val = f"c{t}-{i}", f"v{t}.{i}"
            with self.lock:
                phase = self.phase
                self.counts[phase]["sent"] += 1
            try:
                answer = self.stub.Send(gateway_pb2.SendRequest(uid=uid, val=val), timeout=5)
                outcome = "ok" if (answer.uid, answer.val) == (uid, f"server: hello, {val}") else "crossed"
            except grpc.RpcError as error:
                outcome = error.code().name
            with self.lock:
                self.counts[phase][outcome] += 1
            i += 1
            next_at += 1.0 / RATE_PER_THREAD
            time.sleep(max(0.0, next_at - time.monotonic()))  # Pacing, not waiting for a condition.

    def total(self, key):
        with self.lock:
            return sum(c[key] for c in self.counts.values())

    def keep_for(self, seconds):
        """Lets the load run `seconds` more (wall-clock pacing of the scenario)."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if not all(thread.is_alive() for thread in self.threads):
                fatal("a client thread died")
            time.sleep(0.05)


# ---- The scenario ----

os.environ.pop("LD_PRELOAD", None)
PORT = common_free_port(["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"])
write_hosts(["127.0.0.2", "127.0.0.3", "127.0.0.4"])
backends = {ip: start_backend(ip, PORT) for ip in ["127.0.0.2", "127.0.0.3", "127.0.0.4"]}
gateways = [Gateway("gateway-a", PORT), Gateway("gateway-b", PORT)]
for gateway in gateways:
    await_true(lambda: all(gateway.ready(ip) >= 1 for ip in backends), 10,
               f"{gateway.name} connected to the three backends")
print(f"backends {NAME}:{PORT} -> 127.0.0.2-4; gateways on {gateways[0].port} and {gateways[1].port}; "
      f"logs in {WORK}", flush=True)

channel = grpc.insecure_channel(
    f"ipv4:127.0.0.1:{gateways[0].port},127.0.0.1:{gateways[1].port}",
    options=[("grpc.service_config", service_config()), ("grpc.enable_retries", 1)])
grpc.channel_ready_future(channel).result(timeout=10)
load = Load(gateway_pb2_grpc.GatewayStub(channel))
figures = {}
started = time.monotonic()
try:
    # 1. Steady load over both gateways and all three backends.
    load.enter("1 steady")
    for thread in load.threads:
        thread.start()
    load.keep_for(3)
    check(all(g.calls_ok() > 0 for g in gateways), "steady: both gateways answer calls")
    check(all(sum(g.sent_ok(ip) for g in gateways) > 0 for ip in backends),
          "steady: all three backends answer requests")

    # 2. SIGTERM one gateway: it drains and exits 0; the client moves to the other.
    load.enter("2 gateway SIGTERM")
    load.keep_for(0.2)  # Calls in flight at the signal belong to this phase.
    leaving, staying = gateways
    figures["calls in flight on that gateway just before SIGTERM"] = int(leaving.in_flight())
    term_at = time.monotonic()
    leaving.proc.send_signal(signal.SIGTERM)
    try:
        code = leaving.proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        fatal("the gateway did not exit within 15 s of SIGTERM")
    figures["gateway drain, SIGTERM to exit"] = f"{time.monotonic() - term_at:.2f} s"
    check(code == 0, f"SIGTERM: the gateway exits 0 (got {code})")
    check(log_match(leaving.proc, r"drain timeout") is None, "SIGTERM: every call in flight finished in the drain")
    # The leaving gateway has exited: every call answered from now on must
    # be the staying one's (round robin alone would give it about half).
    # The gateway counts a call before the client does: at the first reading
    # up to THREADS answers may be counted there and not yet by the client.
    before, client_ok_before = staying.calls_ok(), load.total("ok")
    load.keep_for(1.5)
    taken, answered = staying.calls_ok() - before, load.total("ok") - client_ok_before
    check(answered > 0 and taken >= answered - THREADS,
          f"SIGTERM: the other gateway takes the calls ({taken:.0f} counted there for {answered} answered)")

    # 3. kill -9 one backend: the pool drops it; then it leaves the name.
    load.enter("3 backend kill -9")
    load.keep_for(0.2)
    victim = "127.0.0.3"
    kill_at = time.monotonic()
    backends[victim].kill()
    backends[victim].wait()
    took = await_true(lambda: staying.ready(victim) == 0, 5, "the pool drops the killed backend")
    figures["killed backend out of the ready set"] = f"{took:.2f} s"
    load.keep_for(1)
    figures["requests lost with the killed backend (UNAVAILABLE to the client)"] = int(staying.connection_errors(victim))
    write_hosts(["127.0.0.2", "127.0.0.4"])
    took = await_true(lambda: not staying.knows(victim), 5, "the pool forgets the address that left the name")
    figures["address gone from the pool after leaving the name"] = f"{took:.2f} s"
    load.keep_for(1)

    # 4. A new backend joins the name: the gateway uses it within a few resolve intervals.
    load.enter("4 backend added")
    newcomer = "127.0.0.5"
    backends[newcomer] = start_backend(newcomer, PORT)
    write_hosts(["127.0.0.2", "127.0.0.4", newcomer])
    took = await_true(lambda: staying.sent_ok(newcomer) > 0, 6 * RESOLVE_INTERVAL_S + 2,
                      "the new backend gets requests")
    figures["new backend's first answered request after joining the name"] = f"{took:.2f} s"
    load.keep_for(1.5)
    check(staying.sent_ok(newcomer) > 10, "the new backend keeps getting requests")
finally:
    load.stop.set()
    for thread in load.threads:
        thread.join(timeout=10)

# ---- Figures ----
codes = sorted({k for c in load.counts.values() for k in c} - {"sent", "ok", "crossed"})
header = ["phase", "sent", "ok", "crossed", *codes, "unanswered"]
rows = []
for phase in load.phases:
    c = load.counts[phase]
    answered = c["ok"] + c["crossed"] + sum(c[k] for k in codes)
    rows.append([phase, c["sent"], c["ok"], c["crossed"], *(c[k] for k in codes), c["sent"] - answered])
totals = ["total", *(sum(row[i] for row in rows) for i in range(1, len(header)))]
rows.append(totals)
config = "retry policy + health checking" if STRICT else ", ".join(
    ["no retry policy"] * args.no_retry + ["no health checking"] * args.no_health_check)
table = [f"Client: {THREADS} threads x {RATE_PER_THREAD} calls/s, {config}; backends answer after "
         f"{ANSWER_DELAY_MS} ms; {time.monotonic() - started:.1f} s under load.", "",
         "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
table += ["| " + " | ".join(str(v) for v in row) + " |" for row in rows]
table += ["", "| event | figure |", "|---|---|"]
table += [f"| {name} | {value} |" for name, value in figures.items()]
print("\n".join(table), flush=True)
if args.markdown:
    with open(args.markdown, "w") as f:
        f.write("\n".join(table) + "\n")

unanswered = totals[-1]
errors = sum(load.total(k) for k in codes)
check(unanswered == 0, f"every call got an answer ({unanswered} unanswered)")
check(load.total("crossed") == 0, f"no answer crossed to another call ({load.total('crossed')})")
if STRICT:
    check(errors == 0, f"no call failed ({errors} errors)")

staying.proc.send_signal(signal.SIGTERM)
check(staying.proc.wait(timeout=15) == 0, "the last gateway exits 0 on SIGTERM")
for proc in processes:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        check(proc.wait(timeout=10) == 0, f"{proc.name} exits 0 on SIGTERM")
gateway_process.finish(failures, WORK)
