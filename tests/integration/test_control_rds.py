"""The RDS page's setup of native backup and restore done with Debian's aws CLI against a running instance, word
for word apart from --endpoint-url and names, then enforced as RDS enforces it, seen through pymssql:
(a) a new instance is made with the default role and option group, and describe-db-instances shows it;
(b) the page's trust policy and permission policy, create-option-group, add-option-to-option-group with
IAM_ROLE_ARN, modify-db-instance --option-group-name: then the page's backup and restore succeed;
(c) each action of the page's permission policy removed in turn, and (d) an explicit Deny of it added in turn,
breaks exactly the tasks that perform it, with Access Denied naming the action in task_info and no object written;
(e) a trust policy without rds.amazonaws.com, with another aws:SourceAccount or another instance's aws:SourceArn
is refused when the option is added; (f) without the option every rds_ procedure gives RDS's message; (g) RDS's
errors for what does not exist or does not fit; (h) the option group outlives a restart, and instance.toml's
[option_group] seeds a new instance only."""
import json
import os
import tempfile

import control_cli
import harness
import seed_flow
from clients import PymssqlClient

checks = harness.Checks()
binary = harness.binary_from_argv()

INSTANCE = "bakrest-test"
ACCOUNT = "123456789012"
BUCKET = "aws_example_bucket"
ARN = "arn:aws:s3:::%s/" % BUCKET
OPTION_MESSAGE = ("Database backup/restore option is not enabled yet or is in the process of being enabled. "
                  "Please try again later.")

# The page's trust policy, and the same with the conditions the IAM guide recommends for a service role.
TRUST = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "rds.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


def trust_with(source_account=ACCOUNT, source_arn="arn:aws:rds:us-east-1:%s:db:%s" % (ACCOUNT, INSTANCE),
               service="rds.amazonaws.com"):
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:SourceAccount": source_account},
                      "ArnLike": {"aws:SourceArn": source_arn}}}]}


BUCKET_ACTIONS = ["s3:ListBucket", "s3:GetBucketLocation"]
OBJECT_ACTIONS = ["s3:GetObject", "s3:PutObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"]


def permissions(without=None):
    """The page's permission policy without encryption support, less one action."""
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": [a for a in BUCKET_ACTIONS if a != without],
         "Resource": "arn:aws:s3:::" + BUCKET},
        {"Effect": "Allow", "Action": [a for a in OBJECT_ACTIONS if a != without],
         "Resource": "arn:aws:s3:::" + BUCKET + "/*"}]}


def ok(server, *args):
    return control_cli.ok(checks, server, *args)


def refused(server, code_name, *args):
    return control_cli.refused(checks, server, code_name, *args)


def backup(c, key, overwrite):
    task = c.proc("msdb.dbo.rds_backup_database", {"@source_db_name": "mydatabase",
                                                    "@s3_arn_to_backup_to": ARN + key,
                                                    "@overwrite_s3_backup_file": overwrite})[0][0]
    return seed_flow.wait_task(c, task)


def restore(c, db, key):
    task = c.proc("msdb.dbo.rds_restore_database", {"@restore_db_name": db,
                                                     "@s3_arn_to_restore_from": ARN + key})[0][0]
    return seed_flow.wait_task(c, task)


def procedure_error(c, sql):
    try:
        c.batch(sql)
    except Exception as e:  # the client's own error type
        return str(e)
    return None


# What each task of the matrix performs (iam/authorized_store.h): a backup with @overwrite_s3_backup_file=0 to
# a new key first asks whether the key exists (s3:GetObject, and s3:ListBucket since it does not); one with
# overwrite 1 does not ask. A restore reads its object; a wildcard restore lists the bucket first. Every task
# asks the bucket's region. bakrest never lists an upload's parts, and a task that succeeds aborts nothing.
NEEDS = {
    "backup, overwrite 0": {"s3:GetBucketLocation", "s3:GetObject", "s3:ListBucket", "s3:PutObject"},
    "backup, overwrite 1": {"s3:GetBucketLocation", "s3:PutObject"},
    "restore": {"s3:GetBucketLocation", "s3:GetObject"},
    "wildcard restore": {"s3:GetBucketLocation", "s3:ListBucket", "s3:GetObject"},
}


