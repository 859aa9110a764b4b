// jTDS 1.3.1 (Debian libjtds-java; TDS 7.1) against bakrest, run by test_jtds.py with Java's single-file source
// launcher: java -cp /usr/share/java/jtds.jar JtdsClient.java <port> <user> <password> <database>
//
// Every check prints one line, "CHECK ok <what>" or "CHECK fail <what>: <why>", and the last line is "END"; the
// Python side counts them. A step that throws is one failed check naming the step and the server's error, and
// the next steps still run (on a fresh connection where a transaction is involved), so one run shows every failure.
//
// What SQL Server sends a TDS 7.1 client, and so what is expected here: DATE, TIME and DATETIME2 columns as
// NVARCHAR text ('2024-02-29', '13:14:15.1234567', '2024-02-29 13:14:15.1234567'), (N)VARCHAR(MAX) as (N)TEXT,
// VARBINARY(MAX) as IMAGE, DECIMAL/NUMERIC with their precision and scale, MONEY with scale 4.
import java.math.BigDecimal;
import java.sql.CallableStatement;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.sql.Statement;
import java.sql.Timestamp;
import java.sql.Types;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

public class JtdsClient {
    static String port, user, password, database;
    static Connection main;

    static final String[] TASK_COLUMNS = {"task_id", "task_type", "database_name", "% complete", "duration (mins)",
        "lifecycle", "task_info", "last_updated", "created_at", "S3_object_arn", "overwrite_s3_backup_file",
        "KMS_master_key_arn", "filepath", "overwrite_file"};

    // ---- reporting ----

    static void report(boolean ok, String what, String why) {
        String line = "CHECK " + (ok ? "ok " + what : "fail " + what + ": " + why);
        System.out.println(line.replace('\r', ' ').replace('\n', ' '));
    }

    static void check(boolean ok, String what) {
        report(ok, what, "false");
    }

    static void eq(String what, Object expected, Object actual) {
        boolean same = (expected instanceof byte[] && actual instanceof byte[])
            ? Arrays.equals((byte[]) expected, (byte[]) actual) : Objects.equals(expected, actual);
        report(same, what, "expected " + show(expected) + ", got " + show(actual));
    }

    static String show(Object o) {
        if (o == null) return "null";
        if (o instanceof byte[]) {
            byte[] b = (byte[]) o;
            StringBuilder s = new StringBuilder(b.length + " bytes 0x");
            for (int i = 0; i < Math.min(b.length, 16); i++) s.append(String.format("%02X", b[i]));
            return s.append(b.length > 16 ? "..." : "").toString();
        }
        if (o instanceof BigDecimal) return o + " (scale " + ((BigDecimal) o).scale() + ")";
        if (o instanceof String) {
            String s = (String) o;
            return s.length() > 60 ? "'" + s.substring(0, 60) + "...' (" + s.length() + " chars)" : "'" + s + "'";
        }
        return o + " (" + o.getClass().getSimpleName() + ")";
    }

    static String describe(Throwable e) {
        if (e instanceof SQLException) {
            StringBuilder s = new StringBuilder();
            for (SQLException x = (SQLException) e; x != null; x = x.getNextException()) {
                if (s.length() > 0) s.append(" | ");
                s.append("SQLException ").append(x.getErrorCode()).append(" [").append(x.getSQLState()).append("] ")
                    .append(x.getMessage());
            }
            return s.toString();
        }
        return e.toString();
    }

    interface Body { void run() throws Exception; }

    static void step(String name, Body body) {
        try {
            body.run();
        } catch (Throwable e) {
            report(false, name, describe(e));
        }
    }

    static Connection connect() throws SQLException {
        return DriverManager.getConnection("jdbc:jtds:sqlserver://127.0.0.1:" + port + "/" + database
            + ";loginTimeout=120;socketTimeout=300", user, password);
    }

    static Connection conn() {
        if (main == null) throw new IllegalStateException("not run: there is no connection (connect failed)");
        return main;
    }

