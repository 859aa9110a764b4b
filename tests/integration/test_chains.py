"""Restore chains through the real server with pymssql (and tsql for msdb's backup history):
(a) full -> differential -> three logs, all WITH NORECOVERY, then rds_finish_restore, compared row by row;
(b) the same chain stopped with @stopat inside the second log, and a STOPAT past a log's end;
(c) every wrong chain with SQL Server's message; (d) the pending-task rules; (e) the seed page's differential,
log, finish and drop examples run as written, with bucket aws_example_bucket and database mydatabase; (f) logins
other than the master: GRANT EXECUTE, and who may finish or drop a restore. Run with BAKREST_TEST_STORE=s3, the
bucket is on the S3 test server (integration.test_chains_s3)."""
import datetime
import time

import pymssql

import harness
import seed_flow
from clients import PymssqlClient, TsqlClient, exec_text

ARN = "arn:aws:s3:::aws_example_bucket/"
BUCKET = "aws_example_bucket"
SELECT_ITEMS = "SELECT id, v, n, b FROM %s.dbo.items ORDER BY id"

checks = harness.Checks()
binary = harness.binary_from_argv()

MSG_3136 = ("This differential backup cannot be restored because the database has not been restored to the correct "
            "earlier state.")
MSG_4326 = "which is too early to apply to the database. A more recent log backup that includes LSN"
MSG_4305 = "which is too recent to apply to the database. An earlier log backup that includes LSN"
MSG_4330 = ("This backup set cannot be applied because it is on a recovery path that is inconsistent with the "
            "database.")
MSG_4338 = ("The STOPAT clause specifies a point too early to allow this backup set to be restored. Choose a "
            "different stop point or use RESTORE DATABASE WITH RECOVERY to recover at the current point.")
MSG_4322 = ("This backup set contains records that were logged before the designated point in time. The database "
            "is being left in the restoring state so that more roll forward can be performed.")


def submit(c, sql):
    rows = c.query(sql)
    checks.equal(len(rows), 1, "the procedure returns its task: " + sql.splitlines()[0])
    return rows[0]


def run_task(c, sql, what, lifecycle="SUCCESS", task_type=None):
    task = submit(c, sql)
    if task_type:
        checks.equal(task[1], task_type, what + ": task type")
    done = seed_flow.wait_task(c, task[0])
    checks.equal(done[5], lifecycle, "%s: lifecycle (task_info: %s)" % (what, done[6]))
    return done


def backup_sql(db, key, kind="FULL"):
    if kind == "LOG":
        return exec_text("msdb.dbo.rds_backup_log", {"@source_db_name": db, "@s3_arn_to_backup_to": ARN + key,
                                                     "@overwrite_s3_backup_file": 1})
    return exec_text("msdb.dbo.rds_backup_database", {"@source_db_name": db, "@s3_arn_to_backup_to": ARN + key,
                                                      "@overwrite_s3_backup_file": 1, "@type": kind})


def restore_sql(db, key, norecovery=None, kind=None):
    params = {"@restore_db_name": db, "@s3_arn_to_restore_from": ARN + key}
    if norecovery is not None:
        params["@with_norecovery"] = norecovery
    if kind:
        params["@type"] = kind
    return exec_text("msdb.dbo.rds_restore_database", params)


def log_sql(db, key, norecovery=None, stopat=None):
    params = {"@restore_db_name": db, "@s3_arn_to_restore_from": ARN + key}
    if norecovery is not None:
        params["@with_norecovery"] = norecovery
    if stopat is not None:
        params["@stopat"] = stopat
    return exec_text("msdb.dbo.rds_restore_log", params)


def finish_sql(db):
    return "exec msdb.dbo.rds_finish_restore @db_name='%s';" % db


def expect_error(c, sql, message, what):
    try:
        c.query(sql)
    except pymssql.Error as e:
        checks.contains(str(e), message, what)
        return
    checks.check(False, what + ": no error raised")


def drop(c, db):
    """DROP DATABASE; USE first, as a session's three-part-name attachments keep a database in use."""
    c.batch("USE master")
    c.batch("DROP DATABASE " + db)


def state(c, db):
    return dict(c.query("SELECT name, state_desc FROM sys.databases")).get(db)


def items(c, db):
    return c.query(SELECT_ITEMS % db)


def insert_rows(c, db, first, last):
    c.batch("INSERT INTO %s.dbo.items (id, v, n, b) VALUES " % db +
            ", ".join("(%d, N'row %d ✓', %r, 0x%s)" % (i, i, i * 0.5, ("%04x" % i) * (i % 7)) if i % 7 else
                      "(%d, NULL, NULL, NULL)" % i for i in range(first, last + 1)))


