"""Encrypted backups through pymssql, with keys made by Debian's aws CLI on the instance's KMS:
(a) a full + differential + log chain encrypted with @kms_master_key_arn (a key ARN, and an alias ARN) restored
with STOPAT, row for row; rds_task_status shows KMS_master_key_arn; no row's text is readable in the files;
(b) a restore without the key, with another key, with the key disabled or pending deletion, and a backup with
an asymmetric key, the AWS managed alias/aws/rds, or a key that does not exist, each fails with its message and
leaves nothing ONLINE or written; a key given for a backup that is not encrypted is refused;
(c) a key policy that leaves out the role, and each KMS action of the page's policy taken from the role (or
denied), breaks exactly the tasks that perform it, with RDS's message;
(d) one byte flipped in each encrypted chunk of a backup in turn: every restore fails and leaves no database."""
import json
import os
import struct
import tempfile
import time

import control_cli
import harness
import seed_flow
from clients import PymssqlClient

checks = harness.Checks()
binary = harness.binary_from_argv()

BUCKET = "aws_example_bucket"
ARN = "arn:aws:s3:::%s/" % BUCKET
ACCOUNT = "123456789012"
ROLE = "arn:aws:iam::%s:role/bakrest-backup-restore" % ACCOUNT
MARK = "plainly readable marker text"


def ok(server, *args):
    return control_cli.ok(checks, server, *args)


def proc(c, name, params):
    return seed_flow.wait_task(c, c.proc("msdb.dbo." + name, params)[0][0])


def backup(c, db, key_name, kms=None, kind="FULL", **extra):
    params = {"@source_db_name": db, "@s3_arn_to_backup_to": ARN + key_name, "@overwrite_s3_backup_file": 1}
    if kind != "LOG":
        params["@type"] = kind
    if kms:
        params["@kms_master_key_arn"] = kms
    params.update(extra)
    return proc(c, "rds_backup_log" if kind == "LOG" else "rds_backup_database", params)


def restore(c, db, key_name, kms=None, kind="FULL", norecovery=None, stopat=None):
    params = {"@restore_db_name": db, "@s3_arn_to_restore_from": ARN + key_name}
    if kms:
        params["@kms_master_key_arn"] = kms
    if norecovery is not None:
        params["@with_norecovery"] = norecovery
    if stopat:
        params["@stopat"] = stopat
    if kind == "DIFFERENTIAL":
        params["@type"] = "DIFFERENTIAL"
    return proc(c, "rds_restore_log" if kind == "LOG" else "rds_restore_database", params)


def databases(c):
    return {r[0] for r in c.query("SELECT name FROM sys.databases")}


def rows(c, db):
    return c.query("SELECT id, note FROM %s.dbo.notes ORDER BY id" % db)


def utc_text(t):
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t))


def chunks(path):
    """(payload offset, payload length) of each chunk of a backup file (docs/FORMAT.md)."""
    with open(path, "rb") as f:
        data = f.read()
    fields = struct.unpack_from("<I", data, 10)[0]
    at = 14 + fields + 8
    out = []
    while data[at:at + 4] == b"CHNK":
        stored = struct.unpack_from("<I", data, at + 16)[0]
        out.append((at + 28, stored))
        at += 28 + stored + 8
    return out


