"""The seed page's flow, the same for every client: create a database with tables of text, numbers, blobs
and NULLs and thousands of rows, back it up, watch the task, restore it under another name, compare every
row. A client adapter provides batch(sql), query(sql) -> rows and proc(name, params) -> rows."""
import time

ROWS = 3000
ARN = "arn:aws:s3:::aws_example_bucket/backup1.bak"

TASK_COLUMNS = ["task_id", "task_type", "database_name", "% complete", "duration (mins)", "lifecycle",
                "task_info", "last_updated", "created_at", "S3_object_arn", "overwrite_s3_backup_file",
                "KMS_master_key_arn", "filepath", "overwrite_file"]


def row_values(i):
    name = None if i % 17 == 0 else "row %d — ünïcødé ✓" % i
    amount = None if i % 13 == 0 else i * 1.25
    big = i * 1000000007
    data = None if i % 11 == 0 else bytes((i * 7 + k) % 256 for k in range(i % 200))
    note = None if i % 5 else ("long text %d " % i) * 50
    return (i, name, amount, big, data, note)


def literal(v):
    if v is None:
        return "NULL"
    if isinstance(v, bytes):
        return "0x" + v.hex()
    if isinstance(v, str):
        return "N'" + v.replace("'", "''") + "'"
    return repr(v)


def create_source(client, database="mydatabase"):
    client.batch("CREATE DATABASE " + database)
    client.batch("USE " + database)
    client.batch("CREATE TABLE items (id INT PRIMARY KEY, name NVARCHAR(100), amount FLOAT, big BIGINT, "
                 "data VARBINARY(MAX), note NVARCHAR(MAX))")
    for start in range(1, ROWS + 1, 250):
        rows = [row_values(i) for i in range(start, min(start + 250, ROWS + 1))]
        client.batch("INSERT INTO items VALUES " +
                     ", ".join("(" + ", ".join(literal(v) for v in r) + ")" for r in rows))


def wait_task(client, task_id, timeout=300):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        rows = client.proc("msdb.dbo.rds_task_status", {"@task_id": task_id})
        assert len(rows) == 1, rows
        last = rows[0]
        if last[5] in ("SUCCESS", "ERROR", "CANCELLED"):
            return last
        time.sleep(0.2)
    raise AssertionError("task %s did not finish: %r" % (task_id, last))


def run(client, checks, source="mydatabase", copy="mydatabase_copy"):
    create_source(client, source)
    checks.equal(int(client.query("SELECT count(*) FROM items")[0][0]), ROWS, "rows in the source")

    rows = client.proc("msdb.dbo.rds_backup_database",
                       {"@source_db_name": source, "@s3_arn_to_backup_to": ARN, "@overwrite_s3_backup_file": 1,
                        "@type": "FULL"})
    checks.equal(len(rows), 1, "rds_backup_database returns the new task")
    task_id = rows[0][0]
    checks.equal(rows[0][1], "BACKUP_DB", "task type")
    done = wait_task(client, task_id)
    checks.equal(done[5], "SUCCESS", "backup lifecycle (task_info: %s)" % done[6])
    checks.equal(int(done[3]), 100, "% complete")
    checks.equal(done[9], ARN, "S3_object_arn")

    history = client.query("select top 1 \ndatabase_name\n, \tbackup_start_date\n, \tbackup_finish_date \n"
                           "from    msdb.dbo.backupset \nwhere   database_name='%s'\nand     type = 'D' \n"
                           "order by backup_start_date desc;" % source)
    checks.equal(len(history), 1, "backupset row for the backup")
    if history:
        checks.equal(history[0][0], source, "backupset.database_name")

    rows = client.proc("msdb.dbo.rds_restore_database",
                       {"@restore_db_name": copy, "@s3_arn_to_restore_from": ARN})
    restore_id = rows[0][0]
    checks.equal(rows[0][1], "RESTORE_DB", "restore task type")
    done = wait_task(client, restore_id)
    checks.equal(done[5], "SUCCESS", "restore lifecycle (task_info: %s)" % done[6])

    select = "SELECT id, name, amount, big, data, note FROM %s.dbo.items ORDER BY id"
    original = client.query(select % source)
    restored = client.query(select % copy)
    checks.equal(len(restored), ROWS, "rows in the restored database")
    checks.check(original == restored, "every restored row equals the original")
    if hasattr(client, "normalize"):  # clients that return typed values
        expected = [row_values(i) for i in range(1, ROWS + 1)]
        checks.check(client.normalize(original) == expected, "the rows read back equal the rows inserted")

    states = dict(client.query("SELECT name, state_desc FROM sys.databases"))
    checks.equal(states.get(copy), "ONLINE", "restored database state")
    return task_id


def finished_backups(port, database):
    """The database's backup tasks once each has ended, read through a pytds connection of its own (a client
    under test may have stopped before it waited)."""
    import clients
    client = clients.PytdsClient(port)
    try:
        rows = client.proc("msdb.dbo.rds_task_status", {"@db_name": database})
        return [wait_task(client, row[0]) for row in rows if row[1] == "BACKUP_DB"]
    finally:
        client.close()
