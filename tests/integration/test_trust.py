"""What the review and hostile testing of issue 8 found, checked through real clients against a real server:
database names that alias SQLite's schemas, the attach limit, the data directory's permissions, Perl
DBD::Sybase transactions (SET IMPLICIT_TRANSACTIONS), the brake on password guessing, and idle CPU."""
import os
import stat
import subprocess
import time

import pymssql

import harness
from clients import PymssqlClient

checks = harness.Checks()


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def attempt(port, password):
    begin = time.time()
    try:
        pymssql.connect(server="127.0.0.1", port=port, user=harness.USER, password=password,
                        tds_version="7.3").close()
        ok = True
    except pymssql.Error:
        ok = False
    return ok, time.time() - begin


PERL = r'''
use strict; use DBI;
my $d = DBI->connect("dbi:Sybase:server=127.0.0.1:$ARGV[0];database=perl", $ARGV[1], $ARGV[2],
                     {RaiseError => 0, PrintError => 0});
$d->begin_work;
$d->do("INSERT INTO t VALUES (1)");
$d->rollback;
my ($after_rollback) = $d->selectrow_array("SELECT count(*) FROM t");
$d->begin_work;
$d->do("INSERT INTO t VALUES (2)");
$d->commit;
my ($after_commit) = $d->selectrow_array("SELECT count(*) FROM t");
$d->{AutoCommit} = 0;
$d->do("INSERT INTO t VALUES (3)");
$d->rollback;
$d->{AutoCommit} = 1;
my ($final) = $d->selectrow_array("SELECT count(*) FROM t");
print "$after_rollback $after_commit $final\n";
$d->disconnect;
'''

binary = harness.binary_from_argv()
# A permissive umask: the data directory must be private anyway.
with harness.Server(binary, umask=0) as server:
    c = PymssqlClient(server.port)
    # Databases named like SQLite's own schemas are their own databases.
    for name, value in [("main", 1), ("temp", 2), ("other", 3)]:
        c.batch("CREATE DATABASE %s" % name)
        c.batch("USE %s" % name)
        c.batch("CREATE TABLE t (x INT)")
        c.batch("INSERT INTO t VALUES (%d)" % value)
    checks.equal(c.query("SELECT x FROM main.dbo.t"), [(1,)], "main.dbo.t from database other")
    checks.equal(c.query("SELECT x FROM temp.dbo.t"), [(2,)], "temp.dbo.t from database other")
    c.batch("INSERT INTO main.dbo.t VALUES (10)")
    checks.equal(c.query("SELECT x FROM t"), [(3,)], "writing main.dbo.t leaves other alone")
    checks.equal(c.query("SELECT sum(x) FROM main.dbo.t"), [(11,)], "and writes main")

    # More databases by three-part names than SQLite attaches at once.
    c.batch("USE master")
    for i in range(14):
        c.batch("CREATE DATABASE d%d" % i)
        c.batch("CREATE TABLE d%d.dbo.t (x INT)" % i)
        c.batch("INSERT INTO d%d.dbo.t VALUES (%d)" % (i, i))
    checks.equal([c.query("SELECT x FROM d%d.dbo.t" % i)[0][0] for i in range(14)], list(range(14)),
                 "fourteen databases by three-part names in one session")

    # Perl DBD::Sybase's transactions: begin_work sends SET IMPLICIT_TRANSACTIONS ON. (When AutoCommit goes
    # back on it also sends COMMIT TRAN, which with no transaction open is SQL Server's 3902: DBD::Sybase
    # skips it only for a server whose @@VERSION begins "Microsoft SQL Server". Errors are not raised here;
    # the rows say whether each transaction did what it should.)
    c.batch("CREATE DATABASE perl")
    c.batch("CREATE TABLE perl.dbo.t (x INT)")
    perl = subprocess.run(["perl", "-e", PERL, str(server.port), harness.USER, harness.PASSWORD],
                          capture_output=True, text=True, timeout=60, env=dict(os.environ, SYBASE="/usr"))
    checks.equal(perl.stdout.strip(), "0 1 1", "DBD::Sybase rollback undoes, commit keeps (stderr: %s)"
                 % perl.stderr.strip()[-300:])

    # The data directory is private to the server's user.
    shared = []
    for root, dirs, files in os.walk(server.data_dir):
        for entry in [root] + [os.path.join(root, f) for f in files]:
            if os.path.islink(entry):
                continue
            if stat.S_IMODE(os.stat(entry).st_mode) & 0o077:
                shared.append(entry)
    checks.equal(shared, [], "nothing in the data directory is readable by group or others")

    # Wrong passwords slow down later attempts; the right one still gets in, and resets the brake.
    def server_log():
        with open(os.path.join(server.data_dir, "server-output.log"), "rb") as f:
            return f.read().decode(errors="replace")

    times = [attempt(server.port, "wrong")[1] for _ in range(4)]
    checks.check(times[-1] >= 0.8, "the fourth wrong password waited %.2f s" % times[-1])
    ok, took = attempt(server.port, harness.PASSWORD)
    checks.check(ok and took < 10, "the right password gets in after %.2f s" % took)
    waits = server_log().count("after earlier failed logins")
    ok, took = attempt(server.port, harness.PASSWORD)
    checks.check(ok and server_log().count("after earlier failed logins") == waits,
                 "and the brake is gone: the next login does not wait (%.2f s)" % took)
    log = server_log()
    checks.check("consecutive failures" in log and "wrong" not in log, "failed logins logged without the password")

    # A bulk load leaves a large WAL; the checkpointer truncates it, and then the server is idle.
    c.batch("CREATE DATABASE bulk")
    c.batch("CREATE TABLE bulk.dbo.t (x VARBINARY(MAX))")
    c.batch("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000) "
            "INSERT INTO bulk.dbo.t SELECT randomblob(4000) FROM n")
    wal = os.path.join(server.data_dir, "databases", c.query(
        "SELECT file FROM msdb.dbo.databases WHERE name = 'bulk'")[0][0] + "-wal")
    c.batch("USE master")  # no session holds bulk
    harness.wait_for(lambda: os.path.getsize(wal) == 0, timeout=60, what="the WAL to be truncated")
    before = cpu_seconds(server.proc.pid)
    time.sleep(4)  # a window to measure idle CPU in, not a wait for an event
    idle = cpu_seconds(server.proc.pid) - before
    checks.check(idle < 0.2, "idle CPU %.3f s in 4 s" % idle)
    print("idle CPU after a bulk load: %.3f s in 4 s" % idle, flush=True)
    c.close()
checks.finish()