def run_matrix(server, c, tmp, role, how):
    """Each action of the page's policy taken away (how="removed": left out of the policy; how="denied": an
    explicit Deny added beside the whole policy); each task of NEEDS run, and it must fail exactly when it
    performs that action."""
    for n, action in enumerate(BUCKET_ACTIONS + OBJECT_ACTIONS):
        if how == "removed":
            ok(server, "iam", "put-role-policy", "--role-name", role, "--policy-name", "backup",
               "--policy-document", document(tmp, "without.json", permissions(without=action)))
        else:
            ok(server, "iam", "put-role-policy", "--role-name", role, "--policy-name", "backup",
               "--policy-document", document(tmp, "all.json", permissions()))
            ok(server, "iam", "put-role-policy", "--role-name", role, "--policy-name", "deny",
               "--policy-document", document(tmp, "deny.json", {"Version": "2012-10-17", "Statement": [
                   {"Effect": "Deny", "Action": action, "Resource": "*"}]}))
        for task, needs in NEEDS.items():
            key = "%s-%d-%s.bak" % (how, n, "o0" if task == "backup, overwrite 0" else "o1")
            if task.startswith("backup"):
                done = backup(c, key, 0 if task == "backup, overwrite 0" else 1)
            else:
                target = "r_%s_%d_%s" % (how, n, "w" if task.startswith("wildcard") else "x")
                done = restore(c, target, "matrix.ba*" if task.startswith("wildcard") else "matrix.bak")
            what = "%s with %s %s" % (task, action, how)
            if action in needs:
                checks.equal(done[5], "ERROR", what + " fails")
                checks.contains(done[6], "Access Denied", what + ": task_info")
                checks.contains(done[6], "is not authorized to perform: " + action, what + ": names the action")
                if task.startswith("backup"):
                    checks.check(not os.path.exists(server.store_path(BUCKET, key)), what + ": nothing written")
            else:
                checks.equal(done[5], "SUCCESS", "%s (task_info: %s)" % (what, done[6]))
                if not task.startswith("backup"):
                    c.batch("DROP DATABASE %s" % target)
    if how == "denied":
        ok(server, "iam", "delete-role-policy", "--role-name", role, "--policy-name", "deny")
    ok(server, "iam", "put-role-policy", "--role-name", role, "--policy-name", "backup",
       "--policy-document", document(tmp, "all.json", permissions()))


def document(tmp, name, content):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(json.dumps(content, indent=4))
    return "file://" + path


