"""Multi-file backups through the real server with pymssql: (a) @number_of_files=4 writes backup1-of-4.bak ...
backup4-of-4.bak, says so in task_info as RDS does, lists each file in msdb.dbo.backupmediafamily and restores from
a wildcard ARN row for row; (b) with @overwrite_s3_backup_file=0 one existing generated name fails the task before
any file is written; (c) a differential in two files with @max_transfer_size, @buffer_count and @block_size
restores onto its full backup; (d) with @number_of_files=1 a '*' stays in the name and the backup restores by
that name; (e) a wildcard that misses a file, or holds files of two backups, fails the restore and leaves no
database. Run with BAKREST_TEST_STORE=s3, the bucket is on the S3 test server (integration.test_multi_file_s3)."""
import os

import harness
import seed_flow
from clients import PymssqlClient

ARN = "arn:aws:s3:::aws_example_bucket/"
BUCKET = "aws_example_bucket"
SELECT_ITEMS = "SELECT id, name, amount, big, data, note FROM %s.dbo.items ORDER BY id"

checks = harness.Checks()
binary = harness.binary_from_argv()


def keys(server, store, prefix):
    if store.world:
        return sorted(store.world.keys(prefix))
    root = server.store_path(BUCKET)
    return sorted(k for k in os.listdir(root) if k.startswith(prefix)) if os.path.isdir(root) else []


def backup(c, key, **params):
    args = {"@source_db_name": "mydatabase", "@s3_arn_to_backup_to": ARN + key, "@overwrite_s3_backup_file": 1}
    args.update(params)
    return seed_flow.wait_task(c, c.proc("msdb.dbo.rds_backup_database", args)[0][0])


def restore(c, db, key, **params):
    args = {"@restore_db_name": db, "@s3_arn_to_restore_from": ARN + key}
    args.update(params)
    return seed_flow.wait_task(c, c.proc("msdb.dbo.rds_restore_database", args)[0][0])


def databases(c):
    return [r[0] for r in c.query("SELECT name FROM sys.databases")]


