"""What pytds relies on beyond queries: its connection pool (pooling=True) hands a closed connection out again
after an sp_reset_connection RPC, which must roll back what was left open, drop #temporary tables and return to
the login's database and SET options; OUTPUT parameters of an RPC (callproc of sp_executesql with
pytds.output) come back as RETURNVALUE; and a read-then-write transaction that meets another session's commit
goes ahead instead of failing with "database is locked"; a DATETIMEOFFSET parameter keeps its offset."""
import datetime

import pytds
from pytds.tz import FixedOffsetTimezone

import harness

checks = harness.Checks()


def connect(port, **kwargs):
    return pytds.connect(server="127.0.0.1", port=port, user=harness.USER, password=harness.PASSWORD,
                         database="pt", autocommit=True, login_timeout=120, **kwargs)


def error_number(cursor, sql):
    try:
        cursor.execute(sql)
        return "no error"
    except pytds.Error as e:
        return getattr(e, "number", str(e))


with harness.Server(harness.binary_from_argv()) as server:
    setup = pytds.connect(server="127.0.0.1", port=server.port, user=harness.USER, password=harness.PASSWORD,
                          autocommit=True, login_timeout=120)
    setup.cursor().execute("CREATE DATABASE pt")
    setup.close()

    # The pool: the same TDS connection comes back, reset.
    first = connect(server.port, pooling=True)
    cur = first.cursor()
    cur.execute("SELECT @@SPID")
    spid = cur.fetchone()[0]
    cur.execute("CREATE TABLE kept (x INT)")
    cur.execute("CREATE TABLE #scratch (x INT); INSERT INTO #scratch VALUES (1)")
    cur.execute("SET NOCOUNT ON; USE master; BEGIN TRAN; INSERT INTO pt.dbo.kept VALUES (1)")
    first.close()
    again = connect(server.port, pooling=True)
    cur = again.cursor()
    cur.execute("SELECT @@SPID, DB_NAME(), @@TRANCOUNT, @@OPTIONS & 512")
    checks.equal(tuple(cur.fetchone()), (spid, "pt", 0, 0),
                 "the pooled connection comes back in its login database, with no transaction and NOCOUNT off")
    checks.equal(error_number(cur, "SELECT * FROM #scratch"), 208, "sp_reset_connection dropped #scratch")
    cur.execute("SELECT count(*) FROM kept")
    checks.equal(cur.fetchone()[0], 0, "the insert left in an open transaction was rolled back")
    again.close()

    # OUTPUT parameters of an RPC.
    plain = connect(server.port)
    cur = plain.cursor()
    result = cur.callproc("sp_executesql", ("SET @out = @in * 2", "@in INT, @out INT OUTPUT", 21,
                                            pytds.output(param_type="INT")))
    checks.equal(result[3], 42, "an OUTPUT parameter of sp_executesql comes back")
    result = cur.callproc("sp_executesql", ("SELECT @name = N'x' + @suffix", "@suffix NVARCHAR(10), "
                                            "@name NVARCHAR(20) OUTPUT", "yz", pytds.output(param_type="NVARCHAR(20)")))
    checks.equal(result[3], "xyz", "SELECT @name = ... assigns an OUTPUT parameter")

    # A transaction that has read, then writes after another session committed.
    other = connect(server.port)
    cur.execute("BEGIN TRAN")
    cur.execute("SELECT count(*) FROM kept")
    checks.equal(cur.fetchone()[0], 0, "the transaction reads")
    other.cursor().execute("INSERT INTO kept VALUES (10)")
    cur.execute("INSERT INTO kept VALUES (20)")
    cur.execute("COMMIT")
    cur.execute("SELECT x FROM kept ORDER BY x")
    checks.equal([r[0] for r in cur.fetchall()], [10, 20], "its write went ahead after the other's commit")
    other.close()

    # A DATETIMEOFFSET parameter (RPC) keeps its offset, returned and stored.
    at = datetime.datetime(2010, 1, 2, 3, 4, 5, 123456, tzinfo=FixedOffsetTimezone(120))
    cur.execute("SELECT %s", (at,))
    back = cur.fetchone()[0]
    checks.equal((back, back.utcoffset()), (at, datetime.timedelta(hours=2)), "a DATETIMEOFFSET parameter")
    cur.execute("CREATE TABLE moments (at DATETIMEOFFSET)")
    cur.execute("INSERT INTO moments VALUES (%s)", (at,))
    cur.execute("SELECT at, CAST(at AS NVARCHAR(40)) FROM moments WHERE at = %s", (at,))
    row = cur.fetchone()
    checks.equal((row[0].utcoffset(), row[1]), (datetime.timedelta(hours=2), "2010-01-02 03:04:05.123456 +02:00"),
                 "a DATETIMEOFFSET parameter stored keeps its offset")
    plain.close()
checks.finish()
