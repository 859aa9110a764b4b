"""The control endpoint's KMS through Debian's aws CLI and python3-boto3, unchanged but for --endpoint-url: the
access key printed at first start, keys and aliases, encrypt/decrypt and data keys with an encryption context,
key policies, disabled and deleted keys, asymmetric keys, and each refusal as KMS words it; requests with a wrong
secret or an unknown key refused; keys and the access key kept across a restart, the key not shown again."""
import base64
import json
import os
import tempfile

import control_cli
import harness

checks = harness.Checks()
binary = harness.binary_from_argv()

import boto3  # noqa: E402
import botocore  # noqa: E402
import urllib.error  # noqa: E402
import urllib.request  # noqa: E402
from botocore.auth import SigV4Auth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402


def aws(server, *args, env=None):
    return control_cli.aws(server, *args, env_vars=env)


def ok(server, *args):
    return control_cli.ok(checks, server, *args)


def refused(server, code_name, *args, env=None):
    return control_cli.refused(checks, server, code_name, *args, env_vars=env)


cli_env = control_cli.env


with harness.Server(binary) as server:
    checks.check(server.control_url and server.control_url.startswith("http://127.0.0.1:"),
                 "the control endpoint's URL is printed at start: %r" % server.control_url)

    # Keys, aliases, metadata.
    key = ok(server, "kms", "create-key", "--description", "backups")["KeyMetadata"]
    checks.equal(key["KeyState"], "Enabled", "a new key is enabled")
    checks.equal(key["KeySpec"], "SYMMETRIC_DEFAULT", "a new key is symmetric")
    checks.equal(key["Arn"], "arn:aws:kms:us-east-1:123456789012:key/" + key["KeyId"], "the key's ARN")
    ok(server, "kms", "create-alias", "--alias-name", "alias/backups", "--target-key-id", key["KeyId"])
    # Named by its ARN this time: a request signed again in the same second with the same body would be
    # refused as a replay (docs/OPERATIONS.md, "The control endpoint"), not as a taken name.
    refused(server, "AlreadyExistsException", "kms", "create-alias", "--alias-name", "alias/backups",
            "--target-key-id", key["Arn"])
    described = ok(server, "kms", "describe-key", "--key-id", "alias/backups")["KeyMetadata"]
    checks.equal(described["KeyId"], key["KeyId"], "an alias names its key")
    aliases = {a["AliasName"]: a for a in ok(server, "kms", "list-aliases")["Aliases"]}
    checks.equal(sorted(aliases), ["alias/aws/rds", "alias/backups"], "aliases, with the AWS managed key for RDS")
    checks.equal(ok(server, "kms", "describe-key", "--key-id", "alias/aws/rds")["KeyMetadata"]["KeyManager"], "AWS",
                 "alias/aws/rds is an AWS managed key")
    key_ids = [k["KeyId"] for k in ok(server, "kms", "list-keys")["Keys"]]
    checks.check(key["KeyId"] in key_ids and len(key_ids) == 2, "list-keys: %r" % key_ids)
    refused(server, "NotFoundException", "kms", "describe-key", "--key-id", "alias/none")
    refused(server, "NotFoundException", "kms", "describe-key", "--key-id", "1234abcd-12ab-34cd-56ef-1234567890ab")

    # Encrypt and decrypt with an encryption context, through the CLI (binary files) and boto3.
    with tempfile.TemporaryDirectory() as tmp:
        plain = os.path.join(tmp, "plain")
        with open(plain, "wb") as f:
            f.write(b"the data key of a backup\x00\xff")
        enc = ok(server, "kms", "encrypt", "--key-id", "alias/backups", "--plaintext", "fileb://" + plain,
                 "--encryption-context", "backup=b-1,database=sales")
        checks.equal(enc["KeyId"], key["Arn"], "encrypt names the key's ARN")
        blob = os.path.join(tmp, "blob")
        with open(blob, "wb") as f:
            f.write(base64.b64decode(enc["CiphertextBlob"]))
        dec = ok(server, "kms", "decrypt", "--ciphertext-blob", "fileb://" + blob, "--encryption-context",
                 "backup=b-1,database=sales")
        checks.equal(base64.b64decode(dec["Plaintext"]), b"the data key of a backup\x00\xff", "decrypt gives it back")
        refused(server, "InvalidCiphertextException", "kms", "decrypt", "--ciphertext-blob", "fileb://" + blob)
        refused(server, "InvalidCiphertextException", "kms", "decrypt", "--ciphertext-blob", "fileb://" + blob,
                "--encryption-context", "backup=b-2,database=sales")

    kms = boto3.client("kms", endpoint_url=server.control_url, region_name="us-east-1",
                       aws_access_key_id=harness.ACCESS_KEY_ID, aws_secret_access_key=harness.SECRET_ACCESS_KEY)
    data_key = kms.generate_data_key(KeyId=key["Arn"], KeySpec="AES_256", EncryptionContext={"backup": "b-7"})
    checks.equal(len(data_key["Plaintext"]), 32, "an AES_256 data key is 32 bytes")
    back = kms.decrypt(CiphertextBlob=data_key["CiphertextBlob"], EncryptionContext={"backup": "b-7"})
    checks.equal(back["Plaintext"], data_key["Plaintext"], "boto3: a data key decrypts to itself")
    checks.equal(len(kms.generate_data_key(KeyId=key["KeyId"], NumberOfBytes=64)["Plaintext"]), 64,
                 "NumberOfBytes 64")
    try:
        kms.generate_data_key(KeyId=key["KeyId"], KeySpec="AES_256", NumberOfBytes=32)
        checks.check(False, "KeySpec and NumberOfBytes together are refused")
    except botocore.exceptions.ClientError as e:
        checks.equal(e.response["Error"]["Code"], "ValidationException", "KeySpec and NumberOfBytes together")
    try:
        kms.create_key(Tags=[{"TagKey": "team", "TagValue": "dba"}])
        checks.check(False, "Tags are refused, not ignored")
    except botocore.exceptions.ClientError as e:
        checks.equal(e.response["Error"]["Code"], "ValidationException", "Tags are refused")
        checks.contains(e.response["Error"]["Message"], "Tags", "the refusal names Tags")

    # Key policies.
    policy = ok(server, "kms", "get-key-policy", "--key-id", key["KeyId"], "--policy-name", "default")["Policy"]
    checks.contains(policy, "arn:aws:iam::123456789012:root", "the default key policy names the account")
    role_policy = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "Use by the backup role", "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::123456789012:role/rds-backup"},
        "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": "*"}]})
    ok(server, "kms", "put-key-policy", "--key-id", key["KeyId"], "--policy-name", "default", "--policy", role_policy)
    checks.equal(ok(server, "kms", "get-key-policy", "--key-id", key["KeyId"], "--policy-name", "default")["Policy"],
                 role_policy, "the key policy put is the one got")
    err = refused(server, "MalformedPolicyDocumentException", "kms", "put-key-policy", "--key-id", key["KeyId"],
                  "--policy-name", "default", "--policy", '{"Statement": {"Effect": "Allow",\n"Action": "kms:*"}}')
    checks.contains(err, "(line ", "a malformed policy's refusal names the line")

    # Disabled, pending deletion, asymmetric, AWS managed.
    ok(server, "kms", "disable-key", "--key-id", key["KeyId"])
    refused(server, "DisabledException", "kms", "generate-data-key", "--key-id", key["KeyId"], "--key-spec", "AES_256")
    ok(server, "kms", "enable-key", "--key-id", key["KeyId"])
    ok(server, "kms", "generate-data-key", "--key-id", key["KeyId"], "--key-spec", "AES_128")
    refused(server, "UnsupportedOperationException", "kms", "disable-key", "--key-id", "alias/aws/rds")
    doomed = ok(server, "kms", "create-key")["KeyMetadata"]["KeyId"]
    refused(server, "ValidationException", "kms", "schedule-key-deletion", "--key-id", doomed,
            "--pending-window-in-days", "3")
    scheduled = ok(server, "kms", "schedule-key-deletion", "--key-id", doomed, "--pending-window-in-days", "7")
    checks.equal(scheduled["KeyState"], "PendingDeletion", "schedule-key-deletion")
    refused(server, "KMSInvalidStateException", "kms", "encrypt", "--key-id", doomed, "--plaintext", "aGk=")
    rsa = ok(server, "kms", "create-key", "--key-spec", "RSA_2048", "--key-usage", "ENCRYPT_DECRYPT")["KeyMetadata"]
    checks.equal(rsa["KeySpec"], "RSA_2048", "an RSA key")
    refused(server, "InvalidKeyUsageException", "kms", "generate-data-key", "--key-id", rsa["KeyId"],
            "--key-spec", "AES_256")

    # A signed request sent twice, as a replay would: taken once.
    signed = AWSRequest(method="POST", url=server.control_url + "/", data=b"{}",
                        headers={"X-Amz-Target": "TrentService.ListKeys", "Content-Type": "application/x-amz-json-1.1"})
    SigV4Auth(Credentials(harness.ACCESS_KEY_ID, harness.SECRET_ACCESS_KEY), "kms", "us-east-1").add_auth(signed)
    prepared = signed.prepare()
    replies = []
    for attempt in range(2):
        request = urllib.request.Request(prepared.url, data=prepared.body, headers=dict(prepared.headers),
                                         method="POST")
        try:
            with urllib.request.urlopen(request, timeout=30) as reply:
                replies.append((reply.status, reply.read().decode()))
        except urllib.error.HTTPError as e:
            replies.append((e.code, e.read().decode()))
    checks.equal(replies[0][0], 200, "a signed request is taken (%s)" % replies[0][1])
    checks.equal(replies[1][0], 400, "the same request again is refused")
    checks.contains(replies[1][1], "already received", "as a replay")

    # Who may call: a wrong secret, an unknown key; who STS says the caller is; an STS action not served.
    refused(server, "InvalidSignatureException", "kms", "list-keys",
            env=cli_env(secret="not-the-secret-access-key-at-all"))
    refused(server, "UnrecognizedClientException", "kms", "list-keys", env=cli_env(key_id="AKIANOSUCHKEY0000000"))
    code, out, err = control_cli.aws(server, "sts", "get-caller-identity")
    checks.equal(out and (out["Account"], out["Arn"], out["UserId"]),
                 ("123456789012", "arn:aws:iam::123456789012:user/" + harness.USER, harness.ACCESS_KEY_ID),
                 "get-caller-identity names the master login (%s)" % err.strip())
    refused(server, "InvalidAction", "sts", "get-session-token")
    with open(os.path.join(server.data_dir, "server-output.log"), "rb") as f:
        log = f.read().decode(errors="replace")
    checks.check(harness.SECRET_ACCESS_KEY not in log, "the secret access key is not in the log")

