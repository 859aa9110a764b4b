"""The control endpoint's IAM through Debian's aws CLI, as the RDS page sets up native backup and restore: the
role with the page's trust policy (from a file), the page's permission policy in both variants, managed policies
attached and detached; and each refusal as IAM words it: a malformed document with its line, a principal in a
permission policy, names taken or missing, a role that still has policies, a parameter bakrest does not take."""
import json
import os
import tempfile

import control_cli
import harness

checks = harness.Checks()
binary = harness.binary_from_argv()

TRUST = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "rds.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


def permissions(bucket, key_arn=None):
    """The page's permission policy, with encryption support if key_arn is given."""
    statements = []
    if key_arn:
        statements.append({"Effect": "Allow", "Action": ["kms:DescribeKey", "kms:GenerateDataKey", "kms:Encrypt",
                                                         "kms:Decrypt"], "Resource": key_arn})
    statements.append({"Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
                       "Resource": "arn:aws:s3:::" + bucket})
    statements.append({"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:ListMultipartUploadParts",
                                                     "s3:AbortMultipartUpload"],
                       "Resource": "arn:aws:s3:::" + bucket + "/*"})
    return {"Version": "2012-10-17", "Statement": statements}


def aws(server, *args, env=None):
    return control_cli.aws(server, *args, env_vars=env)


def ok(server, *args):
    return control_cli.ok(checks, server, *args)


def refused(server, code_name, *args, env=None):
    return control_cli.refused(checks, server, code_name, *args, env_vars=env)


with harness.Server(binary) as server, tempfile.TemporaryDirectory() as tmp:
    def document(name, content):
        path = os.path.join(tmp, name)
        with open(path, "w") as f:
            f.write(content if isinstance(content, str) else json.dumps(content, indent=4))
        return "file://" + path

    trust = document("trust.json", TRUST)
    role = ok(server, "iam", "create-role", "--role-name", "rds-backup-restore", "--assume-role-policy-document",
              trust)["Role"]
    checks.equal(role["Arn"], "arn:aws:iam::123456789012:role/rds-backup-restore", "the role's ARN")
    checks.check(role["RoleId"].startswith("AROA"), "a role ID as IAM makes them: %s" % role["RoleId"])
    checks.equal(role["AssumeRolePolicyDocument"], TRUST, "the trust policy comes back as it was given")
    refused(server, "EntityAlreadyExists", "iam", "create-role", "--role-name", "RDS-BACKUP-RESTORE",
            "--assume-role-policy-document", trust)

    # The page's permission policy, without and then with encryption support.
    key_arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    ok(server, "iam", "put-role-policy", "--role-name", "rds-backup-restore", "--policy-name", "backup",
       "--policy-document", document("plain.json", permissions("aws_example_bucket")))
    ok(server, "iam", "put-role-policy", "--role-name", "rds-backup-restore", "--policy-name", "backup",
       "--policy-document", document("encrypted.json", permissions("aws_example_bucket", key_arn)))
    checks.equal(ok(server, "iam", "list-role-policies", "--role-name", "rds-backup-restore")["PolicyNames"],
                 ["backup"], "list-role-policies")
    got = ok(server, "iam", "get-role-policy", "--role-name", "rds-backup-restore", "--policy-name", "backup")
    checks.equal(got["PolicyDocument"], permissions("aws_example_bucket", key_arn), "get-role-policy gives it back")
    # The instance was made with its default role (rds/first_start.h); the page's role joins it.
    checks.equal([r["RoleName"] for r in ok(server, "iam", "list-roles")["Roles"]],
                 ["bakrest-backup-restore", "rds-backup-restore"], "list-roles")
    checks.equal(ok(server, "iam", "get-role", "--role-name", "rds-backup-restore")["Role"]["Arn"], role["Arn"],
                 "get-role")

    # Managed policies.
    policy = ok(server, "iam", "create-policy", "--policy-name", "backup-managed", "--policy-document",
                document("managed.json", permissions("other_bucket")))["Policy"]
    checks.equal(policy["Arn"], "arn:aws:iam::123456789012:policy/backup-managed", "the managed policy's ARN")
    ok(server, "iam", "attach-role-policy", "--role-name", "rds-backup-restore", "--policy-arn", policy["Arn"])
    attached = ok(server, "iam", "list-attached-role-policies", "--role-name", "rds-backup-restore")
    checks.equal([p["PolicyArn"] for p in attached["AttachedPolicies"]], [policy["Arn"]], "attached")
    refused(server, "DeleteConflict", "iam", "delete-policy", "--policy-arn", policy["Arn"])
    refused(server, "DeleteConflict", "iam", "delete-role", "--role-name", "rds-backup-restore")

    # Refusals.
    err = refused(server, "MalformedPolicyDocument", "iam", "put-role-policy", "--role-name", "rds-backup-restore",
                  "--policy-name", "bad", "--policy-document",
                  document("principal.json", '{\n "Version": "2012-10-17",\n "Statement": {"Effect": "Allow",\n'
                                             '  "Principal": "*", "Action": "s3:*", "Resource": "*"}}'))
    checks.contains(err, "Policy document should not specify a principal. (line 4)", "the problem and its line")
    refused(server, "MalformedPolicyDocument", "iam", "create-role", "--role-name", "no-principal",
            "--assume-role-policy-document", document("noprincipal.json", '{"Version": "2012-10-17", "Statement": '
                                                      '{"Effect": "Allow", "Action": "sts:AssumeRole"}}'))
    refused(server, "NoSuchEntity", "iam", "get-role", "--role-name", "nobody")
    refused(server, "NoSuchEntity", "iam", "get-role-policy", "--role-name", "rds-backup-restore", "--policy-name",
            "none")
    refused(server, "ValidationError", "iam", "create-role", "--role-name", "has space", "--assume-role-policy-document",
            trust)
    err = refused(server, "ValidationError", "iam", "create-role", "--role-name", "tagged",
                  "--assume-role-policy-document", trust, "--tags", "Key=team,Value=dba")
    checks.contains(err, "Tags", "the refusal names the parameter")

    # Clean up in IAM's order: detach, delete the inline policy, then the role and the policy.
    ok(server, "iam", "detach-role-policy", "--role-name", "rds-backup-restore", "--policy-arn", policy["Arn"])
    ok(server, "iam", "delete-policy", "--policy-arn", policy["Arn"])
    ok(server, "iam", "delete-role-policy", "--role-name", "rds-backup-restore", "--policy-name", "backup")
    ok(server, "iam", "delete-role", "--role-name", "rds-backup-restore")
    checks.equal([r["RoleName"] for r in ok(server, "iam", "list-roles")["Roles"]], ["bakrest-backup-restore"],
                 "only the default role is left")

checks.finish()
