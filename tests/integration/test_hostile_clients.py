"""Hostile clients against a real server with small limits: malformed and oversized packets, NUL characters,
never-finished messages, attention floods and connections that never log in. Throughout, a normal pymssql
client is served, the server's memory stays under the bound the limits give, and it shuts down cleanly."""
import socket
import threading
import time

import harness
import raw_tds
from clients import PymssqlClient

MIB = 1 << 20
LIMITS = {"max_request_mb": 4, "max_buffered_request_mb": 16, "max_connections": 64, "login_timeout_seconds": 2}
checks = harness.Checks()


def unfinished(port, megabytes):
    """Logs in and sends most of a huge SQL batch, never its last packet."""
    c = raw_tds.Client(port)
    c.login()
    chunk = raw_tds.packet(raw_tds.SQL_BATCH, b"x\0" * 2044, status=0)
    for _ in range(megabytes * MIB // len(chunk)):
        c.send(chunk)
    return c


binary = harness.binary_from_argv()
with harness.Server(binary, config_text=harness.config_text(limits=LIMITS)) as server:
    normal = PymssqlClient(server.port)
    normal.batch("CREATE DATABASE shop")
    normal.batch("USE shop")
    normal.batch("CREATE TABLE t (id INT PRIMARY KEY, v NVARCHAR(100))")
    served = []
    stop = threading.Event()

    def keep_querying():
        n = 0
        try:
            while not stop.is_set():
                n += 1
                normal.batch("INSERT INTO t VALUES (%d, N'row %d')" % (n, n))
                served.append(normal.query("SELECT count(*) FROM t")[0][0] == n)
        except Exception as e:  # noqa: BLE001 - any failure of the normal client fails the test
            served.append(repr(e))

    worker = threading.Thread(target=keep_querying)
    worker.start()
    baseline = harness.memory_mib(server.proc.pid)

    # A NUL character in a batch used to hang its session's thread at 100% CPU forever.
    c = raw_tds.Client(server.port)
    checks.check(c.login() is not None, "raw client logs in")
    nul = raw_tds.errors(c.batch("select 1\0"))
    checks.check(nul and nul[0][0] == 102, "a NUL in a batch is error 102: %r" % nul)
    zero_headers = raw_tds.errors(c.batch("select 1", headers=b"\0\0\0\0"))
    checks.check(zero_headers and zero_headers[0][0] == 102, "ALL_HEADERS of length 0 is error 102: %r" % zero_headers)
    # A request over max_request_mb is refused (701) and the session goes on.
    c.send_message(raw_tds.SQL_BATCH, raw_tds.batch_payload("x" * (3 * MIB)))
    big = raw_tds.errors(c.read_message())
    checks.check(big and big[0][0] == 701 and "max_request_mb" in big[0][1], "an oversized batch is 701: %r" % big)
    checks.equal(raw_tds.errors(c.batch("select 2")), [], "the session goes on after the refusal")
    # A flood of attentions, then a batch: one or a few acknowledgements, then the answer.
    c.send(raw_tds.packet(raw_tds.ATTENTION, b"") * 20000)
    c.send_message(raw_tds.SQL_BATCH, raw_tds.batch_payload("select 3"))
    acks = 0
    while True:
        reply = c.read_message()
        if reply is None or not reply.startswith(b"\xfd\x20\x00"):
            break
        acks += 1
    checks.check(reply is not None and 1 <= acks < 20000, "an attention flood is coalesced (%d acks)" % acks)
    c.close()

    # Malformed framing closes only that connection.
    for name, data in [("a packet shorter than its header", b"\x01\x01\x00\x02\x00\x00\x01\x00"),
                       ("an unknown packet type", b"\x55\x01\x00\x08\x00\x00\x01\x00"),
                       ("a TLS ClientHello", b"\x16\x03\x01\x00\x20\x00\x00\x00"),
                       ("garbage", bytes(range(256)) * 4)]:
        bad = raw_tds.Client(server.port)
        bad.send(data)
        checks.check(bad.closed_by_server(), "%s closes the connection" % name)
        bad.close()

    # Eight sessions each send an unfinished 60 MiB message; twenty connections never log in.
    hogs = [unfinished(server.port, 60) for _ in range(8)]
    idle = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(20)]
    started = time.time()
    for s in idle:
        s.settimeout(15)
    closed_idle = sum(1 for s in idle if s.recv(1) == b"")
    checks.equal(closed_idle, 20, "connections that never log in are closed")
    checks.check(time.time() - started < 10, "within the login timeout (%.1f s)" % (time.time() - started))

    stop.set()
    worker.join()
    checks.check(len(served) > 0 and all(x is True for x in served),
                 "the normal client was served throughout (%d queries, problems: %r)"
                 % (len(served), [x for x in served if x is not True][:3]))
    peak = harness.memory_mib(server.proc.pid)
    # Bound: the shared budget (16 MiB) and 256 KiB per session, twice over for how a growing buffer
    # reserves, plus threads and the allocator's arenas; before the limits, these clients took it past 500 MiB.
    bound = baseline + 2 * (16 + LIMITS["max_connections"] / 4) + 32
    if harness.sanitized(binary):
        bound += 320  # AddressSanitizer keeps up to 256 MiB of freed blocks in quarantine
    checks.check(peak < bound, "peak memory %.0f MiB stays under %.0f MiB" % (peak, bound))
    print("hostile clients: peak RSS %.0f MiB (start %.0f MiB), %d queries served" % (peak, baseline, len(served)),
          flush=True)
    for c in hogs:
        c.close()
    for s in idle:
        s.close()
    normal.close()
checks.finish()
