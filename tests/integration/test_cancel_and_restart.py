"""Cancelling a running backup ends CANCELLED with no object left; a restart ends running tasks as ERROR
and removes their partial output."""
import os

import harness
import seed_flow
from clients import PymssqlClient, exec_text

ARN = "arn:aws:s3:::aws_example_bucket/"
checks = harness.Checks()
binary = harness.binary_from_argv()


def make_big_database(c, name):
    c.batch("CREATE DATABASE " + name)
    c.batch("USE " + name)
    c.batch("CREATE TABLE blobs (id INTEGER PRIMARY KEY, data VARBINARY(MAX))")
    c.batch("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000) "
            "INSERT INTO blobs SELECT i, randomblob(8000) FROM n")


def status(c, task_id):
    return c.query("exec msdb.dbo.rds_task_status @task_id=%d" % task_id)[0]


# Transfers are held to 2 MB/s so the ~25 MB backup and restore run long enough to be cancelled and interrupted.
server = harness.Server(binary, config_text=harness.config_text(max_transfer_mb_per_sec=2), keep_data=True)
server.start()
try:
    c = PymssqlClient(server.port)
    make_big_database(c, "big")
    make_big_database(c, "big2")

    task = c.query(exec_text("msdb.dbo.rds_backup_database",
                             {"@source_db_name": "big", "@s3_arn_to_backup_to": ARN + "cancelled.bak"}))[0][0]
    harness.wait_for(lambda: status(c, task)[3] >= 5, what="backup progress")
    running = status(c, task)
    checks.equal(running[5], "IN_PROGRESS", "backup is running")
    checks.contains(running[6], "5 percent processed.", "task_info shows progress")
    checks.check(len(server.tmp_files("aws_example_bucket")) == 1, "the upload in progress is a temp file")
    after_cancel = c.query("exec msdb.dbo.rds_cancel_task @task_id=%d" % task)[0]
    checks.check(after_cancel[5] in ("CANCEL_REQUESTED", "CANCELLED"), "cancel answers: %s" % after_cancel[5])
    done = seed_flow.wait_task(c, task)
    checks.equal(done[5], "CANCELLED", "cancelled backup lifecycle")
    checks.contains(done[6], "Task has been aborted", "cancelled task_info")
    checks.check(not os.path.exists(server.store_path("aws_example_bucket", "cancelled.bak")), "no object left")
    checks.equal(server.tmp_files("aws_example_bucket"), [], "no temp file left")
    checks.equal(c.query("SELECT count(*) FROM msdb.dbo.backupset")[0][0], 0, "no backupset row for it")

    # A task waiting behind two running ones is CREATED, and cancelling it ends it at once.
    ids = [c.query(exec_text("msdb.dbo.rds_backup_database",
                             {"@source_db_name": db, "@s3_arn_to_backup_to": ARN + "queued%d.bak" % i}))[0][0]
           for i, db in enumerate(["big", "big2", "big"])]
    harness.wait_for(lambda: status(c, ids[1])[5] == "IN_PROGRESS", what="second task to start")
    checks.equal(status(c, ids[2])[5], "CREATED", "third task waits")
    c.batch("exec msdb.dbo.rds_cancel_task @task_id=%d" % ids[2])
    checks.equal(status(c, ids[2])[5], "CANCELLED", "waiting task cancelled at once")
    c.close()

    # Crash while two backups run: after the restart they are ERROR and no partial output remains.
    server.kill()
    server.start()
    c = PymssqlClient(server.port)
    for task_id in ids[:2]:
        row = status(c, task_id)
        checks.equal(row[5], "ERROR", "interrupted backup %d after restart" % task_id)
        checks.contains(row[6], "The instance restarted while the task was running", "restart task_info")
    checks.equal(server.tmp_files("aws_example_bucket"), [], "partial uploads removed at restart")

    # A restore interrupted by a crash leaves no database behind.
    c.batch("exec rdsadmin..rds_set_configuration 'S3 backup compression', 'false'")
    full = c.query(exec_text("msdb.dbo.rds_backup_database",
                             {"@source_db_name": "big", "@s3_arn_to_backup_to": ARN + "full.bak"}))[0][0]
    checks.equal(seed_flow.wait_task(c, full)[5], "SUCCESS", "full backup for the restore test")
    restore = c.query(exec_text("msdb.dbo.rds_restore_database",
                                {"@restore_db_name": "half", "@s3_arn_to_restore_from": ARN + "full.bak"}))[0][0]
    harness.wait_for(lambda: status(c, restore)[3] >= 5, what="restore progress")
    c.close()
    server.kill()
    server.start()
    c = PymssqlClient(server.port)
    row = status(c, restore)
    checks.equal(row[5], "ERROR", "interrupted restore after restart")
    checks.contains(row[6], "The instance restarted", "interrupted restore task_info")
    names = [r[0] for r in c.query("SELECT name FROM sys.databases")]
    checks.check("half" not in names, "no half-restored database after restart: %r" % names)
    c.close()
finally:
    server.keep_data = False
    server.cleanup()
checks.finish()
