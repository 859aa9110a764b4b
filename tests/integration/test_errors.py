"""Every error case of the procedures, each checked for its exact message, through pymssql."""
import os
import subprocess

import pymssql

import harness
import seed_flow
from clients import PymssqlClient, exec_text

checks = harness.Checks()
ARN = "arn:aws:s3:::aws_example_bucket/"


def expect_error(client, sql, message, what):
    try:
        client.query(sql)
    except pymssql.Error as e:
        checks.contains(str(e), message, what)
        return
    checks.check(False, what + ": no error raised")


def backup(client, **params):
    args = {"@source_db_name": "mydatabase", "@s3_arn_to_backup_to": ARN + "errors.bak"}
    args.update(params)
    return exec_text("msdb.dbo.rds_backup_database", args)


def restore(client, **params):
    args = {"@restore_db_name": "restored", "@s3_arn_to_restore_from": ARN + "errors.bak"}
    args.update(params)
    return exec_text("msdb.dbo.rds_restore_database", args)


def task_result(client, sql):
    task_id = client.query(sql)[0][0]
    return seed_flow.wait_task(client, task_id)


binary = harness.binary_from_argv()
with harness.Server(binary, config_text=harness.config_text()) as server:
    # Logins.
    try:
        pymssql.connect(server="127.0.0.1", port=server.port, user="admin", password="wrong", tds_version="7.3")
        checks.check(False, "a wrong password must fail")
    except pymssql.Error as e:
        checks.contains(str(e), "Login failed for user 'admin'.", "wrong password")

    # A second server on the same data directory is refused.
    second = subprocess.run([binary, "serve", "--data", server.data_dir, "--port", "0", "--control-port", "0"], capture_output=True,
                            timeout=30)
    checks.equal(second.returncode, 1, "second server exit code")
    checks.contains(second.stderr.decode(), "is in use by another bakrest server (pid %d)" % server.proc.pid,
                    "second server message")

    c = PymssqlClient(server.port)
    c.batch("CREATE DATABASE mydatabase")
    c.batch("USE mydatabase")
    c.batch("CREATE TABLE t (id INT PRIMARY KEY, v NVARCHAR(20))")
    c.batch("INSERT INTO t VALUES (1, N'one'), (2, NULL)")

    # Immediate errors from rds_backup_database.
    expect_error(c, backup(c, **{"@source_db_name": "nope"}),
                 "Database 'nope' does not exist. Make sure that the name is entered correctly.", "unknown database")
    expect_error(c, backup(c, **{"@s3_arn_to_backup_to": "arn:aws:s3:::aws_example_bucket"}), "arn:aws:s3:::aws_example_bucket",
                 "ARN without a key")
    expect_error(c, backup(c, **{"@s3_arn_to_backup_to": "arn:aws:s4:::aws_example_bucket/x.bak"}), "arn:aws:s4",
                 "ARN of another service")
    expect_error(c, backup(c, **{"@s3_arn_to_backup_to": ARN + "../escape.bak"}), "../escape.bak",
                 "key escaping its bucket")
    expect_error(c, backup(c, **{"@overwrite_s3_backup_file": 2}), "@overwrite_s3_backup_file must be 0 or 1",
                 "overwrite out of range")
    expect_error(c, backup(c, **{"@type": "INCREMENTAL"}), "Invalid @type 'INCREMENTAL'", "bad @type")
    expect_error(c, backup(c, **{"@enable_bucket_default_encryption": 1}),
                 "The parameter @enable_bucket_default_encryption is not supported yet", "bucket default encryption")
    expect_error(c, backup(c, **{"@number_of_files": 11}), "@number_of_files must be between 1 and 10.",
                 "too many files")
    expect_error(c, backup(c, **{"@number_of_files": 4, "@s3_arn_to_backup_to": ARN + "a*b*.bak"}),
                 "Multifile backups can only have one asterisk.", "two asterisks")
    expect_error(c, backup(c, **{"@number_of_files": 4, "@s3_arn_to_backup_to": ARN + "plain.bak"}),
                 "@number_of_files=4 needs a '*' in the file name", "no asterisk")
    expect_error(c, backup(c, **{"@block_size": 1000}),
                 "Invalid @block_size 1000: use 512, 1024, 2048, 4096, 8192, 16384, 32768 or 65536.", "block size")
    expect_error(c, backup(c, **{"@max_transfer_size": 100000}),
                 "Invalid @max_transfer_size 100000: use a multiple of 65536 from 65536 to 4194304 (bytes).",
                 "transfer size")
    expect_error(c, backup(c, **{"@max_transfer_size": 4194304 + 65536}), "Invalid @max_transfer_size",
                 "transfer size too large")
    expect_error(c, backup(c, **{"@buffer_count": 0}), "Invalid @buffer_count 0: use 1 to 256.", "buffer count")
    expect_error(c, backup(c, **{"@buffer_count": 200, "@max_transfer_size": 4194304}),
                 "@buffer_count * @max_transfer_size may be at most 536870912 bytes", "buffers too large")
    expect_error(c, backup(c, **{"@foo": 1}), "@foo is not a parameter for procedure rds_backup_database.",
                 "unknown parameter")
    expect_error(c, "exec msdb.dbo.rds_backup_database @source_db_name='mydatabase'",
                 "Procedure or function 'rds_backup_database' expects parameter '@s3_arn_to_backup_to', which was not supplied.",
                 "missing parameter")
    expect_error(c, "exec msdb.dbo.rds_no_such_thing", "Could not find stored procedure 'msdb.dbo.rds_no_such_thing'.",
                 "unknown procedure")
    expect_error(c, "BEGIN TRAN; " + backup(c), "within a transaction isn't supported", "inside a transaction")
    c.batch("ROLLBACK")

    # T-SQL errors in SQL Server's numbers and words, and the server log names each refused statement (string
    # literals of CREATE LOGIN hidden).
    expect_error(c, "SELECT * FROM no_such_table", "Invalid object name 'no_such_table'.", "208")
    expect_error(c, "SELECT NO_SUCH_FN(1)", "'NO_SUCH_FN' is not a recognized built-in function name.", "195")
    expect_error(c, "SELECT FROM WHERE", "Incorrect syntax near", "102")
    expect_error(c, "CREATE LOGIN [%s] WITH PASSWORD = 'Secret-L0gin-Pw'" % harness.USER, "already exists",
                 "a refused CREATE LOGIN")
    with open(server.log.name, "rb") as log:
        text = log.read().decode(errors="replace")
    checks.contains(text, "statement failed with 208: Invalid object name 'no_such_table'. (SELECT * FROM no_such_table)",
                    "the log names a failed statement and its error")
    checks.contains(text, "WITH PASSWORD = '***'", "the log shows the refused CREATE LOGIN with its literal hidden")
    checks.check("Secret-L0gin-Pw" not in text, "the password is nowhere in the log")

    # Task errors. A differential needs a full backup first (SQL Server's 3035).
    no_base = task_result(c, backup(c, **{"@type": "DIFFERENTIAL"}))
    checks.equal(no_base[5], "ERROR", "differential backup without a full backup")
    checks.contains(no_base[6], 'Cannot perform a differential backup for database "mydatabase"', "3035 message")
    first = task_result(c, backup(c))
    checks.equal(first[5], "SUCCESS", "first backup to errors.bak")
    again = task_result(c, backup(c))
    checks.equal(again[5], "ERROR", "backup onto an existing object without overwrite")
    checks.contains(again[6], "Please reissue task with correct type and overwrite property", "overwrite 0 message")
    overwritten = task_result(c, backup(c, **{"@overwrite_s3_backup_file": 1}))
    checks.equal(overwritten[5], "SUCCESS", "backup with overwrite 1")
    missing = task_result(c, backup(c, **{"@s3_arn_to_backup_to": "arn:aws:s3:::no-such-bucket/x.bak"}))
    checks.equal(missing[5], "ERROR", "backup to a missing bucket")
    checks.contains(missing[6], "The specified bucket does not exist", "missing bucket message")
    remote = task_result(c, backup(c, **{"@s3_arn_to_backup_to": "arn:aws:s3:::other-region-bucket/x.bak"}))
    checks.contains(remote[6], "Please specify a bucket that is in the same region as RDS instance", "other region")

    # Immediate errors from rds_restore_database.
    expect_error(c, restore(c, **{"@s3_arn_to_restore_from": ""}), "S3 ARN prefix cannot be empty", "empty ARN")
    exists = ("Database 'mydatabase' already exists. Two databases that differ only by case or accent are not "
              "allowed. Choose a different database name.")
    expect_error(c, restore(c, **{"@restore_db_name": "mydatabase"}), exists, "restore onto an existing name")
    expect_error(c, restore(c, **{"@restore_db_name": "MyDataBase"}), exists.replace("'mydatabase'", "'MyDataBase'"),
                 "restore onto a name differing by case")
    expect_error(c, restore(c, **{"@with_norecovery": 2}), "@with_norecovery must be 0 or 1, not 2.",
                 "@with_norecovery out of range")
    expect_error(c, restore(c, **{"@restore_db_name": "rdsadmin_copy"}), "can't start with 'rdsadmin'", "reserved name")
    expect_error(c, restore(c, **{"@max_transfer_size": 1}), "Invalid @max_transfer_size 1", "restore transfer size")
    expect_error(c, restore(c, **{"@block_size": 3}), "Invalid @block_size 3", "restore block size")

    # Restores that fail in the task leave no database behind.
    os.makedirs(server.store_path("aws_example_bucket"), exist_ok=True)
    with open(server.store_path("aws_example_bucket", "notabackup.bak"), "wb") as f:
        f.write(b"this is not a backup" * 100)
    bad = task_result(c, restore(c, **{"@s3_arn_to_restore_from": ARN + "notabackup.bak"}))
    checks.equal(bad[5], "ERROR", "restore from a file that is not a backup")
    checks.contains(bad[6], "Please reissue task with correct type and overwrite property", "not-a-backup message")
    checks.contains(bad[6], "is not a bakrest backup", "not-a-backup detail")
    with open(server.store_path("aws_example_bucket", "errors.bak"), "rb") as f:
        good = f.read()
    with open(server.store_path("aws_example_bucket", "truncated.bak"), "wb") as f:
        f.write(good[: len(good) - 100])
    cut = task_result(c, restore(c, **{"@restore_db_name": "cut", "@s3_arn_to_restore_from": ARN + "truncated.bak"}))
    checks.equal(cut[5], "ERROR", "restore from a truncated backup")
    checks.contains(cut[6], "truncated", "truncated backup message")
    absent = task_result(c, restore(c, **{"@s3_arn_to_restore_from": ARN + "absent.bak"}))
    checks.contains(absent[6], "The specified key does not exist", "missing object")
    names = [r[0] for r in c.query("SELECT name FROM sys.databases")]
    checks.check("cut" not in names and "restored" not in names, "failed restores left no database: %r" % names)

    # Cancel errors and configuration.
    expect_error(c, "exec msdb.dbo.rds_cancel_task @task_id=%d" % first[0], "can't be cancelled: it is already SUCCESS",
                 "cancel a finished task")
    expect_error(c, "exec msdb.dbo.rds_cancel_task @task_id=99999", "Task 99999 does not exist.", "cancel unknown task")
    expect_error(c, "exec rdsadmin..rds_set_configuration 'S3 backup compression', 'maybe'", "must be 'true' or 'false'",
                 "bad compression value")
    c.batch("exec rdsadmin..rds_set_configuration 'S3 backup compression', 'true'")
    checks.equal(c.query("exec rdsadmin.dbo.rds_show_configuration 'S3 backup compression'")[0][:2],
                 ("S3 backup compression", "true"), "rds_show_configuration")
    c.batch("INSERT INTO t SELECT id + 1000, 'padding padding padding padding' FROM t")
    compressed = task_result(c, backup(c, **{"@s3_arn_to_backup_to": ARN + "compressed.bak"}))
    checks.equal(compressed[5], "SUCCESS", "compressed backup")
    sizes = c.query("SELECT backup_size, compressed_backup_size FROM msdb.dbo.backupset WHERE media_arn = '%s'"
                    % (ARN + "compressed.bak"))
    checks.check(sizes and sizes[0][1] < sizes[0][0], "compressed backup is smaller: %r" % sizes)
    roundtrip = task_result(c, restore(c, **{"@restore_db_name": "from_compressed",
                                             "@s3_arn_to_restore_from": ARN + "compressed.bak"}))
    checks.equal(roundtrip[5], "SUCCESS", "restore of a compressed backup")
    checks.equal(c.query("SELECT id, v FROM from_compressed.dbo.t WHERE id < 3 ORDER BY id"), [(1, "one"), (2, None)],
                 "rows of the compressed backup")
    c.close()

# Compression is refused on editions that lack it, like RDS.
with harness.Server(binary, config_text=harness.config_text(edition="express")) as server:
    c = PymssqlClient(server.port)
    c.batch("CREATE DATABASE small")
    c.batch("exec rdsadmin..rds_set_configuration 'S3 backup compression', 'true'")
    result = task_result(c, exec_text("msdb.dbo.rds_backup_database",
                                      {"@source_db_name": "small", "@s3_arn_to_backup_to": ARN + "s.bak"}))
    checks.contains(result[6], "BACKUP DATABASE WITH COMPRESSION isn't supported on Express Edition", "express edition")
    c.close()
checks.finish()
