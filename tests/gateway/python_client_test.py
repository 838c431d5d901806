#!/usr/bin/python3
"""Polyglot check: a Python gRPC client (Debian's python3-grpcio) against the
real tcpgate binary. Stubs are generated from proto/ at test time.

Usage: python_client_test.py TCPGATE_BINARY REPO_ROOT
Checks Send, SendStream (answers matched by uid, a per-request error), a
DEADLINE_EXCEEDED against a backend that never answers, grpc.health.v1, and
the admin endpoint (/metrics counters against what this client saw, /readyz).
"""
import os
import re
import socket
import sys
import time
import urllib.error
import urllib.request

TCPGATE, ROOT = sys.argv[1], sys.argv[2]

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gateway_process import (Checks, begin_test, eventually, log_text, open_fds, peak_rss_kib, scrape,  # noqa: E402
                             start_gateway as start, stop, wait_log)

WORK = begin_test(ROOT, "tcpgate-py-", stuck_after=100)
import grpc  # noqa: E402
from tcpgate.v1 import gateway_pb2, gateway_pb2_grpc  # noqa: E402
import health_pb2, health_pb2_grpc  # noqa: E402


def start_gateway(*flags):
    return start(TCPGATE, WORK, *flags)


check = Checks(WORK)


def readyz(proc):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{proc.admin}/readyz", timeout=5) as page:
            return page.status
    except urllib.error.HTTPError as error:
        return error.code


def liveness(channel):
    """The status of the health name for liveness probes, or the call's error code."""
    try:
        return health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service="liveness"),
                                                         timeout=5).status
    except grpc.RpcError as error:
        return error.code()


def await_health(channel, wanted):
    """Polls grpc.health.v1 (bounded) until it reports `wanted`; returns the last status."""
    health = health_pb2_grpc.HealthStub(channel)
    deadline = time.time() + 10
    status = None
    while time.time() < deadline:
        status = health.Check(health_pb2.HealthCheckRequest(service="tcpgate.v1.Gateway"), timeout=5).status
        if status == wanted:
            break
        time.sleep(0.02)
    return status


def await_serving(channel):
    return await_health(channel, health_pb2.HealthCheckResponse.SERVING)


