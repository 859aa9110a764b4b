// INSERT BULK and the bulk load after it, through sql::Session (sql/bulk_insert.cc), with the rows given as
// the TDS server's decoder gives them.
#include <gtest/gtest.h>

#include <stdexcept>

#include "common/clock.h"
#include "session_fixture.h"
#include "sql/parser.h"
#include "sql/session.h"

namespace bakrest::sql {
namespace {

using testing::CollectingSink;

// Rows as a bulk load message carries them; throws like a malformed message at row `broken_at` (1-based).
class Rows : public BulkRows {
 public:
  Rows(std::vector<Column> columns, std::vector<std::vector<Value>> rows, size_t broken_at = 0)
      : columns_(std::move(columns)), rows_(std::move(rows)), broken_at_(broken_at) {}
  const std::vector<Column>& columns() const override { return columns_; }
  bool next(std::vector<Value>& row) override {
    if (broken_at_ != 0 && next_ + 1 == broken_at_) throw std::runtime_error("malformed row");
    if (next_ == rows_.size()) return false;
    row = rows_[next_++];
    return true;
  }

 private:
  std::vector<Column> columns_;
  std::vector<std::vector<Value>> rows_;
  size_t broken_at_;
  size_t next_ = 0;
};

Column col(std::string name, ColumnType type, uint32_t max_length = 0) {
  return Column{std::move(name), type, max_length};
}

class BulkInsertTest : public SessionFixture {
 protected:
  BulkInsertTest() { run("CREATE DATABASE shop; USE shop"); }

