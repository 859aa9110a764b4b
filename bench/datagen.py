"""Deterministic benchmark data: the same rows as a SQLite database (what bakrest serves) or as a psql script
(what a PostgreSQL peer loads), so that backup tools are timed on the same data.

    /usr/bin/python3 bench/datagen.py sqlite OUT.db SIZE_MIB SHAPE [--seed N] [--rows N] [--no-ratio]
    /usr/bin/python3 bench/datagen.py sql SIZE_MIB SHAPE [-o FILE] [--seed N] [--rows N]
    /usr/bin/python3 bench/datagen.py ratio FILE          # what `zstd -3` makes of a file
    /usr/bin/python3 bench/datagen.py changes SIZE_MIB SHAPE [--fraction 0.01] [--seed N]   # the UPDATEs

SHAPE is one of:
  pgbench    pgbench_accounts as pgbench makes it: aid, bid (one branch per 100000 accounts), abalance 0 and
             filler CHAR(84) blank. Almost all blanks, so zstd shrinks it far more than real data.
  realistic  an orders table: names, e-mail addresses, cities, statuses, quantities, amounts, timestamps, notes
             of words drawn from a pseudo-word list with a Zipf-like frequency, and for some rows a random
             binary payload. Tuned so that `zstd -3` shrinks the SQLite file about 2.5x (`sqlite` measures and
             prints the ratio).

SIZE_MIB picks the number of rows: the SQLite file comes out within a few per cent of SIZE_MIB MiB. The row
count is a function of SIZE_MIB and SHAPE alone (or --rows), so `sqlite` and `sql` agree on the rows without
one having to read the other's output. The rows depend on the seed only.

The SQLite file: page size 4096, column types spelled as bakrest spells T-SQL's (INT PRIMARY KEY keeps a
separate index, as for a table created through bakrest), loaded with the journal off, then switched to WAL
mode and closed, so that it is one clean file with no -wal beside it.

The psql script: CREATE TABLE and COPY ... FROM stdin WITH (FREEZE) in one transaction (PostgreSQL then skips
WAL at wal_level=minimal and writes the rows frozen, so the first read does not rewrite every page to set hint
bits), then the primary key and VACUUM ANALYZE. Feed it to `psql -v ON_ERROR_STOP=1`.

Importable: shape_rows(), rows_for(), generate(), write_sqlite(), write_sql(), zstd_ratio(), changed_ids(),
change_statements().
"""
import argparse
import bisect
import datetime
import os
import random
import sqlite3
import subprocess
import sys
import time

MIB = 1 << 20

# SQLite bytes per row (table + primary key index + page slack), measured on files of 64 and 256 MiB;
# rows_for() divides by them. A change to a shape's rows needs them measured again (`sqlite` prints the
# file's size against SIZE_MIB).
BYTES_PER_ROW = {"pgbench": 116.3, "realistic": 389.5}

# How many rows generate() hands out at once: large enough that executemany and the COPY writer spend their
# time in C, small enough to keep memory flat.
BATCH = 20000


class Shape:
    """A table: its name, its key column, its DDL for SQLite (bakrest's spelling) and for PostgreSQL, and how
    to update a row for the differential step."""

    def __init__(self, name, table, key, sqlite_ddl, pg_ddl, update_set):
        self.name, self.table, self.key = name, table, key
        self.sqlite_ddl, self.pg_ddl, self.update_set = sqlite_ddl, pg_ddl, update_set


SHAPES = {
    "pgbench": Shape(
        "pgbench", "pgbench_accounts", "aid",
        "CREATE TABLE pgbench_accounts (aid INT NOT NULL PRIMARY KEY, bid INT, abalance INT, filler CHAR(84))",
        "CREATE TABLE pgbench_accounts (aid int NOT NULL, bid int, abalance int, filler char(84)) "
        "WITH (fillfactor = 100)",
        # What pgbench's transactions do to an account.
        "abalance = abalance + 17"),
    "realistic": Shape(
        "realistic", "orders", "id",
        "CREATE TABLE orders (id INT NOT NULL PRIMARY KEY, customer NVARCHAR(60), email VARCHAR(80), "
        "city NVARCHAR(40), status VARCHAR(12), quantity INT, amount FLOAT, created DATETIME2, note NVARCHAR, "
        "payload VARBINARY)",
        "CREATE TABLE orders (id int NOT NULL, customer varchar(60), email varchar(80), city varchar(40), "
        "status varchar(12), quantity int, amount double precision, created timestamp, note text, "
        "payload bytea)",
        # An order moving on: a new status and a corrected amount, the same length as before or close to it.
        "status = 'shipped', amount = amount + 1.5"),
}


