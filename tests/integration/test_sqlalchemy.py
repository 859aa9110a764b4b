"""SQLAlchemy 1.4 (Debian python3-sqlalchemy) with mssql+pymssql and with mssql+pyodbc (FreeTDS's ODBC driver): the first connect (the dialect reads @@VERSION,
SCHEMA_NAME() and more), MetaData.create_all of tables with an Integer autoincrement primary key, String(50),
Unicode, DateTime, Numeric(10,2) (read back as Decimal with its scale), Boolean, LargeBinary, a ForeignKey and
Indexes; inspect(engine): get_table_names, get_columns (names, types, nullable, autoincrement), get_pk_constraint,
get_foreign_keys, get_indexes; inserts that return the new primary keys (OUTPUT inserted.id); every value read back;
select().limit(10).offset(5) (OFFSET ... FETCH) returning the right rows in order; ORM Session add/commit, and a
flush rolled back that leaves nothing behind; drop_all. A step that raises is one failed check naming the server's
error, and the next steps still run."""
import datetime
import decimal

import pytds
import sqlalchemy as sa
from sqlalchemy import inspect
from sqlalchemy.orm import Session, declarative_base

import harness

DATABASE = "sadb"
ODBC_DRIVER = "/usr/lib/x86_64-linux-gnu/odbc/libtdsodbc.so"
checks = harness.Checks()


def short(e):
    """An exception in one line: the driver's error (the server's number and message) and the SQL sent."""
    text = str(getattr(e, "orig", None) or e).replace("\\n", " ").replace("\n", " ")
    text = text.replace("General SQL Server error: Check messages from the SQL Server", "").strip()
    statement = getattr(e, "statement", None)
    if statement:
        text += " [SQL: %s]" % " ".join(statement.split())[:200]
    return "%s: %s" % (type(e).__name__, text[:600])


def step(name, fn):
    """Runs one step; an exception is a failed check that names it. Returns fn's value, or None."""
    try:
        return fn()
    except Exception as e:  # the check names the step and the error
        checks.check(False, "%s raised %s" % (name, short(e)))
        return None


def brief(value):
    if isinstance(value, bytes) and len(value) > 16:
        return "%d bytes %s..." % (len(value), value[:16].hex())
    return repr(value)


def same(actual, expected, what):
    """checks.equal with long bytes values shortened in the message."""
    checks.check(actual == expected, "%s: expected %s, got %s" % (what, brief(expected), brief(actual)))


def type_of(column):
    """A reflected column's type as (class name, its length/precision/scale)."""
    t = column["type"]
    attrs = {k: getattr(t, k) for k in ("length", "precision", "scale") if hasattr(t, k)}
    return type(t).__name__, attrs


metadata = sa.MetaData()
parent = sa.Table("sa_parent", metadata,
                  sa.Column("id", sa.Integer, primary_key=True),
                  sa.Column("name", sa.String(50), nullable=False))
child = sa.Table("sa_child", metadata,
                 sa.Column("id", sa.Integer, primary_key=True),
                 sa.Column("parent_id", sa.Integer, sa.ForeignKey("sa_parent.id")),
                 sa.Column("label", sa.String(50)),
                 sa.Column("title", sa.Unicode(100)),
                 sa.Column("created", sa.DateTime),
                 sa.Column("amount", sa.Numeric(10, 2)),
                 sa.Column("flag", sa.Boolean),
                 sa.Column("blob", sa.LargeBinary))
sa.Index("ix_sa_child_label", child.c.label)
sa.Index("ux_sa_child_title", child.c.title, unique=True)

Base = declarative_base()


class Item(Base):
    __tablename__ = "sa_item"
    id = sa.Column(sa.Integer, primary_key=True)
    name = sa.Column(sa.Unicode(40), nullable=False)


def child_row(i):
    """Row i of sa_child (its id will be i + 1). DATETIME holds 1/300 s, so the milliseconds are multiples of 10;
    row 19 is NULL wherever it can be."""
    if i == 19:
        return {"parent_id": None, "label": "c19", "title": "t\u00edtulo \u2713 19", "created": None, "amount": None,
                "flag": None, "blob": None}
    return {"parent_id": 1 if i % 2 else 2,
            "label": "c%02d" % i,
            "title": "t\u00edtulo \u2713 %d" % i,
            "created": datetime.datetime(2024, 2, 29, 13, 14, 15, 500000) + datetime.timedelta(days=i, milliseconds=10 * i),
            "amount": decimal.Decimal(i) * decimal.Decimal("1234.56") - decimal.Decimal("5000.05"),
            "flag": i % 3 == 0,
            "blob": bytes((i * 7 + k) % 256 for k in range(9000 + i))}


