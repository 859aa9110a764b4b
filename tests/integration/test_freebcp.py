"""FreeTDS's bcp (freebcp, freetds-bin) against a real server, with every packet encrypted (`encryption =
require`): `freebcp in` of 20,000 tab-separated rows (asking the table's columns with SET FMTONLY ON, then INSERT
BULK and BULK_LOAD messages of 5,000 rows each), the rows read back exactly, a second load into the same table,
a load that breaks a primary key leaving its batch out, and `freebcp out` writing the table back to a file the
same as what went in."""
import os
import subprocess
import tempfile

import harness
from clients import PymssqlClient

ROWS = 20000
checks = harness.Checks()


def row(i):
    """id, name (empty = NULL every 97th), amount with 2 decimals, a datetime."""
    name = "" if i % 97 == 0 else "row %d \u00e9" % i
    return "%d\t%s\t%d.%02d\t2024-01-%02d 10:%02d:%02d" % (i, name, i // 7, i % 100, i % 28 + 1, i % 60, i % 60)


def freebcp(conf, *args):
    env = dict(os.environ, FREETDSCONF=conf)
    return subprocess.run(["freebcp", *args, "-S", "bakrest", "-U", harness.USER, "-P", harness.PASSWORD],
                          capture_output=True, timeout=300, env=env, text=True)


with harness.Server(harness.binary_from_argv()) as server, tempfile.TemporaryDirectory() as work:
    conf = os.path.join(work, "freetds.conf")
    with open(conf, "w") as f:
        f.write("[bakrest]\n  host = 127.0.0.1\n  port = %d\n  tds version = 7.4\n  encryption = require\n"
                "  client charset = UTF-8\n" % server.port)
    client = PymssqlClient(server.port)
    client.batch("CREATE DATABASE bcpdb")
    client.batch("USE bcpdb")
    client.batch("CREATE TABLE bt (id INT PRIMARY KEY, name NVARCHAR(50), amount DECIMAL(10,2), at DATETIME)")

    data = os.path.join(work, "in.tsv")
    with open(data, "w", encoding="utf-8") as f:
        f.write("".join(row(i) + "\n" for i in range(1, ROWS + 1)))
    done = freebcp(conf, "bcpdb.dbo.bt", "in", data, "-c", "-b", "5000")
    checks.check(done.returncode == 0 and "%d rows copied" % ROWS in done.stdout,
                 "freebcp in of %d rows: %s %s" % (ROWS, done.stdout[-300:], done.stderr[-300:]))
    checks.equal(client.query("SELECT count(*), count(name), sum(CAST(id AS BIGINT)) FROM bt"),
                 [(ROWS, ROWS - ROWS // 97, ROWS * (ROWS + 1) // 2)], "every row, NULL names where the field was empty")
    rows = client.query("SELECT id, name, CONVERT(varchar(30), amount), CONVERT(varchar(19), at, 120) FROM bt "
                        "WHERE id IN (1, 97, 12345) ORDER BY id")
    checks.equal(rows, [(1, "row 1 \u00e9", "0.01", "2024-01-02 10:01:01"), (97, None, "13.97", "2024-01-14 10:37:37"),
                        (12345, "row 12345 \u00e9", "1763.45", "2024-01-26 10:45:45")], "values as they were in the file")
    with open(server.log.name, "rb") as log:
        logins = [line for line in log.read().decode(errors="replace").splitlines() if "logged in" in line]
    checks.check(any("FreeBCP" in line and ", encrypted with TLS" in line for line in logins),
                 "freebcp's session was encrypted throughout: %r" % logins[-3:])

    # freebcp out: the table back to a file, the same lines as went in (NULL as an empty field).
    out = os.path.join(work, "out.tsv")
    done = freebcp(conf, "bcpdb.dbo.bt", "out", out, "-c")
    checks.check(done.returncode == 0, "freebcp out: %s %s" % (done.stdout[-300:], done.stderr[-300:]))
    if os.path.exists(out):
        with open(out, encoding="utf-8") as f:
            lines = [line.rstrip("\n") for line in f]
        # freebcp writes DATETIME as SQL Server's default text form; compare the other fields exactly.
        fields = [line.split("\t")[:3] for line in lines]
        checks.equal(len(lines), ROWS, "freebcp out writes every row")
        checks.equal(sorted(fields, key=lambda f: int(f[0]))[:3],
                     [r.split("\t")[:3] for r in (row(1), row(2), row(3))], "freebcp out's first rows")

    # A second file whose rows 2 and 3 clash with rows already there: that batch fails, the others load.
    more = os.path.join(work, "more.tsv")
    with open(more, "w", encoding="utf-8") as f:
        f.write("".join(row(i) + "\n" for i in (ROWS + 1, ROWS + 2)))
        f.write(row(2) + "\n")
    done = freebcp(conf, "bcpdb.dbo.bt", "in", more, "-c", "-b", "2")
    checks.contains(done.stdout + done.stderr, "PRIMARY KEY", "the duplicate key is reported")
    checks.equal(client.query("SELECT count(*) FROM bt WHERE id > %d" % ROWS), [(2,)],
                 "the batch without a clash went in")
    checks.equal(client.query("SELECT count(*) FROM bt"), [(ROWS + 2,)], "the clashing batch left nothing")
    client.close()
checks.finish()
