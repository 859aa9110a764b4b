// T-SQL statement tokens back to SQL text that SQLite runs, with T-SQL-only spellings rewritten.
#include <algorithm>
#include <cctype>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "catalog/catalog.h"
#include "common/error.h"
#include "common/text.h"
#include "engine/database_name.h"
#include "sql/ddl_rewrite.h"
#include "sql/parser.h"
#include "sql/select_list.h"
#include "sql/token_util.h"

namespace bakrest::sql {
namespace {

struct Piece {
  std::string text;
  bool space_before = false;
};

bool is_wordish(char c) {
  auto u = static_cast<unsigned char>(c);
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '@' ||
         c == '#' || c == '$' || c == '\'' || c == '"' || u >= 0x80;
}

// Adjacent pieces stay adjacent unless a rewrite removed what separated them and joining them would fuse
// two tokens into one ("SELECT TOP(1)x") or start a comment.
std::string join(const std::vector<Piece>& pieces) {
  std::string out;
  for (const Piece& piece : pieces) {
    if (piece.text.empty()) continue;
    if (!out.empty()) {
      char a = out.back();
      char b = piece.text.front();
      bool fuses = (is_wordish(a) && is_wordish(b)) || (a == '-' && b == '-') || (a == '/' && b == '*');
      if (piece.space_before || fuses) out += ' ';
    }
    out += piece.text;
  }
  return out;
}

// A name part as SQLite wants it: identifiers as written, [x] and "x" as "x".
std::string name_text(const Token& part) {
  return part.kind == TokenKind::kWord ? part.text : quote_identifier(part.value);
}

// SQLite's LIMIT would apply to the whole compound, T-SQL's TOP only to its own SELECT.
SqlError top_in_compound_select() {
  return not_supported("TOP in a SELECT combined with UNION, EXCEPT or INTERSECT is not supported yet.");
}

std::string binary_literal(const std::string& hex) {
  return "X'" + std::string(hex.size() % 2, '0') + hex + "'";  // 0x123 is 0x0123 in SQL Server
}

// The databases a statement names by multi-part names, each once (by its folded name). Shared by the
// emitters of a statement's nested parts; a set beside the list, as one statement may name thousands.
struct NamedDatabases {
  std::vector<std::string>& names;
  std::set<std::string> keys;
  bool& temporary_tables;
  void add(const std::string& name) {
    if (keys.insert(engine::database_name_key(name)).second) names.push_back(name);
  }
};

class Emitter {
 public:
  // ddl: a CREATE or ALTER TABLE, whose expressions (defaults, checks) SQLite keeps in the schema and
  // evaluates on connections without bakrest's functions: they stay as SQLite spells them.
  Emitter(const std::vector<Token>& tokens, const RewriteContext& context, NamedDatabases& databases,
          bool ddl = false)
      : tokens_(tokens), context_(context), databases_(databases), ddl_(ddl) {}

  std::string run() {
    for (size_t i = 0; i < tokens_.size();) i = step(i);
    flush_limits(0);
    return join(out_);
  }

 private:
  // A SELECT TOP's LIMIT clause, waiting for the end of that SELECT.
  struct PendingLimit {
    int depth;
    std::string clause;
  };

  const Token* at(size_t i) const { return token_at(tokens_, i); }
  void emit(std::string text, bool space_before) { out_.push_back(Piece{std::move(text), space_before}); }

  // Rewrites the construct starting at token i; returns the index after it.
  size_t step(size_t i) {
    const Token& t = tokens_[i];
    switch (t.kind) {
      case TokenKind::kPunct:
        return punct(i);
      case TokenKind::kSemicolon:  // only inside trigger bodies: each body statement ends its SELECTs
        flush_limits(depth_);
        emit(t.text, t.space_before);
        return i + 1;
      case TokenKind::kNString:
        emit(t.text.substr(1), t.space_before);
        return i + 1;
      case TokenKind::kBinary:
        emit(binary_literal(t.value), t.space_before);
        return i + 1;
      case TokenKind::kVariable:
        emit(variable(t), t.space_before);
        return i + 1;
      case TokenKind::kWord:
        return word(i);
      case TokenKind::kQuotedName:
        return name_chain(i);
      default:  // strings and numbers are spelled the same in SQLite
        emit(t.text, t.space_before);
        return i + 1;
    }
  }