with harness.Server(binary, config_text=harness.config_text()) as server, tempfile.TemporaryDirectory() as tmp:
    c = PymssqlClient(server.port)
    c.batch("CREATE DATABASE src")
    c.batch("CREATE TABLE src.dbo.notes (id INT PRIMARY KEY, note NVARCHAR(200))")

    def add(first, last):
        c.batch("INSERT INTO src.dbo.notes VALUES " +
                ", ".join("(%d, N'%s %d')" % (i, MARK, i) for i in range(first, last + 1)))

    key = ok(server, "kms", "create-key", "--description", "backups")["KeyMetadata"]
    ok(server, "kms", "create-alias", "--alias-name", "alias/backups", "--target-key-id", key["KeyId"])
    alias_arn = "arn:aws:kms:us-east-1:%s:alias/backups" % ACCOUNT
    other = ok(server, "kms", "create-key", "--description", "another")["KeyMetadata"]

    # (a) An encrypted chain with STOPAT.
    add(1, 300)
    full = backup(c, "src", "enc_full.bak", key["Arn"])
    checks.equal(full[5], "SUCCESS", "encrypted full backup (%s)" % full[6])
    checks.equal(full[11], key["Arn"], "rds_task_status shows KMS_master_key_arn")
    add(301, 400)
    diff = backup(c, "src", "enc_diff.bak", alias_arn, kind="DIFFERENTIAL")
    checks.equal(diff[5], "SUCCESS", "encrypted differential backup with the alias ARN (%s)" % diff[6])
    add(401, 450)
    at_stop = rows(c, "src")
    # The pauses are what is tested: STOPAT takes whole seconds, so the stop time must fall in a second with no
    # commit on either side of it (as test_chains does).
    time.sleep(1.2)
    stop_time = utc_text(time.time())
    time.sleep(1.2)
    add(451, 500)
    log = backup(c, "src", "enc_log.trn", key["Arn"], kind="LOG")
    checks.equal(log[5], "SUCCESS", "encrypted log backup (%s)" % log[6])
    for name in ("enc_full.bak", "enc_diff.bak", "enc_log.trn"):
        with open(server.store_path(BUCKET, name), "rb") as f:
            data = f.read()
        checks.check(MARK.encode("utf-16-le") not in data and MARK.encode() not in data,
                     "%s holds no readable row text" % name)
        checks.check(key["Arn"].encode() in data, "%s names its key in the header" % name)

    checks.equal(restore(c, "copy", "enc_full.bak", key["Arn"], norecovery=1)[5], "SUCCESS", "restore full")
    checks.equal(restore(c, "copy", "enc_diff.bak", key["Arn"], kind="DIFFERENTIAL", norecovery=1)[5], "SUCCESS",
                 "restore differential")
    done = restore(c, "copy", "enc_log.trn", alias_arn, kind="LOG", norecovery=0, stopat=stop_time)
    checks.equal(done[5], "SUCCESS", "restore log with STOPAT and the alias (%s)" % done[6])
    checks.equal(rows(c, "copy"), at_stop, "the chain restored to STOPAT, row for row")

    # (b) Refusals.
    def fails(done, message, what, db=None):
        checks.equal(done[5], "ERROR", what + " fails")
        checks.contains(done[6], message, what + ": task_info")
        if db:
            checks.check(db not in databases(c), what + ": no database " + db)

    fails(restore(c, "r1", "enc_full.bak"), "Key %s does not exist" % key["Arn"], "restore without the key", "r1")
    fails(restore(c, "r2", "enc_full.bak", other["Arn"]), "Key %s does not exist" % other["Arn"],
          "restore with another key", "r2")
    ok(server, "kms", "disable-key", "--key-id", key["KeyId"])
    fails(restore(c, "r3", "enc_full.bak", key["Arn"]), "is disabled", "restore with the key disabled", "r3")
    fails(backup(c, "src", "disabled.bak", key["Arn"]), "is disabled", "backup with the key disabled")
    checks.check(not os.path.exists(server.store_path(BUCKET, "disabled.bak")), "... writes nothing")
    ok(server, "kms", "enable-key", "--key-id", key["KeyId"])
    rsa = ok(server, "kms", "create-key", "--key-spec", "RSA_2048", "--key-usage", "ENCRYPT_DECRYPT")["KeyMetadata"]
    fails(backup(c, "src", "rsa.bak", rsa["Arn"]), "asymmetric", "backup with an asymmetric key")
    fails(backup(c, "src", "default.bak", "arn:aws:kms:us-east-1:%s:alias/aws/rds" % ACCOUNT),
          "You can't use the default AWS managed key", "backup with alias/aws/rds")
    missing = "arn:aws:kms:us-east-1:%s:key/00000000-0000-0000-0000-000000000000" % ACCOUNT
    fails(backup(c, "src", "missing.bak", missing), "Key %s does not exist" % missing, "backup with no such key")
    for name in ("rsa.bak", "default.bak", "missing.bak"):
        checks.check(not os.path.exists(server.store_path(BUCKET, name)), name + " was not written")
    checks.equal(backup(c, "src", "plain.bak")[5], "SUCCESS", "an unencrypted backup")
    fails(restore(c, "r4", "plain.bak", key["Arn"]), "is not encrypted: restore it without @kms_master_key_arn",
          "a key given for a backup that is not encrypted", "r4")
    doomed = ok(server, "kms", "create-key", "--description", "doomed")["KeyMetadata"]
    checks.equal(backup(c, "src", "doomed.bak", doomed["Arn"])[5], "SUCCESS", "a backup under a key to delete")
    ok(server, "kms", "schedule-key-deletion", "--key-id", doomed["KeyId"], "--pending-window-in-days", "7")
    fails(restore(c, "r5", "doomed.bak", doomed["Arn"]), "pending deletion", "restore with the key pending deletion",
          "r5")

    # (c) The key policy and the role's KMS actions.
    def put_role_policy(document):
        path = os.path.join(tmp, "role.json")
        with open(path, "w") as f:
            json.dump(document, f)
        ok(server, "iam", "put-role-policy", "--role-name", "bakrest-backup-restore", "--policy-name",
           "bakrest-backup-restore", "--policy-document", "file://" + path)

    default_policy = json.loads(
        json.dumps(ok(server, "iam", "get-role-policy", "--role-name", "bakrest-backup-restore", "--policy-name",
                      "bakrest-backup-restore")["PolicyDocument"]))
    key_policy = ok(server, "kms", "get-key-policy", "--key-id", key["KeyId"], "--policy-name", "default")["Policy"]
    only_other = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::%s:role/someone-else" % ACCOUNT}, "Action": "kms:*",
        "Resource": "*"}]}
    ok(server, "kms", "put-key-policy", "--key-id", key["KeyId"], "--policy-name", "default", "--policy",
       json.dumps(only_other))
    fails(backup(c, "src", "policy.bak", key["Arn"]),
          "User %s is not authorized to perform kms:DescribeKey on resource %s" % (ROLE, key["Arn"]),
          "a key policy that leaves out the role")
    # The key policy naming the role itself is enough, whatever the role's own policies say of KMS.
    named = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": ["kms:DescribeKey", "kms:GenerateDataKey",
                                                               "kms:Decrypt"], "Resource": "*"}]}
    ok(server, "kms", "put-key-policy", "--key-id", key["KeyId"], "--policy-name", "default", "--policy",
       json.dumps(named))
    no_kms = json.loads(json.dumps(default_policy))
    no_kms["Statement"] = [s for s in no_kms["Statement"] if not str(s["Action"]).count("kms:")]
    put_role_policy(no_kms)
    checks.equal(backup(c, "src", "named.bak", key["Arn"])[5], "SUCCESS", "a key policy naming the role")
    ok(server, "kms", "put-key-policy", "--key-id", key["KeyId"], "--policy-name", "default", "--policy", key_policy)

    # With the default key policy (the account delegates to IAM), each KMS action taken from the role.
    needs = {"backup": {"kms:DescribeKey", "kms:GenerateDataKey"}, "restore": {"kms:DescribeKey", "kms:Decrypt"}}
    for n, action in enumerate(["kms:DescribeKey", "kms:GenerateDataKey", "kms:Encrypt", "kms:Decrypt"]):
        for how in ("removed", "denied"):
            policy = json.loads(json.dumps(default_policy))
            if how == "removed":
                for s in policy["Statement"]:
                    if isinstance(s["Action"], list) and action in s["Action"]:
                        s["Action"] = [a for a in s["Action"] if a != action]
            else:
                policy["Statement"].append({"Effect": "Deny", "Action": action, "Resource": "*"})
            put_role_policy(policy)
            for task in ("backup", "restore"):
                what = "%s with %s %s" % (task, action, how)
                if task == "backup":
                    done = backup(c, "src", "kms-%d-%s.bak" % (n, how), key["Arn"])
                else:
                    target = "kms_%d_%s" % (n, how)
                    done = restore(c, target, "enc_full.bak", key["Arn"])
                if action in needs[task]:
                    fails(done, "User %s is not authorized to perform %s on resource %s" % (ROLE, action, key["Arn"]),
                          what)
                else:
                    checks.equal(done[5], "SUCCESS", "%s (%s)" % (what, done[6]))
                    if task == "restore":
                        c.batch("DROP DATABASE %s" % target)
    put_role_policy(default_policy)

    # (d) One byte flipped in each encrypted chunk in turn.
    c.batch("CREATE TABLE src.dbo.bulk (id INT PRIMARY KEY, b VARBINARY(MAX))")
    for first in range(0, 400, 100):
        c.batch("INSERT INTO src.dbo.bulk VALUES " +
                ", ".join("(%d, CAST(REPLICATE(CAST('x' AS VARCHAR(MAX)), 2000) AS VARBINARY(MAX)))" % i
                          for i in range(first, first + 100)))
    done = backup(c, "src", "chunks.bak", key["Arn"], **{"@max_transfer_size": 65536})
    checks.equal(done[5], "SUCCESS", "an encrypted backup in 64 KiB chunks")
    path = server.store_path(BUCKET, "chunks.bak")
    with open(path, "rb") as f:
        original = f.read()
    layout = chunks(path)
    checks.check(len(layout) >= 5, "the backup has several chunks (%d)" % len(layout))
    checks.equal(restore(c, "whole", "chunks.bak", key["Arn"])[5], "SUCCESS", "the backup restores as written")
    for i, (payload, length) in enumerate(layout):
        damaged = bytearray(original)
        damaged[payload + length // 2] ^= 0x01
        with open(path, "wb") as f:
            f.write(damaged)
        target = "flipped_%d" % i
        done = restore(c, target, "chunks.bak", key["Arn"])
        checks.equal(done[5], "ERROR", "a byte flipped in chunk %d fails the restore" % i)
        checks.contains(done[6], "chunk %d" % i, "... naming chunk %d" % i)
        checks.check(target not in databases(c), "... and leaves no database")
    with open(path, "wb") as f:
        f.write(original)
    c.close()

checks.finish()
