"""Streaming a large SELECT to a real client: throughput, the server's CPU and peak memory, and what TLS costs.

    /usr/bin/python3 bench/select_stream.py build/bakrest [rows=200000] [rounds=5]

Loads rows of 1000 characters, then reads them all back through pymssql with FreeTDS's encryption set to off
(nothing encrypted), request (its default: only the login is encrypted) and require (every packet inside TLS),
after one unmeasured read that warms the page cache, interleaved (off, request, require, off, ...) for
`rounds` rounds. Prints each read's wall time and the server's CPU seconds, then per setting the medians and
the server's peak resident memory (VmHWM).
"""
import statistics
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
import harness  # noqa: E402
from clients import PymssqlClient  # noqa: E402


def cpu_seconds(pid):
    """User + system CPU time of a process, from /proc/<pid>/stat (fields 14 and 15, in clock ticks)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def freetds_conf(directory, encryption):
    path = os.path.join(directory, "freetds-%s.conf" % encryption)
    with open(path, "w") as f:
        f.write("[global]\n  encryption = %s\n" % encryption)
    return path


binary = os.path.abspath(sys.argv[1])
rows = int(sys.argv[2]) if len(sys.argv) > 2 else 200000
rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 5
settings = ("off", "request", "require")
with harness.Server(binary) as server, tempfile.TemporaryDirectory() as work:
    client = PymssqlClient(server.port)
    client.batch("CREATE DATABASE big")
    client.batch("USE big")
    client.batch("CREATE TABLE t (id INT PRIMARY KEY, data NVARCHAR(MAX))")
    client.batch("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d) "
                 "INSERT INTO t SELECT i, hex(randomblob(500)) FROM n" % rows)
    client.close()
    warm_up = True
    print("server peak memory after loading: %.1f MiB" % harness.memory_mib(server.proc.pid))
    results = {encryption: [] for encryption in settings}
    for encryption in ("off",) + settings * rounds:
        # pymssql reads FreeTDS's configuration when it connects.
        os.environ["FREETDSCONF"] = freetds_conf(work, encryption)
        client = PymssqlClient(server.port, database="big")
        cursor = client.conn.cursor()
        cursor.execute("SELECT encrypt_option FROM sys.dm_exec_connections WHERE session_id = @@SPID")
        encrypted = cursor.fetchone()[0]
        cpu = cpu_seconds(server.proc.pid)
        start = time.time()
        cursor.execute("SELECT id, data FROM t")
        count = size = 0
        for row in cursor:
            count += 1
            size += len(row[1])
        seconds = time.time() - start
        cpu = cpu_seconds(server.proc.pid) - cpu
        if warm_up:
            warm_up = False
            client.close()
            continue
        results[encryption].append((seconds, cpu))
        print("encryption = %-7s (encrypt_option %s): %d rows, %.0f MB of text in %.1f s (%.0f MB/s); "
              "server CPU %.2f s; server peak memory %.1f MiB" %
              (encryption, encrypted, count, size / 1e6, seconds, size / 1e6 / seconds, cpu,
               harness.memory_mib(server.proc.pid)))
        client.close()
    print("medians of %d rounds, %d rows (%.0f MB of text):" % (rounds, count, size / 1e6))
    for encryption in settings:
        seconds = statistics.median(r[0] for r in results[encryption])
        cpu = statistics.median(r[1] for r in results[encryption])
        print("  encryption = %-7s %.2f s (%.0f MB/s), server CPU %.2f s" %
              (encryption, seconds, size / 1e6 / seconds, cpu))
    print("server peak memory: %.1f MiB" % harness.memory_mib(server.proc.pid))
