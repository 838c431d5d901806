#!/usr/bin/python3
"""The gateway's HTTP/2 connection policy, seen by a real client (Debian's
python3-grpcio) against the real tcpgate binary:

- keepalive enforcement: a client that pings every 6 s with no call open
  keeps its connection (no too_many_pings GOAWAY; issue 4 asks that clients
  pinging every 10 s are accepted, and the gateway accepts pings 5 s apart),
  while one pinging every second is sent away (the control: it shows the
  test sees a GOAWAY when there is one);
- --max_connection_age: unary calls made without pause across several ages
  all succeed while the client moves to new connections, and a stream held
  open past the age and its grace is ended UNAVAILABLE (docs/gateway.md).

Usage: connection_policy_test.py TCPGATE_BINARY REPO_ROOT
"""
import os
import sys
import threading
import time

TCPGATE, ROOT = sys.argv[1], sys.argv[2]

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gateway_process import Checks, begin_test, start_gateway, stop  # noqa: E402

WORK = begin_test(ROOT, "tcpgate-conn-", stuck_after=100)
import grpc  # noqa: E402
from tcpgate.v1 import gateway_pb2, gateway_pb2_grpc  # noqa: E402

check = Checks(WORK)


class WatchedChannel:
    """A channel whose connectivity states are recorded as they change."""

    def __init__(self, port, options=()):
        self.channel = grpc.insecure_channel(f"127.0.0.1:{port}", options=list(options))
        self.states = []
        self.lock = threading.Lock()
        self.channel.subscribe(self._record, try_to_connect=True)
        self.stub = gateway_pb2_grpc.GatewayStub(self.channel)

    def _record(self, state):
        with self.lock:
            self.states.append(state)

    def times_ready(self):
        with self.lock:
            return self.states.count(grpc.ChannelConnectivity.READY)

    def left_ready(self):
        """Whether the channel left READY after first reaching it."""
        with self.lock:
            if grpc.ChannelConnectivity.READY not in self.states:
                return False
            first = self.states.index(grpc.ChannelConnectivity.READY)
            return any(s != grpc.ChannelConnectivity.READY for s in self.states[first + 1:])

    def names(self):
        with self.lock:
            return [s.name for s in self.states]


def pinging(port, every_ms):
    """A channel that pings every `every_ms` ms, with or without calls open."""
    return WatchedChannel(port, [
        ("grpc.keepalive_time_ms", every_ms),
        ("grpc.keepalive_timeout_ms", 5000),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.max_pings_without_data", 0),  # No cap on pings between calls.
        ("grpc.http2.min_time_between_pings_ms", min(every_ms, 5000)),
    ])


# Keepalive enforcement.
proc, port = start_gateway(TCPGATE, WORK)
try:
    polite = pinging(port, 6000)
    eager = pinging(port, 1000)
    for name, watched in (("polite", polite), ("eager", eager)):
        answer = watched.stub.Send(gateway_pb2.SendRequest(uid=f"{name}-first", val="v"), timeout=5)
        check(answer.val == "server: hello, v", f"keepalive: the {name} client is answered")
    connected = time.monotonic()
    # The eager client pings every second: its third ping closer than 5 s
    # to the one before is the gateway's third strike.
    while not eager.left_ready() and time.monotonic() < connected + 15:
        time.sleep(0.1)
    check(eager.left_ready(), f"keepalive: a client pinging every 1 s is sent away (states {eager.names()})")
    # Three of the polite client's pings, with no call open.
    time.sleep(max(0.0, connected + 20 - time.monotonic()))
    check(not polite.left_ready() and polite.times_ready() == 1,
          f"keepalive: a client pinging every 6 s keeps its connection for 20 s (states {polite.names()})")
    answer = polite.stub.Send(gateway_pb2.SendRequest(uid="polite-last", val="v"), timeout=5)
    check(answer.val == "server: hello, v" and not polite.left_ready(),
          "keepalive: the polite client's next call goes on the same connection")
    polite.channel.close()
    eager.channel.close()
finally:
    stop(proc)

# --max_connection_age.
AGE_S, GRACE_S = 1.0, 1.0
proc, port = start_gateway(TCPGATE, WORK, f"--max_connection_age={AGE_S}s",
                           f"--max_connection_age_grace={GRACE_S}s")
try:
    calls = WatchedChannel(port)
    codes = {}
    end = time.monotonic() + 4 * AGE_S
    i = 0
    while time.monotonic() < end:
        try:
            answer = calls.stub.Send(gateway_pb2.SendRequest(uid=f"age-{i}", val=f"v{i}"), timeout=5)
            code = "OK" if answer.uid == f"age-{i}" and answer.val == f"server: hello, v{i}" else "crossed"
        except grpc.RpcError as error:
            code = error.code().name
        codes[code] = codes.get(code, 0) + 1
        i += 1
        time.sleep(0.02)
    check(set(codes) == {"OK"}, f"max age: every unary call across the ages is answered ({codes})")
    check(calls.times_ready() >= 2,
          f"max age: the client moved to new connections ({calls.times_ready()} times READY: {calls.names()})")
    calls.channel.close()

    # A stream opened on a fresh connection and never closed by the client.
    held = WatchedChannel(port)
    requests_sent = threading.Event()

    def requests():
        yield gateway_pb2.SendRequest(uid="held-0", val="v")
        requests_sent.set()
        time.sleep(30)  # Never half-closes within the test.

    started = time.monotonic()
    stream = held.stub.SendStream(requests(), timeout=30)
    answers, code = [], None
    try:
        for answer in stream:
            answers.append(answer.uid)
    except grpc.RpcError as error:
        code = error.code()
    took = time.monotonic() - started
    check(answers == ["held-0"], f"max age: the held stream's request was answered ({answers})")
    # gRPC jitters the age by up to 10 % (either way).
    check(code == grpc.StatusCode.UNAVAILABLE and 0.9 * AGE_S + GRACE_S <= took < AGE_S + GRACE_S + 3,
          f"max age: a stream open past the age and its grace ends UNAVAILABLE ({code}, after {took:.2f} s)")
    held.channel.close()
finally:
    stop(proc)

check.exit()
