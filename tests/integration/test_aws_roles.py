"""Roles and keys on AWS ([aws] in instance.toml): the option group names a role of another AWS account, and a
task acts as it the way RDS does, assuming it through STS with the instance's own keys and signing its S3 and KMS
requests with the role's temporary keys; AWS, not the instance, applies the policies.

Instance A stands in for AWS (account 111122223333): its IAM keeps the role, its KMS the key, its STS issues the
temporary keys, checked by the AWS CLI first (assume-role, get-caller-identity, what the keys may and may not do).
Instance B (account 123456789012) has [aws] naming A's account, with A's control endpoint as its STS and KMS and
A's access key as its own; its bucket is on the S3 test server, which lets temporary keys in (only AWS can check
their signature), so the test checks instead that every request was signed with a temporary key that A issued.
First B's own role uses the key on A (B's role checked by B, the call signed with B's [aws] keys). Then, with
the option naming A's role: backups and an encrypted backup and restore succeed as the role; kms:GenerateDataKey taken from the role on
A breaks the encrypted backup with KMS's words; a role whose trust policy leaves B's caller out fails the task with
STS's; a bucket the instance keeps itself is refused to an AWS role."""
import json
import os
import re
import tempfile

import control_cli
import harness
import s3_support
import seed_flow
from clients import PymssqlClient

checks = harness.Checks()
binary = harness.binary_from_argv()

AWS_ACCOUNT = "111122223333"
BUCKET = s3_support.BUCKET
ARN = "arn:aws:s3:::%s/" % BUCKET
ROLE = "bakrest-on-aws"
ROLE_ARN = "arn:aws:iam::%s:role/%s" % (AWS_ACCOUNT, ROLE)
tmp = tempfile.mkdtemp(prefix="bakrest-aws-roles-")


def document(name, value):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        json.dump(value, f)
    return "file://" + path


def trust(principal):
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}]}


def permissions(key_arn, kms_actions):
    """The RDS page's permission policy for one bucket and one key."""
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["kms:DescribeKey", "kms:GenerateDataKey", "kms:Encrypt", "kms:Decrypt"]
         if kms_actions is None else kms_actions, "Resource": key_arn},
        {"Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
         "Resource": "arn:aws:s3:::" + BUCKET},
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:ListMultipartUploadParts",
                                       "s3:AbortMultipartUpload"], "Resource": "arn:aws:s3:::%s/*" % BUCKET}]}


def backup(c, db, key_name, kms=None, bucket_arn=ARN):
    params = {"@source_db_name": db, "@s3_arn_to_backup_to": bucket_arn + key_name, "@overwrite_s3_backup_file": 1}
    if kms:
        params["@kms_master_key_arn"] = kms
    return seed_flow.wait_task(c, c.proc("msdb.dbo.rds_backup_database", params)[0][0])


def restore(c, db, key_name, kms=None):
    params = {"@restore_db_name": db, "@s3_arn_to_restore_from": ARN + key_name}
    if kms:
        params["@kms_master_key_arn"] = kms
    return seed_flow.wait_task(c, c.proc("msdb.dbo.rds_restore_database", params)[0][0])


def issued_keys(server):
    """The temporary key IDs server's STS issued, from its log."""
    with open(os.path.join(server.data_dir, "server-output.log"), errors="replace") as f:
        return set(re.findall(r"sts AssumeRole of \S+ by \S+: temporary key (ASIA[A-Z2-7]+)", f.read()))


def aws_section(a):
    return ('\n[aws]\naccount = "%s"\nregion = "us-east-1"\nsts_endpoint = "%s"\nkms_endpoint = "%s"\n'
            'access_key_id = "%s"\nsecret_access_key = "%s"\n' % (
                AWS_ACCOUNT, a.control_url, a.control_url, harness.ACCESS_KEY_ID, harness.SECRET_ACCESS_KEY))


