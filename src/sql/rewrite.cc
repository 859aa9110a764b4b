// T-SQL statement tokens back to SQL text that SQLite runs, with T-SQL-only spellings rewritten.
#include <algorithm>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "catalog/catalog.h"
#include "common/error.h"
#include "engine/database_name.h"
#include "sql/ddl_rewrite.h"
#include "sql/parser.h"
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
  void add(const std::string& name) {
    if (keys.insert(engine::database_name_key(name)).second) names.push_back(name);
  }
};

class Emitter {
 public:
  Emitter(const std::vector<Token>& tokens, const RewriteContext& context, NamedDatabases& databases)
      : tokens_(tokens), context_(context), databases_(databases) {}

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
    throw SqlError(137, 15, "Must declare the scalar variable \"" + t.text + "\".");
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
      if (k == "DB_NAME" && no_arguments) return replace(i, 3, quote_string(context_.current_database));
      if (k == "SCOPE_IDENTITY" && no_arguments) return replace(i, 3, "last_insert_rowid()");
      if (k == "ISNULL") return replace(i, 1, "IFNULL");
      if (k == "LEN") return replace(i, 1, "LENGTH");
    }
    return name_chain(i);
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
  std::vector<Piece> out_;
  int depth_ = 0;
  std::vector<PendingLimit> limits_;
  std::vector<int> compound_depths_;  // parenthesis depths where a UNION / EXCEPT / INTERSECT was seen
};

}  // namespace

std::string attachment_schema(std::string_view database) {
  std::string key = engine::database_name_key(database);
  if (key == "main" || key == "temp" || key.starts_with('~')) return "~" + key;
  return key;
}

RewrittenSql rewrite_for_sqlite(const std::vector<Token>& tokens, const RewriteContext& context) {
  std::vector<Token> ddl = rewrite_ddl(tokens);
  RewrittenSql result;
  NamedDatabases databases{result.databases, {}};
  result.sql = Emitter(ddl, context, databases).run();
  return result;
}

}  // namespace bakrest::sql