def utc_text(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def make_source(c):
    """chainsrc with a full backup, a differential and three logs; what was committed when."""
    c.batch("CREATE DATABASE chainsrc")
    c.batch("CREATE TABLE chainsrc.dbo.items (id INT PRIMARY KEY, v NVARCHAR(100), n FLOAT, b VARBINARY(MAX))")
    insert_rows(c, "chainsrc", 1, 200)
    run_task(c, backup_sql("chainsrc", "chain_full.bak"), "full backup", task_type="BACKUP_DB")
    insert_rows(c, "chainsrc", 201, 300)
    c.batch("UPDATE chainsrc.dbo.items SET v = N'changed after the full backup' WHERE id % 10 = 3")
    c.batch("DELETE FROM chainsrc.dbo.items WHERE id % 10 = 4")
    run_task(c, backup_sql("chainsrc", "chain_diff.bak", "DIFFERENTIAL"), "differential backup",
             task_type="BACKUP_DB_DIFFERENTIAL")
    insert_rows(c, "chainsrc", 301, 400)
    run_task(c, backup_sql("chainsrc", "chain_log1.trn", "LOG"), "first log backup", task_type="BACKUP_LOG")
    # Inside the second log: batch A, then more than a second of nothing on either side of the stop time,
    # then batch B. Restoring to the stop time must give exactly what was committed after batch A.
    insert_rows(c, "chainsrc", 401, 450)
    at_stop = items(c, "chainsrc")
    time.sleep(1.5)
    stop_time = utc_text(time.time())
    time.sleep(1.5)
    insert_rows(c, "chainsrc", 451, 500)
    c.batch("UPDATE chainsrc.dbo.items SET n = -1 WHERE id <= 50")
    run_task(c, backup_sql("chainsrc", "chain_log2.trn", "LOG"), "second log backup")
    insert_rows(c, "chainsrc", 501, 600)
    c.batch("DELETE FROM chainsrc.dbo.items WHERE id BETWEEN 410 AND 420")
    run_task(c, backup_sql("chainsrc", "chain_log3.trn", "LOG"), "third log backup")
    return at_stop, stop_time, items(c, "chainsrc")


def check_history(c, port):
    """msdb's backup history with SQL Server's columns, through pymssql and FreeTDS's tsql."""
    history = ("select type, first_lsn, last_lsn, database_backup_lsn, checkpoint_lsn from msdb.dbo.backupset "
               "where database_name = 'chainsrc' order by backup_set_id")
    rows = c.query(history)
    checks.equal([r[0] for r in rows], ["D", "I", "L", "L", "L"], "backupset types")
    if len(rows) == 5:
        full, diff, log1, log2, log3 = rows
        checks.check(all(isinstance(v, int) for r in rows for v in r[1:3]), "LSNs are integers: %r" % rows)
        checks.equal(log2[1], log1[2], "the second log begins where the first ends")
        checks.equal(log3[1], log2[2], "the third log begins where the second ends")
        checks.check(log1[1] <= full[2] < log1[2], "the first log covers the full backup's end: %r" % rows)
        checks.equal([r[3] for r in rows[1:]], [full[4]] * 4,
                     "differential and logs rest on the full backup (database_backup_lsn)")
    joined = c.query("select bs.type, bmf.physical_device_name, bmf.device_type, bs.backup_set_uuid "
                     "from msdb.dbo.backupset bs join msdb.dbo.backupmediafamily bmf "
                     "on bmf.media_set_id = bs.media_set_id where bs.database_name = 'chainsrc' "
                     "order by bs.backup_set_id")
    checks.equal([(r[0], r[1], r[2]) for r in joined],
                 [("D", ARN + "chain_full.bak", 9), ("I", ARN + "chain_diff.bak", 9), ("L", ARN + "chain_log1.trn", 9),
                  ("L", ARN + "chain_log2.trn", 9), ("L", ARN + "chain_log3.trn", 9)], "backupset join backupmediafamily")
    checks.check(all(len(str(r[3])) == 36 for r in joined), "backup_set_uuid is a uniqueidentifier: %r" % joined)
    tsql = TsqlClient(port)
    text_rows = tsql.query(history)
    checks.equal([tuple(r) for r in text_rows],
                 [tuple("NULL" if v is None else str(v) for v in r) for r in rows], "tsql reads the same history")
    text_join = tsql.query("select bs.type, bmf.physical_device_name from msdb.dbo.backupset bs join "
                           "msdb.dbo.backupmediafamily bmf on bmf.media_set_id = bs.media_set_id "
                           "where bs.database_name = 'chainsrc' order by bs.backup_set_id")
    checks.equal([r[1] for r in text_join], [r[1] for r in joined], "tsql reads the join")


def chain_a(c, final):
    """(a) Every step WITH NORECOVERY, submitted back to back: the queue runs them in order."""
    ids = [submit(c, restore_sql("chain_a", "chain_full.bak", norecovery=1))[0],
           submit(c, restore_sql("chain_a", "chain_diff.bak", norecovery=1, kind="DIFFERENTIAL"))[0]]
    for key in ("chain_log1.trn", "chain_log2.trn", "chain_log3.trn"):
        ids.append(submit(c, log_sql("chain_a", key))[0])
    done = [seed_flow.wait_task(c, i) for i in ids]
    checks.equal([d[1] for d in done], ["RESTORE_DB_NORECOVERY", "RESTORE_DB_DIFFERENTIAL_NORECOVERY",
                                        "RESTORE_DB_LOG_NORECOVERY", "RESTORE_DB_LOG_NORECOVERY",
                                        "RESTORE_DB_LOG_NORECOVERY"], "chain (a) task types")
    checks.equal([d[5] for d in done], ["SUCCESS"] * 5, "chain (a) lifecycles: %r" % [d[6] for d in done])
    checks.equal(state(c, "chain_a"), "RESTORING", "chain (a) before rds_finish_restore")
    expect_error(c, "SELECT count(*) FROM chain_a.dbo.items", "is in the middle of a restore",
                 "a RESTORING database can't be read")
    run_task(c, finish_sql("chain_a"), "chain (a) finish", task_type="FINISH_RESTORE")
    checks.equal(state(c, "chain_a"), "ONLINE", "chain (a) after rds_finish_restore")
    restored = items(c, "chain_a")
    checks.equal(len(restored), len(final), "chain (a) row count")
    checks.check(restored == final, "chain (a): every row equals the source's")
    # A recovered database is a database like any other: it takes writes and backups.
    c.batch("INSERT INTO chain_a.dbo.items (id) VALUES (100000)")
    # Submitted back to back, a database's backups run one after another: the differential and the log
    # backup rest on the full backup submitted just before them.
    ids = [submit(c, backup_sql("chain_a", "fork_full.bak"))[0],
           submit(c, backup_sql("chain_a", "fork_diff.bak", "DIFFERENTIAL"))[0],
           submit(c, backup_sql("chain_a", "fork_log.trn", "LOG"))[0]]
    done = [seed_flow.wait_task(c, i) for i in ids]
    checks.equal([d[5] for d in done], ["SUCCESS"] * 3,
                 "full, differential and log backups submitted back to back: %r" % [d[6] for d in done])
    rows = c.query("select type, backup_set_uuid, differential_base_guid, database_backup_lsn, checkpoint_lsn "
                   "from msdb.dbo.backupset where database_name = 'chain_a' order by backup_set_id")
    checks.equal([r[0] for r in rows], ["D", "I", "L"], "chain_a's backup types")
    if len(rows) == 3:
        checks.equal(rows[1][2], rows[0][1], "the differential's base is the full submitted just before it")
        checks.equal(rows[2][3], rows[0][4], "the log backup rests on that full backup")


def chain_b(c, at_stop, stop_time, final):
    """(b) STOPAT inside the second log with RECOVERY; STOPAT past a log's end keeps it RESTORING."""
    run_task(c, restore_sql("chain_b", "chain_full.bak", norecovery=1), "chain (b) full")
    run_task(c, restore_sql("chain_b", "chain_diff.bak", norecovery=1, kind="DIFFERENTIAL"), "chain (b) diff")
    run_task(c, log_sql("chain_b", "chain_log1.trn", norecovery=1), "chain (b) log 1")
    run_task(c, log_sql("chain_b", "chain_log2.trn", norecovery=0, stopat=stop_time), "chain (b) log 2 STOPAT",
             task_type="RESTORE_DB_LOG")
    checks.equal(state(c, "chain_b"), "ONLINE", "chain (b) is open after STOPAT WITH RECOVERY")
    restored = items(c, "chain_b")
    checks.equal(len(restored), len(at_stop), "chain (b) rows at %s" % stop_time)
    checks.check(restored == at_stop, "chain (b): every row equals what was committed at the stop time")

    # Without the differential, and with a stop time after the second log: the database stays RESTORING
    # (SQL Server's 4322) even WITH RECOVERY, and the third log finishes the chain.
    run_task(c, restore_sql("chain_b2", "chain_full.bak", norecovery=1), "chain (b2) full")
    run_task(c, log_sql("chain_b2", "chain_log1.trn"), "chain (b2) log 1")
    later = run_task(c, log_sql("chain_b2", "chain_log2.trn", norecovery=0, stopat="2099-01-01 00:00:00"),
                     "chain (b2) log 2 STOPAT after its end")
    checks.contains(later[6], MSG_4322, "STOPAT after the log's end says so (4322)")
    checks.equal(state(c, "chain_b2"), "RESTORING", "chain (b2) stays RESTORING")
    run_task(c, log_sql("chain_b2", "chain_log3.trn", norecovery=0), "chain (b2) log 3 WITH RECOVERY")
    checks.equal(state(c, "chain_b2"), "ONLINE", "chain (b2) is open")
    checks.check(items(c, "chain_b2") == final, "chain (b2): every row equals the source's")


def wrong_chains(c):
    """(c) Every wrong chain with SQL Server's message; a refused backup changes nothing."""
    run_task(c, backup_sql("chainsrc", "chain_full2.bak"), "second full backup")
    run_task(c, backup_sql("chainsrc", "chain_diff2.bak", "DIFFERENTIAL"), "differential of the second full")
    run_task(c, restore_sql("wrong_diff", "chain_full.bak", norecovery=1), "restore for the 3136 case")
    bad = run_task(c, restore_sql("wrong_diff", "chain_diff2.bak", norecovery=1, kind="DIFFERENTIAL"),
                   "differential of another full", "ERROR")
    checks.contains(bad[6], MSG_3136, "3136")
    checks.equal(state(c, "wrong_diff"), "RESTORING", "a refused differential leaves the database RESTORING")
    run_task(c, restore_sql("wrong_diff", "chain_diff.bak", norecovery=0, kind="DIFFERENTIAL"),
             "the right differential still applies")

    run_task(c, restore_sql("wrong_log", "chain_full.bak", norecovery=1), "restore for the 4326 case")
    run_task(c, log_sql("wrong_log", "chain_log1.trn"), "log 1 for the 4326 case")
    run_task(c, log_sql("wrong_log", "chain_log2.trn"), "log 2 for the 4326 case")
    early = run_task(c, log_sql("wrong_log", "chain_log1.trn"), "log 1 again", "ERROR")
    checks.contains(early[6], "The log in this backup set terminates at LSN", "4326 wording")
    checks.contains(early[6], MSG_4326, "4326")

    run_task(c, restore_sql("gap", "chain_full.bak", norecovery=1), "restore for the 4305 case")
    gap = run_task(c, log_sql("gap", "chain_log2.trn"), "log 2 without log 1", "ERROR")
    checks.contains(gap[6], "The log in this backup set begins at LSN", "4305 wording")
    checks.contains(gap[6], MSG_4305, "4305")

    # chain_a was recovered: it is on a new recovery fork, and chainsrc's logs are not on its path.
    run_task(c, restore_sql("forked", "fork_full.bak", norecovery=1), "restore of the recovered database's backup")
    fork = run_task(c, log_sql("forked", "chain_log3.trn"), "a log of the original fork", "ERROR")
    checks.contains(fork[6], MSG_4330, "4330")

    run_task(c, restore_sql("early_stop", "chain_full.bak", norecovery=1), "restore for the 4338 case")
    stop = run_task(c, log_sql("early_stop", "chain_log1.trn", norecovery=0, stopat="2019-12-01 03:57:09"),
                    "STOPAT before the log's first commit", "ERROR")
    checks.contains(stop[6], MSG_4338, "4338")
    checks.equal(state(c, "early_stop"), "RESTORING", "STOPAT refused: still RESTORING")

    # Onto an ONLINE database: refused when called, no task.
    before = len(c.query("exec msdb.dbo.rds_task_status"))
    expect_error(c, restore_sql("chainsrc", "chain_diff.bak", norecovery=1, kind="DIFFERENTIAL"),
                 "For differential restores, either the database must be in the RESTORING state or a task must "
                 "already exist that restores with NORECOVERY. Database 'chainsrc' is ONLINE",
                 "differential onto an ONLINE database")
    expect_error(c, log_sql("chainsrc", "chain_log1.trn"),
                 "For log restores, either the database must be in the RESTORING state or a task must already exist "
                 "that restores with NORECOVERY. Database 'chainsrc' is ONLINE", "log onto an ONLINE database")
    expect_error(c, log_sql("nowhere", "chain_log1.trn"), "Database 'nowhere' does not exist.",
                 "log onto a database that does not exist")
    expect_error(c, "exec msdb.dbo.rds_restore_log @restore_db_name='early_stop', @s3_arn_to_restore_from=''",
                 "S3 ARN prefix cannot be empty", "empty log ARN")
    expect_error(c, log_sql("early_stop", "chain_log1.trn", stopat="not a time"),
                 "Conversion failed when converting date and/or time from character string.", "bad @stopat")
    checks.equal(len(c.query("exec msdb.dbo.rds_task_status")), before, "refused calls made no task")

    # Backups along a broken chain fail with SQL Server's messages.
    c.batch("ALTER DATABASE chainsrc SET RECOVERY SIMPLE")
    checks.equal(c.query("SELECT recovery_model_desc FROM sys.databases WHERE name = 'chainsrc'"), [("SIMPLE",)],
                 "ALTER DATABASE SET RECOVERY SIMPLE")
    simple = run_task(c, backup_sql("chainsrc", "simple.trn", "LOG"), "log backup under SIMPLE", "ERROR")
    checks.contains(simple[6], "The statement BACKUP LOG is not allowed while the recovery model is SIMPLE.", "4208")
    c.batch("ALTER DATABASE [chainsrc] SET RECOVERY FULL WITH NO_WAIT")
    broken = run_task(c, backup_sql("chainsrc", "broken.trn", "LOG"), "log backup after SIMPLE", "ERROR")
    checks.contains(broken[6], "BACKUP LOG cannot be performed because there is no current database backup.", "4214")
    c.batch("CREATE DATABASE nofull")
    nofull = run_task(c, backup_sql("nofull", "nofull.bak", "DIFFERENTIAL"), "differential without a full", "ERROR")
    checks.contains(nofull[6], 'Cannot perform a differential backup for database "nofull", because a current '
                               'database backup does not exist.', "3035")
    expect_error(c, "ALTER DATABASE nowhere SET RECOVERY FULL", "ALTER DATABASE statement failed.", "5069")


def pending_rules(c):
    """(d) Rules about pending tasks, while a throttled restore of a larger database runs."""
    c.batch("CREATE DATABASE big")
    c.batch("CREATE TABLE big.dbo.blobs (id INTEGER PRIMARY KEY, data VARBINARY(MAX))")
    c.batch("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 4000) "
            "INSERT INTO big.dbo.blobs SELECT i, randomblob(1000) FROM n")
    run_task(c, backup_sql("big", "big_full.bak"), "full backup of big")
    c.batch("UPDATE big.dbo.blobs SET data = randomblob(10) WHERE id <= 10")
    run_task(c, backup_sql("big", "big_diff.bak", "DIFFERENTIAL"), "differential of big")
    expected = c.query("SELECT id, data FROM big.dbo.blobs ORDER BY id")

    full = submit(c, restore_sql("pend", "big_full.bak", norecovery=1))
    checks.equal(full[1], "RESTORE_DB_NORECOVERY", "pending full restore type")
    # Until the restore has created the database, a second full restore meets the pending task instead.
    harness.wait_for(lambda: state(c, "pend") == "RESTORING", what="the full restore to create pend")
    expect_error(c, finish_sql("pend"), "has a pending RESTORE_DB_NORECOVERY task", "finish while a restore is pending")
    expect_error(c, "exec msdb.dbo.rds_drop_database @db_name='pend'",
                 "You can't submit a DROP database request for a database that already has a pending restore or "
                 "finish restore task.", "drop while a restore is pending")
    expect_error(c, restore_sql("pend", "big_full.bak"), "Database 'pend' already exists.",
                 "a second full restore of a name being restored")
    expect_error(c, restore_sql("pend", "big_diff.bak", kind="DIFFERENTIAL"),
                 "@with_norecovery is required for differential restores", "differential without @with_norecovery")
    diff = submit(c, restore_sql("pend", "big_diff.bak", norecovery=0, kind="DIFFERENTIAL"))
    checks.equal(diff[1], "RESTORE_DB_DIFFERENTIAL", "differential queued behind the NORECOVERY full")
    expect_error(c, log_sql("pend", "big_full.bak"),
                 "You can't submit a restore task for a database that already has a pending restore task with "
                 "RECOVERY.", "log after a pending RECOVERY restore")
    checks.equal(seed_flow.wait_task(c, full[0])[5], "SUCCESS", "throttled full restore")
    checks.equal(seed_flow.wait_task(c, diff[0])[5], "SUCCESS", "queued differential")
    checks.equal(state(c, "pend"), "ONLINE", "the differential WITH RECOVERY opened it")
    checks.check(c.query("SELECT id, data FROM pend.dbo.blobs ORDER BY id") == expected, "pend rows equal big's")
    expect_error(c, finish_sql("pend"), "Database 'pend' is ONLINE", "finish an ONLINE database")
    expect_error(c, "exec msdb.dbo.rds_drop_database @db_name='pend'", "drops only databases in the RESTORING state",
                 "rds_drop_database of an ONLINE database")

    run_task(c, restore_sql("pend2", "big_full.bak", norecovery=1), "restore to finish twice")
    # Two throttled backups (of two databases: one database's tasks run one at a time) hold both workers, so
    # the FINISH_RESTORE below stays pending while it is checked.
    busy = [submit(c, backup_sql(db, "busy_%s.bak" % db)) for db in ("big", "pend")]
    harness.wait_for(lambda: all(c.query("exec msdb.dbo.rds_task_status @task_id=%d" % b[0])[0][5] == "IN_PROGRESS"
                                 for b in busy), what="both workers to be busy")
    fin = submit(c, finish_sql("pend2"))
    expect_error(c, finish_sql("pend2"), "has a pending FINISH_RESTORE task", "a second rds_finish_restore")
    expect_error(c, "exec msdb.dbo.rds_cancel_task @task_id=%d" % fin[0], "You can't cancel a FINISH_RESTORE task.",
                 "cancel FINISH_RESTORE")
    checks.equal(seed_flow.wait_task(c, fin[0])[5], "SUCCESS", "finish of pend2")
    for b in busy:
        checks.equal(seed_flow.wait_task(c, b[0])[5], "SUCCESS", "busy backup %d" % b[0])


def login_rules(server, c):
    """(f) Logins other than the master: EXECUTE must be granted; only the master login or the login that last
    restored WITH NORECOVERY may finish or drop."""
    c.batch("CREATE LOGIN restorer WITH PASSWORD = N'Restorer-Passw0rd1'")
    c.batch("CREATE LOGIN [other] WITH PASSWORD = 'Other-Passw0rd1'")
    restorer = PymssqlClient(server.port, user="restorer", password="Restorer-Passw0rd1")
    other = PymssqlClient(server.port, user="other", password="Other-Passw0rd1")
    expect_error(restorer, restore_sql("perm", "chain_full.bak", norecovery=1),
                 "The EXECUTE permission was denied on the object 'rds_restore_database', database 'msdb', "
                 "schema 'dbo'.", "a new login needs GRANT EXECUTE")
    expect_error(restorer, "CREATE LOGIN sneaky WITH PASSWORD = 'x'",
                 "User does not have permission to perform this action.", "only the master creates logins")
    for procedure in ("rds_restore_database", "rds_finish_restore", "rds_drop_database", "rds_task_status"):
        c.batch("GRANT EXECUTE ON msdb.dbo.%s TO restorer, other" % procedure)

    run_task(restorer, restore_sql("perm", "chain_full.bak", norecovery=1), "restore by the restorer login",
             task_type="RESTORE_DB_NORECOVERY")
    expect_error(other, finish_sql("perm"),
                 "The login 'other' can't finish the restore of database 'perm': only the master login or the login "
                 "that most recently restored the database or log with NORECOVERY can.", "another login can't finish")
    expect_error(other, "exec msdb.dbo.rds_drop_database @db_name='perm'",
                 "The login 'other' can't drop database 'perm'", "another login can't drop")
    run_task(restorer, finish_sql("perm"), "finish by the login that restored", task_type="FINISH_RESTORE")
    checks.equal(state(c, "perm"), "ONLINE", "perm after the restorer's rds_finish_restore")

    run_task(restorer, restore_sql("perm2", "chain_full.bak", norecovery=1), "second restore by the restorer")
    expect_error(other, "exec msdb.dbo.rds_drop_database @db_name='perm2'", "The login 'other' can't drop",
                 "another login can't drop the second")
    c.batch("exec msdb.dbo.rds_drop_database @db_name='perm2'")
    checks.equal(state(c, "perm2"), None, "the master login drops what another login restored")

    c.batch("REVOKE EXECUTE ON msdb.dbo.rds_task_status FROM other")
    expect_error(other, "exec msdb.dbo.rds_task_status",
                 "The EXECUTE permission was denied on the object 'rds_task_status'", "REVOKE takes it back")
    other.close()
    restorer.close()
    c.batch("DROP LOGIN other")
    try:
        PymssqlClient(server.port, user="other", password="Other-Passw0rd1").close()
        checks.check(False, "a dropped login can't log in")
    except pymssql.Error as e:
        checks.contains(str(e), "Login failed for user 'other'", "a dropped login can't log in")


# --- (e) the seed page's examples, as written ---------------------------------------------------------------

SEED_DIFF_BACKUP = """exec msdb.dbo.rds_backup_database 
@source_db_name='mydatabase', 
@s3_arn_to_backup_to='arn:aws:s3:::aws_example_bucket/backup1.bak',
@overwrite_s3_backup_file=1,
@type='DIFFERENTIAL';"""
SEED_KEY = "arn:aws:kms:us-east-1:123456789012:key/AKIAIOSFODNN7EXAMPLE"
SEED_FULL_BACKUP_KMS = """exec msdb.dbo.rds_backup_database 
@source_db_name='mydatabase',
@s3_arn_to_backup_to='arn:aws:s3:::aws_example_bucket/backup1.bak',
@kms_master_key_arn='arn:aws:kms:us-east-1:123456789012:key/AKIAIOSFODNN7EXAMPLE',
@overwrite_s3_backup_file=1,
@type='FULL';"""
SEED_LAST_FULL = """select top 1 
database_name
, 	backup_start_date
, 	backup_finish_date 
from    msdb.dbo.backupset 
where   database_name='mydatabase'
and     type = 'D' 
order by backup_start_date desc;"""
SEED_RESTORE_SINGLE = """exec msdb.dbo.rds_restore_database
@restore_db_name='mydatabase',
@s3_arn_to_restore_from='arn:aws:s3:::aws_example_bucket/backup1.bak';"""
SEED_RESTORE_MULTI = """exec msdb.dbo.rds_restore_database
@restore_db_name='mydatabase',
@s3_arn_to_restore_from='arn:aws:s3:::aws_example_bucket/backup*';"""
SEED_RESTORE_FULL_RECOVERY = """exec msdb.dbo.rds_restore_database 	
@restore_db_name='mydatabase', 
@s3_arn_to_restore_from='arn:aws:s3:::aws_example_bucket/backup1.bak',
@type='FULL',
@with_norecovery=0;"""
SEED_RESTORE_KMS = """exec msdb.dbo.rds_restore_database 
@restore_db_name='mydatabase', 
@s3_arn_to_restore_from='arn:aws:s3:::aws_example_bucket/backup1.bak',
@kms_master_key_arn='arn:aws:kms:us-east-1:123456789012:key/AKIAIOSFODNN7EXAMPLE';"""
SEED_RESTORE_FULL_NORECOVERY = """exec msdb.dbo.rds_restore_database 
@restore_db_name='mydatabase', 
@s3_arn_to_restore_from='arn:aws:s3:::aws_example_bucket/backup1.bak',
@type='FULL',
@with_norecovery=1;"""
SEED_RESTORE_DIFF_NORECOVERY = """exec msdb.dbo.rds_restore_database 
@restore_db_name='mydatabase', 
@s3_arn_to_restore_from='arn:aws:s3:::aws_example_bucket/backup1.bak',
@type='DIFFERENTIAL',
@with_norecovery=1;"""
SEED_RESTORE_DIFF_RECOVERY = """exec msdb.dbo.rds_restore_database 
@restore_db_name='mydatabase', 
@s3_arn_to_restore_from='arn:aws:s3:::aws_example_bucket/backup1.bak',
@type='DIFFERENTIAL',
@with_norecovery=0;"""
SEED_LOG = """exec msdb.dbo.rds_restore_log 	
@restore_db_name='mydatabase', 
@s3_arn_to_restore_from='arn:aws:s3:::aws_example_bucket/mylog.trn';"""
SEED_LOG_KMS = """exec msdb.dbo.rds_restore_log 
@restore_db_name='mydatabase', 
@s3_arn_to_restore_from='arn:aws:s3:::aws_example_bucket/mylog.trn',
@kms_master_key_arn='arn:aws:kms:us-east-1:123456789012:key/AKIAIOSFODNN7EXAMPLE';"""
SEED_LOG_NORECOVERY = """exec msdb.dbo.rds_restore_log 	
@restore_db_name='mydatabase', 
@s3_arn_to_restore_from='arn:aws:s3:::aws_example_bucket/mylog.trn',
@with_norecovery=1;"""
SEED_LOG_RECOVERY = """exec msdb.dbo.rds_restore_log 	
@restore_db_name='mydatabase', 
@s3_arn_to_restore_from='arn:aws:s3:::aws_example_bucket/mylog.trn',
@with_norecovery=0;"""
SEED_LOG_STOPAT = """exec msdb.dbo.rds_restore_log 	
@restore_db_name='mydatabase', 
@s3_arn_to_restore_from='arn:aws:s3:::aws_example_bucket/mylog.trn',
@with_norecovery=0,
@stopat='2019-12-01 03:57:09';"""
SEED_FINISH = "exec msdb.dbo.rds_finish_restore @db_name='mydatabase';"
SEED_DROP = "exec msdb.dbo.rds_drop_database @db_name='mydatabase';"


def seed_examples(server, c):
    """(e) backup1.bak holds the full backup or the differential as each example needs (the page uses one
    name for both); mylog.trn is a log backup taken after the differential."""
    c.batch("CREATE DATABASE mydatabase")
    c.batch("CREATE TABLE mydatabase.dbo.items (id INT PRIMARY KEY, v NVARCHAR(100), n FLOAT, b VARBINARY(MAX))")
    insert_rows(c, "mydatabase", 1, 100)
    at_full = items(c, "mydatabase")
    run_task(c, backup_sql("mydatabase", "backup1.bak"), "seed: full backup to backup1.bak")
    server.copy_object(BUCKET, "backup1.bak", "seed_full.bak")
    insert_rows(c, "mydatabase", 101, 150)
    at_diff = items(c, "mydatabase")
    run_task(c, SEED_DIFF_BACKUP, "seed: Example of Differential Backup", task_type="BACKUP_DB_DIFFERENTIAL")
    server.copy_object(BUCKET, "backup1.bak", "seed_diff.bak")
    insert_rows(c, "mydatabase", 151, 200)
    at_log = items(c, "mydatabase")
    run_task(c, exec_text("msdb.dbo.rds_backup_log", {"@source_db_name": "mydatabase",
                                                      "@s3_arn_to_backup_to": ARN + "mylog.trn"}),
             "seed: log backup to mylog.trn", task_type="BACKUP_LOG")
    # The page's key does not exist here (test_encrypted_backups makes real ones).
    done = run_task(c, SEED_FULL_BACKUP_KMS, "seed: Example of Full Backup with Encryption", "ERROR")
    checks.contains(done[6], "Key %s does not exist" % SEED_KEY, "seed: the page's key does not exist")
    last_full = c.query(SEED_LAST_FULL)
    checks.equal([r[0] for r in last_full], ["mydatabase"], "seed: last full backup query")
    drop(c, "mydatabase")

    def use(key):
        server.copy_object(BUCKET, key, "backup1.bak")

    # Full NORECOVERY, differential NORECOVERY, log (NORECOVERY by default), finish.
    use("seed_full.bak")
    run_task(c, SEED_RESTORE_FULL_NORECOVERY, "seed: Full Database Restore with NORECOVERY",
             task_type="RESTORE_DB_NORECOVERY")
    checks.equal(state(c, "mydatabase"), "RESTORING", "seed: RESTORING after the full restore")
    use("seed_diff.bak")
    run_task(c, SEED_RESTORE_DIFF_NORECOVERY, "seed: Differential Restore with NORECOVERY",
             task_type="RESTORE_DB_DIFFERENTIAL_NORECOVERY")
    run_task(c, SEED_LOG, "seed: Example of Log Restore", task_type="RESTORE_DB_LOG_NORECOVERY")
    checks.equal(state(c, "mydatabase"), "RESTORING", "seed: RESTORING after the log restore")
    run_task(c, SEED_FINISH, "seed: rds_finish_restore", task_type="FINISH_RESTORE")
    checks.check(items(c, "mydatabase") == at_log, "seed: full + differential + log rows")
    drop(c, "mydatabase")

    # Full restores with RECOVERY.
    use("seed_full.bak")
    run_task(c, SEED_RESTORE_SINGLE, "seed: Example of Single-File Restore", task_type="RESTORE_DB")
    checks.check(items(c, "mydatabase") == at_full, "seed: single-file restore rows")
    drop(c, "mydatabase")
    run_task(c, SEED_RESTORE_FULL_RECOVERY, "seed: Full Database Restore with RECOVERY (@type, @with_norecovery=0)",
             task_type="RESTORE_DB")
    checks.equal(state(c, "mydatabase"), "ONLINE", "seed: ONLINE after a full restore with RECOVERY")
    drop(c, "mydatabase")
    # The wildcard matches backup1.bak alone (a single-file backup); multi-file backups are not made yet, and
    # a wildcard matching two backups says so.
    run_task(c, SEED_RESTORE_MULTI, "seed: Example of Multiple-File Restore (one file matches)", task_type="RESTORE_DB")
    checks.check(items(c, "mydatabase") == at_full, "seed: wildcard restore rows")
    drop(c, "mydatabase")
    done = run_task(c, SEED_RESTORE_MULTI.replace("backup*", "seed_*"), "seed: a wildcard matching two backups",
                    "ERROR")
    checks.contains(done[6], "The files arn:aws:s3:::aws_example_bucket/seed_* matches are not all of one backup: "
                    "arn:aws:s3:::aws_example_bucket/seed_diff.bak and arn:aws:s3:::aws_example_bucket/seed_full.bak "
                    "belong to different backups.", "seed: two matches")
    done = run_task(c, SEED_RESTORE_KMS, "seed: Full Database Restore with Encryption", "ERROR")
    checks.contains(done[6], "Key %s does not exist" % SEED_KEY, "seed: restore with the page's key")

    # Differential with RECOVERY.
    run_task(c, SEED_RESTORE_FULL_NORECOVERY, "seed: full NORECOVERY before the differential")
    use("seed_diff.bak")
    run_task(c, SEED_RESTORE_DIFF_RECOVERY, "seed: Differential Restore with RECOVERY",
             task_type="RESTORE_DB_DIFFERENTIAL")
    checks.check(items(c, "mydatabase") == at_diff, "seed: full + differential rows")
    expect_error(c, SEED_LOG, "Database 'mydatabase' is ONLINE", "seed: log restore onto the ONLINE database")
    drop(c, "mydatabase")

    # Log with RECOVERY.
    use("seed_full.bak")
    run_task(c, SEED_RESTORE_FULL_NORECOVERY, "seed: full NORECOVERY before the log")
    run_task(c, SEED_LOG_RECOVERY, "seed: Log Restore with RECOVERY", task_type="RESTORE_DB_LOG")
    checks.check(items(c, "mydatabase") == at_log, "seed: full + log rows")
    drop(c, "mydatabase")

    # STOPAT 2019 is before every commit in mylog.trn: SQL Server's 4338, and the database stays RESTORING
    # for the NORECOVERY example that follows.
    run_task(c, SEED_RESTORE_FULL_NORECOVERY, "seed: full NORECOVERY before STOPAT")
    stop = run_task(c, SEED_LOG_STOPAT, "seed: Log Restore with STOPAT Clause", "ERROR", task_type="RESTORE_DB_LOG")
    checks.contains(stop[6], MSG_4338, "seed: STOPAT before the log")
    done = run_task(c, SEED_LOG_KMS, "seed: Log Restore with Encryption", "ERROR")
    checks.contains(done[6], "Key %s does not exist" % SEED_KEY, "seed: log restore with the page's key")
    run_task(c, SEED_LOG_NORECOVERY, "seed: Log Restore with NORECOVERY", task_type="RESTORE_DB_LOG_NORECOVERY")
    checks.equal(state(c, "mydatabase"), "RESTORING", "seed: RESTORING before rds_drop_database")

    # Dropping the partially restored database removes it and its backup history.
    checks.check(c.query("SELECT count(*) FROM msdb.dbo.backupset WHERE database_name = 'mydatabase'")[0][0] > 0,
                 "seed: mydatabase has backup history")
    cur = c.conn.cursor()
    cur.execute(SEED_DROP)
    cur.close()
    checks.equal(state(c, "mydatabase"), None, "seed: rds_drop_database removed mydatabase")
    checks.equal(c.query("SELECT count(*) FROM msdb.dbo.backupset WHERE database_name = 'mydatabase'")[0][0], 0,
                 "seed: rds_drop_database removed the backup history")
    expect_error(c, SEED_DROP, "Database 'mydatabase' does not exist.", "seed: rds_drop_database twice")


# Transfers are held to 2 MB/s so the 4 MB restore of (d) runs long enough for its pending-task checks.
# With BAKREST_TEST_STORE=s3 (ctest's integration.test_chains_s3) the bucket is on the S3 test server.
with harness.Store(max_transfer_mb_per_sec=2) as store, \
        harness.Server(binary, config_text=store.text) as server:
    store.attach(server)
    c = PymssqlClient(server.port)
    at_stop, stop_time, final = make_source(c)
    check_history(c, server.port)
    chain_a(c, final)
    chain_b(c, at_stop, stop_time, final)
    wrong_chains(c)
    pending_rules(c)
    login_rules(server, c)
    seed_examples(server, c)
    c.close()
checks.finish()
