// INFORMATION_SCHEMA.SCHEMATA, TABLES, COLUMNS, VIEWS, TABLE_CONSTRAINTS, KEY_COLUMN_USAGE and
// REFERENTIAL_CONSTRAINTS, with SQL Server's column names and types, from schema_model.h.
#include <string>
#include <vector>

#include "catalog/schema_model.h"
#include "catalog/view_sets.h"

namespace bakrest::catalog {
namespace {

const std::string kDbo = "dbo";

Value null() { return Value(); }

std::string database(const ViewContext& context) { return context.source->database_name(context.schema); }

std::vector<Row> schemata(const ViewContext& context) {
  std::vector<Row> rows;
  for (const char* name : {"dbo", "guest", "INFORMATION_SCHEMA", "sys"}) {
    rows.push_back(
        Row{database(context), std::string(name), std::string(name), null(), null(), std::string("iso_1")});
  }
  return rows;
}

std::vector<Row> tables(const ViewContext& context) {
  std::vector<Row> rows;
  for (const auto& t : read_schema(context.db, context.schema).tables) {
    rows.push_back(Row{database(context), kDbo, t.name, std::string(t.view ? "VIEW" : "BASE TABLE")});
  }
  return rows;
}

std::vector<Row> views_view(const ViewContext& context) {
  std::vector<Row> rows;
  for (const auto& t : read_schema(context.db, context.schema).tables) {
    if (!t.view) continue;
    rows.push_back(Row{database(context), kDbo, t.name, t.sql, std::string("NONE"), std::string("NO")});
  }
  return rows;
}

bool is_character(const SqlType& t) {
  return t.base == SqlType::Base::kChar || t.base == SqlType::Base::kVarChar;
}
bool is_binary(const SqlType& t) {
  return t.base == SqlType::Base::kBinary || t.base == SqlType::Base::kVarBinary;
}

bool is_exact_numeric(const SqlType& t) {
  using B = SqlType::Base;
  return t.base == B::kTinyInt || t.base == B::kSmallInt || t.base == B::kInt || t.base == B::kBigInt ||
         t.base == B::kDecimal || t.base == B::kMoney || t.base == B::kSmallMoney;
}

bool is_datetime(const SqlType& t) {
  using B = SqlType::Base;
  return t.base == B::kDate || t.base == B::kTime || t.base == B::kDateTime || t.base == B::kSmallDateTime ||
         t.base == B::kDateTime2 || t.base == B::kDateTimeOffset;
}

std::vector<Row> columns(const ViewContext& context) {
  std::vector<Row> rows;
  for (const auto& t : read_schema(context.db, context.schema).tables) {
    for (const auto& c : t.columns) {
      const SqlType& type = c.type;
      Value char_length, octet_length, precision, radix, scale, datetime_precision, charset, collation;
      if (is_character(type) || is_binary(type)) {
        bool max = type.length < 0 || type.name == "text" || type.name == "ntext" || type.name == "image";
        int64_t characters = max ? -1 : type.length;
        char_length = characters;
        octet_length = max ? -1 : characters * (type.unicode ? 2 : 1);
        if (is_character(type)) {
          charset = std::string(type.unicode ? "UNICODE" : "iso_1");
          collation = std::string("SQL_Latin1_General_CP1_CI_AS");
        }
      } else if (is_exact_numeric(type) || type.base == SqlType::Base::kReal ||
                 type.base == SqlType::Base::kFloat) {
        precision = int64_t{type_precision(type)};
        radix = int64_t{type.base == SqlType::Base::kReal || type.base == SqlType::Base::kFloat ? 2 : 10};
        if (is_exact_numeric(type)) scale = int64_t{type_scale(type)};
      } else if (is_datetime(type)) {
        datetime_precision = int64_t{type.base == SqlType::Base::kDate ? 0 : type_scale(type)};
      }
      // SQL Server shows a default as it was written, in parentheses: ((0)), (getdate()).
      Value column_default = c.default_value ? Value("(" + *c.default_value + ")") : null();
      rows.push_back(Row{database(context),
                         kDbo,
                         t.name,
                         c.name,
                         int64_t{c.column_id},
                         column_default,
                         std::string(c.nullable ? "YES" : "NO"),
                         type.name,
                         char_length,
                         octet_length,
                         precision,
                         radix,
                         scale,
                         datetime_precision,
                         null(),
                         null(),
                         charset,
                         null(),
                         null(),
                         collation,
                         null(),
                         null(),
                         null()});
    }
  }
  return rows;
}

// Constraints: the primary key, UNIQUE constraints and foreign keys of every table.
struct Constraint {
  std::string name;
  std::string table;
  std::string type;  // PRIMARY KEY, UNIQUE, FOREIGN KEY
  std::vector<std::string> columns;
  const ForeignKeyModel* foreign_key = nullptr;
};

std::vector<Constraint> constraints(const SchemaModel& model) {
  std::vector<Constraint> out;
  for (const auto& t : model.tables) {
    auto column_name = [&](int id) {
      for (const auto& c : t.columns) {
        if (c.column_id == id) return c.name;
      }
      return std::string();
    };
    for (const auto& index : t.indexes) {
      if (!index.primary_key && !index.unique_constraint) continue;
      Constraint c{index.name, t.name, index.primary_key ? "PRIMARY KEY" : "UNIQUE", {}, nullptr};
      for (const auto& [id, descending] : index.key_columns) c.columns.push_back(column_name(id));
      out.push_back(std::move(c));
    }
    for (const auto& fk : t.foreign_keys) {
      Constraint c{fk.name, t.name, "FOREIGN KEY", {}, &fk};
      for (const auto& [from, to] : fk.columns) c.columns.push_back(column_name(from));
      out.push_back(std::move(c));
    }
  }
  return out;
}

std::vector<Row> table_constraints(const ViewContext& context) {
  std::vector<Row> rows;
  SchemaModel model = read_schema(context.db, context.schema);
  for (const auto& c : constraints(model)) {
    rows.push_back(Row{database(context), kDbo, c.name, database(context), kDbo, c.table, c.type,
                       std::string("NO"), std::string("NO")});
  }
  return rows;
}

std::vector<Row> key_column_usage(const ViewContext& context) {
  std::vector<Row> rows;
  SchemaModel model = read_schema(context.db, context.schema);
  for (const auto& c : constraints(model)) {
    int64_t ordinal = 0;
    for (const auto& column : c.columns) {
      rows.push_back(
          Row{database(context), kDbo, c.name, database(context), kDbo, c.table, column, ++ordinal});
    }
  }
  return rows;
}

std::vector<Row> referential_constraints(const ViewContext& context) {
  std::vector<Row> rows;
  SchemaModel model = read_schema(context.db, context.schema);
  for (const auto& c : constraints(model)) {
    if (!c.foreign_key) continue;
    // The unique constraint it refers to: the referenced table's primary key.
    std::string unique = "PK__" + c.foreign_key->referenced_table;
    if (const TableModel* referenced = model.find(c.foreign_key->referenced_table)) {
      if (!referenced->indexes.empty() && referenced->indexes.front().primary_key) {
        unique = referenced->indexes.front().name;
      }
    }
    rows.push_back(Row{database(context), kDbo, c.name, database(context), kDbo, unique,
                       std::string("SIMPLE"), c.foreign_key->on_update, c.foreign_key->on_delete});
  }
  return rows;
}

}  // namespace

void add_information_schema_views(std::vector<ViewDefinition>& out) {
  const std::string s = "INFORMATION_SCHEMA";
  out.push_back({s,
                 "SCHEMATA",
                 {{"CATALOG_NAME", "NVARCHAR(128)"},
                  {"SCHEMA_NAME", "NVARCHAR(128)"},
                  {"SCHEMA_OWNER", "NVARCHAR(128)"},
                  {"DEFAULT_CHARACTER_SET_CATALOG", "VARCHAR(6)"},
                  {"DEFAULT_CHARACTER_SET_SCHEMA", "VARCHAR(3)"},
                  {"DEFAULT_CHARACTER_SET_NAME", "NVARCHAR(128)"}},
                 schemata});
  out.push_back({s,
                 "TABLES",
                 {{"TABLE_CATALOG", "NVARCHAR(128)"},
                  {"TABLE_SCHEMA", "NVARCHAR(128)"},
                  {"TABLE_NAME", "NVARCHAR(128)"},
                  {"TABLE_TYPE", "VARCHAR(10)"}},
                 tables});
  out.push_back({s,
                 "VIEWS",
                 {{"TABLE_CATALOG", "NVARCHAR(128)"},
                  {"TABLE_SCHEMA", "NVARCHAR(128)"},
                  {"TABLE_NAME", "NVARCHAR(128)"},
                  {"VIEW_DEFINITION", "NVARCHAR(4000)"},
                  {"CHECK_OPTION", "VARCHAR(7)"},
                  {"IS_UPDATABLE", "VARCHAR(2)"}},
                 views_view});
  out.push_back({s,
                 "COLUMNS",
                 {{"TABLE_CATALOG", "NVARCHAR(128)"},
                  {"TABLE_SCHEMA", "NVARCHAR(128)"},
                  {"TABLE_NAME", "NVARCHAR(128)"},
                  {"COLUMN_NAME", "NVARCHAR(128)"},
                  {"ORDINAL_POSITION", "INT"},
                  {"COLUMN_DEFAULT", "NVARCHAR(4000)"},
                  {"IS_NULLABLE", "VARCHAR(3)"},
                  {"DATA_TYPE", "NVARCHAR(128)"},
                  {"CHARACTER_MAXIMUM_LENGTH", "INT"},
                  {"CHARACTER_OCTET_LENGTH", "INT"},
                  {"NUMERIC_PRECISION", "TINYINT"},
                  {"NUMERIC_PRECISION_RADIX", "SMALLINT"},
                  {"NUMERIC_SCALE", "INT"},
                  {"DATETIME_PRECISION", "SMALLINT"},
                  {"CHARACTER_SET_CATALOG", "NVARCHAR(128)"},
                  {"CHARACTER_SET_SCHEMA", "NVARCHAR(128)"},
                  {"CHARACTER_SET_NAME", "NVARCHAR(128)"},
                  {"COLLATION_CATALOG", "NVARCHAR(128)"},
                  {"COLLATION_SCHEMA", "NVARCHAR(128)"},
                  {"COLLATION_NAME", "NVARCHAR(128)"},
                  {"DOMAIN_CATALOG", "NVARCHAR(128)"},
                  {"DOMAIN_SCHEMA", "NVARCHAR(128)"},
                  {"DOMAIN_NAME", "NVARCHAR(128)"}},
                 columns});
  out.push_back({s,
                 "TABLE_CONSTRAINTS",
                 {{"CONSTRAINT_CATALOG", "NVARCHAR(128)"},
                  {"CONSTRAINT_SCHEMA", "NVARCHAR(128)"},
                  {"CONSTRAINT_NAME", "NVARCHAR(128)"},
                  {"TABLE_CATALOG", "NVARCHAR(128)"},
                  {"TABLE_SCHEMA", "NVARCHAR(128)"},
                  {"TABLE_NAME", "NVARCHAR(128)"},
                  {"CONSTRAINT_TYPE", "VARCHAR(11)"},
                  {"IS_DEFERRABLE", "VARCHAR(2)"},
                  {"INITIALLY_DEFERRED", "VARCHAR(2)"}},
                 table_constraints});
  out.push_back({s,
                 "KEY_COLUMN_USAGE",
                 {{"CONSTRAINT_CATALOG", "NVARCHAR(128)"},
                  {"CONSTRAINT_SCHEMA", "NVARCHAR(128)"},
                  {"CONSTRAINT_NAME", "NVARCHAR(128)"},
                  {"TABLE_CATALOG", "NVARCHAR(128)"},
                  {"TABLE_SCHEMA", "NVARCHAR(128)"},
                  {"TABLE_NAME", "NVARCHAR(128)"},
                  {"COLUMN_NAME", "NVARCHAR(128)"},
                  {"ORDINAL_POSITION", "INT"}},
                 key_column_usage});
  out.push_back({s,
                 "REFERENTIAL_CONSTRAINTS",
                 {{"CONSTRAINT_CATALOG", "NVARCHAR(128)"},
                  {"CONSTRAINT_SCHEMA", "NVARCHAR(128)"},
                  {"CONSTRAINT_NAME", "NVARCHAR(128)"},
                  {"UNIQUE_CONSTRAINT_CATALOG", "NVARCHAR(128)"},
                  {"UNIQUE_CONSTRAINT_SCHEMA", "NVARCHAR(128)"},
                  {"UNIQUE_CONSTRAINT_NAME", "NVARCHAR(128)"},
                  {"MATCH_OPTION", "VARCHAR(7)"},
                  {"UPDATE_RULE", "VARCHAR(11)"},
                  {"DELETE_RULE", "VARCHAR(11)"}},
                 referential_constraints});
}

}  // namespace bakrest::catalog
