// T-SQL lexing: the token shapes SQL Server accepts, with comments dropped.
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "sql/parser.h"

namespace bakrest::sql {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex_digit(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// Bytes >= 0x80 are parts of UTF-8 letters: T-SQL identifiers may be any Unicode letter.
bool is_identifier_start(char c) {
  auto u = static_cast<unsigned char>(c);
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '#' || u >= 0x80;
}
bool is_identifier_char(char c) { return is_identifier_start(c) || is_digit(c) || c == '@' || c == '$'; }

// Tokens whose decoded value is simply their text.
bool has_plain_value(TokenKind kind) {
  return kind == TokenKind::kWord || kind == TokenKind::kNumber || kind == TokenKind::kVariable ||
         kind == TokenKind::kPunct || kind == TokenKind::kSemicolon;
}

constexpr std::string_view kTwoCharOperators[] = {"<=", ">=", "<>", "!=", "||", "::"};

class Lexer {
 public:
  explicit Lexer(std::string_view batch) : in_(batch) {}

  std::vector<Token> run() {
    std::vector<Token> tokens;
    while (true) {
      bool space = skip_space_and_comments();
      if (pos_ >= in_.size()) break;
      size_t start = pos_;
      Token token = next_token();
      token.offset = start;
      token.space_before = space;
      token.text = std::string(in_.substr(start, pos_ - start));
      if (has_plain_value(token.kind)) token.value = token.text;
      tokens.push_back(std::move(token));
    }
    return tokens;
  }

 private:
  char at(size_t i) const { return i < in_.size() ? in_[i] : '\0'; }

  // Returns whether anything was skipped: a comment separates tokens like whitespace does.
  bool skip_space_and_comments() {
    size_t begin = pos_;
    while (pos_ < in_.size()) {
      if (is_space(in_[pos_])) {
        ++pos_;
      } else if (in_[pos_] == '-' && at(pos_ + 1) == '-') {
        size_t eol = in_.find('\n', pos_);
        pos_ = eol == std::string_view::npos ? in_.size() : eol + 1;
      } else if (in_[pos_] == '/' && at(pos_ + 1) == '*') {
        skip_block_comment();
      } else {
        break;
      }
    }
    return pos_ > begin;
  }

  // T-SQL block comments nest, unlike C's.
  void skip_block_comment() {
    int depth = 0;
    while (pos_ < in_.size()) {
      if (in_[pos_] == '/' && at(pos_ + 1) == '*') {
        ++depth;
        pos_ += 2;
      } else if (in_[pos_] == '*' && at(pos_ + 1) == '/') {
        pos_ += 2;
        if (--depth == 0) return;
      } else {
        ++pos_;
      }
    }
    throw SqlError(113, 15, "Missing end comment mark '*/'.");
  }

  Token next_token() {
    char c = in_[pos_];
    char c1 = at(pos_ + 1);
    if (c == '\'') return delimited(TokenKind::kString, pos_ + 1, '\'');
    if ((c == 'N' || c == 'n') && c1 == '\'') return delimited(TokenKind::kNString, pos_ + 2, '\'');
    if (c == '[') return delimited(TokenKind::kQuotedName, pos_ + 1, ']');
    if (c == '"') return delimited(TokenKind::kQuotedName, pos_ + 1, '"');
    if (c == '0' && (c1 == 'x' || c1 == 'X')) return binary();
    if (is_digit(c) || (c == '.' && is_digit(c1))) return number();
    if (c == '@' && is_identifier_char(c1)) return variable();
    if (is_identifier_start(c)) return word();
    if (c == ';') {
      ++pos_;
      return Token{TokenKind::kSemicolon, {}, {}};
    }
    // SQLite ends a statement's text at a NUL, so one that reached it would be cut short (or, worse, never
    // make progress): refuse it here, where the position is known.
    if (c == '\0') {
      throw SqlError(102, 15,
                     "Incorrect syntax near character " + std::to_string(pos_ + 1) +
                         ": the batch holds a NUL character (U+0000) outside a string.");
    }
    return punct();
  }

  // A quoted string or name ending at `close`, where a doubled `close` stands for one.
  Token delimited(TokenKind kind, size_t content_start, char close) {
    std::string value;
    size_t i = content_start;
    while (i < in_.size()) {
      if (in_[i] == close) {
        if (at(i + 1) != close) {
          pos_ = i + 1;
          return Token{kind, {}, std::move(value)};
        }
        ++i;
      }
      value += in_[i++];
    }
    throw SqlError(105, 15,
                   "Unclosed quotation mark after the character string '" +
                       std::string(in_.substr(content_start)) + "'.");
  }

  Token binary() {
    size_t start = pos_ + 2;
    pos_ = start;
    while (pos_ < in_.size() && is_hex_digit(in_[pos_])) ++pos_;
    return Token{TokenKind::kBinary, {}, std::string(in_.substr(start, pos_ - start))};
  }

  Token number() {
    while (is_digit(at(pos_))) ++pos_;
    if (at(pos_) == '.') {
      ++pos_;
      while (is_digit(at(pos_))) ++pos_;
    }
    // An exponent only when digits follow; otherwise "1e" is the number 1 and the word e.
    if (at(pos_) == 'e' || at(pos_) == 'E') {
      size_t digits = pos_ + 1;
      if (at(digits) == '+' || at(digits) == '-') ++digits;
      if (is_digit(at(digits))) {
        pos_ = digits;
        while (is_digit(at(pos_))) ++pos_;
      }
    }
    return Token{TokenKind::kNumber, {}, {}};
  }

  Token variable() {
    ++pos_;
    while (is_identifier_char(at(pos_))) ++pos_;
    return Token{TokenKind::kVariable, {}, {}};
  }

  Token word() {
    while (is_identifier_char(at(pos_))) ++pos_;
    return Token{TokenKind::kWord, {}, {}};
  }

  Token punct() {
    std::string_view two = in_.substr(pos_, 2);
    for (std::string_view op : kTwoCharOperators) {
      if (two == op) {
        pos_ += 2;
        return Token{TokenKind::kPunct, {}, {}};
      }
    }
    ++pos_;
    return Token{TokenKind::kPunct, {}, {}};
  }

  std::string_view in_;
  size_t pos_ = 0;
};

}  // namespace

std::vector<Token> tokenize(std::string_view batch) { return Lexer(batch).run(); }

}  // namespace bakrest::sql