  size_t punct(size_t i) {
    const Token& t = tokens_[i];
    if (t.text == "+" && i > 0 && !ddl_) {
      const Token* before = at(i - 1);
      const Token* after = at(i + 1);
      bool numbers =
          (before && before->kind == TokenKind::kNumber) || (after && after->kind == TokenKind::kNumber);
      if (!numbers && (text_operand(i - 1, false) || text_operand(i + 1, true))) {
        emit("||", t.space_before);
        return i + 1;
      }
    }
    if (t.text == ")") {
      flush_limits(depth_);  // a subquery ends here: its TOP's LIMIT goes inside the parenthesis
      compound_depths_.erase(std::remove(compound_depths_.begin(), compound_depths_.end(), depth_),
                             compound_depths_.end());
      depth_ = std::max(0, depth_ - 1);
    }
    emit(t.text, t.space_before);
    if (t.text == "(") ++depth_;
    return i + 1;
  }

  void flush_limits(int depth) {
    while (!limits_.empty() && limits_.back().depth >= depth) {
      emit(std::move(limits_.back().clause), true);
      limits_.pop_back();
    }
  }

  bool limit_pending_here() const { return !limits_.empty() && limits_.back().depth == depth_; }
  bool compound_here() const {
    return std::find(compound_depths_.begin(), compound_depths_.end(), depth_) != compound_depths_.end();
  }

  std::string variable(const Token& t) {
    if (t.text.rfind("@@", 0) != 0) return t.text;  // @name: a host parameter SQLite binds
    std::string name = to_upper(t.text);
    if (name == "@@SPID") return std::to_string(context_.spid);
    if (name == "@@TRANCOUNT") return std::to_string(context_.trancount);
    if (name == "@@VERSION") return quote_string(context_.version);
    if (name == "@@SERVERNAME") return quote_string(context_.server_name);
    if (name == "@@IDENTITY") return "last_insert_rowid()";
    if (name == "@@ROWCOUNT") return std::to_string(context_.rowcount);
    if (name == "@@ERROR") return std::to_string(context_.error);
    if (name == "@@OPTIONS") return std::to_string(context_.options);
    if (name == "@@TEXTSIZE") return std::to_string(context_.textsize);
    if (name == "@@LOCK_TIMEOUT") return std::to_string(context_.lock_timeout);
    if (name == "@@MAX_PRECISION") return "38";
    if (name == "@@LANGUAGE") return "'us_english'";
    if (name == "@@LANGID") return "0";
    if (name == "@@DATEFIRST") return "7";
    if (name == "@@SERVICENAME") return "'MSSQLSERVER'";
    if (name == "@@MICROSOFTVERSION") return std::to_string(context_.microsoft_version);
    if (name == "@@NESTLEVEL") return std::to_string(context_.nest_level);
    if (name == "@@PROCID") return "0";
    if (name == "@@FETCH_STATUS") return "-1";  // bakrest has no cursors: no fetch has succeeded
    if (name == "@@MAX_CONNECTIONS") return "32767";
    throw SqlError(137, 15, "Must declare the scalar variable \"" + t.text + "\".");
  }

