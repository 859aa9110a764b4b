#include "catalog/procedures.h"

#include <algorithm>
#include <map>
#include <optional>

#include "catalog/schema_model.h"
#include "common/error.h"
#include "common/text.h"

namespace bakrest::catalog {
namespace {

const std::vector<std::string> kProcedures = {"sp_tables",
                                              "sp_columns",
                                              "sp_pkeys",
                                              "sp_fkeys",
                                              "sp_statistics",
                                              "sp_special_columns",
                                              "sp_stored_procedures",
                                              "sp_datatype_info",
                                              "sp_datatype_info_100"};

// "[db]..sp_tables" -> "sp_tables"; the database part, if any, must be the current one (checked by the
// caller).
std::string last_part(const std::string& written) {
  std::string name = written;
  size_t dot = name.rfind('.');
  if (dot != std::string::npos) name = name.substr(dot + 1);
  if (name.size() >= 2 && name.front() == '[' && name.back() == ']') name = name.substr(1, name.size() - 2);
  return ascii_lower(name);
}

// The call's arguments by the procedure's parameter names: named ones by name, positional ones in order.
std::map<std::string, Value> bind(const ProcCall& call, const std::vector<std::string>& parameters) {
  std::map<std::string, Value> out;
  size_t position = 0;
  for (const auto& arg : call.args) {
    std::string name;
    if (arg.name.empty()) {
      if (position >= parameters.size()) {
        throw SqlError(
            8144, 16, "Procedure or function " + last_part(call.name) + " has too many arguments specified.");
      }
      name = parameters[position++];
    } else {
      name = ascii_lower(arg.name);
      if (std::find(parameters.begin(), parameters.end(), name) == parameters.end()) {
        throw SqlError(8145, 16,
                       arg.name + " is not a parameter for procedure " + last_part(call.name) + ".");
      }
    }
    out[name] = arg.value;
  }
  return out;
}

std::optional<std::string> text(const std::map<std::string, Value>& args, const std::string& name) {
  auto it = args.find(name);
  if (it == args.end() || is_null(it->second)) return std::nullopt;
  if (auto* s = std::get_if<std::string>(&it->second)) return *s;
  if (auto* i = std::get_if<int64_t>(&it->second)) return std::to_string(*i);
  return std::nullopt;
}

std::optional<int64_t> number(const std::map<std::string, Value>& args, const std::string& name) {
  auto it = args.find(name);
  if (it == args.end() || is_null(it->second)) return std::nullopt;
  if (auto* i = std::get_if<int64_t>(&it->second)) return *i;
  if (auto* s = std::get_if<std::string>(&it->second)) {
    try {
      return std::stoll(*s);
    } catch (const std::exception&) {
    }
  }
  return std::nullopt;
}

// LIKE as SQL Server matches catalog names: % and _ wildcards, [abc] sets, without regard to case.
bool like(std::string_view pattern, std::string_view text) {
  if (pattern.empty()) return text.empty();
  char p = pattern.front();
  if (p == '%') {
    for (size_t i = 0; i <= text.size(); ++i) {
      if (like(pattern.substr(1), text.substr(i))) return true;
    }
    return false;
  }
  if (text.empty()) return false;
  if (p == '[') {
    size_t close = pattern.find(']', 1);
    if (close != std::string_view::npos) {
      std::string_view set = pattern.substr(1, close - 1);
      bool negate = !set.empty() && set.front() == '^';
      if (negate) set.remove_prefix(1);
      bool in = set.find(static_cast<char>(std::tolower(static_cast<unsigned char>(text.front())))) !=
                    std::string_view::npos ||
                set.find(static_cast<char>(std::toupper(static_cast<unsigned char>(text.front())))) !=
                    std::string_view::npos;
      return in != negate && like(pattern.substr(close + 1), text.substr(1));
    }
  }
  bool same = p == '_' || std::tolower(static_cast<unsigned char>(p)) ==
                              std::tolower(static_cast<unsigned char>(text.front()));
  return same && like(pattern.substr(1), text.substr(1));
}

bool matches(const std::optional<std::string>& pattern, const std::string& value) {
  return !pattern || like(*pattern, value);
}

// The owner and qualifier a caller may give: dbo and the current database, or patterns that match them.
bool owner_matches(const std::optional<std::string>& owner) {
  return !owner || owner->empty() || like(*owner, "dbo");
}

bool qualifier_matches(const std::optional<std::string>& qualifier, const std::string& database) {
  return !qualifier || qualifier->empty() || like(*qualifier, database);
}

Column nvarchar(std::string name, uint32_t length = 128) {
  return {std::move(name), ColumnType::kNVarChar, length};
}
Column smallint(std::string name) { return {std::move(name), ColumnType::kSmallInt, 0}; }
Column integer(std::string name) { return {std::move(name), ColumnType::kInt, 0}; }
Value null() { return Value(); }

// --- ODBC's view of a type
// ----------------------------------------------------------------------------------

struct OdbcType {
  int64_t data_type;
  std::string name;
  Value precision;  // column size
  Value length;     // buffer length
  Value scale;
  Value radix;
  int64_t sql_data_type;
  Value datetime_sub;
  Value octet_length;
};

OdbcType odbc_type(const SqlType& t) {
  using B = SqlType::Base;
  auto n = [](int64_t v) { return Value(v); };
  switch (t.base) {
    case B::kBit:
      return {-7, t.name, n(1), n(1), null(), null(), -7, null(), null()};
    case B::kTinyInt:
      return {-6, t.name, n(3), n(1), n(0), n(10), -6, null(), null()};
    case B::kSmallInt:
      return {5, t.name, n(5), n(2), n(0), n(10), 5, null(), null()};
    case B::kInt:
      return {4, t.name, n(10), n(4), n(0), n(10), 4, null(), null()};
    case B::kBigInt:
      return {-5, t.name, n(19), n(8), n(0), n(10), -5, null(), null()};
    case B::kReal:
      return {7, t.name, n(7), n(4), null(), n(10), 7, null(), null()};
    case B::kFloat:
      return {6, t.name, n(15), n(8), null(), n(10), 6, null(), null()};
    case B::kDecimal:
      return {t.name == "numeric" ? 2 : 3, t.name, n(t.precision), n(t.precision + 2), n(t.scale), n(10),
              t.name == "numeric" ? 2 : 3, null(), null()};
    case B::kMoney:
      return {3, t.name, n(19), n(21), n(4), n(10), 3, null(), null()};
    case B::kSmallMoney:
      return {3, t.name, n(10), n(12), n(4), n(10), 3, null(), null()};
    case B::kChar:
    case B::kVarChar: {
      bool max = t.length < 0 || t.name == "text" || t.name == "ntext";
      int64_t size = max ? (t.unicode ? 1073741823 : 2147483647) : t.length;
      int64_t bytes = max ? 2147483647 : size * (t.unicode ? 2 : 1);
      int64_t type = t.name == "text"     ? -1
                     : t.name == "ntext"  ? -10
                     : t.base == B::kChar ? (t.unicode ? -8 : 1)
                                          : (t.unicode ? -9 : 12);
      return {type, t.name, n(size), n(bytes), null(), null(), type, null(), n(bytes)};
    }
    case B::kBinary:
    case B::kVarBinary: {
      bool max = t.length < 0 || t.name == "image";
      int64_t size = max ? 2147483647 : t.length;
      int64_t type = t.name == "image" ? -4 : t.base == B::kBinary ? -2 : -3;
      return {type, t.name, n(size), n(size), null(), null(), type, null(), n(size)};
    }
    case B::kDate:
      return {91, t.name, n(10), n(6), null(), null(), 9, n(1), null()};
    case B::kTime:
      return {92, t.name, n(t.scale == 0 ? 8 : 9 + t.scale), n(12), n(t.scale), null(), 9, n(2), null()};
    case B::kDateTime:
      return {93, t.name, n(23), n(16), n(3), null(), 9, n(3), null()};
    case B::kSmallDateTime:
      return {93, t.name, n(16), n(16), n(0), null(), 9, n(3), null()};
    case B::kDateTime2:
      return {93, t.name, n(t.scale == 0 ? 19 : 20 + t.scale), n(16), n(t.scale), null(), 9, n(3), null()};
    case B::kDateTimeOffset:
      return {-155,   t.name, n(t.scale == 0 ? 26 : 27 + t.scale), n(20), n(t.scale), null(), -155,
              null(), null()};
    case B::kUniqueIdentifier:
      return {-11, t.name, n(36), n(16), null(), null(), -11, null(), null()};
    case B::kSqlVariant:
      return {-150, t.name, n(8000), n(8000), null(), null(), -150, null(), null()};
  }
  return {-150, t.name, null(), null(), null(), null(), -150, null(), null()};
}

// --- the procedures
// ------------------------------------------------------------------------------------------

std::string database_of(const CatalogSource& source) { return source.database_name("main"); }

// sp_tables [@table_name] [, @table_owner] [, @table_qualifier] [, @table_type] [, @fUsePattern]
void sp_tables(sqlite3* db, const ProcCall& call, const CatalogSource& source, ResultSink& sink) {
  auto args = bind(call, {"@table_name", "@table_owner", "@table_qualifier", "@table_type", "@fusepattern"});
  auto name = text(args, "@table_name");
  auto owner = text(args, "@table_owner");
  auto qualifier = text(args, "@table_qualifier");
  auto types = text(args, "@table_type");
  sink.columns({nvarchar("TABLE_QUALIFIER"), nvarchar("TABLE_OWNER"), nvarchar("TABLE_NAME"),
                nvarchar("TABLE_TYPE", 32), nvarchar("REMARKS", 254)});
  // sp_tables '', '', '%': the databases (what ODBC's SQLTables with SQL_ALL_CATALOGS asks).
  if (qualifier && *qualifier == "%" && name && name->empty() && (!owner || owner->empty())) {
    uint64_t count = 0;
    for (const auto& database : source.database_names()) {
      sink.row({database, null(), null(), null(), null()});
      ++count;
    }
    sink.done(count);
    return;
  }
  auto wanted = [&](const char* type) {
    if (!types || types->empty()) return true;
    std::string list = ascii_upper(*types);
    return list.find(std::string("'") + type + "'") != std::string::npos ||
           list.find(std::string("\"") + type + "\"") != std::string::npos || list == type;
  };
  uint64_t count = 0;
  if (owner_matches(owner) && qualifier_matches(qualifier, database_of(source))) {
    for (const auto& t : read_schema(db, "main").tables) {
      const char* type = t.view ? "VIEW" : "TABLE";
      if (!wanted(type) || !matches(name, t.name)) continue;
      sink.row({database_of(source), std::string("dbo"), t.name, std::string(type), null()});
      ++count;
    }
  }
  sink.done(count);
}

// sp_columns @table_name [, @table_owner] [, @table_qualifier] [, @column_name] [, @ODBCVer]
void sp_columns(sqlite3* db, const ProcCall& call, const CatalogSource& source, ResultSink& sink) {
  auto args = bind(call, {"@table_name", "@table_owner", "@table_qualifier", "@column_name", "@odbcver"});
  auto name = text(args, "@table_name");
  if (!name)
    throw SqlError(
        201, 16,
        "Procedure or function 'sp_columns' expects parameter '@table_name', which was not supplied.");
  auto column = text(args, "@column_name");
  sink.columns({nvarchar("TABLE_QUALIFIER"),
                nvarchar("TABLE_OWNER"),
                nvarchar("TABLE_NAME"),
                nvarchar("COLUMN_NAME"),
                smallint("DATA_TYPE"),
                nvarchar("TYPE_NAME"),
                integer("PRECISION"),
                integer("LENGTH"),
                smallint("SCALE"),
                smallint("RADIX"),
                smallint("NULLABLE"),
                nvarchar("REMARKS", 254),
                nvarchar("COLUMN_DEF", 4000),
                smallint("SQL_DATA_TYPE"),
                smallint("SQL_DATETIME_SUB"),
                integer("CHAR_OCTET_LENGTH"),
                integer("ORDINAL_POSITION"),
                nvarchar("IS_NULLABLE", 254),
                {"SS_DATA_TYPE", ColumnType::kTinyInt, 0}});
  uint64_t count = 0;
  if (owner_matches(text(args, "@table_owner")) &&
      qualifier_matches(text(args, "@table_qualifier"), database_of(source))) {
    for (const auto& t : read_schema(db, "main").tables) {
      if (!like(*name, t.name)) continue;
      for (const auto& c : t.columns) {
        if (!matches(column, c.name)) continue;
        OdbcType o = odbc_type(c.type);
        std::string type_name = c.identity ? o.name + " identity" : o.name;
        sink.row({database_of(source), std::string("dbo"), t.name, c.name, o.data_type, type_name,
                  o.precision, o.length, o.scale, o.radix, int64_t{c.nullable ? 1 : 0}, null(),
                  c.default_value ? Value("(" + *c.default_value + ")") : null(), o.sql_data_type,
                  o.datetime_sub, o.octet_length, int64_t{c.column_id},
                  std::string(c.nullable ? "YES" : "NO"), int64_t{system_type_id(c.type) & 0xFF}});
        ++count;
      }
    }
  }
  sink.done(count);
}

// sp_pkeys @table_name [, @table_owner] [, @table_qualifier]
void sp_pkeys(sqlite3* db, const ProcCall& call, const CatalogSource& source, ResultSink& sink) {
  auto args = bind(call, {"@table_name", "@table_owner", "@table_qualifier"});
  auto name = text(args, "@table_name");
  if (!name)
    throw SqlError(
        201, 16, "Procedure or function 'sp_pkeys' expects parameter '@table_name', which was not supplied.");
  sink.columns({nvarchar("TABLE_QUALIFIER"), nvarchar("TABLE_OWNER"), nvarchar("TABLE_NAME"),
                nvarchar("COLUMN_NAME"), smallint("KEY_SEQ"), nvarchar("PK_NAME")});
  uint64_t count = 0;
  SchemaModel model = read_schema(db, "main");
  const TableModel* t = model.find(*name);
  if (t && owner_matches(text(args, "@table_owner")) && !t->indexes.empty() &&
      t->indexes.front().primary_key) {
    int64_t seq = 0;
    for (const auto& [id, descending] : t->indexes.front().key_columns) {
      sink.row({database_of(source), std::string("dbo"), t->name,
                t->columns[static_cast<size_t>(id - 1)].name, ++seq, t->indexes.front().name});
      ++count;
    }
  }
  sink.done(count);
}

int64_t odbc_rule(const std::string& action) {
  if (action == "CASCADE") return 0;
  if (action == "SET NULL") return 2;
  if (action == "SET DEFAULT") return 4;
  return 1;  // NO ACTION, as SQL Server reports it (SQL_RESTRICT)
}

// sp_fkeys [@pktable_name] [, @pktable_owner] [, @pktable_qualifier] [, @fktable_name] [, @fktable_owner]
//          [, @fktable_qualifier]
void sp_fkeys(sqlite3* db, const ProcCall& call, const CatalogSource& source, ResultSink& sink) {
  auto args = bind(call, {"@pktable_name", "@pktable_owner", "@pktable_qualifier", "@fktable_name",
                          "@fktable_owner", "@fktable_qualifier"});
  auto pk_table = text(args, "@pktable_name");
  auto fk_table = text(args, "@fktable_name");
  if (!pk_table && !fk_table) {
    throw SqlError(15252, 16, "The primary key or foreign key table name must be given.");
  }
  sink.columns({nvarchar("PKTABLE_QUALIFIER"), nvarchar("PKTABLE_OWNER"), nvarchar("PKTABLE_NAME"),
                nvarchar("PKCOLUMN_NAME"), nvarchar("FKTABLE_QUALIFIER"), nvarchar("FKTABLE_OWNER"),
                nvarchar("FKTABLE_NAME"), nvarchar("FKCOLUMN_NAME"), smallint("KEY_SEQ"),
                smallint("UPDATE_RULE"), smallint("DELETE_RULE"), nvarchar("FK_NAME"), nvarchar("PK_NAME"),
                smallint("DEFERRABILITY")});
  uint64_t count = 0;
  SchemaModel model = read_schema(db, "main");
  const std::string database = database_of(source);
  for (const auto& t : model.tables) {
    if (fk_table && ascii_lower(*fk_table) != ascii_lower(t.name)) continue;
    for (const auto& fk : t.foreign_keys) {
      if (pk_table && ascii_lower(*pk_table) != ascii_lower(fk.referenced_table)) continue;
      const TableModel* referenced = model.find(fk.referenced_table);
      std::string pk_name =
          referenced && !referenced->indexes.empty() && referenced->indexes.front().primary_key
              ? referenced->indexes.front().name
              : std::string();
      int64_t seq = 0;
      for (const auto& [from, to] : fk.columns) {
        std::string pk_column = referenced && to >= 1 && static_cast<size_t>(to) <= referenced->columns.size()
                                    ? referenced->columns[static_cast<size_t>(to - 1)].name
                                    : std::string();
        sink.row({database, std::string("dbo"), fk.referenced_table, pk_column, database, std::string("dbo"),
                  t.name, t.columns[static_cast<size_t>(from - 1)].name, ++seq, odbc_rule(fk.on_update),
                  odbc_rule(fk.on_delete), fk.name, pk_name.empty() ? null() : Value(pk_name), int64_t{7}});
        ++count;
      }
    }
  }
  sink.done(count);
}

// sp_statistics @table_name [, @table_owner] [, @table_qualifier] [, @index_name] [, @is_unique] [,
// @accuracy]
void sp_statistics(sqlite3* db, const ProcCall& call, const CatalogSource& source, ResultSink& sink) {
  auto args = bind(
      call, {"@table_name", "@table_owner", "@table_qualifier", "@index_name", "@is_unique", "@accuracy"});
  auto name = text(args, "@table_name");
  if (!name)
    throw SqlError(
        201, 16,
        "Procedure or function 'sp_statistics' expects parameter '@table_name', which was not supplied.");
  auto index_name = text(args, "@index_name");
  bool unique_only = text(args, "@is_unique").value_or("N") == "Y";
  sink.columns({nvarchar("TABLE_QUALIFIER"),
                nvarchar("TABLE_OWNER"),
                nvarchar("TABLE_NAME"),
                smallint("NON_UNIQUE"),
                nvarchar("INDEX_QUALIFIER"),
                nvarchar("INDEX_NAME"),
                smallint("TYPE"),
                smallint("SEQ_IN_INDEX"),
                nvarchar("COLUMN_NAME"),
                {"COLLATION", ColumnType::kNVarChar, 1},
                integer("CARDINALITY"),
                integer("PAGES"),
                nvarchar("FILTER_CONDITION")});
  uint64_t count = 0;
  SchemaModel model = read_schema(db, "main");
  const TableModel* t = model.find(*name);
  if (t && !t->view && owner_matches(text(args, "@table_owner"))) {
    // First the table's own statistics row (TYPE 0), as SQL Server sends it.
    sink.row({database_of(source), std::string("dbo"), t->name, null(), null(), null(), int64_t{0}, null(),
              null(), null(), null(), null(), null()});
    ++count;
    for (const auto& index : t->indexes) {
      if (unique_only && !index.unique) continue;
      if (!matches(index_name, index.name)) continue;
      int64_t seq = 0;
      for (const auto& [id, descending] : index.key_columns) {
        sink.row({database_of(source), std::string("dbo"), t->name, int64_t{index.unique ? 0 : 1}, t->name,
                  index.name, int64_t{index.index_id == 1 ? 1 : 3}, ++seq,
                  t->columns[static_cast<size_t>(id - 1)].name, std::string(descending ? "D" : "A"), null(),
                  null(), index.filter.empty() ? null() : Value(index.filter)});
        ++count;
      }
    }
  }
  sink.done(count);
}

// sp_special_columns @table_name [, @table_owner] [, @qualifier] [, @col_type] [, @scope] [, @nullable]
// [, @ODBCVer]: the primary key is the best row identifier; no column changes by itself ('V').
void sp_special_columns(sqlite3* db, const ProcCall& call, const CatalogSource&, ResultSink& sink) {
  auto args = bind(
      call, {"@table_name", "@table_owner", "@qualifier", "@col_type", "@scope", "@nullable", "@odbcver"});
  auto name = text(args, "@table_name");
  if (!name)
    throw SqlError(201, 16,
                   "Procedure or function 'sp_special_columns' expects parameter '@table_name', which was "
                   "not supplied.");
  sink.columns({smallint("SCOPE"), nvarchar("COLUMN_NAME"), smallint("DATA_TYPE"), nvarchar("TYPE_NAME"),
                integer("PRECISION"), integer("LENGTH"), smallint("SCALE"), smallint("PSEUDO_COLUMN")});
  uint64_t count = 0;
  SchemaModel model = read_schema(db, "main");
  const TableModel* t = model.find(*name);
  bool row_id = text(args, "@col_type").value_or("R") != "V";
  if (t && row_id && !t->indexes.empty() && t->indexes.front().primary_key) {
    for (const auto& [id, descending] : t->indexes.front().key_columns) {
      const ColumnModel& c = t->columns[static_cast<size_t>(id - 1)];
      OdbcType o = odbc_type(c.type);
      sink.row({int64_t{1}, c.name, o.data_type, o.name, o.precision, o.length, o.scale, int64_t{1}});
      ++count;
    }
  }
  sink.done(count);
}

// sp_stored_procedures [@sp_name] [, @sp_owner] [, @sp_qualifier]: the procedures of the current database.
void sp_stored_procedures(sqlite3*, const ProcCall& call, const CatalogSource& source, ResultSink& sink) {
  auto args = bind(call, {"@sp_name", "@sp_owner", "@sp_qualifier", "@fusepattern"});
  auto name = text(args, "@sp_name");
  sink.columns({nvarchar("PROCEDURE_QUALIFIER"), nvarchar("PROCEDURE_OWNER"), nvarchar("PROCEDURE_NAME", 134),
                integer("NUM_INPUT_PARAMS"), integer("NUM_OUTPUT_PARAMS"), integer("NUM_RESULT_SETS"),
                nvarchar("REMARKS", 254), smallint("PROCEDURE_TYPE")});
  uint64_t count = 0;
  for (const auto& procedure : source.procedure_names()) {
    if (!matches(name, procedure)) continue;
    sink.row({database_of(source), std::string("dbo"), procedure + ";1", int64_t{-1}, int64_t{-1},
              int64_t{-1}, null(), int64_t{2}});
    ++count;
  }
  sink.done(count);
}

// sp_datatype_info [@data_type] [, @ODBCVer] and sp_datatype_info_100: the types and what ODBC needs to know
// of them. pyodbc reads PRECISION for VARCHAR, NVARCHAR, VARBINARY and TIMESTAMP at connect, and sizes its
// parameters by it.
void sp_datatype_info(const ProcCall& call, ResultSink& sink) {
  auto args = bind(call, {"@data_type", "@odbcver"});
  int64_t wanted = number(args, "@data_type").value_or(0);
  sink.columns({nvarchar("TYPE_NAME"),
                smallint("DATA_TYPE"),
                integer("PRECISION"),
                nvarchar("LITERAL_PREFIX", 32),
                nvarchar("LITERAL_SUFFIX", 32),
                nvarchar("CREATE_PARAMS", 32),
                smallint("NULLABLE"),
                smallint("CASE_SENSITIVE"),
                smallint("SEARCHABLE"),
                smallint("UNSIGNED_ATTRIBUTE"),
                smallint("MONEY"),
                smallint("AUTO_INCREMENT"),
                nvarchar("LOCAL_TYPE_NAME"),
                smallint("MINIMUM_SCALE"),
                smallint("MAXIMUM_SCALE"),
                smallint("SQL_DATA_TYPE"),
                smallint("SQL_DATETIME_SUB"),
                integer("NUM_PREC_RADIX"),
                smallint("INTERVAL_PRECISION"),
                smallint("USERTYPE")});
  struct Info {
    const char* name;
    int data_type;
    int precision;
    const char* prefix;
    const char* suffix;
    const char* params;
    int searchable;
    int money;
    int min_scale;
    int max_scale;
    int radix;
  };
  // In SQL Server's order: by DATA_TYPE, the widest first where several share one (pyodbc reads the first).
  static const Info kTypes[] = {
      {"sql_variant", -150, 8000, nullptr, nullptr, nullptr, 2, 0, -1, -1, -1},
      {"uniqueidentifier", -11, 36, "'", "'", nullptr, 2, 0, -1, -1, -1},
      {"ntext", -10, 1073741823, "N'", "'", nullptr, 1, 0, -1, -1, -1},
      {"nvarchar", -9, 4000, "N'", "'", "max length", 3, 0, -1, -1, -1},
      {"nchar", -8, 4000, "N'", "'", "length", 3, 0, -1, -1, -1},
      {"bit", -7, 1, nullptr, nullptr, nullptr, 2, 0, 0, 0, -1},
      {"tinyint", -6, 3, nullptr, nullptr, nullptr, 2, 0, 0, 0, 10},
      {"bigint", -5, 19, nullptr, nullptr, nullptr, 2, 0, 0, 0, 10},
      {"image", -4, 2147483647, "0x", nullptr, nullptr, 0, 0, -1, -1, -1},
      {"varbinary", -3, 8000, "0x", nullptr, "max length", 2, 0, -1, -1, -1},
      {"binary", -2, 8000, "0x", nullptr, "length", 2, 0, -1, -1, -1},
      {"text", -1, 2147483647, "'", "'", nullptr, 1, 0, -1, -1, -1},
      {"char", 1, 8000, "'", "'", "length", 3, 0, -1, -1, -1},
      {"numeric", 2, 38, nullptr, nullptr, "precision,scale", 2, 0, 0, 38, 10},
      {"decimal", 3, 38, nullptr, nullptr, "precision,scale", 2, 0, 0, 38, 10},
      {"money", 3, 19, "$", nullptr, nullptr, 2, 1, 4, 4, 10},
      {"smallmoney", 3, 10, "$", nullptr, nullptr, 2, 1, 4, 4, 10},
      {"int", 4, 10, nullptr, nullptr, nullptr, 2, 0, 0, 0, 10},
      {"smallint", 5, 5, nullptr, nullptr, nullptr, 2, 0, 0, 0, 10},
      {"float", 6, 53, nullptr, nullptr, nullptr, 2, 0, -1, -1, 2},
      {"real", 7, 24, nullptr, nullptr, nullptr, 2, 0, -1, -1, 2},
      {"varchar", 12, 8000, "'", "'", "max length", 3, 0, -1, -1, -1},
      {"date", 91, 10, "'", "'", nullptr, 3, 0, -1, -1, -1},
      {"time", 92, 16, "'", "'", "scale", 3, 0, 0, 7, -1},
      {"datetime2", 93, 27, "'", "'", "scale", 3, 0, 0, 7, -1},
      {"datetime", 93, 23, "'", "'", nullptr, 3, 0, 3, 3, -1},
      {"smalldatetime", 93, 16, "'", "'", nullptr, 3, 0, 0, 0, -1},
      {"datetimeoffset", -155, 34, "'", "'", "scale", 3, 0, 0, 7, -1},
  };
  auto opt = [](const char* s) { return s ? Value(std::string(s)) : null(); };
  auto opt_int = [](int v) { return v < 0 ? null() : Value(int64_t{v}); };
  uint64_t count = 0;
  for (const Info& t : kTypes) {
    if (wanted != 0 && t.data_type != wanted) continue;
    std::string type = t.name;
    bool character = type.find("char") != std::string::npos || type == "text" || type == "ntext";
    bool datetime = t.data_type >= 91 && t.data_type <= 93;
    sink.row({type,
              int64_t{t.data_type},
              int64_t{t.precision},
              opt(t.prefix),
              opt(t.suffix),
              opt(t.params),
              int64_t{1},
              int64_t{character ? 0 : 0},
              int64_t{t.searchable},
              character || t.radix < 0 ? null() : Value(int64_t{0}),
              int64_t{t.money},
              (t.radix == 10 && t.max_scale == 0) ? Value(int64_t{0}) : null(),
              type,
              opt_int(t.min_scale),
              opt_int(t.max_scale),
              int64_t{datetime ? 9 : t.data_type},
              datetime ? Value(int64_t{t.data_type - 90}) : null(),
              opt_int(t.radix),
              null(),
              int64_t{0}});
    ++count;
  }
  sink.done(count);
}

}  // namespace

bool is_catalog_procedure(const std::string& name) {
  std::string last = last_part(name);
  return std::find(kProcedures.begin(), kProcedures.end(), last) != kProcedures.end();
}

void run_catalog_procedure(sqlite3* db, const ProcCall& call, const CatalogSource& source, ResultSink& sink) {
  std::string name = last_part(call.name);
  if (name == "sp_tables") return sp_tables(db, call, source, sink);
  if (name == "sp_columns") return sp_columns(db, call, source, sink);
  if (name == "sp_pkeys") return sp_pkeys(db, call, source, sink);
  if (name == "sp_fkeys") return sp_fkeys(db, call, source, sink);
  if (name == "sp_statistics") return sp_statistics(db, call, source, sink);
  if (name == "sp_special_columns") return sp_special_columns(db, call, source, sink);
  if (name == "sp_stored_procedures") return sp_stored_procedures(db, call, source, sink);
  if (name == "sp_datatype_info" || name == "sp_datatype_info_100") return sp_datatype_info(call, sink);
  throw SqlError(2812, 16, "Could not find stored procedure '" + call.name + "'.", 62);
}

}  // namespace bakrest::catalog
