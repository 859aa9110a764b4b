"""S3 buckets and who may reach them, through pymssql and the real server: credentials from each source of the
AWS chain (instance.toml, the environment, a profile of a shared credentials file, an IMDSv2 responder on
loopback), the proxy the environment names (http_proxy, no_proxy), and each refusal with its RDS message,
promptly and without retrying forever: wrong keys, a bucket that does not exist, a bucket in another region, a
key that may not be read; and HTTPS endpoints, whose certificates are verified (against ca_file, host name
included) unless verify_tls = false."""
import os
import subprocess
import sys
import time

import harness
import s3_support
import seed_flow
from clients import PymssqlClient, exec_text

checks = harness.Checks()
binary = harness.binary_from_argv()
ARN = "arn:aws:s3:::aws_example_bucket/"

# Nothing of the machine's own AWS set-up may leak into a test.
CLEAN_ENV = {"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None, "AWS_SESSION_TOKEN": None,
             "AWS_PROFILE": None, "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent", "AWS_CONFIG_FILE": "/nonexistent",
             "AWS_EC2_METADATA_DISABLED": "true", "AWS_EC2_METADATA_SERVICE_ENDPOINT": None,
             "http_proxy": None, "https_proxy": None, "all_proxy": None, "no_proxy": None,
             "HTTP_PROXY": None, "HTTPS_PROXY": None, "ALL_PROXY": None, "NO_PROXY": None}


def env(**values):
    out = dict(CLEAN_ENV)
    out.update(values)
    return out


def backup(c, db, key, overwrite=1):
    rows = c.proc("msdb.dbo.rds_backup_database", {"@source_db_name": db, "@s3_arn_to_backup_to": ARN + key,
                                                   "@overwrite_s3_backup_file": overwrite, "@type": "FULL"})
    return seed_flow.wait_task(c, rows[0][0], timeout=120)


def restore(c, db, key, arn_base=ARN):
    rows = c.proc("msdb.dbo.rds_restore_database", {"@restore_db_name": db, "@s3_arn_to_restore_from": arn_base + key})
    return seed_flow.wait_task(c, rows[0][0], timeout=120)


def small_database(c, name):
    c.batch("CREATE DATABASE " + name)
    c.batch("CREATE TABLE %s.dbo.t (id INT PRIMARY KEY, v NVARCHAR(50))" % name)
    c.batch("INSERT INTO %s.dbo.t VALUES (1, N'one'), (2, N'two ✓')" % name)


def with_server(world, text, server_env, body):
    with harness.Server(binary, config_text=text, env=server_env) as server:
        c = PymssqlClient(server.port)
        try:
            body(server, c)
        finally:
            c.close()


def round_trip(source, world, text, server_env, key):
    """A backup and a restore work with credentials from `source`, and the server's log names the source."""
    def body(server, c):
        small_database(c, "credsrc")
        done = backup(c, "credsrc", key)
        checks.equal(done[5], "SUCCESS", "%s: backup (task_info: %s)" % (source, done[6]))
        done = restore(c, "credcopy", key)
        checks.equal(done[5], "SUCCESS", "%s: restore (task_info: %s)" % (source, done[6]))
        checks.equal(c.query("SELECT v FROM credcopy.dbo.t ORDER BY id"), [("one",), ("two ✓",)],
                     "%s: restored rows" % source)
        with open(os.path.join(server.data_dir, "server-output.log"), "rb") as f:
            log = f.read().decode(errors="replace")
        checks.contains(log, "credentials from " + source, "%s: the log names where the keys came from" % source)
        checks.check(s3_support.SECRET not in log, "%s: the secret is not in the log" % source)
    with_server(world, text, server_env, body)
    checks.check(key in world.keys(), "%s: the object is on the S3 server" % source)


