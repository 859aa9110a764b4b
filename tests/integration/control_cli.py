"""Debian's aws CLI against a test server's control endpoint, signed with the harness's access key."""
import json
import os
import subprocess

import harness


def env(key_id=harness.ACCESS_KEY_ID, secret=harness.SECRET_ACCESS_KEY):
    return dict(os.environ, AWS_ACCESS_KEY_ID=key_id, AWS_SECRET_ACCESS_KEY=secret, AWS_DEFAULT_REGION="us-east-1",
                AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null", AWS_MAX_ATTEMPTS="1",
                AWS_PAGER="")


def aws(server, *args, env_vars=None):
    """Runs `aws ...`; returns (exit status, parsed JSON output or None, stderr)."""
    out = subprocess.run(["/usr/bin/aws", "--endpoint-url", server.control_url, "--output", "json"] + list(args),
                         env=env_vars or env(), capture_output=True, text=True, timeout=120)
    parsed = json.loads(out.stdout) if out.returncode == 0 and out.stdout.strip() else None
    return out.returncode, parsed, out.stderr


def ok(checks, server, *args):
    code, parsed, err = aws(server, *args)
    checks.equal(code, 0, "aws %s (%s)" % (" ".join(args), err.strip()))
    return parsed


def refused(checks, server, code_name, *args, env_vars=None):
    code, _, err = aws(server, *args, env_vars=env_vars)
    checks.check(code != 0 and "(%s)" % code_name in err,
                 "aws %s is refused with %s: %s" % (" ".join(args), code_name, err.strip()))
    return err
