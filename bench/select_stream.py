"""Streaming a large SELECT to a real client: throughput and the server's peak memory.

    /usr/bin/python3 bench/select_stream.py build/bakrest [rows=200000]

Loads rows of 1000 characters, then reads them all back through pymssql and prints the server's peak
resident memory (VmHWM) before and after the SELECT.
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
import harness  # noqa: E402
from clients import PymssqlClient  # noqa: E402


binary = os.path.abspath(sys.argv[1])
rows = int(sys.argv[2]) if len(sys.argv) > 2 else 200000
with harness.Server(binary) as server:
    client = PymssqlClient(server.port)
    client.batch("CREATE DATABASE big")
    client.batch("USE big")
    client.batch("CREATE TABLE t (id INT PRIMARY KEY, data NVARCHAR(MAX))")
    client.batch("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d) "
                 "INSERT INTO t SELECT i, hex(randomblob(500)) FROM n" % rows)
    print("server peak memory after loading: %.1f MiB" % harness.memory_mib(server.proc.pid))
    cursor = client.conn.cursor()
    start = time.time()
    cursor.execute("SELECT id, data FROM t")
    count = size = 0
    for row in cursor:
        count += 1
        size += len(row[1])
    seconds = time.time() - start
    print("SELECT of %d rows, %.0f MB of text: %.1f s (%.0f MB/s)" % (count, size / 1e6, seconds, size / 1e6 / seconds))
    print("server peak memory after the SELECT: %.1f MiB" % harness.memory_mib(server.proc.pid))
    client.close()
