"""What clients can make the server hold in memory, and how failed logins are slowed.

    /usr/bin/python3 bench/client_memory.py build/bakrest

Runs a server on its defaults ([limits] as shipped), then measures its peak resident memory (VmHWM) after
(1) one 50 MB SQL batch, (2) eight sessions each sending an unfinished 138 MB message, and prints the time of
each of ten wrong-password logins followed by the right one. Point it at an older build to compare."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))

import pymssql  # noqa: E402

import harness  # noqa: E402
import raw_tds  # noqa: E402

MIB = 1 << 20


binary = os.path.abspath(sys.argv[1])
with harness.Server(binary) as server:
    pid = server.proc.pid
    print("start: %.0f MiB" % harness.memory_mib(pid, "VmRSS"))
    c = raw_tds.Client(server.port, timeout=300)
    c.login()
    c.send_message(raw_tds.SQL_BATCH, raw_tds.batch_payload("select 1 -- " + "x" * (25 * MIB)))
    reply = c.read_message()
    print("one 50 MB batch: peak %.0f MiB (%s)" % (harness.memory_mib(pid),
                                                  raw_tds.errors(reply)[:1] or "answered"))
    c.close()
    hogs = []
    chunk = raw_tds.packet(raw_tds.SQL_BATCH, b"x\0" * 16380, status=0)
    for _ in range(8):
        h = raw_tds.Client(server.port, timeout=300)
        h.login()
        hogs.append(h)
    # All eight at once, a packet to each in turn, so that their messages grow side by side.
    ended = set()
    for _ in range(138 * MIB // len(chunk)):
        for i, h in enumerate(hogs):
            if i in ended:
                continue
            try:
                h.send(chunk)
            except OSError as e:  # a server that gives up on the message closes the connection
                print("  session %d: its message ended with %s" % (i, e.__class__.__name__))
                ended.add(i)
    time.sleep(1)  # let the server read what is in flight
    print("eight unfinished 138 MB messages: peak %.0f MiB, now %.0f MiB" %
          (harness.memory_mib(pid), harness.memory_mib(pid, "VmRSS")))
    for h in hogs:
        h.close()
    times = []
    for password in ["wrong"] * 10 + [harness.PASSWORD]:
        begin = time.time()
        try:
            pymssql.connect(server="127.0.0.1", port=server.port, user=harness.USER, password=password,
                            tds_version="7.3").close()
        except pymssql.Error:
            pass
        times.append(time.time() - begin)
    print("ten wrong passwords, then the right one: " + ", ".join("%.2f s" % t for t in times))
    print("total for the ten wrong ones: %.1f s" % sum(times[:10]))
