"""Two instances sharing keys, as RDS instances share a region's KMS: instance B's instance.toml names instance A's
control endpoint as its key service ([kms] endpoint, with an access key A issued). A backup B encrypts with A's
key is copied to A's bucket and restored on A, row for row, and B restores its own backup through A's KMS;
disabling the key on A stops both; a key that does not exist on A is refused on B with RDS's message; and a [kms]
endpoint that cannot be reached fails the task naming it, writing nothing."""
import os
import shutil

import control_cli
import harness
import seed_flow
from clients import PymssqlClient

checks = harness.Checks()
binary = harness.binary_from_argv()

BUCKET = "aws_example_bucket"
ARN = "arn:aws:s3:::%s/" % BUCKET


def backup(c, key_name, kms):
    return seed_flow.wait_task(c, c.proc("msdb.dbo.rds_backup_database", {
        "@source_db_name": "src", "@s3_arn_to_backup_to": ARN + key_name, "@overwrite_s3_backup_file": 1,
        "@kms_master_key_arn": kms})[0][0])


def restore(c, db, key_name, kms):
    return seed_flow.wait_task(c, c.proc("msdb.dbo.rds_restore_database", {
        "@restore_db_name": db, "@s3_arn_to_restore_from": ARN + key_name, "@kms_master_key_arn": kms})[0][0])


def rows(c, db):
    return c.query("SELECT id, note FROM %s.dbo.notes ORDER BY id" % db)


def kms_section(endpoint):
    return '\n[kms]\nendpoint = "%s"\naccess_key_id = "%s"\nsecret_access_key = "%s"\n' % (
        endpoint, harness.ACCESS_KEY_ID, harness.SECRET_ACCESS_KEY)


with harness.Server(binary, config_text=harness.config_text()) as a:
    key = control_cli.ok(checks, a, "kms", "create-key", "--description", "shared")["KeyMetadata"]
    with harness.Server(binary, config_text=harness.config_text() + kms_section(a.control_url)) as b:
        cb = PymssqlClient(b.port)
        cb.batch("CREATE DATABASE src")
        cb.batch("CREATE TABLE src.dbo.notes (id INT PRIMARY KEY, note NVARCHAR(100))")
        cb.batch("INSERT INTO src.dbo.notes VALUES " + ", ".join("(%d, N'note %d')" % (i, i) for i in range(500)))
        done = backup(cb, "shared.bak", key["Arn"])
        checks.equal(done[5], "SUCCESS", "B encrypts with A's key (%s)" % done[6])
        done = restore(cb, "back_on_b", "shared.bak", key["Arn"])
        checks.equal(done[5], "SUCCESS", "B restores its backup through A's KMS (%s)" % done[6])
        checks.equal(rows(cb, "back_on_b"), rows(cb, "src"), "... row for row")

        # Migration: the file moves to A's bucket and A restores it with its own key.
        os.makedirs(os.path.dirname(a.store_path(BUCKET, "shared.bak")), exist_ok=True)
        shutil.copyfile(b.store_path(BUCKET, "shared.bak"), a.store_path(BUCKET, "shared.bak"))
        ca = PymssqlClient(a.port)
        done = restore(ca, "from_b", "shared.bak", key["Arn"])
        checks.equal(done[5], "SUCCESS", "A restores what B encrypted (%s)" % done[6])
        checks.equal(rows(ca, "from_b"), rows(cb, "src"), "... row for row")

        # The key is A's: disabling it there stops B.
        control_cli.ok(checks, a, "kms", "disable-key", "--key-id", key["KeyId"])
        done = backup(cb, "disabled.bak", key["Arn"])
        checks.equal(done[5], "ERROR", "B's backup with A's key disabled fails")
        checks.contains(done[6], "is disabled", "... saying so")
        checks.check(not os.path.exists(b.store_path(BUCKET, "disabled.bak")), "... and writes nothing")
        done = restore(cb, "r_disabled", "shared.bak", key["Arn"])
        checks.equal(done[5], "ERROR", "B's restore with A's key disabled fails")
        control_cli.ok(checks, a, "kms", "enable-key", "--key-id", key["KeyId"])
        missing = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-00000000abcd"
        done = backup(cb, "missing.bak", missing)
        checks.contains(done[6], "Key %s does not exist" % missing, "a key A does not have")
        ca.close()
        cb.close()

    # A [kms] endpoint nobody listens on: the task fails naming it.
    with harness.Server(binary, config_text=harness.config_text() + kms_section("http://127.0.0.1:9")) as lone:
        c = PymssqlClient(lone.port)
        c.batch("CREATE DATABASE src")
        c.batch("CREATE TABLE src.dbo.notes (id INT PRIMARY KEY, note NVARCHAR(100))")
        done = backup(c, "unreachable.bak", key["Arn"])
        checks.equal(done[5], "ERROR", "a backup whose key service cannot be reached fails")
        checks.contains(done[6], "the KMS at http://127.0.0.1:9 could not be reached", "... naming it")
        checks.check(not os.path.exists(lone.store_path(BUCKET, "unreachable.bak")), "... and writes nothing")
        c.close()

checks.finish()