  // Whether the operand of '+' that starts (forward) or ends (backward) at token i is text, as far as the
  // statement shows: a string literal, a text variable, or a call of a function that returns text. T-SQL's
  // '+' concatenates text; SQLite's adds numbers, so such a '+' becomes '||'.
  bool text_operand(size_t i, bool forward) const {
    const Token* t = at(i);
    if (t == nullptr) return false;
    if (t->kind == TokenKind::kString || t->kind == TokenKind::kNString) return true;
    if (t->kind == TokenKind::kVariable) {
      auto it = context_.variable_types.find(ascii_lower(t->text));
      if (it == context_.variable_types.end()) return false;
      std::string type = to_upper(it->second);
      return type.find("CHAR") != std::string::npos || type.find("TEXT") != std::string::npos ||
             type == "SYSNAME";
    }
    size_t name_at = i;
    if (!forward) {
      if (!is_punct(t, ")")) return false;
      int depth = 0;
      size_t j = i;
      for (;; --j) {
        if (is_punct(at(j), ")")) ++depth;
        if (is_punct(at(j), "(") && --depth == 0) break;
        if (j == 0) return false;
      }
      if (j == 0) return false;
      name_at = j - 1;
    } else if (!is_punct(at(i + 1), "(")) {
      return false;
    }
    const Token* name = at(name_at);
    if (name == nullptr || name->kind != TokenKind::kWord) return false;
    std::string k = to_upper(name->text);
    if (k == "CAST" || k == "TRY_CAST" || k == "CONVERT" || k == "TRY_CONVERT") {
      size_t close = matching_paren(name_at + 1);
      size_t type_at = name_at + 2;
      if (k == "CAST" || k == "TRY_CAST") {
        int depth = 0;
        for (size_t j = name_at + 2; j < close; ++j) {
          if (is_punct(at(j), "(")) ++depth;
          if (is_punct(at(j), ")")) --depth;
          if (depth == 0 && is_word(at(j), "AS")) type_at = j + 1;
        }
      }
      const Token* type = at(type_at);
      return type != nullptr &&
             is_word_any(type, {"CHAR", "VARCHAR", "NCHAR", "NVARCHAR", "TEXT", "NTEXT", "SYSNAME"});
    }
    return iequals_any(k, {"LEFT",
                           "RIGHT",
                           "SUBSTRING",
                           "UPPER",
                           "LOWER",
                           "LTRIM",
                           "RTRIM",
                           "TRIM",
                           "REPLACE",
                           "CONCAT",
                           "CONCAT_WS",
                           "QUOTENAME",
                           "REPLICATE",
                           "SPACE",
                           "STR",
                           "NCHAR",
                           "CHAR",
                           "FORMAT",
                           "DB_NAME",
                           "SCHEMA_NAME",
                           "OBJECT_NAME",
                           "OBJECT_SCHEMA_NAME",
                           "SUSER_SNAME",
                           "SUSER_NAME",
                           "USER_NAME",
                           "HOST_NAME",
                           "APP_NAME",
                           "DATENAME",
                           "REVERSE",
                           "STUFF",
                           "TYPE_NAME",
                           "COL_NAME",
                           "NEWID",
                           "ERROR_MESSAGE",
                           "ORIGINAL_LOGIN",
                           "STRING_AGG"});
  }

  size_t word(size_t i) {
    const Token& t = tokens_[i];
    std::string k = to_upper(t.text);
    if (k == "SELECT") return select(i);
    if (k == "UNION" || k == "EXCEPT" || k == "INTERSECT") {
      if (limit_pending_here()) throw top_in_compound_select();
      compound_depths_.push_back(depth_);
    }
    if ((k == "INSERT" || k == "UPDATE" || k == "DELETE") && is_word(at(i + 1), "TOP")) {
      throw not_supported("TOP in INSERT, UPDATE or DELETE is not supported yet.");
    }
    if (is_punct(at(i + 1), "(")) {
      bool no_arguments = is_punct(at(i + 2), ")");
      if (k == "SCOPE_IDENTITY" && no_arguments) return replace(i, 3, "last_insert_rowid()");
      if (k == "ISNULL") return replace(i, 1, "IFNULL");
      // LEFT and RIGHT are keywords to SQLite (LEFT JOIN).
      if (k == "LEFT" || k == "RIGHT") return replace(i, 1, k == "LEFT" ? "bakrest_left" : "bakrest_right");
      if (!ddl_ && (k == "CAST" || k == "TRY_CAST")) return cast(i, k == "TRY_CAST");
      if (!ddl_ && (k == "CONVERT" || k == "TRY_CONVERT")) return convert(i, k == "TRY_CONVERT");
      if (iequals_any(k, {"DATEADD", "DATEDIFF", "DATEDIFF_BIG", "DATEPART", "DATENAME"}) && at(i + 2) &&
          at(i + 2)->kind == TokenKind::kWord && is_punct(at(i + 3), ",")) {
        // The datepart is a keyword in T-SQL (DATEADD(day, ...)); the function takes it as text.
        emit(t.text, t.space_before);
        punct(i + 1);
        emit(quote_string(tokens_[i + 2].text), tokens_[i + 2].space_before);
        return i + 3;
      }
      if (iequals_any(k, {"ERROR_NUMBER", "ERROR_MESSAGE", "ERROR_SEVERITY", "ERROR_STATE", "ERROR_LINE",
                          "ERROR_PROCEDURE"}) &&
          no_arguments) {
        return replace(i, 3, caught_error(k));
      }
    }
    if (k == "OFFSET" && !ddl_) {
      if (auto end = offset_fetch(i)) return *end;
    }
    if (k == "COLLATE" && at(i + 1) != nullptr && is_name(at(i + 1))) {
      // SQL Server's collations: the case-insensitive ones compare as SQLite's NOCASE, the others as BINARY;
      // DATABASE_DEFAULT is the database's, which bakrest leaves to the column.
      std::string collation = to_upper(tokens_[i + 1].value);
      if (collation == "DATABASE_DEFAULT" || collation == "CATALOG_DEFAULT") return i + 2;
      bool insensitive = collation.find("_CI") != std::string::npos;
      emit("COLLATE " + std::string(insensitive ? "NOCASE" : "BINARY"), t.space_before);
      return i + 2;
    }
    if (!ddl_ && !is_punct(at(i + 1), ".") && !(i > 0 && is_punct(at(i - 1), "."))) {
      // Niladic functions T-SQL writes without parentheses.
      if (iequals_any(k, {"SYSTEM_USER", "SESSION_USER"})) return replace(i, 1, "suser_sname()");
      if (k == "CURRENT_USER") return replace(i, 1, "user_name()");
      if (k == "CURRENT_TIMESTAMP") return replace(i, 1, "getdate()");
    }
    return name_chain(i);
  }