with harness.Store() as store, harness.Server(binary, config_text=store.text) as server:
    store.attach(server)
    c = PymssqlClient(server.port)
    seed_flow.create_source(c)
    c.batch("exec rdsadmin..rds_set_configuration 'S3 backup compression', 'true'")

    # (a) Four files, named and announced as RDS names and announces them.
    done = backup(c, "backup*.bak", **{"@number_of_files": 4})
    checks.equal(done[5], "SUCCESS", "four-file backup (task_info: %s)" % done[6])
    names = ["backup%d-of-4.bak" % i for i in range(1, 5)]
    checks.equal(keys(server, store, "backup"), names, "the files of a four-file backup")
    checks.contains(done[6], "BACKUP_DB task will initiate a multi-file task with 4 file(s). The files are: " +
                    ", ".join(ARN + n for n in names), "task_info lists the files")
    last = done[6].splitlines()[-2]  # before RDS's closing "Task has been completed successfully."
    checks.contains(last, "in 4 files from", "the last task_info line says what was written")
    checks.contains(last, "compression ratio", "... and the compression ratio")
    checks.contains(last, "peak pipeline memory", "... and the pipeline's memory")
    checks.contains(last, "MB/sec", "... and the throughput")
    media = c.query("SELECT f.family_sequence_number, f.physical_device_name, f.physical_block_size FROM "
                    "msdb.dbo.backupmediafamily f JOIN msdb.dbo.backupset s ON s.media_set_id = f.media_set_id "
                    "WHERE s.task_id = %d ORDER BY f.family_sequence_number" % done[0])
    checks.equal([(int(r[0]), r[1]) for r in media], [(i + 1, ARN + n) for i, n in enumerate(names)],
                 "backupmediafamily has a row per file")
    done = restore(c, "copy_a", "backup*")
    checks.equal(done[5], "SUCCESS", "restore from the four files (task_info: %s)" % done[6])
    checks.check(c.query(SELECT_ITEMS % "mydatabase") == c.query(SELECT_ITEMS % "copy_a"),
                 "the four-file backup restores every row")

    # (b) One generated name taken, overwrite 0: nothing is written.
    server.copy_object(BUCKET, "backup3-of-4.bak", "taken3-of-4.bak")
    done = backup(c, "taken*.bak", **{"@number_of_files": 4, "@overwrite_s3_backup_file": 0})
    checks.equal(done[5], "ERROR", "a taken file name fails the backup")
    checks.contains(done[6], "Please reissue task with correct type and overwrite property", "RDS's message")
    checks.equal(keys(server, store, "taken"), ["taken3-of-4.bak"], "no file of the failed backup was written")

    # (c) A differential in two files with the tuning parameters, onto the full backup.
    c.batch("USE mydatabase")
    c.batch("UPDATE items SET name = N'changed ' + CAST(id AS NVARCHAR(10)) WHERE id % 37 = 0")
    done = backup(c, "diff*.trn", **{"@type": "DIFFERENTIAL", "@number_of_files": 2,
                                     "@max_transfer_size": 65536, "@buffer_count": 4, "@block_size": 4096})
    checks.equal(done[5], "SUCCESS", "two-file differential (task_info: %s)" % done[6])
    checks.contains(done[6], "BACKUP_DB_DIFFERENTIAL task will initiate a multi-file task with 2 file(s)",
                    "the differential announces its files")
    block = c.query("SELECT DISTINCT f.physical_block_size FROM msdb.dbo.backupmediafamily f JOIN msdb.dbo.backupset "
                    "s ON s.media_set_id = f.media_set_id WHERE s.task_id = %d" % done[0])
    checks.equal([int(r[0]) for r in block], [4096], "backupmediafamily records the block size")
    done = restore(c, "copy_c", "backup*", **{"@with_norecovery": 1, "@max_transfer_size": 131072,
                                              "@buffer_count": 2})
    checks.equal(done[5], "SUCCESS", "full restore WITH NORECOVERY from four files (task_info: %s)" % done[6])
    done = restore(c, "copy_c", "diff*", **{"@type": "DIFFERENTIAL", "@with_norecovery": 0})
    checks.equal(done[5], "SUCCESS", "differential restore from two files (task_info: %s)" % done[6])
    checks.check(c.query(SELECT_ITEMS % "mydatabase") == c.query(SELECT_ITEMS % "copy_c"),
                 "full and differential in several files restore every row")

    # (d) One file keeps its '*' and restores by its name.
    done = backup(c, "star*name.bak", **{"@number_of_files": 1})
    checks.equal(done[5], "SUCCESS", "one-file backup with a '*' (task_info: %s)" % done[6])
    checks.equal(keys(server, store, "star"), ["star*name.bak"], "the '*' is kept in the name")
    done = restore(c, "copy_d", "star*name.bak")
    checks.equal(done[5], "SUCCESS", "restore by a name with a '*' (task_info: %s)" % done[6])
    checks.check(c.query(SELECT_ITEMS % "mydatabase") == c.query(SELECT_ITEMS % "copy_d"),
                 "the one-file backup restores every row")

    # (e) A wildcard missing a file, or matching two backups, restores nothing.
    for n in (1, 3, 4):
        server.copy_object(BUCKET, "backup%d-of-4.bak" % n, "miss%d-of-4.bak" % n)
    done = restore(c, "copy_e", "miss*")
    checks.equal(done[5], "ERROR", "a restore missing a file fails")
    checks.contains(done[6], "is in 4 files, and file(s) 2 of it are missing", "the message names the missing file")
    server.copy_object(BUCKET, "diff1-of-2.trn", "miss2-of-4.bak")
    done = restore(c, "copy_e", "miss*")
    checks.equal(done[5], "ERROR", "a restore matching files of two backups fails")
    checks.contains(done[6], "are not all of one backup", "the message says the files are of two backups")
    checks.check("copy_e" not in databases(c), "failed restores leave no database")
    c.close()
checks.finish()