  void ok(const std::string& sql) {
    auto sink = run(sql);
    ASSERT_TRUE(sink.errors().empty()) << sql << ": " << sink.errors()[0].text;
  }
  CollectingSink load(Rows rows) {
    CollectingSink sink;
    session.bulk_load(rows, sink);
    return sink;
  }
  std::vector<std::vector<Value>> select(const std::string& sql) {
    auto sink = run(sql);
    EXPECT_TRUE(sink.errors().empty()) << (sink.errors().empty() ? "" : sink.errors()[0].text);
    return sink.results.empty() ? std::vector<std::vector<Value>>{} : sink.results.back().rows;
  }
  int64_t count(const std::string& table) {
    return std::get<int64_t>(select("SELECT COUNT(*) FROM " + table)[0][0]);
  }
};

// The columns tedious describes for node mssql's test table, and two rows of it.
const std::vector<Column> kClientColumns = {
    col("id", ColumnType::kInt),         col("name", ColumnType::kNVarChar, 50),
    col("amount", ColumnType::kDecimal), col("at", ColumnType::kDateTime),
    col("flag", ColumnType::kBit),       col("data", ColumnType::kVarBinary, 16)};
const char* kInsertBulk =
    "insert bulk [bulk_t]([id] int, [name] nvarchar(50), [amount] decimal(10,2), [at] datetime, [flag] bit, "
    "[data] varbinary(16))";

TEST_F(BulkInsertTest, InsertBulkThenLoadInsertsConvertedRows) {
  ok("CREATE TABLE bulk_t (id INT NOT NULL PRIMARY KEY, name NVARCHAR(50) NULL, amount DECIMAL(10,2) NULL, "
     "at DATETIME NULL, flag BIT NULL, data VARBINARY(16) NULL)");
  auto announced = run(kInsertBulk);
  ASSERT_TRUE(announced.errors().empty()) << announced.errors()[0].text;
  EXPECT_EQ(announced.dones, std::vector<std::optional<uint64_t>>{std::nullopt});
  auto sink = load(Rows(
      kClientColumns,
      {{int64_t{1}, std::string("row 1 ✓"), 12.346, DateTime{1704067200000000 + 10000}, true, Bytes{1, 2, 3}},
       {int64_t{2}, Value(), Value(), Value(), false, Value()},
       {int64_t{3}, std::string("x"), std::string("-9876543.21"), DateTime{0}, Value(), Bytes{}}}));
  ASSERT_TRUE(sink.errors().empty()) << sink.errors()[0].text;
  EXPECT_EQ(sink.dones, std::vector<std::optional<uint64_t>>{3});
  auto rows = select("SELECT id, name, amount, at, flag, data FROM bulk_t ORDER BY id");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(std::get<std::string>(rows[0][1]), "row 1 ✓");
  EXPECT_EQ(std::get<double>(rows[0][2]), 12.35);  // rounded to the column's scale
  EXPECT_EQ(std::get<DateTime>(rows[0][3]).unix_micros, 1704067200000000 + 10000);
  EXPECT_EQ(std::get<bool>(rows[0][4]), true);
  EXPECT_EQ(std::get<Bytes>(rows[0][5]), (Bytes{1, 2, 3}));
  for (size_t c : {1, 2, 3, 5}) EXPECT_TRUE(is_null(rows[1][c])) << c;
  EXPECT_EQ(std::get<bool>(rows[1][4]), false);
  EXPECT_EQ(std::get<double>(rows[2][2]), -9876543.21);
  EXPECT_EQ(std::get<Bytes>(rows[2][5]), Bytes{});
}

TEST_F(BulkInsertTest, ABulkLoadNeedsAnInsertBulkAndUsesItUp) {
  ok("CREATE TABLE t (id INT)");
  auto none = load(Rows({col("id", ColumnType::kInt)}, {{int64_t{1}}}));
  ASSERT_EQ(none.errors().size(), 1u);
  EXPECT_NE(none.errors()[0].text.find("must follow an INSERT BULK"), std::string::npos);
  ok("INSERT BULK t (id INT)");
  EXPECT_TRUE(load(Rows({col("id", ColumnType::kInt)}, {{int64_t{1}}})).errors().empty());
  EXPECT_EQ(load(Rows({col("id", ColumnType::kInt)}, {{int64_t{2}}})).errors().size(), 1u);
  EXPECT_EQ(count("t"), 1);
}

TEST_F(BulkInsertTest, ALoadOfNoRows) {
  ok("CREATE TABLE t (id INT)");
  ok("INSERT BULK t (id INT)");
  auto sink = load(Rows({}, {}));
  ASSERT_TRUE(sink.errors().empty()) << sink.errors()[0].text;
  EXPECT_EQ(sink.dones, std::vector<std::optional<uint64_t>>{0});
}

TEST_F(BulkInsertTest, InsertBulkChecksTheTableAndColumns) {
  ok("CREATE TABLE t (id INT, s NVARCHAR(10), total AS (id * 2))");
  EXPECT_EQ(run("INSERT BULK missing (id INT)").errors().at(0).number, 208);
  EXPECT_EQ(run("INSERT BULK other.t (id INT)").errors().at(0).number, 208);
  EXPECT_EQ(run("INSERT BULK t (id INT, nope INT)").errors().at(0).number, 207);
  EXPECT_EQ(run("INSERT BULK t (id INT, ID INT)").errors().at(0).number, 264);
  EXPECT_EQ(run("INSERT BULK t (total INT)").errors().at(0).number, 271);
  EXPECT_EQ(run("INSERT BULK t (id INT) WITH (FASTER)").errors().at(0).number, 40517);
  EXPECT_EQ(run("INSERT BULK t (id INT) WITH (").errors().at(0).number, 102);
  // Names are matched without regard to case, in any order, and the table may be named in full.
  ok("INSERT BULK [dbo].[T] ([S] nvarchar(10), [Id] int)");
  ok("INSERT BULK shop.dbo.t (s nvarchar(10))");
  ok("INSERT BULK shop..t (s nvarchar(10))");
}

TEST_F(BulkInsertTest, ColumnsMapByPositionAndTheCountMustMatch) {
  ok("CREATE TABLE t (a INT, b NVARCHAR(10), c INT DEFAULT 5)");
  ok("INSERT BULK t (b NVARCHAR(10), a INT)");
  auto sink = load(Rows({col("x", ColumnType::kNVarChar, 10), col("y", ColumnType::kInt)},
                        {{std::string("one"), int64_t{1}}}));
  ASSERT_TRUE(sink.errors().empty()) << sink.errors()[0].text;
  auto rows = select("SELECT a, b, c FROM t");
  EXPECT_EQ(rows, (std::vector<std::vector<Value>>{{int64_t{1}, std::string("one"), int64_t{5}}}));
  ok("INSERT BULK t (b NVARCHAR(10), a INT)");
  auto wrong = load(Rows({col("y", ColumnType::kInt)}, {{int64_t{2}}}));
  ASSERT_EQ(wrong.errors().size(), 1u);
  EXPECT_NE(wrong.errors()[0].text.find("describes 1 columns, but its INSERT BULK statement lists 2"),
            std::string::npos);
  EXPECT_EQ(count("t"), 1);
}

TEST_F(BulkInsertTest, AValueThatDoesNotConvertInsertsNothing) {
  ok("CREATE TABLE t (id INT, small TINYINT, s NVARCHAR(5), d DATE)");
  std::vector<Column> columns = {col("id", ColumnType::kInt), col("small", ColumnType::kInt),
                                 col("s", ColumnType::kNVarChar, 10), col("d", ColumnType::kNVarChar, 10)};
  auto attempt = [&](std::vector<Value> bad) {
    ok("INSERT BULK t (id INT, small TINYINT, s NVARCHAR(5), d DATE)");
    return load(Rows(
        columns, {{int64_t{1}, int64_t{1}, std::string("ok"), std::string("2024-01-02")}, std::move(bad)}));
  };
  auto mismatch = attempt({int64_t{2}, int64_t{1}, std::string("ok"), std::string("not a date")});
  ASSERT_EQ(mismatch.errors().size(), 1u);
  EXPECT_EQ(mismatch.errors()[0].number, 4864);
  EXPECT_NE(mismatch.errors()[0].text.find("for row 2, column 4 (d)"), std::string::npos)
      << mismatch.errors()[0].text;
  auto overflow = attempt({int64_t{2}, int64_t{300}, std::string("ok"), Value()});
  ASSERT_EQ(overflow.errors().size(), 1u);
  EXPECT_EQ(overflow.errors()[0].number, 4867);
  auto too_long = attempt({int64_t{2}, int64_t{1}, std::string("abcdef"), Value()});
  ASSERT_EQ(too_long.errors().size(), 1u);
  EXPECT_EQ(too_long.errors()[0].number, 4815);
  EXPECT_NE(too_long.errors()[0].text.find("colid 3"), std::string::npos);
  EXPECT_EQ(count("t"), 0);
  EXPECT_EQ(std::get<int64_t>(select("SELECT @@TRANCOUNT")[0][0]), 0);
  // Five characters fit NVARCHAR(5), whatever their UTF-8 length.
  auto fits = attempt({int64_t{2}, int64_t{1}, std::string("ééééé"), Value()});
  EXPECT_TRUE(fits.errors().empty()) << fits.errors()[0].text;
  EXPECT_EQ(count("t"), 2);
}

TEST_F(BulkInsertTest, ConstraintViolationsInsertNothing) {
  ok("CREATE TABLE t (id INT NOT NULL PRIMARY KEY, n INT CHECK (n > 0))");
  std::vector<Column> columns = {col("id", ColumnType::kInt), col("n", ColumnType::kInt)};
  ok("INSERT BULK t (id INT, n INT)");
  auto duplicate = load(Rows(columns, {{int64_t{1}, int64_t{1}}, {int64_t{1}, int64_t{2}}}));
  EXPECT_EQ(duplicate.errors().at(0).number, 2627);
  EXPECT_NE(duplicate.errors()[0].text.find("Row 2 of the bulk load"), std::string::npos);
  ok("INSERT BULK t (id INT, n INT) WITH (CHECK_CONSTRAINTS)");
  EXPECT_EQ(load(Rows(columns, {{int64_t{1}, int64_t{0}}})).errors().at(0).number, 547);
  ok("INSERT BULK t (id INT, n INT)");  // without CHECK_CONSTRAINTS SQLite checks all the same
  EXPECT_EQ(load(Rows(columns, {{int64_t{1}, int64_t{0}}})).errors().at(0).number, 547);
  ok("INSERT BULK t (id INT, n INT)");
  EXPECT_EQ(load(Rows(columns, {{Value(), int64_t{1}}})).errors().at(0).number, 515);
  EXPECT_EQ(count("t"), 0);
}

TEST_F(BulkInsertTest, MalformedDataUndoesTheLoadAndPassesTheErrorOn) {
  ok("CREATE TABLE t (id INT)");
  ok("INSERT BULK t (id INT)");
  Rows rows({col("id", ColumnType::kInt)}, {{int64_t{1}}, {int64_t{2}}, {int64_t{3}}}, 3);
  CollectingSink sink;
  EXPECT_THROW(session.bulk_load(rows, sink), std::runtime_error);
  EXPECT_EQ(count("t"), 0);
  EXPECT_EQ(std::get<int64_t>(select("SELECT @@TRANCOUNT")[0][0]), 0);
}

// Rows that note when the session discards the rest of them, and what it had reported by then.
class WatchedRows : public Rows {
 public:
  WatchedRows(const CollectingSink& sink, std::vector<Column> columns, std::vector<std::vector<Value>> rows)
      : Rows(std::move(columns), std::move(rows)), sink_(sink) {}
  void discard_rest() override {
    ++discards;
    messages_then = sink_.messages.size();
  }
  int discards = 0;
  size_t messages_then = 0;