  // ORDER BY ... OFFSET n ROW[S] [FETCH FIRST | NEXT m ROW[S] ONLY] -> LIMIT m OFFSET n (LIMIT -1 without
  // FETCH). nullopt when OFFSET is not that clause (a column named offset).
  std::optional<size_t> offset_fetch(size_t i) {
    auto until_rows = [&](size_t from) -> std::optional<size_t> {
      int depth = 0;
      for (size_t j = from; j < tokens_.size(); ++j) {
        if (is_punct(at(j), "(")) ++depth;
        if (is_punct(at(j), ")") && --depth < 0) return std::nullopt;
        if (depth == 0 && is_word_any(at(j), {"ROW", "ROWS"})) return j;
        if (depth == 0 && is_word_any(at(j), {"FETCH", "SELECT", "FROM", "WHERE", "UNION"}))
          return std::nullopt;
      }
      return std::nullopt;
    };
    auto rows = until_rows(i + 1);
    if (!rows || *rows == i + 1) return std::nullopt;
    std::string offset = Emitter(slice(i + 1, *rows), context_, databases_).run();
    std::string limit = "-1";
    size_t end = *rows + 1;
    if (is_word(at(end), "FETCH")) {
      if (!is_word_any(at(end + 1), {"FIRST", "NEXT"})) throw syntax_error_near("FETCH");
      auto fetch_rows = until_rows(end + 2);
      if (!fetch_rows || *fetch_rows == end + 2 || !is_word(at(*fetch_rows + 1), "ONLY")) {
        throw syntax_error_near("FETCH");
      }
      limit = Emitter(slice(end + 2, *fetch_rows), context_, databases_).run();
      end = *fetch_rows + 2;
    }
    emit("LIMIT " + limit + " OFFSET " + offset, tokens_[i].space_before);
    return end;
  }

  // ERROR_NUMBER() and its kin inside CATCH: the error being handled; NULL elsewhere.
  std::string caught_error(const std::string& function) const {
    if (!context_.caught) return "NULL";
    const Message& m = *context_.caught;
    if (function == "ERROR_NUMBER") return std::to_string(m.number);
    if (function == "ERROR_MESSAGE") return quote_string(m.text);
    if (function == "ERROR_SEVERITY") return std::to_string(m.severity);
    if (function == "ERROR_STATE") return std::to_string(m.state);
    if (function == "ERROR_LINE") return std::to_string(m.line);
    return m.procedure.empty() ? "NULL" : quote_string(m.procedure);
  }

  // The text of a type as written between tokens from and to.
  std::string type_text(size_t from, size_t to) const {
    std::string out;
    for (size_t j = from; j < to; ++j) {
      const Token& t = tokens_[j];
      if (!out.empty() && t.kind == TokenKind::kWord &&
          (std::isalnum(static_cast<unsigned char>(out.back()))))
        out += ' ';
      out += t.kind == TokenKind::kQuotedName ? t.value : t.text;
    }
    return out;
  }

  std::vector<Token> slice(size_t from, size_t to) const {
    return {tokens_.begin() + static_cast<std::ptrdiff_t>(from),
            tokens_.begin() + static_cast<std::ptrdiff_t>(to)};
  }