started = time.time()
proc, port = start_gateway("--backend_max_line_bytes=2000000")
try:
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    stub = gateway_pb2_grpc.GatewayStub(channel)

    check(await_serving(channel) == health_pb2.HealthCheckResponse.SERVING,
          "health SERVING for tcpgate.v1.Gateway")

    answer = stub.Send(gateway_pb2.SendRequest(uid="pixel-1", val="pixelpig!"), timeout=5)
    check(answer.uid == "pixel-1" and answer.val == "server: hello, pixelpig!", "Send answers")
    check(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z", answer.ts) is not None, "Send carries an RFC 3339 ts")

    requests = [gateway_pb2.SendRequest(uid=f"py-{i}", val=f"v{i}") for i in range(50)]
    requests.append(gateway_pb2.SendRequest(uid="too-big", val="x" * (600 * 1024)))
    answers = {a.uid: a for a in stub.SendStream(iter(requests), timeout=10)}
    check(len(answers) == 51, "SendStream answers every request")
    check(all(answers[f"py-{i}"].val == f"server: hello, v{i}" for i in range(50)), "SendStream matches by uid")
    check(answers["too-big"].error.code == grpc.StatusCode.INVALID_ARGUMENT.value[0],
          "SendStream reports a per-request INVALID_ARGUMENT")

    # Hostile bytes, sent raw: a uid that is not UTF-8 (proto3 forbids it),
    # bytes that are no protobuf at all, a message over the size limit.
    raw_send = channel.unary_unary("/tcpgate.v1.Gateway/Send", request_serializer=lambda b: b,
                                   response_deserializer=lambda b: b)
    for name, payload, code, words in [
            ("a non-UTF-8 uid", b"\x0a\x02\xff\xfe\x12\x01x", grpc.StatusCode.INVALID_ARGUMENT, "UTF-8"),
            ("bytes that are not protobuf", b"\xff\xff\xff", grpc.StatusCode.INVALID_ARGUMENT, "not a valid"),
            ("a message over --max_message_bytes", b"\x12\x85\x80\x80\x03" + b"x" * (6 << 20),
             grpc.StatusCode.RESOURCE_EXHAUSTED, "")]:
        try:
            raw_send(payload, timeout=5)
            check(False, f"{name} is refused")
        except grpc.RpcError as error:
            check(error.code() == code and words in (error.details() or ""),
                  f"{name}: {code.name} ({error.code().name}: {error.details()})")
    raw_stream = channel.stream_stream("/tcpgate.v1.Gateway/SendStream", request_serializer=lambda b: b,
                                       response_deserializer=gateway_pb2.SendResponse.FromString)
    answers = list(raw_stream(iter([b"\x0a\x02\xff\xfe", b"\x0a\x07bad-val\x12\x03ok\xc3",
                                    gateway_pb2.SendRequest(uid="after", val="v").SerializeToString()]),
                              timeout=5))
    check(len(answers) == 3 and answers[0].error.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
          and "uid is not valid UTF-8" in answers[0].error.message and answers[2].val == "server: hello, v",
          "SendStream answers a non-UTF-8 request with an error and goes on")
    check(answers[1].uid == "bad-val" and answers[1].error.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
          and "val is not valid UTF-8" in answers[1].error.message,
          f"SendStream's error for a non-UTF-8 val carries the request's uid ({answers[1]})")

    # --backend_max_line_bytes is the embedded backend's line limit too: a
    # val of control characters, escaped six times longer (1.8 MB), goes
    # through a gateway started with 2 MB, where the backend's 1 MiB default
    # would refuse it.
    wide = stub.Send(gateway_pb2.SendRequest(uid="wide", val="\x01" * 300_000), timeout=10)
    check(wide.val == "server: hello, " + "\x01" * 300_000,
          "a 1.8 MB request line within --backend_max_line_bytes is answered by the embedded backend")

    # A compressed request is refused before it is inflated: gRPC 1.51 would
    # inflate it whole first (a gzip bomb of 64 MiB in a few hundred KB).
    peak_before = peak_rss_kib(proc)
    try:
        stub.Send(gateway_pb2.SendRequest(uid="bomb", val="a" * (64 << 20)), timeout=10,
                  compression=grpc.Compression.Gzip)
        check(False, "a gzip request is refused (it was answered)")
    except grpc.RpcError as error:
        check(error.code() == grpc.StatusCode.UNIMPLEMENTED and "disabled" in (error.details() or ""),
              f"a gzip request: UNIMPLEMENTED ({error.code().name}: {error.details()})")
    peak_after = peak_rss_kib(proc)
    check(peak_after - peak_before < 16 << 10,
          f"and the gateway's peak memory did not grow by the inflated size ({peak_before} -> {peak_after} KiB)")
    # gRPC logs each refused call; its lines go through the gateway's log,
    # rate limited per source line (10, then one a second).
    def refused_gzip_call():
        try:
            stub.Send(gateway_pb2.SendRequest(uid="gz", val="v"), timeout=5, compression=grpc.Compression.Gzip)
        except grpc.RpcError:
            pass
    for _ in range(29):
        refused_gzip_call()
    time.sleep(1.2)
    refused_gzip_call()
    refusals = [line for line in log_text(proc).splitlines() if "is disabled" in line]
    check(10 <= len(refusals) < 29 and all(re.match(r"E \S+Z grpc src/\S+:\d+: ", line) for line in refusals)
          and any(re.search(r"\(\d+ more from here dropped\)$", line) for line in refusals),
          f"31 refused calls make {len(refusals)} log lines in the gateway's format, one counting the dropped "
          f"({refusals[-1] if refusals else None})")
    # Drops from a source that then goes quiet are reported too (at exit
    # here; every 10 s in a running gateway), checked after the stop below.
    for _ in range(15):
        refused_gzip_call()
    # protobuf's complaint about a string that is not UTF-8 (sent above) too.
    lines = log_text(proc).splitlines()
    check(any(re.match(r"E \S+Z protobuf \S+:\d+: .*invalid UTF-8", line) for line in lines)
          and not any(line.startswith("[libprotobuf") for line in lines),
          "protobuf's lines are in the gateway's log format too")

    # A Send call whose client half-closes without any request message is
    # refused, not forwarded as an empty request; an empty message (every
    # field at its default) is a request like any other.
    raw_send = channel.stream_stream("/tcpgate.v1.Gateway/Send", request_serializer=lambda b: b,
                                     response_deserializer=gateway_pb2.SendResponse.FromString)
    try:
        list(raw_send(iter([]), timeout=5))
        check(False, "Send without a request message is refused (it was answered)")
    except grpc.RpcError as error:
        check(error.code() == grpc.StatusCode.INVALID_ARGUMENT and "no request message" in (error.details() or ""),
              f"Send without a request message: INVALID_ARGUMENT ({error.code().name}: {error.details()})")
    empty = list(raw_send(iter([b""]), timeout=5))
    check(len(empty) == 1 and empty[0].uid.startswith("gw-") and empty[0].val == "server: hello, ",
          f"Send with an empty message is answered, with a uid the gateway made ({empty})")

    # /metrics counts exactly what this client saw.
    metrics = scrape(proc)
    want = {
        'tcpgate_requests_total{rpc="Send",code="OK"}': 3,
        'tcpgate_requests_total{rpc="SendStream",code="OK"}': 51,
        'tcpgate_requests_total{rpc="SendStream",code="INVALID_ARGUMENT"}': 3,
        'tcpgate_requests_total{rpc="Send",code="INVALID_ARGUMENT"}': 3,
        'tcpgate_request_duration_seconds_count{rpc="Send"}': 6,
        'tcpgate_request_duration_seconds_bucket{rpc="SendStream",le="+Inf"}': 54,
        "tcpgate_pool_pending": 0,
    }
    got = {name: metrics.get(name) for name in want}
    check(got == want, f"/metrics counts what the client saw ({got})")
    # The standard process_* families describe the gateway process itself.
    fds = open_fds(proc)
    rss_pages = int(open(f"/proc/{proc.pid}/statm").read().split()[1])
    rss = rss_pages * os.sysconf("SC_PAGE_SIZE")
    check(abs(metrics.get("process_open_fds", -100) - fds) <= 2,
          f"process_open_fds is the gateway's ({metrics.get('process_open_fds')} against {fds} in /proc)")
    check(abs(metrics.get("process_resident_memory_bytes", 0) - rss) <= rss / 4,
          f"process_resident_memory_bytes is the gateway's ({metrics.get('process_resident_memory_bytes')} "
          f"against {rss} in /proc)")
    check(abs(metrics.get("process_start_time_seconds", 0) - started) <= 3,
          f"process_start_time_seconds is when the gateway started ({metrics.get('process_start_time_seconds')} "
          f"against {started:.1f})")
    check(metrics.get("process_max_fds", 0) >= fds and metrics.get("process_cpu_seconds_total", 0) > 0,
          "process_max_fds and process_cpu_seconds_total are there")
    check(readyz(proc) == 200, "/readyz 200 while SERVING")

    # gRPC 1.51's callback threads sleep 100 ms when a second passes without
    # an event; the gateway keeps them awake (CallbackThreadHeartbeat). Without
    # it, each of these calls waited ~80 ms for a thread.
    took = []
    for i in range(5):
        time.sleep(1.02)
        started = time.monotonic()
        stub.Send(gateway_pb2.SendRequest(uid=f"quiet-{i}", val="v"), timeout=5)
        took.append((time.monotonic() - started) * 1000)
    took.sort()
    check(took[2] < 30, "a call after a quiet second is answered without waiting for a gRPC thread "
          f"(median of 5: {took[2]:.1f} ms)")
    # docs/operations.md: request payloads never appear in metrics or logs,
    # whatever the requests above did (answered, refused, bad UTF-8, -ERR).
    check(not any("pixelpig" in series for series in scrape(proc)), "no request payload in /metrics")
finally:
    stop(proc)
check("pixelpig" not in log_text(proc), "no request payload in the gateway's log")
check(re.search(r"W \S+Z grpc src/\S+:\d+: \d+ more from here dropped since the last one written", log_text(proc)),
      "dropped library lines from a source gone quiet are reported at exit")

# A backend that accepts (the kernel does) and never answers.
silent = socket.socket()
silent.bind(("127.0.0.1", 0))
silent.listen(16)
proc, port = start_gateway(f"--backends=127.0.0.1:{silent.getsockname()[1]}", "--default_timeout=500ms")


def counted_send_codes():
    """The gateway's count of Send calls ended DEADLINE_EXCEEDED and CANCELLED."""
    metrics = scrape(proc)
    return {code: metrics.get(f'tcpgate_requests_total{{rpc="Send",code="{code}"}}', 0)
            for code in ("DEADLINE_EXCEEDED", "CANCELLED")}


try:
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    stub = gateway_pb2_grpc.GatewayStub(channel)
    # SERVING once the pool is connected; before, the call would be UNAVAILABLE.
    check(await_serving(channel) == health_pb2.HealthCheckResponse.SERVING, "health follows the pool")
    try:
        stub.Send(gateway_pb2.SendRequest(uid="slow", val="v"), timeout=0.3)
        check(False, "Send to a silent backend fails")
    except grpc.RpcError as error:
        check(error.code() == grpc.StatusCode.DEADLINE_EXCEEDED, f"DEADLINE_EXCEEDED (got {error.code()})")
    # The client's timer and the gateway's (the propagated deadline) race;
    # a cancel that close to the deadline counts as the deadline
    # (docs/gateway.md), so the gateway counts the call once, as
    # DEADLINE_EXCEEDED. Wait (bounded): it may finish a moment after the client.
    eventually(lambda: sum(counted_send_codes().values()) >= 1, 5)
    counted = counted_send_codes()
    check(counted == {"DEADLINE_EXCEEDED": 1, "CANCELLED": 0},
          f"/metrics counts the timed-out call once, as DEADLINE_EXCEEDED ({counted})")
    # With no deadline of the client's own, only the gateway's
    # --default_timeout can end the call.
    started = time.monotonic()
    no_deadline = stub.Send.future(gateway_pb2.SendRequest(uid="no-deadline", val="v"))
    error = no_deadline.exception(timeout=5)  # Raises if the call is still going then.
    code = error.code() if error is not None else None
    check(code == grpc.StatusCode.DEADLINE_EXCEEDED and 0.5 <= time.monotonic() - started < 5,
          f"a call without a deadline ends DEADLINE_EXCEEDED at the gateway's --default_timeout (got {code})")
    check(eventually(lambda: counted_send_codes()["DEADLINE_EXCEEDED"] == 2, 5), "and the gateway counted it")
    # The only backend goes away: its queued connection is reset and new
    # connects are refused, so no backend connection is ready.
    silent.close()
    not_serving = health_pb2.HealthCheckResponse.NOT_SERVING
    check(await_health(channel, not_serving) == not_serving, "health NOT_SERVING when no backend is reachable")
    check(readyz(proc) == 503, "/readyz 503 when no backend is reachable")
    serving = health_pb2.HealthCheckResponse.SERVING
    check(liveness(channel) == serving, f"health SERVING for 'liveness' when no backend is reachable ({liveness(channel)})")
    try:
        stub.Send(gateway_pb2.SendRequest(uid="nobody", val="v"), timeout=5)
        check(False, "Send without a backend fails")
    except grpc.RpcError as error:
        check(error.code() == grpc.StatusCode.UNAVAILABLE, f"UNAVAILABLE without a backend (got {error.code()})")
    # SIGTERM with no call in flight and this client idle: the gateway exits
    # at once. (A Python client reads an idle connection only while it has
    # a call going, so it answers the GOAWAY's ping and closes only about
    # 5 s later; gRPC's Shutdown alone would wait for that.)
    signalled_at = time.monotonic()
    proc.terminate()
    check(proc.wait(timeout=20) == 0 and time.monotonic() - signalled_at < 2.0,
          f"SIGTERM with an idle client: exit 0 at once (took {time.monotonic() - signalled_at:.2f} s)")
finally:
    if proc.poll() is None:
        stop(proc)

# SIGTERM with a call in flight: the call still gets its answer; at once,
# while it is still in flight, the gateway stops taking connections and new
# calls are refused (so clients move to another replica); it exits 0.
import json  # noqa: E402
import threading  # noqa: E402

HOLD_S = 3.0
slow = socket.socket()
slow.bind(("127.0.0.1", 0))
slow.listen(16)
received = threading.Event()


def slow_backend():
    """Answers each request line like the reference backend, HOLD_S later."""
    while True:
        try:
            conn, _ = slow.accept()
        except OSError:
            return
        def serve(conn=conn):
            reader = conn.makefile("rb")
            for line in reader:
                request = json.loads(line)
                if request["Uid"].startswith("_tcpgate_probe_"):
                    continue
                received.set()
                time.sleep(HOLD_S)
                answer = {"Uid": request["Uid"], "Val": "server: hello, " + request["Val"], "Ts": ""}
                conn.sendall((json.dumps(answer) + "\n").encode())
        threading.Thread(target=serve, daemon=True).start()


threading.Thread(target=slow_backend, daemon=True).start()


def sigterm_with_a_call_held(what, uid, *flags):
    """Starts a gateway in front of the slow backend with `flags`, sends one
    call, and sends SIGTERM once the backend holds it; returns the gateway,
    its port, the channel and the call's future."""
    received.clear()
    proc, port = start_gateway(f"--backends=127.0.0.1:{slow.getsockname()[1]}", *flags)
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    check(await_serving(channel) == health_pb2.HealthCheckResponse.SERVING, f"{what}: serving before SIGTERM")
    call = gateway_pb2_grpc.GatewayStub(channel).Send.future(gateway_pb2.SendRequest(uid=uid, val="v"), timeout=10)
    check(received.wait(10), f"{what}: the backend got the request")
    proc.terminate()
    return proc, port, channel, call


# The notice (step 1 of docs/gateway.md "Shutdown") is long enough to look
# at the gateway during it on a loaded machine, and ends 1.5 s before the
# held call's answer.
proc, port, channel, in_flight = sigterm_with_a_call_held("drain", "in-flight", "--drain_timeout=10s",
                                                          "--drain_notice=1500ms")
stub = gateway_pb2_grpc.GatewayStub(channel)
check(wait_log(proc, r"health: NOT_SERVING \(draining\)") is not None, "drain: the gateway took the signal")
# During the notice, on the connection the client already has: health says
# NOT_SERVING for both names, /readyz 503, and a new call reaches the
# service and is refused by it, not by gRPC or a failed connect.
health = health_pb2_grpc.HealthStub(channel)
for name in ("", "tcpgate.v1.Gateway"):
    try:
        status = health.Check(health_pb2.HealthCheckRequest(service=name), timeout=5).status
    except grpc.RpcError as error:
        status = error.code()
    check(status == health_pb2.HealthCheckResponse.NOT_SERVING, f"drain: health NOT_SERVING for {name!r} ({status})")
check(readyz(proc) == 503, "drain: /readyz 503")
check(liveness(channel) == health_pb2.HealthCheckResponse.SERVING,
      f"drain: health SERVING for 'liveness' (a drain is no reason to restart) ({liveness(channel)})")
refused = None
try:
    stub.Send(gateway_pb2.SendRequest(uid="during-notice", val="v"), timeout=5)
except grpc.RpcError as error:
    refused = error
check(refused is not None and refused.code() == grpc.StatusCode.UNAVAILABLE
      and "gateway is shutting down" in refused.details(),
      f"drain: a call during the notice is refused by the gateway ({refused and refused.details()})")
check(not in_flight.done(), "drain: the call in flight is still held during the notice")


def connection_refused(until):
    """Whether a new TCP connection to the gateway is refused before `until`."""
    while time.monotonic() < until:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        except ConnectionRefusedError:
            return True
        except ConnectionResetError:
            pass  # Queued at the listener as it closed: look again, until refused.
        time.sleep(0.02)
    return False


check(connection_refused(time.monotonic() + HOLD_S - 1.0) and not in_flight.done(),
      "drain: new connections are refused while a call is still in flight")
# A call the client starts before it has read the gateway's GOAWAY can reach
# gRPC after its Shutdown began and be CANCELLED by gRPC (docs/gateway.md,
# "Shutdown"); under load the client reads it late. So the new call waits
# until this channel has left READY, i.e. the client knows of the GOAWAY.
states = []
channel.subscribe(states.append)
check(eventually(lambda: states and states[-1] != grpc.ChannelConnectivity.READY),
      f"drain: the client learns of the GOAWAY (channel states {[s.name for s in states]})")
refused = None
try:
    stub.Send(gateway_pb2.SendRequest(uid="late", val="v"), timeout=5)
except grpc.RpcError as error:
    refused = error.code()
check(refused == grpc.StatusCode.UNAVAILABLE, f"drain: a new call is refused with UNAVAILABLE (got {refused})")
try:
    answer = in_flight.result()
    check(answer.val == "server: hello, v", "drain: the call in flight got its answer")
except grpc.RpcError as error:
    check(False, f"drain: the call in flight failed with {error.code()}")
check(proc.wait(timeout=20) == 0, "drain: exit 0 after SIGTERM")

# SIGTERM with a call that outlasts --drain_timeout: at the timeout the
# gateway says how many calls it cancels (every time: gRPC's own Shutdown
# deadline comes after the gateway's, so that count is not already 0 by the
# time the gateway looks, as it was in about one run in three before), the
# call ends UNAVAILABLE, and the exit is 0.
proc, port, channel, held = sigterm_with_a_call_held("drain timeout", "held", "--drain_timeout=500ms",
                                                     "--drain_notice=0s")
check(wait_log(proc, r"drain timeout: cancelling 1 calls still in flight") is not None,
      "drain timeout: the log says one call is cancelled")
held_code = None
try:
    held.result()
except grpc.RpcError as error:
    held_code = error.code()
check(held_code == grpc.StatusCode.UNAVAILABLE, f"drain timeout: the held call ends UNAVAILABLE (got {held_code})")
check(proc.wait(timeout=20) == 0, "drain timeout: exit 0 after SIGTERM")
slow.close()

check.exit()