try:
    with s3_support.S3World(server_args=["--accept-session-keys"]) as world, \
            harness.Server(binary, config_text=harness.config_text(account=AWS_ACCOUNT,
                                                                   instance_id="aws-stand-in")) as a:
        # --- On "AWS": the role (trusting the account, whose access key B signs with), its policy, a key.
        key = control_cli.ok(checks, a, "kms", "create-key", "--description", "backups on aws")["KeyMetadata"]
        control_cli.ok(checks, a, "iam", "create-role", "--role-name", ROLE, "--assume-role-policy-document",
                       document("trust.json", trust("arn:aws:iam::%s:root" % AWS_ACCOUNT)))
        control_cli.ok(checks, a, "iam", "put-role-policy", "--role-name", ROLE, "--policy-name", "backup",
                       "--policy-document", document("policy.json", permissions(key["Arn"], None)))

        # The AWS CLI against that STS: the keys it gives act as the role, and only as far as the role may.
        creds = control_cli.ok(checks, a, "sts", "assume-role", "--role-arn", ROLE_ARN, "--role-session-name",
                               "cli-check")
        c = creds["Credentials"] if creds else {}
        checks.check(c.get("AccessKeyId", "").startswith("ASIA") and c.get("SessionToken"),
                     "assume-role gives temporary keys (%s)" % c.get("AccessKeyId"))
        checks.equal(creds["AssumedRoleUser"]["Arn"] if creds else None,
                     "arn:aws:sts::%s:assumed-role/%s/cli-check" % (AWS_ACCOUNT, ROLE), "... of the assumed role")
        as_role = dict(control_cli.env(c.get("AccessKeyId", ""), c.get("SecretAccessKey", "")),
                       AWS_SESSION_TOKEN=c.get("SessionToken", ""))
        code, who, err = control_cli.aws(a, "sts", "get-caller-identity", env_vars=as_role)
        checks.equal((code, who and who["Arn"]), (0, creds["AssumedRoleUser"]["Arn"] if creds else None),
                     "get-caller-identity with them names the assumed role (%s)" % err.strip())
        code, made, err = control_cli.aws(a, "kms", "generate-data-key", "--key-id", key["Arn"], "--key-spec",
                                          "AES_256", env_vars=as_role)
        checks.equal(code, 0, "the role's keys may GenerateDataKey on the key its policy names (%s)" % err.strip())
        control_cli.refused(checks, a, "AccessDeniedException", "kms", "create-key", env_vars=as_role)
        control_cli.refused(checks, a, "AccessDenied", "iam", "list-roles", env_vars=as_role)
        other_key = control_cli.ok(checks, a, "kms", "create-key", "--description", "not the role's")["KeyMetadata"]
        err = control_cli.refused(checks, a, "AccessDeniedException", "kms", "generate-data-key", "--key-id",
                                  other_key["Arn"], "--key-spec", "AES_256", env_vars=as_role)
        checks.contains(err, "kms:GenerateDataKey", "... nor on a key its policy does not name")
        without_token = dict(as_role)
        del without_token["AWS_SESSION_TOKEN"]
        control_cli.refused(checks, a, "UnrecognizedClientException", "kms", "describe-key", "--key-id",
                            key["Arn"], env_vars=without_token)
        wrong_token = dict(as_role, AWS_SESSION_TOKEN="x" + c.get("SessionToken", ""))
        control_cli.refused(checks, a, "InvalidClientTokenId", "sts", "get-caller-identity", env_vars=wrong_token)
        control_cli.refused(checks, a, "ValidationError", "sts", "assume-role", "--role-arn", ROLE_ARN,
                            "--role-session-name", "s1", "--duration-seconds", "7200")
        control_cli.refused(checks, a, "AccessDenied", "sts", "assume-role", "--role-arn",
                            "arn:aws:iam::%s:role/nope" % AWS_ACCOUNT, "--role-session-name", "s1")
        control_cli.refused(checks, a, "ValidationError", "sts", "assume-role", "--role-arn", ROLE_ARN,
                            "--role-session-name", "s1", "--policy", '{"Version":"2012-10-17"}')

        # --- Instance B, whose option group names the role on AWS.
        local = '\n[[buckets]]\nname = "instance-bucket"\nregion = "us-east-1"\n'
        config = s3_support.config(world, extra_buckets=local) + aws_section(a)
        with harness.Server(binary, config_text=config) as b:
            cb = PymssqlClient(b.port)
            cb.batch("CREATE DATABASE src")
            cb.batch("CREATE TABLE src.dbo.notes (id INT PRIMARY KEY, note NVARCHAR(100))")
            cb.batch("INSERT INTO src.dbo.notes VALUES " +
                     ", ".join("(%d, N'note %d')" % (i, i) for i in range(2000)))

            # First with B's own default role, whose policy allows keys of B's account only: a key of the AWS
            # account is AWS's (it goes to A's KMS, signed with B's [aws] keys), and B's role is checked first.
            done = backup(cb, "src", "own-role-aws-key.bak", key["Arn"])
            checks.equal(done[5], "ERROR", "B's own role may not use the AWS key its policy does not name")
            checks.contains(done[6], "role/bakrest-backup-restore is not authorized to perform kms:DescribeKey",
                            "... in RDS's words")
            control_cli.ok(checks, b, "iam", "put-role-policy", "--role-name", "bakrest-backup-restore",
                           "--policy-name", "aws-key", "--policy-document", document(
                               "aws-key.json", {"Version": "2012-10-17", "Statement": [
                                   {"Effect": "Allow", "Action": ["kms:DescribeKey", "kms:GenerateDataKey",
                                                                  "kms:Decrypt"], "Resource": key["Arn"]}]}))
            world.clear_log()
            done = backup(cb, "src", "own-role-aws-key.bak", key["Arn"])
            checks.equal(done[5], "SUCCESS", "... and may once it does (%s)" % done[6])
            checks.equal({e["key_id"] for e in world.requests()}, {s3_support.KEY_ID},
                         "... its S3 requests signed with the bucket's own keys")
            done = restore(cb, "own_back", "own-role-aws-key.bak", key["Arn"])
            checks.equal(done[5], "SUCCESS", "... and restores through A's KMS (%s)" % done[6])

            control_cli.ok(checks, b, "rds", "add-option-to-option-group", "--option-group-name",
                           "bakrest-backup-restore", "--apply-immediately", "--options",
                           "OptionName=SQLSERVER_BACKUP_RESTORE,OptionSettings=[{Name=IAM_ROLE_ARN,Value=%s}]"
                           % ROLE_ARN)
            world.clear_log()
            done = backup(cb, "src", "as-role.bak")
            checks.equal(done[5], "SUCCESS", "a backup as the AWS role (%s)" % done[6])
            log = world.requests()
            used = {e["key_id"] for e in log}
            checks.check(log and all(e["key_id"] and e["key_id"].startswith("ASIA") and e["token"] for e in log),
                         "every S3 request was signed with temporary keys and their token: %s" % sorted(used))
            checks.check(used and used <= issued_keys(a),
                         "... that A's STS issued (%s of %s)" % (sorted(used), sorted(issued_keys(a))))
            checks.check(s3_support.KEY_ID not in used, "... never with the bucket's own keys")

            done = backup(cb, "src", "as-role-encrypted.bak", key["Arn"])
            checks.equal(done[5], "SUCCESS", "an encrypted backup with the key on AWS (%s)" % done[6])
            done = restore(cb, "back", "as-role-encrypted.bak", key["Arn"])
            checks.equal(done[5], "SUCCESS", "... restores as the role (%s)" % done[6])
            checks.equal(cb.query("SELECT COUNT(*), SUM(id) FROM back.dbo.notes"), [(2000, 1999000)],
                         "... row for row")

            # AWS applies the role's policy: without kms:GenerateDataKey the encrypted backup fails, KMS's words.
            control_cli.ok(checks, a, "iam", "put-role-policy", "--role-name", ROLE, "--policy-name", "backup",
                           "--policy-document", document("policy2.json", permissions(
                               key["Arn"], ["kms:DescribeKey", "kms:Encrypt", "kms:Decrypt"])))
            done = backup(cb, "src", "no-generate.bak", key["Arn"])
            checks.equal(done[5], "ERROR", "without kms:GenerateDataKey on AWS the encrypted backup fails")
            checks.contains(done[6], "is not authorized to perform kms:GenerateDataKey", "... saying why")
            checks.check("no-generate.bak" not in world.keys(), "... and writes nothing")
            done = restore(cb, "back2", "as-role-encrypted.bak", key["Arn"])
            checks.equal(done[5], "SUCCESS", "a restore, which needs kms:Decrypt only, still works (%s)" % done[6])

            # A bucket that the instance keeps itself: an AWS role's calls there would go unchecked, so none go.
            done = backup(cb, "src", "x.bak", bucket_arn="arn:aws:s3:::instance-bucket/")
            checks.equal(done[5], "ERROR", "an AWS role may not use a bucket the instance keeps")
            checks.contains(done[6], "is an AWS role", "... saying why")

            # A role whose trust policy does not name B's caller: STS refuses, and the task says so.
            control_cli.ok(checks, a, "iam", "create-role", "--role-name", "untrusting",
                           "--assume-role-policy-document", document("trust2.json", trust("arn:aws:iam::999999999999:root")))
            control_cli.ok(checks, b, "rds", "add-option-to-option-group", "--option-group-name",
                           "bakrest-backup-restore", "--apply-immediately", "--options",
                           "OptionName=SQLSERVER_BACKUP_RESTORE,OptionSettings=[{Name=IAM_ROLE_ARN,Value=%s}]"
                           % "arn:aws:iam::%s:role/untrusting" % AWS_ACCOUNT)
            done = backup(cb, "src", "untrusted.bak")
            checks.equal(done[5], "ERROR", "a role that does not trust the instance's caller fails the task")
            checks.contains(done[6], "is not authorized to perform: sts:AssumeRole", "... with STS's words")
            cb.close()
finally:
    import shutil
    shutil.rmtree(tmp, ignore_errors=True)

checks.finish()
