#!/usr/bin/python3
"""Measures the gateway's resident memory through a burst of large
SendStream requests from clients that never read their answers, and after
they leave: the worst case of docs/gateway.md ("SendStream") and what the
gateway gives back afterwards (docs/performance.md, "Memory after a burst
of large messages").

Usage: /usr/bin/python3 tests/bench/stream_burst_memory.py BIN_DIR [STREAMS=8] [VAL_KB=200] [SECONDS=6] [ROUNDS=3]
Starts tcpgate-backend (one thread) and tcpgate (default flags) itself on
127.0.0.1, then each round opens STREAMS channels, each with one SendStream
that sends VAL_KB vals as fast as gRPC lets it and never reads, for SECONDS;
then the clients cancel and close. Prints a Markdown table of the gateway's
RSS: at the end of the burst, its peak (VmHWM), 1 s after the clients left
and 12 s after (past one HeapTrimmer interval). Needs Debian's
python3-grpcio and python3-grpc-tools.
"""
import os
import re
import sys
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "gateway"))
from gateway_process import begin_test, spawn, start_gateway, stop, wait_log  # noqa: E402

BIN = sys.argv[1]
STREAMS = int(sys.argv[2]) if len(sys.argv) > 2 else 8
VAL_KB = int(sys.argv[3]) if len(sys.argv) > 3 else 200
SECONDS = float(sys.argv[4]) if len(sys.argv) > 4 else 6
ROUNDS = int(sys.argv[5]) if len(sys.argv) > 5 else 3

WORK = begin_test(ROOT, "tcpgate-burst-", stuck_after=60 + ROUNDS * (SECONDS + 20))
import grpc  # noqa: E402
from tcpgate.v1 import gateway_pb2, gateway_pb2_grpc  # noqa: E402


def rss_mib(proc, field="VmRSS"):
    status = open(f"/proc/{proc.pid}/status").read()
    return int(re.search(field + r":\s+(\d+)", status).group(1)) / 1024


def burst(port):
    """STREAMS never-reading streams for SECONDS; returns the requests handed to gRPC."""
    sent = [0] * STREAMS
    stop_sending = threading.Event()
    val = "x" * (VAL_KB * 1024)

    def requests(i):
        k = 0
        while not stop_sending.is_set():
            k += 1
            sent[i] += 1
            yield gateway_pb2.SendRequest(uid=f"s{i}-{k}", val=val)

    channels = [grpc.insecure_channel(f"127.0.0.1:{port}") for _ in range(STREAMS)]
    calls = [gateway_pb2_grpc.GatewayStub(c).SendStream(requests(i)) for i, c in enumerate(channels)]
    time.sleep(SECONDS)
    stop_sending.set()
    return calls, channels, sum(sent)


backend = spawn(WORK, "backend", [f"{BIN}/tcpgate-backend", "--listen=127.0.0.1:0", "--threads=1",
                                  "--log_connections=false"])
backend_port = int(wait_log(backend, r"listening on 127\.0\.0\.1:(\d+)").group(1))
print(f"| round | streams × val | requests sent | RSS at the end MiB | peak MiB | 1 s after MiB | 12 s after MiB |")
print("|---|---|---|---|---|---|---|")
for round_number in range(1, ROUNDS + 1):
    gateway, port = start_gateway(f"{BIN}/tcpgate", WORK, f"--backends=127.0.0.1:{backend_port}")
    calls, channels, sent = burst(port)
    at_end = rss_mib(gateway)
    for call in calls:
        call.cancel()
    for channel in channels:
        channel.close()
    time.sleep(1)
    after_1 = rss_mib(gateway)
    time.sleep(11)
    after_12 = rss_mib(gateway)
    peak = rss_mib(gateway, "VmHWM")
    print(f"| {round_number} | {STREAMS} × {VAL_KB} KB | {sent} | {at_end:.0f} | {peak:.0f} | {after_1:.0f} | "
          f"{after_12:.0f} |", flush=True)
    stop(gateway)
backend.terminate()
backend.wait(timeout=20)
