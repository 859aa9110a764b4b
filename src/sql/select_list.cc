#include "sql/select_list.h"

#include <algorithm>
#include <cctype>
#include <map>

#include "common/text.h"
#include "sql/token_util.h"

namespace bakrest::sql {
namespace {

// Words that end a select list at parenthesis depth 0.
bool ends_select_list(const Token& t) {
  return is_word_any(&t, {"FROM", "WHERE", "GROUP", "HAVING", "ORDER", "UNION", "EXCEPT", "INTERSECT", "INTO",
                          "OPTION", "FOR", "WINDOW", "LIMIT", "OFFSET"});
}

size_t matching(const std::vector<Token>& tokens, size_t open, size_t end) {
  int depth = 0;
  for (size_t i = open; i < end; ++i) {
    if (is_punct(&tokens[i], "(")) ++depth;
    if (is_punct(&tokens[i], ")") && --depth == 0) return i;
  }
  return end;
}

std::string type_text(const std::vector<Token>& tokens, size_t from, size_t to) {
  std::string out;
  for (size_t j = from; j < to; ++j) {
    const Token& t = tokens[j];
    if (!out.empty() && t.kind == TokenKind::kWord && std::isalnum(static_cast<unsigned char>(out.back())))
      out += ' ';
    out += t.kind == TokenKind::kQuotedName ? t.value : t.text;
  }
  return ascii_lower(out);
}

// The type SQL Server gives a literal number: INT (BIGINT, NUMERIC beyond), or NUMERIC(p,s) with a point.
std::string number_type(const std::string& text) {
  if (text.find_first_of("eE") != std::string::npos) return "float";
  size_t point = text.find('.');
  if (point == std::string::npos) {
    std::string digits = text;
    while (digits.size() > 1 && digits.front() == '0') digits.erase(0, 1);
    if (digits.size() < 10 || (digits.size() == 10 && digits <= "2147483647")) return "int";
    if (digits.size() < 19 || (digits.size() == 19 && digits <= "9223372036854775807")) return "bigint";
    return "numeric(" + std::to_string(std::min<size_t>(digits.size(), 38)) + ",0)";
  }
  std::string whole = text.substr(0, point), fraction = text.substr(point + 1);
  while (!whole.empty() && whole.front() == '0') whole.erase(0, 1);
  size_t scale = fraction.size();
  size_t precision = std::max<size_t>(whole.size() + scale, 1);
  if (precision > 38) return "float";
  return "numeric(" + std::to_string(precision) + "," + std::to_string(scale) + ")";
}

// The type of an expression whose type T-SQL fixes by its form; empty when it depends on the data.
std::string expression_type(const std::vector<Token>& e,
                            const std::map<std::string, std::string>& variables) {
  if (e.empty()) return {};
  if (e.size() == 1) {
    const Token& t = e[0];
    if (t.kind == TokenKind::kNumber) return number_type(t.text);
    if (t.kind == TokenKind::kNString || t.kind == TokenKind::kString) {
      size_t length = std::max<size_t>(t.value.size(), 1);  // bytes: a bound on the characters
      return length <= 4000 ? "nvarchar(" + std::to_string(length) + ")" : "nvarchar(max)";
    }
    if (t.kind == TokenKind::kBinary)
      return "varbinary(" + std::to_string(std::max<size_t>((t.value.size() + 1) / 2, 1)) + ")";
    if (t.kind == TokenKind::kVariable) {
      std::string name = to_upper(t.text);
      if (name == "@@SPID" || name == "@@LANGID" || name == "@@DATEFIRST") return "smallint";
      if (name == "@@MAX_PRECISION") return "tinyint";
      if (name == "@@VERSION") return "nvarchar(300)";
      if (name == "@@SERVERNAME" || name == "@@SERVICENAME" || name == "@@LANGUAGE") return "nvarchar(128)";
      if (name == "@@IDENTITY") return "numeric(38,0)";
      if (name.rfind("@@", 0) == 0) return "int";
      auto it = variables.find(ascii_lower(t.text));
      return it == variables.end() ? std::string() : ascii_lower(it->second);
    }
    if (is_word(&t, "CURRENT_TIMESTAMP")) return "datetime";
    return {};
  }
  // A call that is the whole expression: name ( ... ).
  if (e[0].kind != TokenKind::kWord || !is_punct(&e[1], "(") || matching(e, 1, e.size()) != e.size() - 1)
    return {};
  std::string f = to_upper(e[0].text);
  size_t close = e.size() - 1;
  if (f == "CAST" || f == "TRY_CAST") {
    int depth = 0;
    size_t as = 0;
    for (size_t j = 2; j < close; ++j) {
      if (is_punct(&e[j], "(")) ++depth;
      if (is_punct(&e[j], ")")) --depth;
      if (depth == 0 && is_word(&e[j], "AS")) as = j;
    }
    return as == 0 ? std::string() : type_text(e, as + 1, close);
  }
  if (f == "CONVERT" || f == "TRY_CONVERT") {
    int depth = 0;
    for (size_t j = 2; j < close; ++j) {
      if (is_punct(&e[j], "(")) ++depth;
      if (is_punct(&e[j], ")")) --depth;
      if (depth == 0 && is_punct(&e[j], ",")) return type_text(e, 2, j);
    }
    return {};
  }
  static const std::map<std::string, std::string> kFunctions = {
      {"GETDATE", "datetime"},
      {"GETUTCDATE", "datetime"},
      {"SYSDATETIME", "datetime2(7)"},
      {"SYSUTCDATETIME", "datetime2(7)"},
      {"SYSDATETIMEOFFSET", "datetimeoffset(7)"},
      {"NEWID", "uniqueidentifier"},
      {"NEWSEQUENTIALID", "uniqueidentifier"},
      {"SCOPE_IDENTITY", "numeric(38,0)"},
      {"IDENT_CURRENT", "numeric(38,0)"},
      {"EOMONTH", "date"},
      {"DATEFROMPARTS", "date"},
      {"DATETIMEFROMPARTS", "datetime"},
      {"LEN", "int"},
      {"DATALENGTH", "int"},
      {"CHARINDEX", "int"},
      {"PATINDEX", "int"},
      {"DATEDIFF", "int"},
      {"DATEDIFF_BIG", "bigint"},
      {"DATEPART", "int"},
      {"YEAR", "int"},
      {"MONTH", "int"},
      {"DAY", "int"},
      {"COUNT", "int"},
      {"COUNT_BIG", "bigint"},
      {"DB_ID", "smallint"},
      {"SCHEMA_ID", "int"},
      {"USER_ID", "int"},
      {"OBJECT_ID", "int"},
      {"XACT_STATE", "smallint"},
      {"ISNUMERIC", "int"},
      {"ISDATE", "int"},
      {"ERROR_NUMBER", "int"},
      {"ERROR_SEVERITY", "int"},
      {"ERROR_STATE", "int"},
      {"ERROR_LINE", "int"},
      {"ERROR_MESSAGE", "nvarchar(4000)"},
      {"DB_NAME", "nvarchar(128)"},
      {"SCHEMA_NAME", "nvarchar(128)"},
      {"USER_NAME", "nvarchar(128)"},
      {"SUSER_NAME", "nvarchar(128)"},
      {"SUSER_SNAME", "nvarchar(128)"},
      {"ORIGINAL_LOGIN", "nvarchar(128)"},
      {"HOST_NAME", "nvarchar(128)"},
      {"APP_NAME", "nvarchar(128)"},
      {"OBJECT_NAME", "nvarchar(128)"},
      {"DATENAME", "nvarchar(30)"},
      {"QUOTENAME", "nvarchar(258)"},
      {"RAND", "float"},
      {"LOG", "float"},
      {"EXP", "float"},
      {"SQRT", "float"},
      {"SQUARE", "float"},
      {"PI", "float"},
      {"HASHBYTES", "varbinary(8000)"},
  };
  if (f == "DATEADD") return "datetime";
  auto it = kFunctions.find(f);
  return it == kFunctions.end() ? std::string() : it->second;
}

// Whether an expression can end with this token, so that a name after it is an alias (x y, f(x) y, 1 y).
bool ends_operand(const Token& t) {
  switch (t.kind) {
    case TokenKind::kPunct:
      return t.text == ")";
    case TokenKind::kWord:
      return !is_word_any(&t, {"COLLATE", "NOT", "AND", "OR", "IS", "LIKE", "BETWEEN", "IN", "ELSE", "THEN",
                               "WHEN", "CASE", "AS", "DISTINCT", "ALL"});
    case TokenKind::kSemicolon:
      return false;
    default:
      return true;
  }
}

bool is_column_reference(const std::vector<Token>& e) {
  // name, a.name, db.schema.table.name, with [quoted] parts.
  if (e.empty() || !is_name(&e[0])) return false;
  for (size_t i = 1; i < e.size(); i += 2) {
    if (!is_punct(&e[i], ".") || i + 1 >= e.size() || !is_name(&e[i + 1])) return false;
  }
  return true;
}

}  // namespace

SelectList read_select_list(const std::vector<Token>& tokens,
                            const std::map<std::string, std::string>& variable_types) {
  SelectList out{tokens, std::nullopt};
  // The outermost SELECT: the statement's first word, or the first SELECT at depth 0 after a WITH's CTEs.
  size_t select = tokens.size();
  if (!tokens.empty() && is_word(&tokens[0], "SELECT")) {
    select = 0;
  } else if (!tokens.empty() && is_word(&tokens[0], "WITH")) {
    int depth = 0;
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (is_punct(&tokens[i], "(")) ++depth;
      if (is_punct(&tokens[i], ")")) --depth;
      if (depth == 0 && is_word(&tokens[i], "SELECT")) {
        select = i;
        break;
      }
    }
  }
  if (select == tokens.size()) return out;
  size_t i = select + 1;
  if (is_word_any(token_at(tokens, i), {"DISTINCT", "ALL"})) ++i;
  if (is_word(token_at(tokens, i), "TOP")) {
    ++i;
    if (is_punct(token_at(tokens, i), "(")) {
      size_t close = matching(tokens, i, tokens.size());
      if (close == tokens.size()) return out;  // TOP ( never closed: SQLite will say what is wrong
      i = close + 1;
    } else {
      ++i;
    }
    if (is_word(token_at(tokens, i), "PERCENT")) ++i;
    if (is_word(token_at(tokens, i), "WITH") && is_word(token_at(tokens, i + 1), "TIES")) i += 2;
  }
  if (i > tokens.size()) return out;  // SELECT TOP at the very end
  // The items, each up to a comma at depth 0, until a word that ends the list.
  std::vector<std::pair<size_t, size_t>> items;
  size_t start = i, end = tokens.size();
  int depth = 0, case_depth = 0;
  for (size_t j = i; j < tokens.size(); ++j) {
    const Token& t = tokens[j];
    if (is_punct(&t, "(")) ++depth;
    if (is_punct(&t, ")")) --depth;
    if (is_word(&t, "CASE")) ++case_depth;
    if (is_word(&t, "END") && case_depth > 0) --case_depth;
    if (depth != 0 || case_depth != 0) continue;
    if (ends_select_list(t)) {
      end = j;
      break;
    }
    if (is_punct(&t, ",")) {
      items.emplace_back(start, j);
      start = j + 1;
    }
  }
  items.emplace_back(start, end);
  std::vector<Token> rewritten(tokens.begin(), tokens.begin() + static_cast<std::ptrdiff_t>(i));
  std::vector<SelectColumn> columns;
  bool star = false;
  for (size_t n = 0; n < items.size(); ++n) {
    auto [from, to] = items[n];
    if (n > 0) rewritten.push_back(tokens[from - 1]);  // the comma
    std::vector<Token> item(tokens.begin() + static_cast<std::ptrdiff_t>(from),
                            tokens.begin() + static_cast<std::ptrdiff_t>(to));
    if (item.empty()) return out;  // not a list this reader understands; SQLite will say what is wrong
    // alias = expression (T-SQL) is expression AS alias.
    if (item.size() >= 3 && is_name(&item[0]) && is_punct(&item[1], "=")) {
      std::vector<Token> moved(item.begin() + 2, item.end());
      moved.front().space_before = item[0].space_before;
      moved.push_back(Token{TokenKind::kWord, "AS", "AS", item[0].offset, true});
      Token alias = item[0];
      alias.space_before = true;
      moved.push_back(alias);
      item = std::move(moved);
    }
    rewritten.insert(rewritten.end(), item.begin(), item.end());
    // expression [AS] alias
    std::vector<Token> expression = item;
    bool aliased = false;
    if (expression.size() >= 3 && is_word(&expression[expression.size() - 2], "AS") &&
        is_name(&expression.back())) {
      expression.resize(expression.size() - 2);
      aliased = true;
    } else if (expression.size() >= 2 && is_name(&expression.back()) &&
               !is_word_any(&expression.back(), {"END", "NULL"}) &&
               ends_operand(expression[expression.size() - 2])) {
      expression.resize(expression.size() - 1);  // expression alias
      aliased = true;
    } else if (expression.size() >= 2 && expression.back().kind == TokenKind::kString &&
               is_word(&expression[expression.size() - 2], "AS")) {
      expression.resize(expression.size() - 2);  // expression AS 'alias'
      aliased = true;
    }
    bool has_star =
        std::any_of(expression.begin(), expression.end(), [](const Token& t) { return is_punct(&t, "*"); }) &&
        (expression.size() == 1 || (expression.size() >= 2 && is_punct(&expression.back(), "*") &&
                                    is_punct(&expression[expression.size() - 2], ".")));
    if (has_star) star = true;
    columns.push_back(SelectColumn{aliased || is_column_reference(expression),
                                   expression_type(expression, variable_types)});
  }
  rewritten.insert(rewritten.end(), tokens.begin() + static_cast<std::ptrdiff_t>(end), tokens.end());
  out.tokens = std::move(rewritten);
  if (!star) out.columns = std::move(columns);
  return out;
}

}  // namespace bakrest::sql