  // CAST(expr AS type) -> bakrest_cast(expr, 'type'), which converts as T-SQL does (sql/types.h).
  size_t cast(size_t i, bool try_cast) {
    size_t close = matching_paren(i + 1);
    size_t as = 0;
    int depth = 0;
    for (size_t j = i + 2; j < close; ++j) {
      if (is_punct(at(j), "(")) ++depth;
      if (is_punct(at(j), ")")) --depth;
      if (depth == 0 && is_word(at(j), "AS")) as = j;
    }
    if (as == 0 || as == i + 2 || as + 1 >= close)
      throw syntax_error_near(as == 0 ? tokens_[close].text : "AS");
    std::string expression = Emitter(slice(i + 2, as), context_, databases_).run();
    std::string type = type_text(as + 1, close);
    emit((try_cast ? "bakrest_try_cast(" : "bakrest_cast(") + expression + ", " + quote_string(type) + ")",
         tokens_[i].space_before);
    return close + 1;
  }

  // CONVERT(type, expr [, style]) -> bakrest_convert('type', expr [, style]).
  size_t convert(size_t i, bool try_convert) {
    size_t close = matching_paren(i + 1);
    size_t comma = 0;
    int depth = 0;
    for (size_t j = i + 2; j < close && comma == 0; ++j) {
      if (is_punct(at(j), "(")) ++depth;
      if (is_punct(at(j), ")")) --depth;
      if (depth == 0 && is_punct(at(j), ",")) comma = j;
    }
    if (comma == 0 || comma == i + 2 || comma + 1 >= close) throw syntax_error_near(tokens_[close].text);
    std::string type = type_text(i + 2, comma);
    std::string rest = Emitter(slice(comma + 1, close), context_, databases_).run();
    emit((try_convert ? "bakrest_try_convert(" : "bakrest_convert(") + quote_string(type) + ", " + rest + ")",
         tokens_[i].space_before);
    return close + 1;
  }

  size_t replace(size_t i, size_t count, std::string text) {
    emit(std::move(text), tokens_[i].space_before);
    return i + count;
  }

  // SELECT [DISTINCT | ALL] TOP n / TOP (expr): TOP goes, LIMIT comes at the end of this SELECT.
  size_t select(size_t i) {
    emit(tokens_[i].text, tokens_[i].space_before);
    size_t j = i + 1;
    if (is_word_any(at(j), {"DISTINCT", "ALL"})) {
      emit(tokens_[j].text, tokens_[j].space_before);
      ++j;
    }
    if (!is_word(at(j), "TOP")) return j;
    const Token& top = tokens_[j++];
    std::string count;
    if (is_punct(at(j), "(")) {
      size_t close = matching_paren(j);
      if (close == j + 1) throw syntax_error_near(")");
      std::vector<Token> inner(tokens_.begin() + static_cast<std::ptrdiff_t>(j + 1),
                               tokens_.begin() + static_cast<std::ptrdiff_t>(close));
      count = Emitter(inner, context_, databases_).run();
      if (inner.size() > 1) count = "(" + count + ")";
      j = close + 1;
    } else if (at(j) != nullptr &&
               (at(j)->kind == TokenKind::kNumber || at(j)->kind == TokenKind::kVariable)) {
      std::vector<Token> single{tokens_[j++]};
      count = Emitter(single, context_, databases_).run();
    } else {
      throw syntax_error_near(top.text);
    }
    if (is_word(at(j), "PERCENT")) throw not_supported("TOP ... PERCENT is not supported yet.");
    if (is_word(at(j), "WITH") && is_word(at(j + 1), "TIES")) {
      throw not_supported("TOP ... WITH TIES is not supported yet.");
    }
    if (compound_here()) throw top_in_compound_select();
    limits_.push_back(PendingLimit{depth_, "LIMIT " + count});
    return j;
  }

  size_t matching_paren(size_t open) const {
    int depth = 0;
    for (size_t i = open; i < tokens_.size(); ++i) {
      if (is_punct(at(i), "(")) ++depth;
      if (is_punct(at(i), ")") && --depth == 0) return i;
    }
    throw syntax_error_near("(");
  }

  // name, a.b, db.schema.obj, db..obj: the parts of a multi-part name (nullptr for an omitted schema).
  size_t name_chain(size_t i) {
    std::vector<const Token*> parts{&tokens_[i]};
    size_t j = i + 1;
    while (is_punct(at(j), ".")) {
      if (is_name(at(j + 1))) {
        parts.push_back(at(j + 1));
        j += 2;
      } else if (is_punct(at(j + 1), ".") && is_name(at(j + 2))) {
        parts.push_back(nullptr);
        ++j;
      } else {
        break;
      }
    }
    emit(multi_part_name(parts), tokens_[i].space_before);
    return j;
  }