with s3_support.S3World(extra_keys=["AKIDROLE:role-secret:role-token"]) as world:
    # 1. instance.toml's keys, even with other keys in the environment.
    round_trip("instance.toml", world, s3_support.config(world),
               env(AWS_ACCESS_KEY_ID="AKIDWRONG", AWS_SECRET_ACCESS_KEY="wrong"), "cred/config.bak")

    # 2. The environment.
    round_trip("the environment", world, s3_support.config(world, keys=False),
               env(AWS_ACCESS_KEY_ID=s3_support.KEY_ID, AWS_SECRET_ACCESS_KEY=s3_support.SECRET), "cred/env.bak")

    # 3. A profile of a shared credentials file (AWS_SHARED_CREDENTIALS_FILE, AWS_PROFILE).
    creds = os.path.join(world.dir, "credentials")
    with open(creds, "w") as f:
        f.write("[default]\naws_access_key_id = AKIDWRONG\naws_secret_access_key = wrong\n\n"
                "[backups]\naws_access_key_id = %s\naws_secret_access_key = %s\n" % (s3_support.KEY_ID,
                                                                                   s3_support.SECRET))
    round_trip("profile 'backups'", world, s3_support.config(world, keys=False),
               env(AWS_SHARED_CREDENTIALS_FILE=creds, AWS_PROFILE="backups"), "cred/profile.bak")

    # 4. EC2 instance metadata (IMDSv2) from a responder on loopback; its keys carry a session token.
    imds = subprocess.Popen([sys.executable, os.path.join(s3_support.SUPPORT, "imds_server.py"), "--port", "0",
                             "--credentials", "AKIDROLE:role-secret:role-token", "--same-keys"],
                            stdout=subprocess.PIPE)
    try:
        line = imds.stdout.readline().decode()
        endpoint = "http://127.0.0.1:%d" % int(line.split("127.0.0.1:")[1])
        round_trip("EC2 instance metadata", world, s3_support.config(world, keys=False),
                   env(AWS_EC2_METADATA_DISABLED=None, AWS_EC2_METADATA_SERVICE_ENDPOINT=endpoint), "cred/imds.bak")
    finally:
        imds.terminate()
        imds.wait()
        imds.stdout.close()

    # 5. Refusals, each with its RDS message first, each promptly (a refusal is never retried).
    def refusals(server, c):
        small_database(c, "refused")
        checks.equal(backup(c, "refused", "ok.bak")[5], "SUCCESS", "a backup with the right keys")
        # A key that may not be read (the server denies GetObject/HeadObject under secret/).
        checks.equal(backup(c, "refused", "secret/x.bak")[5], "SUCCESS", "a backup under secret/ (writes allowed)")
        started = time.time()
        done = restore(c, "refused_copy", "secret/x.bak")
        checks.equal(done[5], "ERROR", "restore of an unreadable key")
        checks.contains(done[6], "Access Denied", "unreadable key: RDS's message")
        checks.contains(done[6], "HTTP 403", "unreadable key: the HTTP status")
        checks.contains(done[6], "secret/x.bak", "unreadable key: the key")
        checks.check(time.time() - started < 30, "unreadable key: refused promptly, not retried")
        # A bucket that does not exist.
        done = restore(c, "nobucket_copy", "x.bak", arn_base="arn:aws:s3:::missing-bucket/")
        checks.equal(done[5], "ERROR", "restore from a missing bucket")
        checks.contains(done[6], "The specified bucket does not exist", "missing bucket: RDS's message")
        rows = c.proc("msdb.dbo.rds_backup_database",
                      {"@source_db_name": "refused", "@s3_arn_to_backup_to": "arn:aws:s3:::missing-bucket/x.bak",
                       "@overwrite_s3_backup_file": 1})
        done = seed_flow.wait_task(c, rows[0][0])
        checks.contains(done[6], "The specified bucket does not exist", "backup to a missing bucket: RDS's message")
        # A bucket in another region (the S3 server has other-region-bucket in eu-west-1).
        rows = c.proc("msdb.dbo.rds_backup_database",
                      {"@source_db_name": "refused", "@s3_arn_to_backup_to": "arn:aws:s3:::other-region-bucket/x.bak",
                       "@overwrite_s3_backup_file": 1})
        done = seed_flow.wait_task(c, rows[0][0])
        checks.equal(done[5], "ERROR", "backup to a bucket in another region")
        checks.contains(done[6], "Please specify a bucket that is in the same region as RDS instance",
                        "other region: RDS's message")
        # The backup history records where the object is.
        endpoint = c.query("SELECT TOP 1 endpoint FROM msdb.dbo.backupmediafamily ORDER BY media_set_id DESC")
        checks.equal(endpoint, [(world.endpoint(),)], "backupmediafamily.endpoint")

    missing = s3_support.bucket_toml("missing-bucket", world.endpoint(), max_attempts=3)
    with_server(world, s3_support.config(world, extra_buckets=missing), env(), refusals)

    # 6. Wrong keys: Access Denied at once, naming S3's code; the secret never appears.
    def wrong_keys(server, c):
        small_database(c, "wrongkeys")
        started = time.time()
        done = backup(c, "wrongkeys", "wrong.bak")
        checks.equal(done[5], "ERROR", "backup with a wrong secret")
        checks.check(done[6] is not None and "Access Denied" in done[6], "wrong secret: RDS's message: %r" % (done[6],))
        checks.check(time.time() - started < 30, "wrong secret: refused promptly, not retried")
        checks.check("not-the-secret" not in (done[6] or ""), "wrong secret: the secret is not in task_info")
    text = s3_support.config(world).replace('secret_access_key = "%s"' % s3_support.SECRET,
                                            'secret_access_key = "not-the-secret"')
    with_server(world, text, env(), wrong_keys)

    # 7. http_proxy and no_proxy: with the endpoint itself in instance.toml, requests go through the proxy the
    # environment names (the fault proxy, taking them in its forward mode), unless no_proxy exempts the host.
    direct = s3_support.config(world, through_proxy=False)
    world.clear_log()
    round_trip("instance.toml", world, direct, env(http_proxy=world.proxy_url()), "proxied.bak")
    seen = world.requests()
    checks.check(len(seen) > 0 and all(e["proxied"] for e in seen),
                 "http_proxy: every request went through the proxy in its absolute form (%d)" % len(seen))
    print("http_proxy: %d requests through the proxy" % len(seen), flush=True)
    world.clear_log()
    round_trip("instance.toml", world, direct, env(http_proxy=world.proxy_url(), no_proxy="127.0.0.1"),
               "not-proxied.bak")
    checks.equal(world.requests(), [], "no_proxy=127.0.0.1: no request went through the proxy")

    # 8. No credentials anywhere: the server does not start, and says where it looked.
    probe = harness.Server(binary, config_text=s3_support.config(world, keys=False), env=env())
    try:
        probe.start()
        checks.check(False, "the server started with an S3 bucket and no credentials anywhere")
    except RuntimeError:
        with open(os.path.join(probe.data_dir, "server-output.log"), "rb") as f:
            log = f.read().decode(errors="replace")
        checks.contains(log, "No AWS credentials were found: tried instance.toml, the environment",
                        "no credentials: the error says where it looked")
    finally:
        probe.cleanup()

