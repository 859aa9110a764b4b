"""ODBC through pyodbc and FreeTDS's driver (tdsodbc): queries with ? parameters (sent as sp_prepexec and
sp_execute), the procedures, manual-commit transactions, and ODBC's catalog functions."""
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

    # ODBC's catalog functions (SQLTables, SQLColumns, SQLPrimaryKeys, SQLStatistics, SQLGetTypeInfo), which
    # FreeTDS's driver answers with sp_tables, sp_columns, sp_pkeys, sp_statistics and sp_datatype_info.
    cur.execute("CREATE TABLE child (id INT PRIMARY KEY, t_id INT REFERENCES t (id), label NVARCHAR(30) NOT NULL)")
    cur.execute("CREATE UNIQUE INDEX ix_child_label ON child (label)")
    tables = sorted(r.table_name for r in cur.tables(tableType="TABLE").fetchall())
    checks.equal(tables, ["child", "t"], "SQLTables lists the database's tables")
    columns = [(r.column_name, r.type_name, r.column_size, r.nullable) for r in cur.columns(table="child").fetchall()]
    checks.equal(columns, [("id", "int", 10, 0), ("t_id", "int", 10, 1), ("label", "nvarchar", 30, 0)],
                 "SQLColumns: names, types, sizes and nullability")
    checks.equal([(r.column_name, r.key_seq) for r in cur.primaryKeys(table="child").fetchall()], [("id", 1)],
                 "SQLPrimaryKeys")
    indexes = {(r.index_name, r.column_name, r.non_unique) for r in cur.statistics(table="child").fetchall()
               if r.index_name}
    checks.check(("ix_child_label", "label", 0) in indexes, "SQLStatistics lists the unique index: %r" % indexes)
    keys = [(r.pktable_name, r.pkcolumn_name, r.fktable_name, r.fkcolumn_name)
            for r in cur.foreignKeys(foreignTable="child").fetchall()]
    checks.equal(keys, [("t", "id", "child", "t_id")], "SQLForeignKeys")
    types = {r.type_name for r in cur.getTypeInfo().fetchall()}
    checks.check({"int", "nvarchar", "datetime2", "varbinary"} <= types, "SQLGetTypeInfo: %r" % sorted(types))
    conn.close()
checks.finish()