  std::string multi_part_name(const std::vector<const Token*>& parts) {
    auto value = [&](size_t n) { return parts[n] == nullptr ? std::string() : parts[n]->value; };
    auto is_sys_databases = [&](size_t n) {
      return iequals(value(n), "sys") && iequals(value(n + 1), "databases");
    };
    size_t n = parts.size();
    // #temporary and ##global temporary tables live in databases of their own (temp_schema()): #t,
    // tempdb..#t, tempdb.dbo.#t, and #t.column.
    auto is_temp = [&](size_t i) {
      return parts[i] && parts[i]->value.size() > 1 && parts[i]->value[0] == '#';
    };
    if (n == 1 && is_temp(0)) return temp_name(*parts[0]);
    if (n == 2 && is_temp(0)) return temp_name(*parts[0]) + "." + name_text(*parts[1]);
    if (n == 3 && is_temp(2) && iequals(value(0), "tempdb")) return temp_name(*parts[2]);
    // Two parts are schema.object or alias.column; only the dbo schema, sys.databases and the catalog's
    // views mean anything.
    if (n == 2 && iequals(value(0), "dbo")) return name_text(*parts[1]);
    if (n == 2 && is_sys_databases(0)) return sys_databases();
    if (n == 2 && parts[0] && parts[1]) {
      if (auto view = catalog::view_table(value(0), value(1))) return *view;
    }
    if (n == 3 && iequals(value(0), "dbo") && parts[1] != nullptr) {
      return name_text(*parts[1]) + "." + name_text(*parts[2]);  // schema.table.column
    }
    if (n == 3 && is_sys_databases(1)) return sys_databases();
    if (n == 3 && parts[0] && parts[1] && parts[2]) {
      // INFORMATION_SCHEMA.TABLES.TABLE_NAME: a catalog view's column, as SQLAlchemy writes them.
      if (auto view = catalog::view_table(value(0), value(1))) return *view + "." + name_text(*parts[2]);
    }
    if (n == 3 && parts[0] && parts[1] && parts[2]) {
      if (auto view = catalog::view_table(value(1), value(2))) return catalog_view_of(value(0), *view);
    }
    if (n == 3) return database(value(0)) + "." + name_text(*parts[2]);
    if (n == 4 && parts[2] != nullptr) {  // db.schema.table.column
      return database(value(0)) + "." + name_text(*parts[2]) + "." + name_text(*parts[3]);
    }
    std::string as_written;
    for (size_t p = 0; p < n; ++p) as_written += (p > 0 ? "." : "") + (parts[p] ? name_text(*parts[p]) : "");
    return as_written;
  }

  // How SQLite names another database's schema: the current one is main, others are attached under
  // attachment_schema().
  std::string database(const std::string& name) {
    std::string key = engine::database_name_key(name);
    if (key == engine::database_name_key(context_.current_database)) return "main";
    if (key == "msdb") {
      record_database("msdb");
      return "msdb";
    }
    record_database(name);
    return quote_identifier(attachment_schema(name));
  }

  std::string sys_databases() { return database("msdb") + ".sys_databases"; }

  std::string temp_name(const Token& name) const {
    databases_.temporary_tables = true;
    return quote_identifier(catalog::temp_schema(name.value)) + "." + quote_identifier(name.value);
  }

  // db.sys.view: the view reads the database's attachment (the current database is main).
  std::string catalog_view_of(const std::string& db, const std::string& view) {
    std::string schema = database(db);
    if (schema == "main") return view;
    return view + "(" + quote_string(schema == "msdb" ? schema : attachment_schema(db)) + ")";
  }

  void record_database(const std::string& name) { databases_.add(name); }