# 9. HTTPS: certificates are verified by default, against ca_file when given; verify_tls = false turns that off.
with s3_support.S3World(tls=True) as world:
    round_trip("instance.toml", world, s3_support.config(world, ca_file=world.ca_file), env(), "tls/verified.bak")

    def refused(what, expected):
        def body(server, c):
            small_database(c, "tlsdb")
            started = time.time()
            done = backup(c, "tlsdb", "tls/refused.bak")
            checks.equal(done[5], "ERROR", "%s: the backup fails" % what)
            checks.check(done[6] is not None and expected in done[6], "%s: task_info says why: %r" % (what, done[6]))
            checks.check(time.time() - started < 30, "%s: refused promptly, not retried" % what)
            print("%s: %s" % (what, (done[6] or "").splitlines()[-1:]), flush=True)
        return body
    # The system's CAs do not know the test's CA.
    with_server(world, s3_support.config(world), env(),
                refused("a certificate no trusted CA signed", "SSL certificate problem"))
    # Signed by the CA given, but for 127.0.0.1, not for "localhost".
    text = s3_support.config(world, ca_file=world.ca_file).replace(world.endpoint(), world.endpoint(host="localhost"))
    with_server(world, text, env(), refused("a certificate for another host name", "localhost"))
    round_trip("instance.toml", world, s3_support.config(world, verify_tls=False), env(), "tls/unverified.bak")
    checks.check("tls/refused.bak" not in world.keys(), "no object was written where the certificate was refused")
checks.finish()
