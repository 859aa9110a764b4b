"""ODBC through pyodbc and FreeTDS's driver (tdsodbc): queries with ? parameters (sent as sp_prepexec and
sp_execute), the procedures, manual-commit transactions."""
import pyodbc

import harness
import seed_flow

DRIVER = "/usr/lib/x86_64-linux-gnu/odbc/libtdsodbc.so"
checks = harness.Checks()
with harness.Server(harness.binary_from_argv()) as server:
    conn = pyodbc.connect("DRIVER={%s};SERVER=127.0.0.1;PORT=%d;UID=%s;PWD=%s;TDS_Version=7.4" %
                          (DRIVER, server.port, harness.USER, harness.PASSWORD), autocommit=True)
    cur = conn.cursor()
    cur.execute("CREATE DATABASE odbcdb")
    cur.execute("USE odbcdb")
    cur.execute("CREATE TABLE t (id INT PRIMARY KEY, name NVARCHAR(50), data VARBINARY(MAX))")
    cur.execute("INSERT INTO t VALUES (?, ?, ?)", 1, "één", b"\x00\x01")
    cur.execute("INSERT INTO t VALUES (?, ?, ?)", 2, None, None)
    rows = [tuple(r) for r in cur.execute("SELECT id, name, data FROM t WHERE id >= ? ORDER BY id", 1).fetchall()]
    checks.equal(rows, [(1, "één", b"\x00\x01"), (2, None, None)], "rows through ODBC with parameters")

    row = cur.execute("exec msdb.dbo.rds_backup_database @source_db_name='odbcdb', "
                      "@s3_arn_to_backup_to='arn:aws:s3:::aws_example_bucket/odbc.bak'").fetchall()[0]
    while cur.nextset():
        pass
    task_id = row[0]

    class Client:
        def proc(self, name, params):
            sql = "exec %s %s" % (name, ", ".join("%s=%s" % (k, v) for k, v in params.items()))
            c = conn.cursor()
            rows = [tuple(r) for r in c.execute(sql).fetchall()]
            while c.nextset():
                pass
            return rows

    done = seed_flow.wait_task(Client(), task_id)
    checks.equal(done[5], "SUCCESS", "backup through ODBC (task_info: %r)" % done[6])
    # Transactions in ODBC's manual-commit mode.
    manual = pyodbc.connect("DRIVER={%s};SERVER=127.0.0.1;PORT=%d;UID=%s;PWD=%s;TDS_Version=7.4;DATABASE=odbcdb" %
                            (DRIVER, server.port, harness.USER, harness.PASSWORD), autocommit=False)
    mc = manual.cursor()
    mc.execute("INSERT INTO t VALUES (3, N'rolled back', NULL)")
    manual.rollback()
    mc.execute("INSERT INTO t VALUES (4, N'committed', NULL)")
    manual.commit()
    ids = [r[0] for r in cur.execute("SELECT id FROM odbcdb.dbo.t ORDER BY id").fetchall()]
    checks.equal(ids, [1, 2, 4], "ODBC rollback and commit")
    manual.close()
    conn.close()
checks.finish()