  const std::vector<Token>& tokens_;
  const RewriteContext& context_;
  NamedDatabases& databases_;
  const bool ddl_;
  std::vector<Piece> out_;
  int depth_ = 0;
  std::vector<PendingLimit> limits_;
  std::vector<int> compound_depths_;  // parenthesis depths where a UNION / EXCEPT / INTERSECT was seen
};

// INSERT / UPDATE / DELETE ... OUTPUT inserted.a, deleted.b ... -> the statement with RETURNING a, b at its
// end (SQLite's RETURNING gives the new row of an INSERT or UPDATE and the old row of a DELETE).
std::vector<Token> move_output_clause(const std::vector<Token>& tokens) {
  if (tokens.empty() || !is_word_any(&tokens[0], {"INSERT", "UPDATE", "DELETE"})) return tokens;
  const bool insert = is_word(&tokens[0], "INSERT");
  const bool update = is_word(&tokens[0], "UPDATE");
  int depth = 0;
  size_t output = 0;
  for (size_t i = 1; i < tokens.size() && output == 0; ++i) {
    if (is_punct(&tokens[i], "(")) ++depth;
    if (is_punct(&tokens[i], ")")) --depth;
    if (depth == 0 && is_word(&tokens[i], "OUTPUT")) output = i;
  }
  if (output == 0) return tokens;
  size_t end = tokens.size();
  depth = 0;
  for (size_t i = output + 1; i < tokens.size(); ++i) {
    if (is_punct(&tokens[i], "(")) ++depth;
    if (is_punct(&tokens[i], ")")) --depth;
    if (depth != 0) continue;
    bool ends = insert ? is_word_any(&tokens[i], {"VALUES", "SELECT", "DEFAULT", "EXEC", "EXECUTE", "WITH"})
                       : is_word_any(&tokens[i], {"FROM", "WHERE", "OPTION"});
    if (is_word(&tokens[i], "INTO")) {
      throw not_supported(
          "OUTPUT ... INTO is not supported yet; use OUTPUT without INTO to get the rows back.");
    }
    if (ends) {
      end = i;
      break;
    }
  }
  std::vector<Token> list;
  for (size_t i = output + 1; i < end; ++i) {
    const Token& t = tokens[i];
    bool prefix = is_name(&t) && iequals_any(t.value, {"inserted", "deleted"}) &&
                  is_punct(token_at(tokens, i + 1), ".");
    if (prefix) {
      if (update && iequals(t.value, "deleted")) {
        throw not_supported(
            "OUTPUT deleted.* in an UPDATE (the row before the change) is not supported yet.");
      }
      ++i;  // the dot; the column follows
      continue;
    }
    if (t.kind == TokenKind::kWord && t.text == "$action")
      throw not_supported("OUTPUT $action is not supported yet.");
    list.push_back(t);
  }
  if (list.empty()) throw syntax_error_near("OUTPUT");
  std::vector<Token> out(tokens.begin(), tokens.begin() + static_cast<std::ptrdiff_t>(output));
  out.insert(out.end(), tokens.begin() + static_cast<std::ptrdiff_t>(end), tokens.end());
  out.push_back(Token{TokenKind::kWord, "RETURNING", "RETURNING", tokens[output].offset, true});
  list.front().space_before = true;
  out.insert(out.end(), list.begin(), list.end());
  return out;
}

}  // namespace

std::string attachment_schema(std::string_view database) {
  std::string key = engine::database_name_key(database);
  if (key == "main" || key == "temp" || key.starts_with('~')) return "~" + key;
  return key;
}

RewrittenSql rewrite_for_sqlite(const std::vector<Token>& tokens, const RewriteContext& context) {
  SelectList select = read_select_list(move_output_clause(tokens), context.variable_types);
  // Column definitions and index options are rewritten only where they are (elsewhere NVARCHAR(MAX) is a type
  // that bakrest_cast reads, and must keep its MAX).
  size_t kind = 1;
  while (is_word_any(token_at(select.tokens, kind), {"UNIQUE", "CLUSTERED", "NONCLUSTERED"})) ++kind;
  bool table_or_index = !select.tokens.empty() && is_word_any(&select.tokens[0], {"CREATE", "ALTER"}) &&
                        is_word_any(token_at(select.tokens, kind), {"TABLE", "INDEX"});
  std::vector<Token> ddl = table_or_index ? rewrite_ddl(select.tokens) : select.tokens;
  RewrittenSql result;
  if (select.columns) {
    result.columns.emplace();
    for (const auto& c : *select.columns) result.columns->push_back(ColumnHint{c.named, c.type});
  }
  NamedDatabases databases{result.databases, {}, result.temporary_tables};
  bool table_ddl = ddl.size() > 1 && is_word_any(&ddl[0], {"CREATE", "ALTER"}) && is_word(&ddl[1], "TABLE");
  result.sql = Emitter(ddl, context, databases, table_ddl).run();
  return result;
}

}  // namespace bakrest::sql
