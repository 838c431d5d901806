#!/usr/bin/python3
"""A backend that refuses every request ("-ERR ...") does not flood the
gateway's log: each refusal reaches its caller as INVALID_ARGUMENT, and the
log gets a burst of lines, then at most one a second, the next line saying
how many it stands for.

Usage: backend_err_log_test.py TCPGATE_BINARY REPO_ROOT
"""
import os
import re
import socket
import sys
import threading
import time

TCPGATE, ROOT = sys.argv[1], sys.argv[2]

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gateway_process import Checks, begin_test, log_text, start_gateway, stop  # noqa: E402

WORK = begin_test(ROOT, "tcpgate-errlog-", stuck_after=100)
import grpc  # noqa: E402
from tcpgate.v1 import gateway_pb2, gateway_pb2_grpc  # noqa: E402

check = Checks(WORK)
CALLS = 200


def refusing_backend(listener):
    """Answers every request line with an -ERR line."""
    def serve(conn):
        with conn, conn.makefile("rb") as lines:
            for _ in lines:
                conn.sendall(b"-ERR refused by policy\n")

    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


listener = socket.create_server(("127.0.0.1", 0))
threading.Thread(target=refusing_backend, args=(listener,), daemon=True).start()
backend = f"127.0.0.1:{listener.getsockname()[1]}"
proc, port = start_gateway(TCPGATE, WORK, f"--backends={backend}", "--min_idle=1", "--pool_size=1")
try:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = gateway_pb2_grpc.GatewayStub(channel)

        def call(uid):
            try:
                stub.Send(gateway_pb2.SendRequest(uid=uid, val="v"), timeout=5)
                return "OK"
            except grpc.RpcError as error:
                return error.code().name

        started = time.monotonic()
        codes = [call(f"r{i}") for i in range(CALLS)]  # One at a time: each -ERR is its request's.
        elapsed = time.monotonic() - started
        check(codes.count("INVALID_ARGUMENT") == CALLS, f"{CALLS} refusals reach their callers as INVALID_ARGUMENT "
              f"({ {c: codes.count(c) for c in set(codes)} })")
        time.sleep(1.1)  # A second later, the next line is written and counts the rest.
        check(call("last") == "INVALID_ARGUMENT", "one more refusal a second later")
    lines = re.findall(rf"backend {re.escape(backend)} answered: -ERR refused by policy(.*)", log_text(proc))
    # The burst, then one a second (the calls took `elapsed` s), then the last.
    # At least the burst of 10 and the last (its second had come).
    least, most = 11, 10 + int(elapsed) + 2
    check(least <= len(lines) <= most,
          f"{len(lines)} log lines for {CALLS + 1} refusals in {elapsed:.1f} s (from {least} to {most})")
    check(any(re.search(r"\(and \d+ error lines not logged since the last\)", rest) for rest in lines),
          "a line says how many it stands for")
finally:
    stop(proc)

check.exit()
