"""The control endpoint over HTTPS ([control] tls = true): it serves with the instance's TLS certificate, the aws
CLI and boto3 talk to it verifying that certificate (--ca-bundle), a plain-HTTP request to the port gets no
answer, and a client that does not trust the certificate is refused by its own TLS check."""
import os
import subprocess

import boto3
import botocore.config
import botocore.exceptions

import control_cli
import harness

checks = harness.Checks()
binary = harness.binary_from_argv()

with harness.Server(binary, config_text=harness.config_text() + "\n[control]\ntls = true\n") as server:
    checks.check(server.control_url.startswith("https://127.0.0.1:"), "the endpoint is https: " + server.control_url)
    certificate = os.path.join(server.data_dir, "tls", "server.crt")  # made at first start (docs/OPERATIONS.md)
    code, keys, err = control_cli.aws(server, "--ca-bundle", certificate, "kms", "list-aliases")
    checks.equal(code, 0, "aws --ca-bundle <the instance's certificate> kms list-aliases (%s)" % err.strip())
    checks.check(keys and any(a["AliasName"] == "alias/aws/rds" for a in keys["Aliases"]), "... answers")
    code, _, err = control_cli.aws(server, "kms", "list-keys")
    checks.check(code != 0 and "SSL" in err.upper(), "without the certificate the CLI refuses it: " + err.strip())

    client = boto3.client("kms", endpoint_url=server.control_url, region_name="us-east-1",
                          aws_access_key_id=harness.ACCESS_KEY_ID, aws_secret_access_key=harness.SECRET_ACCESS_KEY,
                          verify=certificate, config=botocore.config.Config(retries={"max_attempts": 1}))
    made = client.create_key(Description="over https")["KeyMetadata"]
    checks.equal(client.describe_key(KeyId=made["KeyId"])["KeyMetadata"]["Arn"], made["Arn"], "boto3 over https")

    plain = server.control_url.replace("https://", "http://")
    out = subprocess.run(["curl", "-s", "-m", "5", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", plain + "/"],
                         capture_output=True, text=True)
    checks.check(out.stdout.strip() in ("000", "400"), "plain HTTP to the port is not served (%s)" % out.stdout)

checks.finish()