# A first start without BAKREST_MASTER_ACCESS_KEY_*: a key is made and shown once, then works; a restart keeps
# the KMS keys and does not show the access key again.
server = harness.Server(binary, env={"BAKREST_MASTER_ACCESS_KEY_ID": None, "BAKREST_MASTER_SECRET_ACCESS_KEY": None})
try:
    server.start()
    shown = [l for l in server.startup_lines if l.startswith("access key for the AWS CLI")]
    checks.equal(len(shown), 1, "the access key made at first start is shown")
    key_id = shown[0].split("AWS_ACCESS_KEY_ID=")[1].split()[0] if shown else ""
    secret = shown[0].split("AWS_SECRET_ACCESS_KEY=")[1].split()[0] if shown else ""
    env = cli_env(key_id, secret)
    code, made, err = aws(server, "kms", "create-key", "--description", "kept", env=env)
    checks.equal(code, 0, "the shown key works (%s)" % err.strip())
    server.stop()
    server.start()
    checks.check(not any(l.startswith("access key") for l in server.startup_lines), "not shown a second time")
    code, described, err = aws(server, "kms", "describe-key", "--key-id", made["KeyMetadata"]["KeyId"] if made else "x",
                               env=env)
    checks.equal(code, 0, "the key and the access key survive a restart (%s)" % err.strip())
    for name in ("master.key", "kms.db"):
        mode = os.stat(os.path.join(server.data_dir, "keyring", name)).st_mode & 0o777
        checks.equal(mode, 0o600, "mode of keyring/" + name)
finally:
    server.cleanup()

checks.finish()