def shape_rows(shape):
    if shape not in SHAPES:
        raise ValueError("unknown shape %r (one of %s)" % (shape, ", ".join(SHAPES)))
    return SHAPES[shape]


def rows_for(size_mib, shape):
    """The number of rows that makes a SQLite file of about size_mib MiB."""
    shape_rows(shape)
    return max(1, int(round(size_mib * MIB / BYTES_PER_ROW[shape])))


# --- row generators -------------------------------------------------------------------------------------------

def _pgbench(n, seed):
    # pgbench's accounts carry no randomness; the seed is accepted for a uniform interface.
    filler = " " * 84
    for start in range(1, n + 1, BATCH):
        yield [(aid, (aid - 1) // 100000 + 1, 0, filler) for aid in range(start, min(start + BATCH, n + 1))]


def _pseudo_words(rng, count, syllables):
    """count distinct lowercase pseudo-words of 1 to 4 syllables. Made here rather than read from
    /usr/share/dict, which is not always installed, so that the data is the same on every machine. Letters
    only: the COPY writer then has nothing to escape."""
    words, seen = [], set()
    while len(words) < count:
        w = "".join(rng.choice(syllables) for _ in range(1 + int(rng.random() * 4)))
        if w not in seen:
            seen.add(w)
            words.append(w)
    return words


class _Pools:
    """Everything the realistic rows draw from, made once from the seed. Frequencies follow 1/rank (Zipf),
    as words, names and cities do in real data: that, more than anything, sets how well zstd compresses
    the text."""

    def __init__(self, seed):
        rng = random.Random(seed * 7919 + 1)
        syllables = [c + v for c in "bcdfghjklmnprstvwz" for v in ("a", "e", "i", "o", "u", "ai", "ou", "ee")]
        syllables += [s + e for s in syllables[:40] for e in "nrst"]
        self.words = _pseudo_words(rng, 12000, syllables)
        self.word_cum = self._zipf(len(self.words), 1.0)
        self.first = [w.capitalize() for w in _pseudo_words(rng, 400, syllables)]
        self.last = [w.capitalize() for w in _pseudo_words(rng, 3000, syllables)]
        self.name_cum = self._zipf(len(self.last), 0.8)
        self.cities = [w.capitalize() + rng.choice(["", " City", "ville", "burg", " Springs", "ton"])
                       for w in _pseudo_words(rng, 500, syllables)]
        self.city_cum = self._zipf(len(self.cities), 1.0)
        self.domains = [w + rng.choice([".com", ".net", ".org", ".io", ".co.uk"])
                        for w in _pseudo_words(rng, 40, syllables)]
        self.statuses = ["new", "paid", "packed", "shipped", "delivered", "returned", "cancelled"]
        self.status_cum = [30, 50, 60, 85, 97, 99, 100]

    @staticmethod
    def _zipf(n, s):
        cum, total = [], 0.0
        for rank in range(1, n + 1):
            total += 1.0 / rank ** s
            cum.append(total)
        return cum


def _realistic(n, seed):
    rng = random.Random(seed)
    pools = _Pools(seed)
    rnd, choices, bisect_right = rng.random, rng.choices, bisect.bisect_right
    words, word_cum = pools.words, pools.word_cum
    first, last, last_cum, cities, city_cum = pools.first, pools.last, pools.name_cum, pools.cities, pools.city_cum
    domains, statuses, status_cum = pools.domains, pools.statuses, pools.status_cum
    last_total, city_total, status_total = last_cum[-1], city_cum[-1], status_cum[-1]
    # Orders arrive in time order, a few minutes apart, from 2019 on: timestamps are increasing, as in a real
    # table, and formatting them from a running day keeps strftime out of the loop.
    moment = datetime.datetime(2019, 1, 1)
    day, day_text, second_of_day = moment.date(), moment.strftime("%Y-%m-%d "), 0
    one_day = datetime.timedelta(days=1)
    for start in range(1, n + 1, BATCH):
        batch = []
        for oid in range(start, min(start + BATCH, n + 1)):
            f = first[int(rnd() * len(first))]
            la = last[bisect_right(last_cum, rnd() * last_total)]
            second_of_day += int(rnd() * 600)
            if second_of_day >= 86400:
                second_of_day -= 86400
                day += one_day
                day_text = day.strftime("%Y-%m-%d ")
            created = "%s%02d:%02d:%02d" % (day_text, second_of_day // 3600, second_of_day // 60 % 60,
                                            second_of_day % 60)
            r = rnd()
            # Notes: most orders have one, of 3 to 60 words; the long tail matters for the page fill.
            note = None if r < 0.25 else " ".join(choices(words, cum_weights=word_cum, k=3 + int(rnd() * 58)))
            # Payloads (a signature, a thumbnail, a compressed attachment): random bytes, which no compressor
            # shrinks; their share (6% of rows, 5% of the bytes) is what tunes the file's ratio to about 2.5:
            # the rest alone compresses about 2.9x.
            payload = rng.randbytes(64 + int(rnd() * 900)) if r > 0.94 else None
            batch.append((
                oid,
                f + " " + la,
                "%s.%s%d@%s" % (f.lower(), la.lower(), int(rnd() * 100), domains[int(rnd() * len(domains))]),
                cities[bisect_right(city_cum, rnd() * city_total)],
                statuses[bisect_right(status_cum, rnd() * status_total)],
                1 + int(rnd() * rnd() * 40),
                int(rnd() * 50000) / 100.0,
                created,
                note,
                payload,
            ))
        yield batch


def generate(shape, n, seed=1):
    """Yields lists of row tuples, n rows in all, in key order. Values are Python ints, floats, str (ASCII),
    bytes and None."""
    shape_rows(shape)
    return _pgbench(n, seed) if shape == "pgbench" else _realistic(n, seed)


# --- writers --------------------------------------------------------------------------------------------------

def write_sqlite(path, size_mib, shape, seed=1, rows=None):
    """Writes the database at path (replacing it). Returns {"rows", "bytes", "seconds"}."""
    spec = shape_rows(shape)
    n = rows if rows is not None else rows_for(size_mib, shape)
    for suffix in ("", "-wal", "-shm", "-journal"):
        if os.path.exists(path + suffix):
            os.unlink(path + suffix)
    started = time.time()
    db = sqlite3.connect(path, isolation_level=None)
    # A throwaway load: no journal and no syncs until the end, and a cache big enough that the index's
    # pages stay in memory. The page size is set before the first table exists, when it still can be.
    db.execute("PRAGMA page_size = 4096")
    db.execute("PRAGMA journal_mode = OFF")
    db.execute("PRAGMA synchronous = OFF")
    db.execute("PRAGMA cache_size = -262144")
    db.execute(spec.sqlite_ddl)
    first = next(generate(shape, 1, seed))[0]
    insert = "INSERT INTO %s VALUES (%s)" % (spec.table, ", ".join("?" * len(first)))
    db.execute("BEGIN")
    for batch in generate(shape, n, seed):
        db.executemany(insert, batch)
    db.execute("COMMIT")
    # bakrest keeps its databases in WAL mode. Switching now writes that into the header; closing the last
    # connection checkpoints and removes the -wal file, leaving one self-contained file. The final
    # synchronous=FULL makes that checkpoint sync the file.
    db.execute("PRAGMA synchronous = FULL")
    mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    assert mode == "wal", mode
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    assert not os.path.exists(path + "-wal"), "the -wal file outlived the close"
    return {"rows": n, "bytes": os.path.getsize(path), "seconds": time.time() - started}


def _copy_value(v):
    """A value in COPY's text format. The generators make text of letters, digits, spaces and . @ : -
    only, which COPY takes as is; bytea goes as \\x and hex (the backslash doubled, as COPY unescapes it)."""
    if v is None:
        return "\\N"
    if isinstance(v, bytes):
        return "\\\\x" + v.hex()
    return str(v)


def write_sql(out, size_mib, shape, seed=1, rows=None, script=True):
    """Writes to out (a text file object) the psql script that loads the rows, or with script=False only the
    COPY data lines (for `COPY table FROM STDIN`). Returns {"rows", "seconds"}."""
    spec = shape_rows(shape)
    n = rows if rows is not None else rows_for(size_mib, shape)
    started = time.time()
    if script:
        out.write("\\set ON_ERROR_STOP on\nBEGIN;\n%s;\nCOPY %s FROM stdin WITH (FREEZE);\n" %
                  (spec.pg_ddl, spec.table))
    for batch in generate(shape, n, seed):
        if shape == "pgbench":
            # Every value is an int but the filler: formatting the tuple at once is several times faster.
            out.write("".join("%d\t%d\t%d\t%s\n" % r for r in batch))
        else:
            out.write("".join("\t".join(map(_copy_value, r)) + "\n" for r in batch))
    if script:
        out.write("\\.\nCOMMIT;\nALTER TABLE %s ADD PRIMARY KEY (%s);\nVACUUM ANALYZE %s;\n" %
                  (spec.table, spec.key, spec.table))
    out.flush()
    return {"rows": n, "seconds": time.time() - started}


def zstd_ratio(path, level=3, threads=2):
    """The file's size over what `zstd -LEVEL -T<threads>` makes of it (the output is counted, not kept)."""
    proc = subprocess.Popen(["zstd", "-%d" % level, "-T%d" % threads, "-q", "-c", path], stdout=subprocess.PIPE)
    compressed = 0
    while True:
        chunk = proc.stdout.read(1 << 20)
        if not chunk:
            break
        compressed += len(chunk)
    if proc.wait() != 0:
        raise RuntimeError("zstd failed on %s" % path)
    return os.path.getsize(path) / compressed


# --- the differential step ------------------------------------------------------------------------------------

def changed_ids(n_rows, fraction=0.01, seed=1):
    """Keys of fraction of the rows, spread at random over the whole table (sorted): the rows a
    differential backup then has to carry. With ~35 rows per page, 1% of rows touches about a third of the
    pages — the point of scattering them."""
    count = max(1, int(n_rows * fraction))
    return sorted(random.Random(seed * 104729 + 3).sample(range(1, n_rows + 1), count))


def change_statements(shape, ids, per_statement=1000):
    """UPDATE statements that change the rows with these keys, in SQL that SQLite, PostgreSQL and T-SQL
    (bakrest) all take: the same change on every side."""
    spec = shape_rows(shape)
    return ["UPDATE %s SET %s WHERE %s IN (%s)" % (spec.table, spec.update_set, spec.key,
                                                    ",".join(map(str, ids[i:i + per_statement])))
            for i in range(0, len(ids), per_statement)]


# --- command line ---------------------------------------------------------------------------------------------

def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("sqlite", help="write a SQLite database")
    p.add_argument("out")
    p.add_argument("size_mib", type=float)
    p.add_argument("shape", choices=sorted(SHAPES))
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--rows", type=int, help="this many rows, whatever SIZE_MIB says")
    p.add_argument("--no-ratio", action="store_true", help="skip measuring what zstd -3 makes of the file")
    p = sub.add_parser("sql", help="write the psql script that loads the same rows into PostgreSQL")
    p.add_argument("size_mib", type=float)
    p.add_argument("shape", choices=sorted(SHAPES))
    p.add_argument("-o", "--output", help="file to write (default: standard output)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--rows", type=int)
    p.add_argument("--data-only", action="store_true", help="only the COPY data lines")
    p = sub.add_parser("ratio", help="what zstd -3 makes of a file")
    p.add_argument("file")
    p = sub.add_parser("changes", help="print the UPDATE statements of the differential step")
    p.add_argument("size_mib", type=float)
    p.add_argument("shape", choices=sorted(SHAPES))
    p.add_argument("--fraction", type=float, default=0.01)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--rows", type=int)
    args = parser.parse_args(argv)

    if args.command == "sqlite":
        r = write_sqlite(args.out, args.size_mib, args.shape, args.seed, args.rows)
        print("%s: %d rows, %.1f MiB (asked %.1f), %.1f s (%.0f MiB/s)" %
              (args.out, r["rows"], r["bytes"] / MIB, args.size_mib, r["seconds"],
               r["bytes"] / MIB / r["seconds"]))
        if not args.no_ratio:
            print("zstd -3 ratio: %.2fx" % zstd_ratio(args.out))
    elif args.command == "sql":
        out = open(args.output, "w") if args.output else sys.stdout
        r = write_sql(out, args.size_mib, args.shape, args.seed, args.rows, script=not args.data_only)
        if args.output:
            out.close()
        print("%d rows in %.1f s" % (r["rows"], r["seconds"]), file=sys.stderr)
    elif args.command == "ratio":
        print("%.3f" % zstd_ratio(args.file))
    else:
        n = args.rows if args.rows is not None else rows_for(args.size_mib, args.shape)
        for statement in change_statements(args.shape, changed_ids(n, args.fraction, args.seed)):
            print(statement + ";")


if __name__ == "__main__":
    main()
