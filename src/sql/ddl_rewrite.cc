// Column definitions in T-SQL spelling made acceptable to SQLite.
#include "sql/ddl_rewrite.h"

#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "sql/token_util.h"

namespace bakrest::sql {
namespace {

Token synthetic_word(const std::string& text, bool space_before, size_t offset) {
  return Token{TokenKind::kWord, text, text, offset, space_before};
}

bool is_max_capable_type(const Token& t) {
  return is_name(&t) && iequals_any(t.value, {"NVARCHAR", "VARCHAR", "VARBINARY"});
}

// SQLite rejects "(MAX)"; the executor reads a bare NVARCHAR / VARBINARY as MAX. CLUSTERED says how SQL
// Server stores an index, which SQLite does not let one choose.
std::vector<Token> drop_max_and_clustered(const std::vector<Token>& in) {
  std::vector<Token> out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (is_max_capable_type(in[i]) && is_punct(token_at(in, i + 1), "(") &&
        is_word(token_at(in, i + 2), "MAX") && is_punct(token_at(in, i + 3), ")")) {
      out.push_back(in[i]);
      i += 3;
      continue;
    }
    if (is_word_any(&in[i], {"CLUSTERED", "NONCLUSTERED"}) && !out.empty() &&
        is_word_any(&out.back(), {"KEY", "UNIQUE", "CREATE"})) {
      continue;
    }
    out.push_back(in[i]);
  }
  return out;
}

SqlError identity_not_supported(const std::string& why) {
  return not_supported("IDENTITY " + why +
                       " is not supported yet; declare the column as INT IDENTITY(1,1) PRIMARY KEY.");
}

// The comma-separated list item (a column definition) holding an IDENTITY token: how many of the tokens
// before it (`before` ends just before it) and how many of those after it belong to the item.
std::pair<size_t, size_t> list_item_around(std::span<const Token> before, std::span<const Token> after) {
  size_t begin = 0;
  bool found = false;
  int depth = 0;
  for (size_t j = before.size(); j-- > 0 && !found;) {
    if (is_punct(&before[j], ")")) ++depth;
    if ((is_punct(&before[j], "(") && depth-- == 0) || (is_punct(&before[j], ",") && depth == 0)) {
      begin = j + 1;
      found = true;
    }
  }
  if (!found) throw identity_not_supported("outside a CREATE TABLE column definition");
  size_t end = after.size();
  depth = 0;
  for (size_t j = 0; j < after.size(); ++j) {
    if (is_punct(&after[j], "(")) ++depth;
    if ((is_punct(&after[j], ")") && depth-- == 0) || (is_punct(&after[j], ",") && depth == 0)) {
      end = j;
      break;
    }
  }
  return {before.size() - begin, end};
}

// Index just past IDENTITY[(1, 1)] starting at k; SQLite's AUTOINCREMENT can only count 1, 2, 3, ...
size_t skip_identity_arguments(const std::vector<Token>& column, size_t k) {
  if (!is_punct(token_at(column, k + 1), "(")) return k + 1;
  auto is_one = [&](size_t i) {
    const Token* t = token_at(column, i);
    return t != nullptr && t->kind == TokenKind::kNumber && t->text == "1";
  };
  if (is_one(k + 2) && is_punct(token_at(column, k + 3), ",") && is_one(k + 4) &&
      is_punct(token_at(column, k + 5), ")")) {
    return k + 6;
  }
  throw identity_not_supported("with a seed or increment other than 1");
}

// Index of KEY in the column's PRIMARY KEY outside parentheses, or 0 if there is none.
size_t find_primary_key(const std::vector<Token>& column) {
  int depth = 0;
  for (size_t j = 0; j + 1 < column.size(); ++j) {
    if (is_punct(&column[j], "(")) ++depth;
    if (is_punct(&column[j], ")")) --depth;
    if (depth == 0 && is_word(&column[j], "PRIMARY") && is_word(&column[j + 1], "KEY")) return j + 1;
  }
  return 0;
}

// name INT [...] IDENTITY[(1,1)] [...] PRIMARY KEY [...] -> name INTEGER [...] PRIMARY KEY AUTOINCREMENT
// [...]: in SQLite only INTEGER PRIMARY KEY columns number themselves.
std::vector<Token> rewrite_identity_column(const std::vector<Token>& column, size_t k) {
  if (k < 2 || !is_name(&column[1]) ||
      !iequals_any(column[1].value, {"INT", "INTEGER", "BIGINT", "SMALLINT", "TINYINT"})) {
    throw identity_not_supported("on a column that is not INT");
  }
  size_t identity_end = skip_identity_arguments(column, k);
  size_t key = find_primary_key(column);
  if (key == 0) throw identity_not_supported("without PRIMARY KEY");
  std::vector<Token> out{column[0], synthetic_word("INTEGER", column[1].space_before, column[1].offset)};
  for (size_t j = 2; j < column.size(); ++j) {
    if (j >= k && j < identity_end) continue;
    out.push_back(column[j]);
    if (j != key) continue;
    // INTEGER PRIMARY KEY DESC would not be SQLite's rowid, and AUTOINCREMENT needs the rowid.
    if (j + 1 < column.size() && is_word_any(&column[j + 1], {"ASC", "DESC"})) ++j;
    out.push_back(synthetic_word("AUTOINCREMENT", true, column[key].offset));
  }
  return out;
}

// Built front to back: splicing each rewritten column into the token vector made a table of many IDENTITY
// columns cost quadratic time (found by tsql_fuzz). The columns before the one being rewritten are scanned as
// already rewritten, and the delimiter after it is passed over, as the splicing did.
std::vector<Token> rewrite_identity(const std::vector<Token>& tokens) {
  std::vector<Token> out;
  out.reserve(tokens.size());
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (!is_word(&tokens[i], "IDENTITY")) {
      out.push_back(tokens[i]);
      continue;
    }
    auto after = std::span<const Token>(tokens).subspan(i + 1);
    auto [lead, trail] = list_item_around(out, after);
    std::vector<Token> column(out.end() - static_cast<std::ptrdiff_t>(lead), out.end());
    column.insert(column.end(), tokens.begin() + static_cast<std::ptrdiff_t>(i),
                  tokens.begin() + static_cast<std::ptrdiff_t>(i + 1 + trail));
    std::vector<Token> rewritten = rewrite_identity_column(column, lead);
    out.erase(out.end() - static_cast<std::ptrdiff_t>(lead), out.end());
    out.insert(out.end(), rewritten.begin(), rewritten.end());
    i += trail;                                             // the column's last token
    if (i + 1 < tokens.size()) out.push_back(tokens[++i]);  // its delimiter
  }
  return out;
}

