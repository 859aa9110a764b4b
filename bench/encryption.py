"""What encryption costs a full backup and its restore: the same database backed up and restored with and without
@kms_master_key_arn, uncompressed and compressed, side by side in one run.

    /usr/bin/python3 bench/encryption.py BAKREST_BINARY [--size-mib 1024] [--shape realistic] [--rounds 3]

One bakrest instance (tests/integration/harness.Server, local bucket only) with bench/datagen.py's rows of SHAPE
for SIZE_MIB bulk-loaded over TDS (bench/suite.load), and a symmetric key made on its KMS with the aws CLI. Each
round runs a full backup to one file and its full restore (RECOVERY, so the check is included) for:
uncompressed, uncompressed encrypted, compressed, compressed encrypted (every other round in reverse order). Each is timed from sending the EXEC
to rds_task_status saying SUCCESS; CPU is the instance's. Prints the medians and, for each pair, what encryption
costs in throughput: (encrypted seconds - plain seconds) / plain seconds.
"""
import argparse
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))

import control_cli  # noqa: E402
import datagen  # noqa: E402
import harness  # noqa: E402
import suite  # noqa: E402

MIB = 1 << 20
BUCKET = "aws_example_bucket"
CASES = [("uncompressed", False, False), ("uncompressed, encrypted", False, True),
         ("compressed", True, False), ("compressed, encrypted", True, True)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("binary")
    parser.add_argument("--size-mib", type=float, default=1024)
    parser.add_argument("--shape", default="realistic", choices=sorted(datagen.SHAPES))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rows = datagen.rows_for(args.size_mib, args.shape)
    times = {(name, step): [] for name, _, _ in CASES for step in ("backup", "restore")}
    cpu = {(name, step): [] for name, _, _ in CASES for step in ("backup", "restore")}

    with harness.Server(os.path.abspath(args.binary), config_text=harness.config_text()) as server:
        bakrest = suite.Bakrest(server)
        try:
            suite.say("loading %d rows of %s" % (rows, args.shape))
            suite.load(server.port, args.shape, rows, args.seed)
            db_path = suite.database_file(bakrest)
            suite.wait_checkpointed(db_path)
            size = os.path.getsize(db_path)
            suite.say("database file %.1f MiB" % (size / MIB))
            code, made, err = control_cli.aws(server, "kms", "create-key", "--description", "bench")
            if code != 0:
                raise RuntimeError("aws kms create-key failed: " + err)
            key = made["KeyMetadata"]["Arn"]
            for r in range(1, args.rounds + 1):
                suite.say("round %d of %d" % (r, args.rounds))
                # Every other round in reverse order, so that no case always follows the same one.
                for name, compressed, encrypted in (CASES if r % 2 else list(reversed(CASES))):
                    bakrest.set_compression(compressed)
                    object_key = "enc-bench.bak"
                    params = {"@source_db_name": suite.DATABASE, "@s3_arn_to_backup_to": suite.arn(BUCKET, object_key),
                              "@overwrite_s3_backup_file": 1, "@type": "FULL"}
                    restore = {"@restore_db_name": suite.RESTORED,
                               "@s3_arn_to_restore_from": suite.arn(BUCKET, object_key), "@with_norecovery": 0}
                    if encrypted:
                        params["@kms_master_key_arn"] = key
                        restore["@kms_master_key_arn"] = key
                    result, _ = bakrest.timed(name, [("msdb.dbo.rds_backup_database", params)])
                    times[(name, "backup")].append(result.seconds)
                    cpu[(name, "backup")].append(result.cpu_seconds)
                    stored = os.path.getsize(server.store_path(BUCKET, object_key))
                    result, _ = bakrest.timed(name, [("msdb.dbo.rds_restore_database", restore)])
                    times[(name, "restore")].append(result.seconds)
                    cpu[(name, "restore")].append(result.cpu_seconds)
                    if r == 1 and suite.restored_count(bakrest, args.shape) != rows:
                        raise RuntimeError("%s: the restored database does not hold the %d rows" % (name, rows))
                    bakrest.drop(suite.RESTORED)
                    os.unlink(server.store_path(BUCKET, object_key))
                    suite.say("  %-26s backup %6.2f s, restore %6.2f s, stored %.1f MiB" % (
                        name, times[(name, "backup")][-1], times[(name, "restore")][-1], stored / MIB))
        finally:
            bakrest.close()

    def med(values):
        return statistics.median(values)

    print("%d MiB database (%s, %d rows), %d rounds, medians:\n" % (size / MIB, args.shape, rows, args.rounds))
    print("| | backup s | MiB/s | CPU s | restore s | MiB/s | CPU s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, _, _ in CASES:
        b, rs = med(times[(name, "backup")]), med(times[(name, "restore")])
        print("| %s | %.2f | %.0f | %.2f | %.2f | %.0f | %.2f |" % (
            name, b, size / MIB / b, med(cpu[(name, "backup")]), rs, size / MIB / rs, med(cpu[(name, "restore")])))
    print()
    for plain, encrypted in (("uncompressed", "uncompressed, encrypted"), ("compressed", "compressed, encrypted")):
        for step in ("backup", "restore"):
            p, e = med(times[(plain, step)]), med(times[(encrypted, step)])
            print("- %s %s: encryption costs %+.1f%% of the time (target: at most 10%%)" % (plain, step,
                                                                                          100 * (e - p) / p))


if __name__ == "__main__":
    main()
