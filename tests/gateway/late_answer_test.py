#!/usr/bin/python3
"""An answer owed past --late_response_window never reaches another call
with the same uid, through the real gateway: the backend here holds the
answer to a call that gave up, and gives it at once when the same uid comes
again on that connection (a backend that lost track of time). Before the
fix, the uid was unblocked at the window and the next call with it got the
old answer; now the connection retires at the window (the call waiting
behind the uid fails UNAVAILABLE, not sent), and a later call with the uid
goes to a new connection and gets its own answer.

Usage: late_answer_test.py TCPGATE_BINARY REPO_ROOT
"""
import json
import os
import socket
import sys
import threading

TCPGATE, ROOT = sys.argv[1], sys.argv[2]

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gateway_process import Checks, begin_test, scrape, start_gateway, stop  # noqa: E402

WORK = begin_test(ROOT, "tcpgate-late-", stuck_after=60)
import grpc  # noqa: E402
from tcpgate.v1 import gateway_pb2, gateway_pb2_grpc  # noqa: E402

check = Checks(WORK)


def answer(request):
    return (json.dumps({"Uid": request["Uid"], "Val": "server: hello, " + request["Val"]}) + "\n").encode()


def serve(conn):
    """Answers at once, but for val "old": that answer is held, and written
    just before the answer to the next request with its uid on this
    connection."""
    held = {}
    with conn, conn.makefile("rb") as lines:
        for line in lines:
            request = json.loads(line)
            if request["Val"] == "old":
                held[request["Uid"]] = answer(request)
                continue
            conn.sendall(held.pop(request["Uid"], b"") + answer(request))


def backend(listener):
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


listener = socket.create_server(("127.0.0.1", 0))
threading.Thread(target=backend, args=(listener,), daemon=True).start()
proc, port = start_gateway(TCPGATE, WORK, f"--backends=127.0.0.1:{listener.getsockname()[1]}", "--pool_size=1",
                           "--min_idle=1", "--late_response_window=1s")
try:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = gateway_pb2_grpc.GatewayStub(channel)

        def send(val, timeout):
            try:
                return stub.Send(gateway_pb2.SendRequest(uid="X", val=val), timeout=timeout).val
            except grpc.RpcError as error:
                return f"{error.code().name}: {error.details()}"

        gave_up = send("old", 0.3)
        check(gave_up.startswith("DEADLINE_EXCEEDED"), f"the first call gives up ({gave_up})")
        behind = send("new", 10)
        check(behind.startswith("UNAVAILABLE") and "not sent" in behind,
              f"the call waiting behind the uid fails, not sent, when the connection retires ({behind})")
        # At once, as a client retrying the refused call would: it waits for
        # the replacement, which the pool opened before the refusal.
        again = send("again", 10)
        check(again == "server: hello, again", f"a later call with the uid gets its own answer ({again})")
        check("old" not in behind + again, "no call got the answer owed to the one that gave up")
    check(scrape(proc).get("tcpgate_late_response_window_retirements_total") == 1,
          "the retirement is counted")
finally:
    stop(proc)
check.exit()