with harness.Server(binary, config_text=harness.config_text()) as server, tempfile.TemporaryDirectory() as tmp:
    c = PymssqlClient(server.port)
    seed_flow.create_source(c)

    # (a) Made with the default role and option group: backups work before any setup.
    instance = ok(server, "rds", "describe-db-instances")["DBInstances"]
    checks.equal(len(instance), 1, "one DB instance")
    instance = instance[0]
    checks.equal(instance["DBInstanceIdentifier"], INSTANCE, "its identifier")
    checks.equal(instance["Engine"], "sqlserver-se", "its engine (the edition)")
    checks.equal(instance["MultiAZ"], False, "not Multi-AZ")
    checks.equal(instance["DBInstanceArn"], "arn:aws:rds:us-east-1:%s:db:%s" % (ACCOUNT, INSTANCE), "its ARN")
    checks.equal(instance["OptionGroupMemberships"],
                 [{"OptionGroupName": "bakrest-backup-restore", "Status": "in-sync"}], "its option group")
    default = ok(server, "rds", "describe-option-groups", "--option-group-name", "bakrest-backup-restore")
    option = default["OptionGroupsList"][0]["Options"][0]
    checks.equal(option["OptionName"], "SQLSERVER_BACKUP_RESTORE", "the default group has the option")
    checks.equal(option["OptionSettings"][0]["Value"], "arn:aws:iam::%s:role/bakrest-backup-restore" % ACCOUNT,
                 "... naming the default role")
    checks.equal(backup(c, "matrix.bak", 1)[5], "SUCCESS", "a backup on a new instance")

    # (b) The page's setup, word for word.
    role_arn = ok(server, "iam", "create-role", "--role-name", "rds-backup-restore",
                  "--assume-role-policy-document", document(tmp, "trust.json", TRUST))["Role"]["Arn"]
    ok(server, "iam", "put-role-policy", "--role-name", "rds-backup-restore", "--policy-name", "backup",
       "--policy-document", document(tmp, "all.json", permissions()))
    group = ok(server, "rds", "create-option-group", "--option-group-name", "sqlserver-se-backup",
               "--engine-name", "sqlserver-se", "--major-engine-version", "15.00",
               "--option-group-description", "native backup and restore")["OptionGroup"]
    checks.equal((group["OptionGroupName"], group["Options"]), ("sqlserver-se-backup", []), "create-option-group")
    added = ok(server, "rds", "add-option-to-option-group", "--option-group-name", "sqlserver-se-backup",
               "--apply-immediately", "--options",
               "OptionName=SQLSERVER_BACKUP_RESTORE,OptionSettings=[{Name=IAM_ROLE_ARN,Value=%s}]" % role_arn)
    checks.equal([(o["OptionName"], o["OptionSettings"][0]["Value"]) for o in added["OptionGroup"]["Options"]],
                 [("SQLSERVER_BACKUP_RESTORE", role_arn)], "add-option-to-option-group")
    modified = ok(server, "rds", "modify-db-instance", "--db-instance-identifier", INSTANCE,
                  "--option-group-name", "sqlserver-se-backup", "--apply-immediately")["DBInstance"]
    checks.equal(modified["OptionGroupMemberships"][0]["OptionGroupName"], "sqlserver-se-backup",
                 "modify-db-instance --option-group-name")
    done = backup(c, "page.bak", 1)
    checks.equal(done[5], "SUCCESS", "the page's backup with the page's role (%s)" % done[6])
    done = restore(c, "page_copy", "page.bak")
    checks.equal(done[5], "SUCCESS", "the page's restore with the page's role (%s)" % done[6])
    checks.equal(c.query("SELECT COUNT(*) FROM page_copy.dbo.items")[0][0],
                 c.query("SELECT COUNT(*) FROM mydatabase.dbo.items")[0][0], "the restored rows")

    # (c), (d) Each action taken away in turn.
    run_matrix(server, c, tmp, "rds-backup-restore", "removed")
    run_matrix(server, c, tmp, "rds-backup-restore", "denied")

    # A role that no longer exists: Access Denied, nothing written.
    ok(server, "iam", "create-role", "--role-name", "short-lived", "--assume-role-policy-document",
       document(tmp, "trust.json", TRUST))
    ok(server, "rds", "add-option-to-option-group", "--option-group-name", "sqlserver-se-backup",
       "--apply-immediately", "--options",
       "OptionName=SQLSERVER_BACKUP_RESTORE,OptionSettings=[{Name=IAM_ROLE_ARN,Value=arn:aws:iam::%s:role/"
       "short-lived}]" % ACCOUNT)
    ok(server, "iam", "delete-role", "--role-name", "short-lived")
    done = backup(c, "orphan.bak", 1)
    checks.equal(done[5], "ERROR", "a backup whose role was deleted fails")
    checks.contains(done[6], "Access Denied", "... with Access Denied")
    checks.check(not os.path.exists(server.store_path(BUCKET, "orphan.bak")), "... and writes nothing")

    # (e) Roles RDS may not assume for this instance are refused when the option is added.
    for name, trust in [("ec2-only", trust_with(service="ec2.amazonaws.com")),
                        ("other-account", trust_with(source_account="210987654321")),
                        ("other-instance", trust_with(source_arn="arn:aws:rds:us-east-1:%s:db:other" % ACCOUNT))]:
        arn = ok(server, "iam", "create-role", "--role-name", name, "--assume-role-policy-document",
                 document(tmp, name + ".json", trust))["Role"]["Arn"]
        err = refused(server, "InvalidParameterValue", "rds", "add-option-to-option-group", "--option-group-name",
                      "sqlserver-se-backup", "--options",
                      "OptionName=SQLSERVER_BACKUP_RESTORE,OptionSettings=[{Name=IAM_ROLE_ARN,Value=%s}]" % arn)
        checks.contains(err, "IAM role ARN value is invalid or does not include the required permissions for: "
                        "SQLSERVER_BACKUP_RESTORE", "trust '%s' refused with RDS's message" % name)
    # The conditions that do match this instance are accepted.
    arn = ok(server, "iam", "create-role", "--role-name", "conditioned", "--assume-role-policy-document",
             document(tmp, "conditioned.json", trust_with()))["Role"]["Arn"]
    ok(server, "iam", "put-role-policy", "--role-name", "conditioned", "--policy-name", "backup",
       "--policy-document", document(tmp, "all.json", permissions()))
    ok(server, "rds", "add-option-to-option-group", "--option-group-name", "sqlserver-se-backup", "--options",
       "OptionName=SQLSERVER_BACKUP_RESTORE,OptionSettings=[{Name=IAM_ROLE_ARN,Value=%s}]" % arn)
    checks.equal(backup(c, "conditioned.bak", 1)[5], "SUCCESS", "a backup with the conditioned role")

    # (f) Without the option, every procedure gives RDS's message.
    ok(server, "rds", "remove-option-from-option-group", "--option-group-name", "sqlserver-se-backup",
       "--options", "SQLSERVER_BACKUP_RESTORE", "--apply-immediately")
    for sql in ["exec msdb.dbo.rds_backup_database @source_db_name='mydatabase', "
                "@s3_arn_to_backup_to='%sx.bak'" % ARN,
                "exec msdb.dbo.rds_restore_database @restore_db_name='x', @s3_arn_to_restore_from='%sx.bak'" % ARN,
                "exec msdb.dbo.rds_finish_restore @db_name='x'"]:
        checks.contains(procedure_error(c, sql) or "", OPTION_MESSAGE, "without the option: " + sql[:40])
    refused(server, "InvalidParameterValue", "rds", "remove-option-from-option-group", "--option-group-name",
            "sqlserver-se-backup", "--options", "SQLSERVER_BACKUP_RESTORE")
    ok(server, "rds", "modify-db-instance", "--db-instance-identifier", INSTANCE, "--option-group-name",
       "bakrest-backup-restore")
    checks.equal(backup(c, "default-again.bak", 1)[5], "SUCCESS", "back in the default group")

    # (g) RDS's errors.
    refused(server, "OptionGroupAlreadyExistsFault", "rds", "create-option-group", "--option-group-name",
            "SQLSERVER-SE-BACKUP", "--engine-name", "sqlserver-se", "--major-engine-version", "15.00",
            "--option-group-description", "again")
    refused(server, "InvalidParameterValue", "rds", "create-option-group", "--option-group-name", "two--hyphens",
            "--engine-name", "sqlserver-se", "--major-engine-version", "15.00", "--option-group-description", "x")
    refused(server, "InvalidParameterValue", "rds", "create-option-group", "--option-group-name", "pg",
            "--engine-name", "postgres", "--major-engine-version", "15", "--option-group-description", "x")
    refused(server, "OptionGroupNotFoundFault", "rds", "describe-option-groups", "--option-group-name", "nope")
    refused(server, "OptionGroupNotFoundFault", "rds", "modify-db-instance", "--db-instance-identifier",
            INSTANCE, "--option-group-name", "nope")
    refused(server, "DBInstanceNotFound", "rds", "describe-db-instances", "--db-instance-identifier", "other")
    refused(server, "InvalidParameterValue", "rds", "add-option-to-option-group", "--option-group-name",
            "sqlserver-se-backup", "--options", "OptionName=TDE")
    refused(server, "InvalidParameterValue", "rds", "add-option-to-option-group", "--option-group-name",
            "sqlserver-se-backup", "--options", "OptionName=SQLSERVER_BACKUP_RESTORE")
    refused(server, "InvalidParameterValue", "rds", "add-option-to-option-group", "--option-group-name",
            "sqlserver-se-backup", "--options", "OptionName=SQLSERVER_BACKUP_RESTORE,Port=1234")
    ok(server, "rds", "create-option-group", "--option-group-name", "enterprise", "--engine-name", "sqlserver-ee",
       "--major-engine-version", "15.00", "--option-group-description", "for another engine")
    refused(server, "InvalidParameterCombination", "rds", "modify-db-instance", "--db-instance-identifier",
            INSTANCE, "--option-group-name", "enterprise")
    refused(server, "InvalidParameterValue", "rds", "modify-db-instance", "--db-instance-identifier", INSTANCE,
            "--allocated-storage", "100")
    names = [g["OptionGroupName"] for g in ok(server, "rds", "describe-option-groups")["OptionGroupsList"]]
    checks.equal(names, ["bakrest-backup-restore", "enterprise", "sqlserver-se-backup"], "describe-option-groups")
    names = [g["OptionGroupName"] for g in ok(server, "rds", "describe-option-groups", "--engine-name",
                                              "sqlserver-ee")["OptionGroupsList"]]
    checks.equal(names, ["enterprise"], "describe-option-groups --engine-name")

    # (h) After a restart: the same group; [option_group] in instance.toml is refused once msdb has one.
    c.close()
    server.stop()
    server.start()
    checks.equal(ok(server, "rds", "describe-db-instances")["DBInstances"][0]["OptionGroupMemberships"][0]
                 ["OptionGroupName"], "bakrest-backup-restore", "the option group outlives a restart")
    server.stop()
    with open(os.path.join(server.data_dir, "instance.toml")) as f:
        text = f.read()
    checks.check("[option_group]" not in text, "instance.toml has no [option_group] once msdb has the group")
    server.write_config(text + '\n[option_group]\nname = "again"\n')
    try:
        server.start()
        checks.check(False, "a start with [option_group] on a seeded instance is refused")
    except RuntimeError:  # the harness reports the failed start; the reason is in the server's log
        with open(os.path.join(server.data_dir, "server-output.log"), errors="replace") as f:
            checks.contains(f.read(), "[option_group] sets up a new instance only", "... with the reason")
    server.write_config(text)

# A new instance seeded from instance.toml's [option_group]: no option, so the procedures refuse; the section
# is moved into msdb.
seeded = harness.config_text() + '\n[option_group]\nname = "empty"\noptions = []\n'
with harness.Server(binary, config_text=seeded) as server:
    c = PymssqlClient(server.port)
    seed_flow.create_source(c)
    checks.contains(procedure_error(c, "exec msdb.dbo.rds_backup_database @source_db_name='mydatabase', "
                                       "@s3_arn_to_backup_to='%sx.bak'" % ARN) or "", OPTION_MESSAGE,
                    "an instance seeded without the option refuses backups")
    checks.equal(ok(server, "rds", "describe-db-instances")["DBInstances"][0]["OptionGroupMemberships"][0]
                 ["OptionGroupName"], "empty", "... and is in the seeded group")
    with open(os.path.join(server.data_dir, "instance.toml")) as f:
        checks.check("[option_group]" not in f.read(), "the seed section was moved into msdb")
    c.close()

checks.finish()