def run(dialect):
    """The whole flow through one dialect, on a server of its own."""
    with harness.Server(harness.binary_from_argv()) as server:
        admin = pytds.connect("127.0.0.1", port=server.port, user=harness.USER, password=harness.PASSWORD,
                              autocommit=True, login_timeout=120)
        with admin.cursor() as cur:
            cur.execute("CREATE DATABASE " + DATABASE)
        admin.close()

        if dialect == "pymssql":
            url = sa.engine.URL.create("mssql+pymssql", username=harness.USER, password=harness.PASSWORD,
                                       host="127.0.0.1", port=server.port, database=DATABASE)
            engine = sa.create_engine(url, future=True, connect_args={"login_timeout": 120, "timeout": 300})
        else:
            # FreeTDS's ODBC driver: every statement with parameters goes as sp_prepexec.
            odbc = ("DRIVER=%s;SERVER=127.0.0.1;PORT=%d;UID=%s;PWD=%s;DATABASE=%s;TDS_Version=7.4;Timeout=300" %
                    (ODBC_DRIVER, server.port, harness.USER, harness.PASSWORD, DATABASE))
            engine = sa.create_engine(sa.engine.URL.create("mssql+pyodbc", query={"odbc_connect": odbc}), future=True)

        def first_connect():
            with engine.connect() as conn:
                checks.equal(conn.execute(sa.text("SELECT 1")).scalar(), 1, "SELECT 1 through SQLAlchemy")
            info = engine.dialect.server_version_info
            checks.check(bool(info) and info[0] >= 11, "server_version_info from @@VERSION is SQL Server 2012 or later "
                         "(OFFSET/FETCH paging): %r" % (info,))
            checks.equal(engine.dialect.default_schema_name, "dbo", "default schema (SELECT schema_name())")
            with engine.connect() as conn:
                checks.equal(conn.get_isolation_level(), "READ COMMITTED",
                             "isolation level from sys.dm_exec_sessions")
            serializable = engine.execution_options(isolation_level="SERIALIZABLE")
            with serializable.connect() as conn:
                checks.equal(conn.get_isolation_level(), "SERIALIZABLE", "isolation_level=SERIALIZABLE is set")
        step("first connect", first_connect)

        step("MetaData.create_all", lambda: metadata.create_all(engine))
        step("ORM create_all", lambda: Base.metadata.create_all(engine))

        # Reflection of the tables create_all made.
        insp = step("inspect(engine)", lambda: inspect(engine))
        if insp is not None:
            names = step("get_table_names", insp.get_table_names)
            checks.equal(sorted(names or []), ["sa_child", "sa_item", "sa_parent"], "get_table_names")

            columns = step("get_columns sa_child", lambda: insp.get_columns("sa_child"))
            if columns is not None:
                expected = [  # name, type, nullable, autoincrement
                    ("id", ("INTEGER", {}), False, True),
                    ("parent_id", ("INTEGER", {}), True, False),
                    ("label", ("VARCHAR", {"length": 50}), True, False),
                    ("title", ("NVARCHAR", {"length": 100}), True, False),
                    ("created", ("DATETIME", {}), True, False),
                    ("amount", ("NUMERIC", {"precision": 10, "scale": 2}), True, False),
                    ("flag", ("BIT", {}), True, False),
                    ("blob", ("VARBINARY", {"length": None}), True, False),
                ]
                checks.equal([c["name"] for c in columns], [e[0] for e in expected], "get_columns names, in order")
                for c in columns:
                    want = next((e for e in expected if e[0] == c["name"]), None)
                    if want is None:
                        continue
                    checks.equal(type_of(c), want[1], "get_columns type of %s" % c["name"])
                    checks.equal(c["nullable"], want[2], "get_columns nullable of %s" % c["name"])
                    checks.equal(c["autoincrement"], want[3], "get_columns autoincrement of %s" % c["name"])
                    checks.equal(c["default"], None, "get_columns default of %s" % c["name"])

            columns = step("get_columns sa_parent", lambda: insp.get_columns("sa_parent"))
            if columns is not None:
                checks.equal([(c["name"], type_of(c), c["nullable"], c["autoincrement"]) for c in columns],
                             [("id", ("INTEGER", {}), False, True), ("name", ("VARCHAR", {"length": 50}), False, False)],
                             "get_columns sa_parent")

            pk = step("get_pk_constraint sa_child", lambda: insp.get_pk_constraint("sa_child"))
            if pk is not None:
                checks.equal(pk["constrained_columns"], ["id"], "get_pk_constraint constrained_columns")
                checks.check(isinstance(pk["name"], str) and pk["name"], "get_pk_constraint names the constraint: %r" % pk)

            fks = step("get_foreign_keys sa_child", lambda: insp.get_foreign_keys("sa_child"))
            if fks is not None:
                checks.equal([{k: v for k, v in fk.items() if k != "name"} for fk in fks],
                             [{"constrained_columns": ["parent_id"], "referred_schema": None, "referred_table": "sa_parent",
                               "referred_columns": ["id"], "options": {}}], "get_foreign_keys sa_child")
                checks.check(all(isinstance(fk["name"], str) and fk["name"] for fk in fks),
                             "get_foreign_keys names the constraint: %r" % fks)
            checks.equal(step("get_foreign_keys sa_parent", lambda: insp.get_foreign_keys("sa_parent")), [],
                         "get_foreign_keys sa_parent")

            indexes = step("get_indexes sa_child", lambda: insp.get_indexes("sa_child"))
            if indexes is not None:
                checks.equal(sorted((i["name"], i["unique"], i["column_names"]) for i in indexes),
                             [("ix_sa_child_label", False, ["label"]), ("ux_sa_child_title", True, ["title"])],
                             "get_indexes sa_child (the primary key's index is not listed)")

        # Inserts that return the new primary keys, then every value read back.
        def insert_parents():
            with engine.begin() as conn:
                first = conn.execute(parent.insert(), {"name": "p1"}).inserted_primary_key
                second = conn.execute(parent.insert().values(name="p2")).inserted_primary_key
            checks.equal(tuple(first), (1,), "inserted_primary_key of the first sa_parent row")
            checks.equal(tuple(second), (2,), "inserted_primary_key of the second sa_parent row")
        step("insert into sa_parent", insert_parents)

        def insert_children():
            with engine.begin() as conn:
                conn.execute(child.insert(), [child_row(i) for i in range(20)])
        step("insert into sa_child (executemany)", insert_children)

        def read_back():
            with engine.connect() as conn:
                rows = conn.execute(sa.select(child).order_by(child.c.id)).all()
            checks.equal(len(rows), 20, "rows in sa_child")
            for i, row in enumerate(rows[:20]):
                want = dict(child_row(i), id=i + 1)
                got = dict(row._mapping)
                for key in want:
                    value = got.get(key)
                    if key == "amount" and want[key] is not None:  # a Decimal with the column's 2 decimal places
                        checks.check(isinstance(value, decimal.Decimal) and value == want[key] and
                                     value.as_tuple().exponent == -2,
                                     "sa_child row %d amount (Numeric(10, 2)): expected %r, got %r" % (i, want[key], value))
                    elif key == "flag" and want[key] is not None:
                        checks.check(value is want[key], "sa_child row %d flag (Boolean): expected %r, got %r" %
                                     (i, want[key], value))
                    else:
                        same(value, want[key], "sa_child row %d %s" % (i, key))
        step("select every sa_child row", read_back)

        def paging():
            with engine.connect() as conn:
                rows = conn.execute(sa.select(child.c.id, child.c.label).order_by(child.c.id).limit(10).offset(5)).all()
                checks.equal([tuple(r) for r in rows], [(i + 1, "c%02d" % i) for i in range(5, 15)],
                             "select().order_by(id).limit(10).offset(5)")
                rows = conn.execute(sa.select(child.c.id).order_by(child.c.id.desc()).limit(3).offset(18)).all()
                checks.equal([tuple(r) for r in rows], [(2,), (1,)], "limit(3).offset(18) descending: the last page")
                rows = conn.execute(sa.select(child.c.id).order_by(child.c.id).limit(3)).all()
                checks.equal([tuple(r) for r in rows], [(1,), (2,), (3,)], "limit(3) alone (TOP 3)")
        step("paging with limit and offset", paging)

        # The ORM: add and commit; a flushed insert rolled back leaves nothing behind.
        def orm_commit():
            with Session(engine) as session:
                session.add_all([Item(name="a"), Item(name="b")])
                session.commit()
                checks.equal([(i.id, i.name) for i in session.query(Item).order_by(Item.id)], [(1, "a"), (2, "b")],
                             "ORM rows after add and commit")
        step("ORM add and commit", orm_commit)

        def orm_rollback():
            with Session(engine) as session:
                item = Item(name="rolled back")
                session.add(item)
                session.flush()
                checks.check(item.id is not None, "the flushed item got its primary key")
                checks.equal(session.query(Item).filter_by(name="rolled back").count(), 1,
                             "the flushed item, seen inside the transaction")
                session.rollback()
            with engine.connect() as conn:
                checks.equal(conn.execute(sa.text("SELECT COUNT(*) FROM sa_item WHERE name = N'rolled back'")).scalar(), 0,
                             "the rolled back item is gone")
                checks.equal(conn.execute(sa.text("SELECT name FROM sa_item ORDER BY id")).scalars().all(), ["a", "b"],
                             "sa_item after the rollback")
        step("ORM flush and rollback", orm_rollback)

        step("MetaData.drop_all", lambda: metadata.drop_all(engine))
        step("ORM drop_all", lambda: Base.metadata.drop_all(engine))
        checks.equal(step("get_table_names after drop_all", lambda: inspect(engine).get_table_names()), [],
                     "get_table_names after drop_all")
        engine.dispose()


for dialect in ("pymssql", "pyodbc"):
    checks.prefix = dialect
    run(dialect)
checks.finish()