    static void execute(String sql) throws SQLException {
        try (Statement s = conn().createStatement()) {
            s.execute(sql);
        }
    }

    static List<Integer> ids(Connection c, String sql) throws SQLException {
        List<Integer> out = new ArrayList<>();
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            while (rs.next()) out.add(rs.getInt(1));
        }
        return out;
    }

    static int scalarInt(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            if (!rs.next()) throw new SQLException("no row from: " + sql);
            return rs.getInt(1);
        }
    }

    // ---- the table of every common type ----

    // name, SQL type, java.sql.Types for setNull
    static final Object[][] COLUMNS = {
        {"c_int", "INT", Types.INTEGER}, {"c_bigint", "BIGINT", Types.BIGINT},
        {"c_smallint", "SMALLINT", Types.SMALLINT}, {"c_tinyint", "TINYINT", Types.TINYINT},
        {"c_bit", "BIT", Types.BIT}, {"c_decimal", "DECIMAL(10,2)", Types.DECIMAL},
        {"c_numeric", "NUMERIC(18,4)", Types.NUMERIC}, {"c_float", "FLOAT", Types.DOUBLE},
        {"c_real", "REAL", Types.REAL}, {"c_money", "MONEY", Types.DECIMAL},
        {"c_nvarchar", "NVARCHAR(50)", Types.VARCHAR}, {"c_varchar", "VARCHAR(50)", Types.VARCHAR},
        {"c_nvarchar_max", "NVARCHAR(MAX)", Types.VARCHAR}, {"c_varbinary", "VARBINARY(100)", Types.VARBINARY},
        {"c_varbinary_max", "VARBINARY(MAX)", Types.VARBINARY}, {"c_date", "DATE", Types.VARCHAR},
        {"c_datetime", "DATETIME", Types.TIMESTAMP}, {"c_datetime2", "DATETIME2", Types.VARCHAR},
        {"c_time", "TIME", Types.VARCHAR}, {"c_guid", "UNIQUEIDENTIFIER", Types.VARCHAR},
    };

    static String longText(int n) {
        String unit = "bakrest \u2713 \u00fcn\u00efc\u00f8d\u00e9 \u4e16\u754c ";
        StringBuilder s = new StringBuilder();
        while (s.length() < n) s.append(unit);
        return s.substring(0, n);
    }

    static byte[] longBytes(int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) b[i] = (byte) (i * 31 + 7);
        return b;
    }

    // The values each row binds, in COLUMNS order. DATE binds a java.sql.Date in row 1 (jTDS sends DATETIME) and a
    // string in row 2 (0001-01-01 is outside DATETIME); DATETIME2 and TIME bind strings, the only way a TDS 7.1
    // client can send their 100 ns precision. DECIMAL, NUMERIC and MONEY hold 15 significant digits in bakrest
    // (SQLite keeps them as doubles; docs/COMPATIBILITY.md), so their values here have 15.
    static Object[] row(int id) {
        if (id == 1) {
            return new Object[] {123456789, Long.MAX_VALUE, (short) 32767, 255, true, new BigDecimal("12345678.90"),
                new BigDecimal("12345678901.5678"), 3.141592653589793, 1.5f, new BigDecimal("92233720368.5477"),
                "h\u00e9llo w\u00f6rld \u2713 \u4e16\u754c", "caf\u00e9 au lait", longText(10000),
                new byte[] {0, 1, 2, 0x7f, (byte) 0x80, (byte) 0xff}, longBytes(100000),
                java.sql.Date.valueOf("2024-02-29"), Timestamp.valueOf("2024-02-29 13:14:15.12"),
                "2024-02-29 13:14:15.1234567", "13:14:15.1234567", "6F9619FF-8B86-D011-B42D-00C04FC964FF"};
        }
        if (id == 2) {
            return new Object[] {Integer.MIN_VALUE, Long.MIN_VALUE, (short) -32768, 0, false, new BigDecimal("-0.01"),
                new BigDecimal("0.0001"), -2.5e-300, -3.4028235e38f, new BigDecimal("-92233720368.5477"), "", "x",
                "short", new byte[0], new byte[] {1}, "0001-01-01", Timestamp.valueOf("1753-01-01 00:00:00"),
                "9999-12-31 23:59:59.9999999", "00:00:00.0000000", "00000000-0000-0000-0000-000000000000"};
        }
        return new Object[COLUMNS.length]; // row 3: every column NULL
    }

    static void bind(PreparedStatement p, int index, Object v, int nullType) throws SQLException {
        if (v == null) p.setNull(index, nullType);
        else if (v instanceof Integer) p.setInt(index, (Integer) v);
        else if (v instanceof Long) p.setLong(index, (Long) v);
        else if (v instanceof Short) p.setShort(index, (Short) v);
        else if (v instanceof Boolean) p.setBoolean(index, (Boolean) v);
        else if (v instanceof BigDecimal) p.setBigDecimal(index, (BigDecimal) v);
        else if (v instanceof Double) p.setDouble(index, (Double) v);
        else if (v instanceof Float) p.setFloat(index, (Float) v);
        else if (v instanceof String) p.setString(index, (String) v);
        else if (v instanceof byte[]) p.setBytes(index, (byte[]) v);
        else if (v instanceof java.sql.Date) p.setDate(index, (java.sql.Date) v);
        else if (v instanceof Timestamp) p.setTimestamp(index, (Timestamp) v);
        else throw new IllegalArgumentException("no setter for " + v.getClass());
    }

    // What the column reads back as, with the getter an application would use for its type.
    static Object read(ResultSet rs, String column) throws SQLException {
        Object v;
        switch (column) {
            case "c_int": case "c_tinyint": v = rs.getInt(column); break;
            case "c_bigint": v = rs.getLong(column); break;
            case "c_smallint": v = rs.getShort(column); break;
            case "c_bit": v = rs.getBoolean(column); break;
            case "c_decimal": case "c_numeric": case "c_money": v = rs.getBigDecimal(column); break;
            case "c_float": v = rs.getDouble(column); break;
            case "c_real": v = rs.getFloat(column); break;
            case "c_varbinary": case "c_varbinary_max": v = rs.getBytes(column); break;
            case "c_datetime": v = rs.getTimestamp(column); break;
            default: v = rs.getString(column); // strings; DATE, DATETIME2, TIME as their text; GUID text
        }
        return rs.wasNull() ? null : v;
    }

    // What SQL Server gives back for what the row bound.
    static Object expected(String column, Object bound) {
        if (bound instanceof java.sql.Date) return bound.toString(); // DATE read as text: yyyy-mm-dd
        return bound;
    }

    public static void main(String[] args) throws Exception {
        port = args[0];
        user = args[1];
        password = args[2];
        database = args.length > 3 ? args[3] : "jtdsdb";
        Class.forName("net.sourceforge.jtds.jdbc.Driver");

        step("connect (jdbc:jtds:sqlserver://127.0.0.1:" + port + "/" + database + ")", () -> {
            main = connect();
            eq("connected to the database named in the URL", database, main.getCatalog());
        });

        // ssl=require: jTDS encrypts the whole connection (TLS inside PRELOGIN, then on the socket).
        step("connect with ssl=require", () -> {
            try (Connection tls = DriverManager.getConnection("jdbc:jtds:sqlserver://127.0.0.1:" + port + "/"
                    + database + ";ssl=require;loginTimeout=120;socketTimeout=300", user, password);
                 ResultSet r = tls.createStatement().executeQuery(
                     "SELECT encrypt_option FROM sys.dm_exec_connections WHERE session_id = @@SPID")) {
                r.next();
                eq("sys.dm_exec_connections shows the ssl=require connection encrypted", "TRUE", r.getString(1));
            }
        });

        step("CREATE TABLE of every common type", () -> {
            StringBuilder ddl = new StringBuilder("CREATE TABLE jt_types (id INT NOT NULL PRIMARY KEY");
            for (Object[] c : COLUMNS) ddl.append(", ").append(c[0]).append(' ').append(c[1]);
            execute(ddl.append(")").toString());
            check(true, "CREATE TABLE jt_types");
        });

        step("INSERT of every type through a PreparedStatement", () -> {
            StringBuilder names = new StringBuilder("id");
            StringBuilder marks = new StringBuilder("?");
            for (Object[] c : COLUMNS) {
                names.append(", ").append(c[0]);
                marks.append(", ?");
            }
            try (PreparedStatement p = conn().prepareStatement(
                    "INSERT INTO jt_types (" + names + ") VALUES (" + marks + ")")) {
                for (int id = 1; id <= 3; id++) {
                    p.setInt(1, id);
                    Object[] values = row(id);
                    for (int i = 0; i < COLUMNS.length; i++) bind(p, i + 2, values[i], (Integer) COLUMNS[i][2]);
                    eq("INSERT of row " + id + " (" + (id == 3 ? "NULLs" : "values") + ") update count", 1,
                        p.executeUpdate());
                }
            }
        });

        step("SELECT of every type through a PreparedStatement", () -> {
            try (PreparedStatement p = conn().prepareStatement("SELECT * FROM jt_types WHERE id = ?")) {
                for (int id = 1; id <= 3; id++) {
                    p.setInt(1, id);
                    try (ResultSet rs = p.executeQuery()) {
                        if (!rs.next()) {
                            check(false, "row " + id + " is there");
                            continue;
                        }
                        Object[] values = row(id);
                        for (int i = 0; i < COLUMNS.length; i++) {
                            String column = (String) COLUMNS[i][0];
                            String what = "row " + id + " " + column + " (" + COLUMNS[i][1] + ") round trip";
                            Object want = expected(column, values[i]);
                            step(what, () -> eq(what, want, read(rs, column)));
                        }
                        check(!rs.next(), "one row with id " + id);
                    }
                }
            }
            // The typed getters on the text SQL Server sends for DATE and DATETIME2 (jTDS parses it).
            try (Statement s = conn().createStatement();
                 ResultSet rs = s.executeQuery("SELECT c_date, c_datetime2 FROM jt_types WHERE id = 1")) {
                check(rs.next(), "row 1 again");
                eq("row 1 c_date through getDate", java.sql.Date.valueOf("2024-02-29"), rs.getDate(1));
                Timestamp t = rs.getTimestamp(2);
                eq("row 1 c_datetime2 through getTimestamp", Timestamp.valueOf("2024-02-29 13:14:15.1234567"), t);
                eq("row 1 c_datetime2 nanoseconds", 123456700, t == null ? null : t.getNanos());
            }
        });

        step("Statement and PreparedStatement batches", () -> {
            execute("CREATE TABLE jt_batch (id INT NOT NULL PRIMARY KEY, name NVARCHAR(20))");
            try (Statement s = conn().createStatement()) {
                s.addBatch("INSERT INTO jt_batch VALUES (1, N'one')");
                s.addBatch("INSERT INTO jt_batch VALUES (2, N'two')");
                s.addBatch("INSERT INTO jt_batch VALUES (3, N'three')");
                s.addBatch("UPDATE jt_batch SET name = name + N'!' WHERE id <= 3");
                eq("Statement.executeBatch update counts", "[1, 1, 1, 3]", Arrays.toString(s.executeBatch()));
            }
            try (PreparedStatement p = conn().prepareStatement("INSERT INTO jt_batch (id, name) VALUES (?, ?)")) {
                for (int id = 4; id <= 6; id++) {
                    p.setInt(1, id);
                    p.setString(2, "p" + id);
                    p.addBatch();
                }
                eq("PreparedStatement.executeBatch update counts", "[1, 1, 1]", Arrays.toString(p.executeBatch()));
            }
            List<String> rows = new ArrayList<>();
            try (Statement s = conn().createStatement();
                 ResultSet rs = s.executeQuery("SELECT id, name FROM jt_batch ORDER BY id")) {
                while (rs.next()) rows.add(rs.getInt(1) + "=" + rs.getString(2));
            }
            eq("rows after the batches", "[1=one!, 2=two!, 3=three!, 4=p4, 5=p5, 6=p6]", rows.toString());
        });

        step("CREATE TABLE jt_tx", () -> execute("CREATE TABLE jt_tx (id INT NOT NULL PRIMARY KEY, note NVARCHAR(20))"));

        step("commit and rollback with setAutoCommit(false)", () -> {
            try (Connection tx = connect()) {
                tx.setAutoCommit(false);
                try (Statement s = tx.createStatement()) {
                    eq("insert of the row to roll back", 1, s.executeUpdate("INSERT INTO jt_tx VALUES (1, N'rolled back')"));
                }
                step("rollback()", () -> {
                    tx.rollback();
                    eq("the rolled back row, seen inside the connection", 0,
                        scalarInt(tx, "SELECT COUNT(*) FROM jt_tx WHERE id = 1"));
                });
                try (PreparedStatement p = tx.prepareStatement("INSERT INTO jt_tx VALUES (?, ?)")) {
                    p.setInt(1, 2);
                    p.setString(2, "committed");
                    eq("insert of the row to commit", 1, p.executeUpdate());
                }
                step("commit()", tx::commit);
                step("setAutoCommit(true)", () -> tx.setAutoCommit(true));
            }
            eq("rows after rollback and commit (another connection)", List.of(2), ids(conn(), "SELECT id FROM jt_tx ORDER BY id"));
        });

        step("a savepoint rolled back", () -> {
            try (Connection tx = connect()) {
                tx.setAutoCommit(false);
                try (Statement s = tx.createStatement()) {
                    s.executeUpdate("INSERT INTO jt_tx VALUES (10, N'before')");
                    Savepoint sp = tx.setSavepoint("before_11");
                    s.executeUpdate("INSERT INTO jt_tx VALUES (11, N'undone')");
                    tx.rollback(sp);
                    eq("rows inside the transaction after rollback(savepoint)", List.of(10),
                        ids(tx, "SELECT id FROM jt_tx WHERE id >= 10 ORDER BY id"));
                    s.executeUpdate("INSERT INTO jt_tx VALUES (12, N'after')");
                }
                tx.commit();
                tx.setAutoCommit(true);
            }
            eq("rows after the savepoint's rollback and the commit (another connection)", List.of(10, 12),
                ids(conn(), "SELECT id FROM jt_tx WHERE id >= 10 ORDER BY id"));
        });

        step("exec msdb.dbo.rds_task_status (before any task)", () -> {
            try (Statement s = conn().createStatement()) {
                check(s.execute("exec msdb.dbo.rds_task_status"), "exec msdb.dbo.rds_task_status returns a result set");
                try (ResultSet rs = s.getResultSet()) {
                    eq("rds_task_status columns", Arrays.asList(TASK_COLUMNS), labels(rs));
                }
            }
        });

        String arn = "arn:aws:s3:::aws_example_bucket/" + database + ".bak";
        int[] taskId = {-1};
        step("{call msdb.dbo.rds_backup_database(?,?)}", () -> {
            try (CallableStatement cs = conn().prepareCall("{call msdb.dbo.rds_backup_database(?,?)}")) {
                cs.setString(1, database);
                cs.setString(2, arn);
                check(cs.execute(), "rds_backup_database returns a result set");
                try (ResultSet rs = cs.getResultSet()) {
                    check(rs.next(), "rds_backup_database returns the new task");
                    taskId[0] = rs.getInt("task_id");
                    eq("rds_backup_database task_type", "BACKUP_DB", rs.getString("task_type"));
                    eq("rds_backup_database database_name", database, rs.getString("database_name"));
                }
            }
        });

        step("the backup task, polled with {call msdb.dbo.rds_task_status(?,?)}", () -> {
            if (taskId[0] < 0) throw new IllegalStateException("not run: no task was started");
            Map<String, Object> last = null;
            long deadline = System.currentTimeMillis() + 300_000;
            try (CallableStatement cs = conn().prepareCall("{call msdb.dbo.rds_task_status(?,?)}")) {
                while (System.currentTimeMillis() < deadline) {
                    cs.setNull(1, Types.VARCHAR);
                    cs.setInt(2, taskId[0]);
                    check(cs.execute(), "rds_task_status(NULL, task_id) returns a result set");
                    List<Map<String, Object>> rows;
                    try (ResultSet rs = cs.getResultSet()) {
                        rows = rows(rs);
                    }
                    eq("rds_task_status(NULL, task_id) rows", 1, rows.size());
                    if (rows.size() != 1) return;
                    last = rows.get(0);
                    String lifecycle = (String) last.get("lifecycle");
                    if ("SUCCESS".equals(lifecycle) || "ERROR".equals(lifecycle) || "CANCELLED".equals(lifecycle)) break;
                    Thread.sleep(200);
                }
            }
            eq("backup lifecycle (task_info " + show(last == null ? null : last.get("task_info")) + ")", "SUCCESS",
                last == null ? null : last.get("lifecycle"));
            eq("backup % complete", 100, last == null ? null : last.get("% complete"));
            eq("backup S3_object_arn", arn, last == null ? null : last.get("S3_object_arn"));
        });

        step("exec msdb.dbo.rds_task_status (after the backup)", () -> {
            try (Statement s = conn().createStatement()) {
                check(s.execute("exec msdb.dbo.rds_task_status"), "exec msdb.dbo.rds_task_status returns a result set");
                List<Map<String, Object>> rows;
                try (ResultSet rs = s.getResultSet()) {
                    rows = rows(rs);
                }
                Map<String, Object> ours = null;
                for (Map<String, Object> r : rows) if (Objects.equals(r.get("task_id"), taskId[0])) ours = r;
                check(ours != null, "rds_task_status lists task " + taskId[0] + " (" + rows.size() + " rows)");
                eq("its lifecycle", "SUCCESS", ours == null ? null : ours.get("lifecycle"));
                eq("its database_name", database, ours == null ? null : ours.get("database_name"));
            }
        });

        step("DatabaseMetaData.getTables", () -> {
            DatabaseMetaData md = conn().getMetaData();
            try (ResultSet rs = md.getTables(database, "dbo", "jt_types", new String[] {"TABLE"})) {
                List<String> rows = new ArrayList<>();
                while (rs.next()) {
                    rows.add(rs.getString("TABLE_CAT") + "." + rs.getString("TABLE_SCHEM") + "."
                        + rs.getString("TABLE_NAME") + " " + rs.getString("TABLE_TYPE"));
                }
                eq("getTables(db, dbo, jt_types, {TABLE})", List.of(database + ".dbo.jt_types TABLE"), rows);
            }
            try (ResultSet rs = md.getTables(null, null, "jt%", new String[] {"TABLE"})) {
                List<String> names = new ArrayList<>();
                while (rs.next()) names.add(rs.getString("TABLE_NAME"));
                eq("getTables(null, null, jt%, {TABLE})", List.of("jt_batch", "jt_tx", "jt_types"), names);
            }
        });

        step("DatabaseMetaData.getColumns", () -> {
            Map<String, Map<String, Object>> byName = new LinkedHashMap<>();
            List<String> order = new ArrayList<>();
            List<Integer> positions = new ArrayList<>();
            try (ResultSet rs = conn().getMetaData().getColumns(database, "dbo", "jt_types", "%")) {
                while (rs.next()) {
                    Map<String, Object> c = new LinkedHashMap<>();
                    for (String k : new String[] {"DATA_TYPE", "TYPE_NAME", "COLUMN_SIZE", "DECIMAL_DIGITS", "NULLABLE",
                            "IS_NULLABLE"}) {
                        Object v = rs.getObject(k);
                        c.put(k, v instanceof Number && !(v instanceof BigDecimal) ? ((Number) v).intValue() : v);
                    }
                    String name = rs.getString("COLUMN_NAME");
                    byName.put(name, c);
                    order.add(name);
                    positions.add(rs.getInt("ORDINAL_POSITION"));
                    eq("getColumns TABLE_NAME of " + name, "jt_types", rs.getString("TABLE_NAME"));
                }
            }
            List<String> expectedOrder = new ArrayList<>(List.of("id"));
            List<Integer> expectedPositions = new ArrayList<>(List.of(1));
            for (Object[] c : COLUMNS) {
                expectedOrder.add((String) c[0]);
                expectedPositions.add(expectedPositions.size() + 1);
            }
            eq("getColumns column names in order", expectedOrder, order);
            eq("getColumns ORDINAL_POSITION", expectedPositions, positions);
            // column, TYPE_NAME, DATA_TYPE (java.sql.Types after jTDS's normalisation), COLUMN_SIZE, DECIMAL_DIGITS
            Object[][] expected = {
                {"id", "int", Types.INTEGER, 10, 0}, {"c_int", "int", Types.INTEGER, 10, 0},
                {"c_bigint", "bigint", Types.BIGINT, 19, 0}, {"c_smallint", "smallint", Types.SMALLINT, 5, 0},
                {"c_tinyint", "tinyint", Types.TINYINT, 3, 0}, {"c_bit", "bit", Types.BIT, 1, null},
                {"c_decimal", "decimal", Types.DECIMAL, 10, 2}, {"c_numeric", "numeric", Types.NUMERIC, 18, 4},
                {"c_float", "float", Types.DOUBLE, 15, null}, {"c_real", "real", Types.REAL, 7, null},
                {"c_money", "money", Types.DECIMAL, 19, 4}, {"c_nvarchar", "nvarchar", Types.VARCHAR, 50, null},
                {"c_varchar", "varchar", Types.VARCHAR, 50, null},
                {"c_varbinary", "varbinary", Types.VARBINARY, 100, null},
                {"c_date", "date", null, null, null}, {"c_datetime", "datetime", Types.TIMESTAMP, 23, null},
                {"c_datetime2", "datetime2", null, null, null}, {"c_time", "time", null, null, null},
                {"c_guid", "uniqueidentifier", Types.CHAR, 36, null},
            };
            for (Object[] e : expected) {
                Map<String, Object> c = byName.get(e[0]);
                if (c == null) {
                    check(false, "getColumns has a row for " + e[0]);
                    continue;
                }
                eq("getColumns TYPE_NAME of " + e[0], e[1], c.get("TYPE_NAME"));
                if (e[2] != null) eq("getColumns DATA_TYPE of " + e[0], e[2], c.get("DATA_TYPE"));
                if (e[3] != null) eq("getColumns COLUMN_SIZE of " + e[0], e[3], c.get("COLUMN_SIZE"));
                if (e[4] != null) eq("getColumns DECIMAL_DIGITS of " + e[0], e[4], c.get("DECIMAL_DIGITS"));
            }
            for (String name : order) {
                boolean key = name.equals("id");
                Map<String, Object> c = byName.get(name);
                eq("getColumns NULLABLE of " + name, key ? DatabaseMetaData.columnNoNulls : DatabaseMetaData.columnNullable,
                    c.get("NULLABLE"));
                eq("getColumns IS_NULLABLE of " + name, key ? "NO" : "YES", c.get("IS_NULLABLE"));
            }
        });

        step("close", () -> {
            if (main != null) main.close();
        });
        System.out.println("END");
    }

    static List<String> labels(ResultSet rs) throws SQLException {
        ResultSetMetaData md = rs.getMetaData();
        List<String> out = new ArrayList<>();
        for (int i = 1; i <= md.getColumnCount(); i++) out.add(md.getColumnLabel(i));
        return out;
    }

    static List<Map<String, Object>> rows(ResultSet rs) throws SQLException {
        List<String> names = labels(rs);
        List<Map<String, Object>> out = new ArrayList<>();
        while (rs.next()) {
            Map<String, Object> r = new LinkedHashMap<>();
            for (int i = 0; i < names.size(); i++) r.put(names.get(i), rs.getObject(i + 1));
            out.add(r);
        }
        return out;
    }
}