// CREATE TABLE t (id INT IDENTITY, ..., [CONSTRAINT pk] PRIMARY KEY [CLUSTERED] (id)), as SQLAlchemy writes
// it: the key moves onto the identity column, the one place SQLite lets a column number itself.
std::vector<Token> inline_identity_primary_key(const std::vector<Token>& tokens) {
  if (tokens.size() < 4 || !is_word(&tokens[0], "CREATE") || !is_word(token_at(tokens, 1), "TABLE"))
    return tokens;
  size_t open = 2;
  while (open < tokens.size() && !is_punct(&tokens[open], "(")) ++open;
  if (open == tokens.size()) return tokens;
  // The items of the list: [begin, end) of each, at depth 1.
  std::vector<std::pair<size_t, size_t>> items;
  int depth = 0;
  size_t start = open + 1, close = tokens.size();
  for (size_t i = open; i < tokens.size(); ++i) {
    if (is_punct(&tokens[i], "(")) ++depth;
    if (is_punct(&tokens[i], ")") && --depth == 0) {
      items.emplace_back(start, i);
      close = i;
      break;
    }
    if (depth == 1 && is_punct(&tokens[i], ",")) {
      items.emplace_back(start, i);
      start = i + 1;
    }
  }
  if (close == tokens.size()) return tokens;
  auto has_word = [&](std::pair<size_t, size_t> item, std::string_view word) {
    int d = 0;
    for (size_t i = item.first; i < item.second; ++i) {
      if (is_punct(&tokens[i], "(")) ++d;
      if (is_punct(&tokens[i], ")")) --d;
      if (d == 0 && is_word(&tokens[i], word)) return true;
    }
    return false;
  };
  std::optional<size_t> identity, key;
  for (size_t n = 0; n < items.size(); ++n) {
    auto [b, e] = items[n];
    if (b >= e) continue;
    if (has_word(items[n], "IDENTITY") && is_name(&tokens[b]) && !has_word(items[n], "PRIMARY")) identity = n;
    size_t k = b;
    if (is_word(&tokens[k], "CONSTRAINT")) k += 2;
    if (is_word(token_at(tokens, k), "PRIMARY") && is_word(token_at(tokens, k + 1), "KEY")) key = n;
  }
  if (!identity || !key) return tokens;
  // The key must be the identity column alone.
  auto [kb, ke] = items[*key];
  std::vector<const Token*> names;
  for (size_t i = kb; i < ke; ++i) {
    if (is_punct(&tokens[i], "(")) {
      for (size_t j = i + 1; j < ke && !is_punct(&tokens[j], ")"); ++j) {
        if (is_name(&tokens[j]) && !is_word_any(&tokens[j], {"ASC", "DESC"})) names.push_back(&tokens[j]);
      }
      break;
    }
  }
  const Token& column = tokens[items[*identity].first];
  if (names.size() != 1 || !iequals(names[0]->value, column.value)) return tokens;
  std::vector<Token> out(tokens.begin(), tokens.begin() + static_cast<std::ptrdiff_t>(open + 1));
  bool first = true;
  for (size_t n = 0; n < items.size(); ++n) {
    auto [b, e] = items[n];
    if (n == *key) continue;
    if (!first) out.push_back(Token{TokenKind::kPunct, ",", ",", tokens[b].offset, false});
    first = false;
    out.insert(out.end(), tokens.begin() + static_cast<std::ptrdiff_t>(b),
               tokens.begin() + static_cast<std::ptrdiff_t>(e));
    if (n == *identity) {
      out.push_back(synthetic_word("PRIMARY", true, column.offset));
      out.push_back(synthetic_word("KEY", true, column.offset));
    }
  }
  out.insert(out.end(), tokens.begin() + static_cast<std::ptrdiff_t>(close), tokens.end());
  return out;
}

}  // namespace

std::vector<Token> rewrite_ddl(const std::vector<Token>& tokens) {
  return rewrite_identity(inline_identity_primary_key(drop_max_and_clustered(tokens)));
}

}  // namespace bakrest::sql
