// sys.schemas, sys.objects, sys.tables, sys.views, sys.columns, sys.types, sys.indexes, sys.index_columns,
// sys.foreign_keys, sys.foreign_key_columns, sys.identity_columns, sys.computed_columns and sys.system_views:
// a database's objects as SQL Server's catalog views show them, from schema_model.h.
#include <string>
#include <vector>

#include "catalog/schema_model.h"
#include "catalog/view_sets.h"
#include "common/text.h"

namespace bakrest::catalog {
namespace {

constexpr int64_t kDbo = 1;
const char* const kCollation = "SQL_Latin1_General_CP1_CI_AS";

Value bit(bool b) { return int64_t{b ? 1 : 0}; }
Value null() { return Value(); }

bool has_collation(const SqlType& t) {
  return t.base == SqlType::Base::kChar || t.base == SqlType::Base::kVarChar;
}

// What sys.objects shows of every object: name, object_id, principal_id, schema_id, parent_object_id, type,
// type_desc, create_date, modify_date, is_ms_shipped, is_published, is_schema_published.
struct ObjectRow {
  std::string name;
  int64_t object_id;
  int64_t schema_id;
  int64_t parent;
  std::string type;
  std::string type_desc;
};

std::vector<ObjectRow> objects_of(const SchemaModel& model) {
  std::vector<ObjectRow> out;
  for (const auto& t : model.tables) {
    out.push_back({t.name, t.object_id, kDbo, 0, t.view ? "V" : "U", t.view ? "VIEW" : "USER_TABLE"});
    if (t.primary_key_object_id) {
      out.push_back({t.indexes.front().name, *t.primary_key_object_id, kDbo, t.object_id, "PK",
                     "PRIMARY_KEY_CONSTRAINT"});
    }
    for (const auto& index : t.indexes) {
      if (index.unique_constraint) {
        out.push_back(
            {index.name, object_id_of("UQ", index.name), kDbo, t.object_id, "UQ", "UNIQUE_CONSTRAINT"});
      }
    }
    for (const auto& fk : t.foreign_keys) {
      out.push_back({fk.name, fk.object_id, kDbo, t.object_id, "F", "FOREIGN_KEY_CONSTRAINT"});
    }
  }
  for (const auto& trigger : model.triggers) {
    out.push_back({trigger.name, trigger.object_id, kDbo, trigger.parent_object_id, "TR", "SQL_TRIGGER"});
  }
  return out;
}

Row object_columns(const ObjectRow& o, const ViewContext& context) {
  DateTime created{context.source->database_created(context.schema)};
  return Row{o.name,      o.object_id, null(),  o.schema_id, o.parent,   o.type,
             o.type_desc, created,     created, bit(false),  bit(false), bit(false)};
}

std::vector<ViewColumn> object_view_columns() {
  return {{"name", "NVARCHAR(128)"},     {"object_id", "INT"},        {"principal_id", "INT"},
          {"schema_id", "INT"},          {"parent_object_id", "INT"}, {"type", "CHAR(2)"},
          {"type_desc", "NVARCHAR(60)"}, {"create_date", "DATETIME"}, {"modify_date", "DATETIME"},
          {"is_ms_shipped", "BIT"},      {"is_published", "BIT"},     {"is_schema_published", "BIT"}};
}

std::vector<Row> objects(const ViewContext& context) {
  std::vector<Row> rows;
  for (const auto& o : objects_of(read_schema(context.db, context.schema)))
    rows.push_back(object_columns(o, context));
  return rows;
}

std::vector<Row> tables_or_views(const ViewContext& context, bool views) {
  std::vector<Row> rows;
  SchemaModel model = read_schema(context.db, context.schema);
  for (const auto& t : model.tables) {
    if (t.view != views) continue;
    Row row = object_columns({t.name, t.object_id, kDbo, 0, views ? "V" : "U", views ? "VIEW" : "USER_TABLE"},
                             context);
    if (views) {
      row.insert(row.end(), {bit(false), bit(false), bit(false), bit(false), bit(false)});
    } else {
      int max_column = t.columns.empty() ? 0 : t.columns.back().column_id;
      row.insert(row.end(), {int64_t{0},
                             null(),
                             int64_t{max_column},
                             bit(false),
                             bit(true),
                             bit(false),
                             bit(false),
                             bit(false),
                             bit(false),
                             bit(false),
                             int64_t{0},
                             bit(false),
                             bit(false),
                             int64_t{0},
                             std::string("TABLE"),
                             bit(false),
                             bit(false),
                             int64_t{0},
                             std::string("SCHEMA_AND_DATA"),
                             int64_t{0},
                             std::string("NON_TEMPORAL_TABLE"),
                             null(),
                             bit(false),
                             bit(false)});
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

std::vector<ViewColumn> with(std::vector<ViewColumn> columns, std::initializer_list<ViewColumn> more) {
  columns.insert(columns.end(), more);
  return columns;
}

std::vector<Row> schemas(const ViewContext&) {
  return {Row{std::string("dbo"), int64_t{1}, int64_t{1}}, Row{std::string("guest"), int64_t{2}, int64_t{2}},
          Row{std::string("INFORMATION_SCHEMA"), int64_t{3}, int64_t{3}},
          Row{std::string("sys"), int64_t{4}, int64_t{4}}};
}

std::vector<Row> columns(const ViewContext& context) {
  std::vector<Row> rows;
  for (const auto& t : read_schema(context.db, context.schema).tables) {
    for (const auto& c : t.columns) {
      int type_id = system_type_id(c.type);
      rows.push_back(Row{t.object_id,
                         c.name,
                         int64_t{c.column_id},
                         int64_t{type_id},
                         int64_t{type_id == 231 && c.type.name == "sysname" ? 256 : type_id},
                         int64_t{max_length_bytes(c.type)},
                         int64_t{type_precision(c.type)},
                         int64_t{type_scale(c.type)},
                         has_collation(c.type) ? Value(std::string(kCollation)) : null(),
                         bit(c.nullable),
                         bit(false),  // is_ansi_padded
                         bit(false),  // is_rowguidcol
                         bit(c.identity),
                         bit(false),    // is_computed
                         bit(false),    // is_filestream
                         bit(false),    // is_replicated
                         bit(false),    // is_non_sql_subscribed
                         bit(false),    // is_merge_published
                         bit(false),    // is_dts_replicated
                         bit(false),    // is_xml_document
                         int64_t{0},    // xml_collection_id
                         int64_t{0},    // default_object_id
                         int64_t{0},    // rule_object_id
                         bit(false),    // is_sparse
                         bit(false),    // is_column_set
                         bit(false)});  // is_hidden
    }
  }
  return rows;
}

std::vector<Row> types(const ViewContext&) {
  std::vector<Row> rows;
  for (const auto& t : builtin_types()) {
    rows.push_back(Row{std::string(t.name), int64_t{t.id}, int64_t{t.user_id}, int64_t{4}, null(),
                       int64_t{t.max_length}, int64_t{t.precision}, int64_t{t.scale},
                       t.collated ? Value(std::string(kCollation)) : null(), bit(t.user_id != 256),
                       bit(false), bit(false), int64_t{0}, int64_t{0}, bit(false)});
  }
  return rows;
}

std::vector<Row> indexes(const ViewContext& context) {
  std::vector<Row> rows;
  for (const auto& t : read_schema(context.db, context.schema).tables) {
    if (t.view) continue;
    bool clustered = !t.indexes.empty() && t.indexes.front().primary_key;
    if (!clustered) {
      // A table without a clustered index is a heap: index 0, as SQL Server lists it.
      rows.push_back(Row{t.object_id, null(), int64_t{0}, int64_t{0}, std::string("HEAP"), bit(false),
                         int64_t{1}, bit(false), bit(false), bit(false), int64_t{0}, bit(false), bit(false),
                         bit(false), bit(true), bit(true), bit(false), null()});
    }
    for (const auto& index : t.indexes) {
      int64_t type = index.index_id == 1 ? 1 : 2;
      rows.push_back(Row{t.object_id, index.name, int64_t{index.index_id}, type,
                         std::string(type == 1 ? "CLUSTERED" : "NONCLUSTERED"), bit(index.unique), int64_t{1},
                         bit(false), bit(index.primary_key), bit(index.unique_constraint), int64_t{0},
                         bit(false), bit(false), bit(false), bit(true), bit(true), bit(!index.filter.empty()),
                         index.filter.empty() ? null() : Value(index.filter)});
    }
  }
  return rows;
}

std::vector<Row> index_columns(const ViewContext& context) {
  std::vector<Row> rows;
  for (const auto& t : read_schema(context.db, context.schema).tables) {
    for (const auto& index : t.indexes) {
      int ordinal = 0;
      for (const auto& [column, descending] : index.key_columns) {
        ++ordinal;
        rows.push_back(Row{t.object_id, int64_t{index.index_id}, int64_t{ordinal}, int64_t{column},
                           int64_t{ordinal}, int64_t{0}, bit(descending), bit(false)});
      }
    }
  }
  return rows;
}

int64_t action_code(const std::string& action) {
  if (action == "CASCADE") return 1;
  if (action == "SET NULL") return 2;
  if (action == "SET DEFAULT") return 3;
  return 0;
}

std::string action_desc(const std::string& action) {
  std::string out = action;
  for (char& c : out) c = c == ' ' ? '_' : c;
  return out;
}

std::vector<Row> foreign_keys(const ViewContext& context) {
  std::vector<Row> rows;
  SchemaModel model = read_schema(context.db, context.schema);
  for (const auto& t : model.tables) {
    for (const auto& fk : t.foreign_keys) {
      const TableModel* referenced = model.find(fk.referenced_table);
      Row row =
          object_columns({fk.name, fk.object_id, kDbo, t.object_id, "F", "FOREIGN_KEY_CONSTRAINT"}, context);
      row.insert(row.end(), {referenced ? Value(referenced->object_id) : null(), int64_t{1}, bit(false),
                             bit(false), bit(false), action_code(fk.on_delete), action_desc(fk.on_delete),
                             action_code(fk.on_update), action_desc(fk.on_update), bit(true)});
      rows.push_back(std::move(row));
    }
  }
  return rows;
}

std::vector<Row> foreign_key_columns(const ViewContext& context) {
  std::vector<Row> rows;
  SchemaModel model = read_schema(context.db, context.schema);
  for (const auto& t : model.tables) {
    for (const auto& fk : t.foreign_keys) {
      const TableModel* referenced = model.find(fk.referenced_table);
      int ordinal = 0;
      for (const auto& [from, to] : fk.columns) {
        rows.push_back(Row{fk.object_id, int64_t{++ordinal}, t.object_id, int64_t{from},
                           referenced ? Value(referenced->object_id) : null(), int64_t{to}});
      }
    }
  }
  return rows;
}

std::vector<Row> identity_columns(const ViewContext& context) {
  std::vector<Row> rows;
  for (const auto& t : read_schema(context.db, context.schema).tables) {
    for (const auto& c : t.columns) {
      if (!c.identity) continue;
      rows.push_back(Row{t.object_id, c.name, int64_t{c.column_id}, int64_t{56}, int64_t{56}, int64_t{4},
                         int64_t{10}, int64_t{0}, null(), bit(false), bit(true), int64_t{1}, int64_t{1},
                         null()});
    }
  }
  return rows;
}

std::vector<Row> computed_columns(const ViewContext&) {
  return {};
}  // SQLite's generated columns: none shown yet

std::vector<Row> system_views(const ViewContext&) {
  std::vector<Row> rows;
  for (const ViewDefinition& v : views()) {
    bool sys = ascii_lower(v.schema) == "sys";
    std::string full = v.schema + "." + v.name;
    rows.push_back(Row{v.name, -object_id_of("V", full), null(), int64_t{sys ? 4 : 3}, int64_t{0},
                       std::string("V"), std::string("VIEW"), DateTime{0}, DateTime{0}, bit(true), bit(false),
                       bit(false)});
  }
  return rows;
}

}  // namespace

const std::vector<BuiltinType>& builtin_types() {
  static const std::vector<BuiltinType> types = {
      {"image", 34, 34, 16, 0, 0, false},
      {"text", 35, 35, 16, 0, 0, true},
      {"uniqueidentifier", 36, 36, 16, 0, 0, false},
      {"date", 40, 40, 3, 10, 0, false},
      {"time", 41, 41, 5, 16, 7, false},
      {"datetime2", 42, 42, 8, 27, 7, false},
      {"datetimeoffset", 43, 43, 10, 34, 7, false},
      {"tinyint", 48, 48, 1, 3, 0, false},
      {"smallint", 52, 52, 2, 5, 0, false},
      {"int", 56, 56, 4, 10, 0, false},
      {"smalldatetime", 58, 58, 4, 16, 0, false},
      {"real", 59, 59, 4, 24, 0, false},
      {"money", 60, 60, 8, 19, 4, false},
      {"datetime", 61, 61, 8, 23, 3, false},
      {"float", 62, 62, 8, 53, 0, false},
      {"sql_variant", 98, 98, 8016, 0, 0, false},
      {"ntext", 99, 99, 16, 0, 0, true},
      {"bit", 104, 104, 1, 1, 0, false},
      {"decimal", 106, 106, 17, 38, 38, false},
      {"numeric", 108, 108, 17, 38, 38, false},
      {"smallmoney", 122, 122, 4, 10, 4, false},
      {"bigint", 127, 127, 8, 19, 0, false},
      {"varbinary", 165, 165, 8000, 0, 0, false},
      {"varchar", 167, 167, 8000, 0, 0, true},
      {"binary", 173, 173, 8000, 0, 0, false},
      {"char", 175, 175, 8000, 0, 0, true},
      {"timestamp", 189, 189, 8, 0, 0, false},
      {"nvarchar", 231, 231, 8000, 0, 0, true},
      {"nchar", 239, 239, 8000, 0, 0, true},
      {"sysname", 231, 256, 256, 0, 0, true},
  };
  return types;
}

void add_object_views(std::vector<ViewDefinition>& out) {
  out.push_back({"sys",
                 "schemas",
                 {{"name", "NVARCHAR(128)"}, {"schema_id", "INT"}, {"principal_id", "INT"}},
                 schemas});
  out.push_back({"sys", "objects", object_view_columns(), objects});
  out.push_back({"sys", "tables",
                 with(object_view_columns(), {{"lob_data_space_id", "INT"},
                                              {"filestream_data_space_id", "INT"},
                                              {"max_column_id_used", "INT"},
                                              {"lock_on_bulk_load", "BIT"},
                                              {"uses_ansi_nulls", "BIT"},
                                              {"is_replicated", "BIT"},
                                              {"has_replication_filter", "BIT"},
                                              {"is_merge_published", "BIT"},
                                              {"is_sync_tran_subscribed", "BIT"},
                                              {"has_unchecked_assembly_data", "BIT"},
                                              {"text_in_row_limit", "INT"},
                                              {"large_value_types_out_of_row", "BIT"},
                                              {"is_tracked_by_cdc", "BIT"},
                                              {"lock_escalation", "TINYINT"},
                                              {"lock_escalation_desc", "NVARCHAR(60)"},
                                              {"is_filetable", "BIT"},
                                              {"is_memory_optimized", "BIT"},
                                              {"durability", "TINYINT"},
                                              {"durability_desc", "NVARCHAR(60)"},
                                              {"temporal_type", "TINYINT"},
                                              {"temporal_type_desc", "NVARCHAR(60)"},
                                              {"history_table_id", "INT"},
                                              {"is_remote_data_archive_enabled", "BIT"},
                                              {"is_external", "BIT"}}),
                 [](const ViewContext& c) { return tables_or_views(c, false); }});
  out.push_back({"sys", "views",
                 with(object_view_columns(), {{"is_replicated", "BIT"},
                                              {"has_replication_filter", "BIT"},
                                              {"has_opaque_metadata", "BIT"},
                                              {"has_unchecked_assembly_data", "BIT"},
                                              {"with_check_option", "BIT"}}),
                 [](const ViewContext& c) { return tables_or_views(c, true); }});
  out.push_back({"sys",
                 "columns",
                 {{"object_id", "INT"},
                  {"name", "NVARCHAR(128)"},
                  {"column_id", "INT"},
                  {"system_type_id", "TINYINT"},
                  {"user_type_id", "INT"},
                  {"max_length", "SMALLINT"},
                  {"precision", "TINYINT"},
                  {"scale", "TINYINT"},
                  {"collation_name", "NVARCHAR(128)"},
                  {"is_nullable", "BIT"},
                  {"is_ansi_padded", "BIT"},
                  {"is_rowguidcol", "BIT"},
                  {"is_identity", "BIT"},
                  {"is_computed", "BIT"},
                  {"is_filestream", "BIT"},
                  {"is_replicated", "BIT"},
                  {"is_non_sql_subscribed", "BIT"},
                  {"is_merge_published", "BIT"},
                  {"is_dts_replicated", "BIT"},
                  {"is_xml_document", "BIT"},
                  {"xml_collection_id", "INT"},
                  {"default_object_id", "INT"},
                  {"rule_object_id", "INT"},
                  {"is_sparse", "BIT"},
                  {"is_column_set", "BIT"},
                  {"is_hidden", "BIT"}},
                 columns});
  out.push_back({"sys",
                 "types",
                 {{"name", "NVARCHAR(128)"},
                  {"system_type_id", "TINYINT"},
                  {"user_type_id", "INT"},
                  {"schema_id", "INT"},
                  {"principal_id", "INT"},
                  {"max_length", "SMALLINT"},
                  {"precision", "TINYINT"},
                  {"scale", "TINYINT"},
                  {"collation_name", "NVARCHAR(128)"},
                  {"is_nullable", "BIT"},
                  {"is_user_defined", "BIT"},
                  {"is_assembly_type", "BIT"},
                  {"default_object_id", "INT"},
                  {"rule_object_id", "INT"},
                  {"is_table_type", "BIT"}},
                 types});
  out.push_back({"sys",
                 "indexes",
                 {{"object_id", "INT"},
                  {"name", "NVARCHAR(128)"},
                  {"index_id", "INT"},
                  {"type", "TINYINT"},
                  {"type_desc", "NVARCHAR(60)"},
                  {"is_unique", "BIT"},
                  {"data_space_id", "INT"},
                  {"ignore_dup_key", "BIT"},
                  {"is_primary_key", "BIT"},
                  {"is_unique_constraint", "BIT"},
                  {"fill_factor", "TINYINT"},
                  {"is_padded", "BIT"},
                  {"is_disabled", "BIT"},
                  {"is_hypothetical", "BIT"},
                  {"allow_row_locks", "BIT"},
                  {"allow_page_locks", "BIT"},
                  {"has_filter", "BIT"},
                  {"filter_definition", "NVARCHAR(MAX)"}},
                 indexes});
  out.push_back({"sys",
                 "index_columns",
                 {{"object_id", "INT"},
                  {"index_id", "INT"},
                  {"index_column_id", "INT"},
                  {"column_id", "INT"},
                  {"key_ordinal", "TINYINT"},
                  {"partition_ordinal", "TINYINT"},
                  {"is_descending_key", "BIT"},
                  {"is_included_column", "BIT"}},
                 index_columns});
  out.push_back({"sys", "foreign_keys",
                 with(object_view_columns(), {{"referenced_object_id", "INT"},
                                              {"key_index_id", "INT"},
                                              {"is_disabled", "BIT"},
                                              {"is_not_for_replication", "BIT"},
                                              {"is_not_trusted", "BIT"},
                                              {"delete_referential_action", "TINYINT"},
                                              {"delete_referential_action_desc", "NVARCHAR(60)"},
                                              {"update_referential_action", "TINYINT"},
                                              {"update_referential_action_desc", "NVARCHAR(60)"},
                                              {"is_system_named", "BIT"}}),
                 foreign_keys});
  out.push_back({"sys",
                 "foreign_key_columns",
                 {{"constraint_object_id", "INT"},
                  {"constraint_column_id", "INT"},
                  {"parent_object_id", "INT"},
                  {"parent_column_id", "INT"},
                  {"referenced_object_id", "INT"},
                  {"referenced_column_id", "INT"}},
                 foreign_key_columns});
  out.push_back({"sys",
                 "identity_columns",
                 {{"object_id", "INT"},
                  {"name", "NVARCHAR(128)"},
                  {"column_id", "INT"},
                  {"system_type_id", "TINYINT"},
                  {"user_type_id", "INT"},
                  {"max_length", "SMALLINT"},
                  {"precision", "TINYINT"},
                  {"scale", "TINYINT"},
                  {"collation_name", "NVARCHAR(128)"},
                  {"is_nullable", "BIT"},
                  {"is_identity", "BIT"},
                  {"seed_value", "BIGINT"},
                  {"increment_value", "BIGINT"},
                  {"last_value", "BIGINT"}},
                 identity_columns});
  out.push_back({"sys",
                 "computed_columns",
                 {{"object_id", "INT"},
                  {"name", "NVARCHAR(128)"},
                  {"column_id", "INT"},
                  {"definition", "NVARCHAR(MAX)"},
                  {"is_persisted", "BIT"}},
                 computed_columns});
  out.push_back({"sys", "system_views", object_view_columns(), system_views});
}

}  // namespace bakrest::catalog
