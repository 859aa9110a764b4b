#include "iam/json_lines.h"

#include <algorithm>
#include <cctype>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

namespace bakrest::iam {

const JsonNode* JsonNode::member(std::string_view name) const {
  for (const auto& [key, value] : members) {
    if (key == name) return &value;
  }
  return nullptr;
}

namespace {

// Where the parser has read to. nlohmann's lexer reads its input through an iterator one character at a
// time and calls the SAX handler as soon as a token is complete, so the line of the last character that is
// not white space is the line of the token just handed over (a number is only known to end at the character
// after it, which may be a newline: hence "not white space").
struct ReadPosition {
  int line = 1;
  int token_line = 1;
  void passed(char c) {
    if (c == '\n') {
      ++line;
    } else if (!std::isspace(static_cast<unsigned char>(c))) {
      token_line = line;
    }
  }
};

class CountingIterator {
 public:
  using iterator_category = std::forward_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = const char&;

  CountingIterator() = default;
  CountingIterator(const char* at, ReadPosition* position) : at_(at), position_(position) {}
  reference operator*() const { return *at_; }
  CountingIterator& operator++() {
    position_->passed(*at_);
    ++at_;
    return *this;
  }
  CountingIterator operator++(int) {
    CountingIterator before = *this;
    ++*this;
    return before;
  }
  bool operator==(const CountingIterator& other) const { return at_ == other.at_; }
  bool operator!=(const CountingIterator& other) const { return at_ != other.at_; }

 private:
  const char* at_ = nullptr;
  ReadPosition* position_ = nullptr;
};

// Builds the tree from the parser's events with a stack of the open objects and arrays.
class TreeBuilder : public nlohmann::json_sax<nlohmann::json> {
 public:
  TreeBuilder(const ReadPosition& position, std::string_view text) : position_(position), text_(text) {}

  bool null() override { return value(JsonNode::Kind::kNull, ""); }
  bool boolean(bool b) override { return value(JsonNode::Kind::kBool, b ? "true" : "false"); }
  bool number_integer(number_integer_t n) override {
    return value(JsonNode::Kind::kNumber, std::to_string(n));
  }
  bool number_unsigned(number_unsigned_t n) override {
    return value(JsonNode::Kind::kNumber, std::to_string(n));
  }
  bool number_float(number_float_t, const string_t& spelled) override {
    return value(JsonNode::Kind::kNumber, spelled);
  }
  bool string(string_t& s) override { return value(JsonNode::Kind::kString, std::move(s)); }
  bool binary(binary_t&) override { return fail("binary values are not JSON"); }
  bool start_object(std::size_t) override { return open(JsonNode::Kind::kObject); }
  bool start_array(std::size_t) override { return open(JsonNode::Kind::kArray); }
  bool key(string_t& name) override {
    if (!names_.back().insert(name).second) return fail("duplicate field " + name);
    pending_key_ = std::move(name);
    return true;
  }
  bool end_object() override { return close(); }
  bool end_array() override { return close(); }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& e) override {
    // nlohmann's message: "[json.exception.parse_error.101] parse error at line 3, column 5: syntax error
    // while parsing ..."; keep what follows the position.
    std::string reason = e.what();
    if (size_t column = reason.find("column "); column != std::string::npos) {
      if (size_t colon = reason.find(": ", column); colon != std::string::npos) reason.erase(0, colon + 2);
    }
    // position counts the character that gave the error away; when that is the newline after a bad token,
    // the problem is on the line the newline ends.
    size_t end = std::min(position > 0 ? position - 1 : 0, text_.size());
    int line = 1;
    for (size_t i = 0; i < end; ++i) line += text_[i] == '\n';
    error_ = JsonError(reason, line);
    return false;
  }

  // The document, or throws the error that stopped the parse.
  JsonNode take() {
    if (error_) throw *error_;
    return std::move(root_);
  }

 private:
  // Places node where the parse is: the root, the next item of an array, or the member just named.
  JsonNode* place(JsonNode node) {
    if (open_.empty()) {
      root_ = std::move(node);
      return &root_;
    }
    JsonNode* parent = open_.back();
    if (parent->kind == JsonNode::Kind::kArray) {
      parent->items.push_back(std::move(node));
      return &parent->items.back();
    }
    parent->members.push_back({std::move(pending_key_), std::move(node)});
    return &parent->members.back().value;
  }
  bool value(JsonNode::Kind kind, std::string text) {
    JsonNode node;
    node.kind = kind;
    node.text = std::move(text);
    node.line = position_.token_line;
    place(std::move(node));
    return true;
  }
  bool open(JsonNode::Kind kind) {
    if (static_cast<int>(open_.size()) >= kMaxJsonDepth)
      return fail("nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
    JsonNode node;
    node.kind = kind;
    node.line = position_.token_line;
    // A pointer into the parent's vector stays valid: nothing is added to the parent until this closes.
    open_.push_back(place(std::move(node)));
    names_.emplace_back();
    return true;
  }
  bool close() {
    open_.pop_back();
    names_.pop_back();
    return true;
  }
  bool fail(const std::string& reason) {
    error_ = JsonError(reason, position_.token_line);
    return false;
  }

  const ReadPosition& position_;
  std::string_view text_;
  JsonNode root_;
  std::vector<JsonNode*> open_;
  std::vector<std::set<std::string>> names_;  // the member names of each open object so far
  std::string pending_key_;
  std::optional<JsonError> error_;
};

}  // namespace

JsonNode parse_json_with_lines(std::string_view text) {
  if (text.size() > kMaxJsonBytes)
    throw JsonError("the document is " + std::to_string(text.size()) + " bytes; at most " +
                        std::to_string(kMaxJsonBytes) + " are read",
                    1);
  ReadPosition position;
  TreeBuilder builder(position, text);
  nlohmann::json::sax_parse(CountingIterator(text.data(), &position),
                            CountingIterator(text.data() + text.size(), &position), &builder);
  return builder.take();
}

}  // namespace bakrest::iam
