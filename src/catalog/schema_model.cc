#include "catalog/schema_model.h"

#include <algorithm>
#include <map>

#include "common/error.h"
#include "common/sqlite.h"
#include "common/text.h"

namespace bakrest::catalog {
namespace {

std::string quoted(const std::string& name) {
  std::string out = "\"";
  for (char c : name) {
    out += c;
    if (c == '"') out += '"';
  }
  return out + "\"";
}

// The declared type as T-SQL reads it; an unknown or missing type (SQLite takes any) reads as sql_variant.
SqlType column_type(const std::string& declared) {
  std::string d = ascii_lower(declared);
  if (d.empty() || d == "blob") return parse_type("varbinary(max)");
  if (d == "text") return parse_type("nvarchar(max)");
  try {
    SqlType type = parse_type(declared);
    bool sized = type.base == SqlType::Base::kChar || type.base == SqlType::Base::kVarChar ||
                 type.base == SqlType::Base::kBinary || type.base == SqlType::Base::kVarBinary;
    // bakrest writes NVARCHAR(MAX) as a bare NVARCHAR (sql/ddl_rewrite.cc).
    if (sized && declared.find('(') == std::string::npos && type.name != "sysname" && type.name != "text" &&
        type.name != "ntext" && type.name != "image") {
      type.length = -1;
    }
    return type;
  } catch (const SqlError&) {
    return parse_type("sql_variant");
  }
}

std::string referential_action(const std::string& sqlite_action) {
  std::string a = ascii_upper(sqlite_action);
  if (a == "CASCADE" || a == "SET NULL" || a == "SET DEFAULT") return a;
  return "NO ACTION";  // NO ACTION and RESTRICT
}

}  // namespace

const TableModel* SchemaModel::find(std::string_view name) const {
  std::string wanted = ascii_lower(std::string(name));
  for (const auto& t : tables) {
    if (ascii_lower(t.name) == wanted) return &t;
  }
  return nullptr;
}

int64_t object_id_of(std::string_view kind, std::string_view name) {
  // FNV-1a over "kind:name", kept positive and away from the small ids SQL Server gives system objects.
  uint32_t h = 2166136261u;
  auto mix = [&](char c) {
    h ^= static_cast<uint8_t>(c);
    h *= 16777619u;
  };
  for (char c : kind) mix(c);
  mix(':');
  for (char c : ascii_lower(std::string(name))) mix(c);
  int64_t id = static_cast<int64_t>(h & 0x7FFFFFFF);
  return id < 1000 ? id + 1000 : id;
}

SchemaModel read_schema(sqlite3* db, const std::string& schema) {
  SchemaModel model;
  sqlite::Statement objects(db,
                            "SELECT type, name, COALESCE(sql, ''), tbl_name FROM " + quoted(schema) +
                                ".sqlite_schema WHERE type IN ('table', 'view', 'trigger') AND name NOT LIKE "
                                "'sqlite\\_%' ESCAPE '\\' ORDER BY name");
  std::vector<std::tuple<std::string, std::string, std::string, std::string>> found;
  while (objects.step()) {
    found.emplace_back(objects.get_text(0), objects.get_text(1), objects.get_text(2), objects.get_text(3));
  }
  for (const auto& [type, name, sql, table] : found) {
    if (type == "trigger") {
      model.triggers.push_back(TriggerModel{name, object_id_of("TR", name), object_id_of("U", table)});
      continue;
    }
    TableModel t;
    t.name = name;
    t.view = type == "view";
    t.object_id = object_id_of(t.view ? "V" : "U", name);
    t.sql = sql;
    bool autoincrement = ascii_lower(sql).find("autoincrement") != std::string::npos;
    sqlite::Statement columns(db,
                              "SELECT cid, name, COALESCE(type, ''), \"notnull\", dflt_value, pk FROM "
                              "pragma_table_info(?1, ?2) ORDER BY cid");
    columns.bind(1, name).bind(2, schema);
    while (columns.step()) {
      ColumnModel c;
      c.column_id = static_cast<int>(columns.get_int(0)) + 1;
      c.name = columns.get_text(1);
      c.declared = columns.get_text(2);
      c.type = column_type(c.declared);
      c.nullable = columns.get_int(3) == 0;
      c.default_value = columns.get_optional_text(4);
      c.primary_key_ordinal = static_cast<int>(columns.get_int(5));
      // SQLite's INTEGER PRIMARY KEY AUTOINCREMENT is bakrest's IDENTITY (sql/ddl_rewrite.cc).
      c.identity = autoincrement && c.primary_key_ordinal == 1 && ascii_lower(c.declared) == "integer";
      if (c.identity) c.type = parse_type("int");
      if (c.primary_key_ordinal > 0) c.nullable = false;
      t.columns.push_back(std::move(c));
    }
    if (!t.view) {
      // The primary key: SQL Server's clustered index 1, with its own constraint object.
      std::vector<std::pair<int, int>> pk;  // ordinal, column_id
      for (const auto& c : t.columns) {
        if (c.primary_key_ordinal > 0) pk.emplace_back(c.primary_key_ordinal, c.column_id);
      }
      std::sort(pk.begin(), pk.end());
      if (!pk.empty()) {
        IndexModel index{"PK__" + name, 1, true, true, false, {}, {}};
        for (const auto& [ordinal, id] : pk) index.key_columns.emplace_back(id, false);
        t.indexes.push_back(std::move(index));
        t.primary_key_object_id = object_id_of("PK", name);
      }
      sqlite::Statement indexes(db,
                                "SELECT name, \"unique\", origin, partial FROM pragma_index_list(?1, ?2) "
                                "ORDER BY name");
      indexes.bind(1, name).bind(2, schema);
      std::vector<IndexModel> others;
      int unique_constraints = 0;
      while (indexes.step()) {
        std::string origin = indexes.get_text(2);
        if (origin == "pk") continue;  // the primary key, described above
        IndexModel index;
        index.name = indexes.get_text(0);
        index.unique = indexes.get_int(1) != 0;
        index.unique_constraint = origin == "u";
        if (index.unique_constraint) index.name = "UQ__" + name + "__" + std::to_string(++unique_constraints);
        sqlite::Statement keys(
            db, "SELECT cid, \"desc\" FROM pragma_index_xinfo(?1, ?2) WHERE key = 1 ORDER BY seqno");
        keys.bind(1, indexes.get_text(0)).bind(2, schema);
        while (keys.step())
          index.key_columns.emplace_back(static_cast<int>(keys.get_int(0)) + 1, keys.get_int(1) != 0);
        if (indexes.get_int(3) != 0) {
          sqlite::Statement text(
              db, "SELECT sql FROM " + quoted(schema) + ".sqlite_schema WHERE type = 'index' AND name = ?1");
          text.bind(1, indexes.get_text(0));
          if (text.step()) {
            std::string sql_text = text.get_text(0);
            size_t where = ascii_lower(sql_text).rfind(" where ");
            if (where != std::string::npos) index.filter = "(" + sql_text.substr(where + 7) + ")";
          }
        }
        others.push_back(std::move(index));
      }
      int next_id = 2;
      for (auto& index : others) {
        index.index_id = next_id++;
        t.indexes.push_back(std::move(index));
      }
      sqlite::Statement keys(db,
                             "SELECT id, \"table\", \"from\", \"to\", on_update, on_delete FROM "
                             "pragma_foreign_key_list(?1, ?2) ORDER BY id, seq");
      keys.bind(1, name).bind(2, schema);
      std::map<int64_t, ForeignKeyModel> by_id;
      std::map<int64_t, std::vector<std::pair<std::string, std::optional<std::string>>>> names;
      while (keys.step()) {
        int64_t id = keys.get_int(0);
        ForeignKeyModel& fk = by_id[id];
        fk.referenced_table = keys.get_text(1);
        fk.on_update = referential_action(keys.get_text(4));
        fk.on_delete = referential_action(keys.get_text(5));
        names[id].emplace_back(keys.get_text(2), keys.get_optional_text(3));
      }
      for (auto& [id, fk] : by_id) {
        fk.name = "FK__" + name + "__" + fk.referenced_table + "__" + std::to_string(id);
        fk.object_id = object_id_of("F", fk.name);
        t.foreign_keys.push_back(std::move(fk));
      }
      // Column ids on both sides; a reference without column names means the referenced table's key.
      for (size_t k = 0; k < t.foreign_keys.size(); ++k) {
        auto& fk = t.foreign_keys[k];
        const auto& pairs = std::next(names.begin(), static_cast<std::ptrdiff_t>(k))->second;
        std::vector<std::pair<int, std::string>> referenced;  // pk ordinal, name
        sqlite::Statement ref(db, "SELECT cid, name, pk FROM pragma_table_info(?1, ?2)");
        ref.bind(1, fk.referenced_table).bind(2, schema);
        std::map<std::string, int> ref_ids;
        std::vector<std::pair<int, int>> ref_pk;
        while (ref.step()) {
          ref_ids[ascii_lower(ref.get_text(1))] = static_cast<int>(ref.get_int(0)) + 1;
          if (ref.get_int(2) > 0)
            ref_pk.emplace_back(static_cast<int>(ref.get_int(2)), static_cast<int>(ref.get_int(0)) + 1);
        }
        std::sort(ref_pk.begin(), ref_pk.end());
        for (size_t i = 0; i < pairs.size(); ++i) {
          int from = 0;
          for (const auto& c : t.columns) {
            if (ascii_lower(c.name) == ascii_lower(pairs[i].first)) from = c.column_id;
          }
          int to = 0;
          if (pairs[i].second) {
            auto it = ref_ids.find(ascii_lower(*pairs[i].second));
            if (it != ref_ids.end()) to = it->second;
          } else if (i < ref_pk.size()) {
            to = ref_pk[i].second;
          }
          fk.columns.emplace_back(from, to);
        }
      }
    }
    model.tables.push_back(std::move(t));
  }
  return model;
}

int system_type_id(const SqlType& t) {
  using B = SqlType::Base;
  switch (t.base) {
    case B::kBit:
      return 104;
    case B::kTinyInt:
      return 48;
    case B::kSmallInt:
      return 52;
    case B::kInt:
      return 56;
    case B::kBigInt:
      return 127;
    case B::kReal:
      return 59;
    case B::kFloat:
      return 62;
    case B::kDecimal:
      return t.name == "numeric" ? 108 : 106;
    case B::kMoney:
      return 60;
    case B::kSmallMoney:
      return 122;
    case B::kChar:
      return t.unicode ? 239 : 175;
    case B::kVarChar:
      if (t.name == "text") return 35;
      if (t.name == "ntext") return 99;
      return t.unicode ? 231 : 167;
    case B::kBinary:
      return 173;
    case B::kVarBinary:
      return t.name == "image" ? 34 : 165;
    case B::kDate:
      return 40;
    case B::kTime:
      return 41;
    case B::kDateTime:
      return 61;
    case B::kSmallDateTime:
      return 58;
    case B::kDateTime2:
      return 42;
    case B::kDateTimeOffset:
      return 43;
    case B::kUniqueIdentifier:
      return 36;
    case B::kSqlVariant:
      return 98;
  }
  return 98;
}

int max_length_bytes(const SqlType& t) {
  using B = SqlType::Base;
  switch (t.base) {
    case B::kBit:
    case B::kTinyInt:
      return 1;
    case B::kSmallInt:
      return 2;
    case B::kInt:
    case B::kReal:
    case B::kSmallMoney:
    case B::kSmallDateTime:
      return 4;
    case B::kBigInt:
    case B::kFloat:
    case B::kMoney:
    case B::kDateTime:
      return 8;
    case B::kDecimal:
      return t.precision <= 9 ? 5 : t.precision <= 19 ? 9 : t.precision <= 28 ? 13 : 17;
    case B::kChar:
    case B::kVarChar:
    case B::kBinary:
    case B::kVarBinary:
      if (t.name == "text" || t.name == "ntext" || t.name == "image") return 16;
      if (t.length < 0) return -1;
      return static_cast<int>(t.length) * (t.unicode ? 2 : 1);
    case B::kDate:
      return 3;
    case B::kTime:
      return t.scale <= 2 ? 3 : t.scale <= 4 ? 4 : 5;
    case B::kDateTime2:
      return t.scale <= 2 ? 6 : t.scale <= 4 ? 7 : 8;
    case B::kDateTimeOffset:
      return t.scale <= 2 ? 8 : t.scale <= 4 ? 9 : 10;
    case B::kUniqueIdentifier:
      return 16;
    case B::kSqlVariant:
      return 8016;
  }
  return 0;
}

int type_precision(const SqlType& t) {
  using B = SqlType::Base;
  switch (t.base) {
    case B::kBit:
      return 1;
    case B::kTinyInt:
      return 3;
    case B::kSmallInt:
      return 5;
    case B::kInt:
      return 10;
    case B::kBigInt:
      return 19;
    case B::kReal:
      return 24;
    case B::kFloat:
      return 53;
    case B::kDecimal:
      return t.precision;
    case B::kMoney:
      return 19;
    case B::kSmallMoney:
      return 10;
    case B::kDate:
      return 10;
    case B::kTime:
      return t.scale == 0 ? 8 : 9 + t.scale;
    case B::kDateTime:
      return 23;
    case B::kSmallDateTime:
      return 16;
    case B::kDateTime2:
      return t.scale == 0 ? 19 : 20 + t.scale;
    case B::kDateTimeOffset:
      return t.scale == 0 ? 26 : 27 + t.scale;
    default:
      return 0;
  }
}

int type_scale(const SqlType& t) {
  using B = SqlType::Base;
  switch (t.base) {
    case B::kDecimal:
    case B::kTime:
    case B::kDateTime2:
    case B::kDateTimeOffset:
      return t.scale;
    case B::kMoney:
    case B::kSmallMoney:
      return 4;
    case B::kDateTime:
      return 3;
    default:
      return 0;
  }
}

}  // namespace bakrest::catalog