 private:
  const CollectingSink& sink_;
};

// The client may still be sending rows when a load fails: the session has the rest read and dropped before it
// reports the error, so that the reply answers the whole load.
TEST_F(BulkInsertTest, AFailedLoadDiscardsTheRestBeforeReporting) {
  ok("CREATE TABLE t (id INT NOT NULL PRIMARY KEY)");
  std::vector<Column> columns = {col("id", ColumnType::kInt)};
  ok("INSERT BULK t (id INT)");
  CollectingSink duplicate;
  WatchedRows twice(duplicate, columns, {{int64_t{1}}, {int64_t{1}}, {int64_t{2}}});
  session.bulk_load(twice, duplicate);
  EXPECT_EQ(duplicate.errors().at(0).number, 2627);
  EXPECT_EQ(twice.discards, 1);
  EXPECT_EQ(twice.messages_then, 0u);
  CollectingSink orphan;  // no INSERT BULK pending
  WatchedRows alone(orphan, columns, {{int64_t{1}}});
  session.bulk_load(alone, orphan);
  EXPECT_EQ(orphan.errors().at(0).number, 50000);
  EXPECT_EQ(alone.discards, 1);
  EXPECT_EQ(alone.messages_then, 0u);
  ok("INSERT BULK t (id INT)");
  CollectingSink fine;
  WatchedRows good(fine, columns, {{int64_t{1}}});
  session.bulk_load(good, fine);
  EXPECT_TRUE(fine.errors().empty());
  EXPECT_EQ(good.discards, 0);  // a load read to its end has nothing left to discard
}

TEST_F(BulkInsertTest, KeepNullsOrDefaults) {
  ok("CREATE TABLE t (id INT, c INT DEFAULT 7, s NVARCHAR(10) DEFAULT N'dflt', u INT DEFAULT 9)");
  std::vector<Column> columns = {col("id", ColumnType::kInt), col("c", ColumnType::kInt),
                                 col("s", ColumnType::kNVarChar, 10)};
  ok("INSERT BULK t (id INT, c INT, s NVARCHAR(10))");
  ASSERT_TRUE(
      load(Rows(columns, {{int64_t{1}, Value(), Value()}, {int64_t{2}, int64_t{3}, std::string("x")}}))
          .errors()
          .empty());
  ok("INSERT BULK t (id INT, c INT, s NVARCHAR(10)) WITH (KEEP_NULLS)");
  ASSERT_TRUE(load(Rows(columns, {{int64_t{3}, Value(), Value()}})).errors().empty());
  auto rows = select("SELECT id, c, s, u FROM t ORDER BY id");
  EXPECT_EQ(rows, (std::vector<std::vector<Value>>{{int64_t{1}, int64_t{7}, std::string("dflt"), int64_t{9}},
                                                   {int64_t{2}, int64_t{3}, std::string("x"), int64_t{9}},
                                                   {int64_t{3}, Value(), Value(), int64_t{9}}}));
}

TEST_F(BulkInsertTest, InsideATransactionTheLoadIsPartOfIt) {
  ok("CREATE TABLE t (id INT PRIMARY KEY)");
  std::vector<Column> columns = {col("id", ColumnType::kInt)};
  ok("BEGIN TRAN; INSERT INTO t VALUES (100); INSERT BULK t (id INT)");
  ASSERT_TRUE(load(Rows(columns, {{int64_t{1}}, {int64_t{2}}})).errors().empty());
  EXPECT_EQ(std::get<int64_t>(select("SELECT @@TRANCOUNT")[0][0]), 1);
  ok("INSERT BULK t (id INT)");
  EXPECT_EQ(load(Rows(columns, {{int64_t{3}}, {int64_t{1}}})).errors().size(), 1u);  // duplicate key
  // The failed load is undone, the transaction and what it did before stay.
  EXPECT_EQ(std::get<int64_t>(select("SELECT @@TRANCOUNT")[0][0]), 1);
  EXPECT_EQ(count("t"), 3);
  ok("ROLLBACK");
  EXPECT_EQ(count("t"), 0);
}

TEST_F(BulkInsertTest, IntoAnotherDatabaseByAThreePartName) {
  ok("CREATE DATABASE other; USE other; CREATE TABLE t (id INT); USE shop");
  ok("INSERT BULK [other].[dbo].[t] ([id] int)");
  ASSERT_TRUE(load(Rows({col("id", ColumnType::kInt)}, {{int64_t{5}}})).errors().empty());
  EXPECT_EQ(std::get<int64_t>(select("SELECT id FROM other.dbo.t")[0][0]), 5);
}

TEST_F(BulkInsertTest, IntoATemporaryTable) {
  ok("CREATE TABLE #staging (id INT, s NVARCHAR(10))");
  ok("INSERT BULK #staging (id INT, s NVARCHAR(10))");
  auto sink = load(Rows({col("id", ColumnType::kInt), col("s", ColumnType::kNVarChar, 10)},
                        {{int64_t{1}, std::string("a")}, {int64_t{2}, Value()}}));
  ASSERT_TRUE(sink.errors().empty()) << sink.errors()[0].text;
  EXPECT_EQ(count("#staging"), 2);
  ok("INSERT BULK tempdb..#staging (id INT)");
  EXPECT_TRUE(load(Rows({col("id", ColumnType::kInt)}, {{int64_t{3}}})).errors().empty());
  EXPECT_EQ(count("#staging"), 3);
}

TEST_F(BulkInsertTest, ATransactionThatHasOnlyReadLoadsAfterAnotherSessionWrote) {
  ok("CREATE TABLE t (id INT)");
  ok("BEGIN TRAN; SELECT COUNT(*) FROM t");
  Session other{env, "admin", 52, "shop"};
  CollectingSink wrote;
  other.run_batch("INSERT INTO t VALUES (1)", wrote);
  ASSERT_TRUE(wrote.errors().empty()) << wrote.errors()[0].text;
  ok("INSERT BULK t (id INT)");
  auto sink = load(Rows({col("id", ColumnType::kInt)}, {{int64_t{2}}}));
  ASSERT_TRUE(sink.errors().empty()) << sink.errors()[0].text;
  EXPECT_EQ(std::get<int64_t>(select("SELECT @@TRANCOUNT")[0][0]), 1);
  ok("COMMIT");
  EXPECT_EQ(count("t"), 2);
}

TEST_F(BulkInsertTest, ConversionsBetweenTypeFamilies) {
  ok("CREATE TABLE t (i INT, f FLOAT, dt2 DATETIME2(3), dt DATETIME, c CHAR(4), b BINARY(3), g "
     "UNIQUEIDENTIFIER, "
     "m NVARCHAR(MAX))");
  std::vector<Column> columns = {col("i", ColumnType::kDecimal),          col("f", ColumnType::kMoney),
                                 col("dt2", ColumnType::kDateTimeOffset), col("dt", ColumnType::kTime),
                                 col("c", ColumnType::kNVarChar, 4),      col("b", ColumnType::kVarBinary, 3),
                                 col("g", ColumnType::kUniqueIdentifier), col("m", ColumnType::kNVarCharMax)};
  ok("INSERT BULK t (i INT, f FLOAT, dt2 DATETIME2(3), dt DATETIME, c CHAR(4), b BINARY(3), g "
     "UNIQUEIDENTIFIER, "
     "m NVARCHAR(MAX))");
  std::string long_text(20000, 'z');
  auto sink = load(Rows(columns, {{std::string("12345678901234567890.5"), std::string("922337203685477.5807"),
                                   std::string("2024-05-06 07:08:09.1234567 +02:00"),
                                   std::string("10:11:12.0000000"), std::string("ab"), Bytes{7},
                                   std::string("33221100-5544-7766-8899-aabbccddeeff"), long_text}}));
  // A DECIMAL beyond BIGINT into INT overflows; the rest converts.
  ASSERT_EQ(sink.errors().size(), 1u);
  EXPECT_EQ(sink.errors()[0].number, 4867);
  ok("INSERT BULK t (i INT, f FLOAT, dt2 DATETIME2(3), dt DATETIME, c CHAR(4), b BINARY(3), g "
     "UNIQUEIDENTIFIER, "
     "m NVARCHAR(MAX))");
  sink = load(Rows(columns, {{std::string("123.0000000000000000001"), std::string("922337203685477.5807"),
                              std::string("2024-05-06 07:08:09.1234567 +02:00"),
                              std::string("10:11:12.0000000"), std::string("ab"), Bytes{7},
                              std::string("33221100-5544-7766-8899-aabbccddeeff"), long_text}}));
  ASSERT_TRUE(sink.errors().empty()) << sink.errors()[0].text;
  auto rows = select("SELECT i, f, dt2, dt, c, b, g, LEN(m) FROM t");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(std::get<int64_t>(rows[0][0]), 123);
  EXPECT_DOUBLE_EQ(std::get<double>(rows[0][1]), 922337203685477.5807);
  // DATETIMEOFFSET to DATETIME2 keeps the local time, to the scale; TIME to DATETIME is on 1900-01-01.
  EXPECT_EQ(std::get<std::string>(rows[0][2]), "2024-05-06 07:08:09.1230000");
  EXPECT_EQ(std::get<DateTime>(rows[0][3]).unix_micros, *parse_datetime("1900-01-01 10:11:12"));
  EXPECT_EQ(std::get<std::string>(rows[0][4]), "ab  ");      // CHAR pads
  EXPECT_EQ(std::get<Bytes>(rows[0][5]), (Bytes{7, 0, 0}));  // BINARY pads
  EXPECT_EQ(std::get<std::string>(rows[0][6]), "33221100-5544-7766-8899-AABBCCDDEEFF");
  EXPECT_EQ(std::get<int64_t>(rows[0][7]), 20000);
}

TEST_F(BulkInsertTest, AttentionCancelsTheLoad) {
  ok("CREATE TABLE t (id INT)");
  ok("INSERT BULK t (id INT)");
  std::vector<std::vector<Value>> many;
  for (int64_t i = 0; i < 5000; ++i) many.push_back({i});
  Rows rows({col("id", ColumnType::kInt)}, many);
  CollectingSink sink;
  sink.cancel = true;
  session.bulk_load(rows, sink);
  EXPECT_TRUE(sink.dones.empty());
  EXPECT_EQ(count("t"), 0);
}

TEST(InsertBulkParseTest, TheStatementAndItsOptions) {
  auto statements = parse_batch(
      "insert bulk [db].[dbo].[t]([c1] int, [c2] nvarchar(50) COLLATE Latin1_General_CI_AS NOT NULL, [c3] "
      "decimal(10, 2) NULL, [c4] varchar(max)) with (CHECK_CONSTRAINTS,FIRE_TRIGGERS, KEEP_NULLS, TABLOCK, "
      "ROWS_PER_BATCH = 1000, KILOBYTES_PER_BATCH=64, ORDER (c1 ASC, c2 DESC))\nselect 1");
  ASSERT_EQ(statements.size(), 2u);
  const auto* bulk = std::get_if<InsertBulkStatement>(&statements[0]);
  ASSERT_NE(bulk, nullptr);
  EXPECT_EQ(bulk->table, (std::vector<std::string>{"db", "dbo", "t"}));
  ASSERT_EQ(bulk->columns.size(), 4u);
  EXPECT_EQ(bulk->columns[0].name, "c1");
  EXPECT_EQ(bulk->columns[0].type, "INT");
  EXPECT_EQ(bulk->columns[1].type, "NVARCHAR(50)");
  EXPECT_EQ(bulk->columns[2].type, "DECIMAL(10,2)");
  EXPECT_EQ(bulk->columns[3].type, "VARCHAR(MAX)");
  EXPECT_TRUE(bulk->check_constraints && bulk->fire_triggers && bulk->keep_nulls && bulk->tablock);
  EXPECT_EQ(bulk->rows_per_batch, 1000);
  EXPECT_EQ(bulk->kilobytes_per_batch, 64);
  EXPECT_EQ(bulk->order, (std::vector<std::pair<std::string, bool>>{{"c1", false}, {"c2", true}}));
  EXPECT_TRUE(std::holds_alternative<SqlStatement>(statements[1]));
  // INSERT into a table named bulk is an INSERT.
  EXPECT_TRUE(std::holds_alternative<SqlStatement>(parse_batch("INSERT bulk VALUES (1)")[0]));
  EXPECT_TRUE(std::holds_alternative<SqlStatement>(parse_batch("INSERT bulk (a) VALUES (1)")[0]));
  EXPECT_TRUE(std::holds_alternative<InsertBulkStatement>(parse_batch("insert bulk t (a int)")[0]));
  EXPECT_THROW(parse_batch("insert bulk t"), SqlError);
  EXPECT_THROW(parse_batch("insert bulk t (a)"), SqlError);
  EXPECT_THROW(parse_batch("insert bulk t (a int) with (ORDER (a)"), SqlError);
  EXPECT_THROW(parse_batch("insert bulk a.b.c.d (a int)"), SqlError);
}

}  // namespace
}  // namespace bakrest::sql
