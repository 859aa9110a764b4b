// A JSON document read into a tree that remembers the line of every value, so that a refusal can point at the
// line of the problem (an IAM policy is refused when it is stored, with the line: iam/policy.h). The parsing
// is nlohmann::json's (its SAX interface); this only keeps what it hands over.
//
// Hostile input: documents of more than kMaxJsonBytes or nested deeper than kMaxJsonDepth are refused before
// they cost more than that (the tree's destructor is recursive). Duplicate member names are refused: which
// one a reader would believe is not defined.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace bakrest::iam {

inline constexpr size_t kMaxJsonBytes = 128 * 1024;
inline constexpr int kMaxJsonDepth = 32;

struct JsonNode {
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject };
  Kind kind = Kind::kNull;
  std::string text;             // a string's value; a number's or bool's spelling
  std::vector<JsonNode> items;  // an array's values
  struct Member;
  std::vector<Member> members;  // an object's, in the document's order
  int line = 1;                 // 1-based: where the value ends (an object or array: its opening bracket)

  bool is_string() const { return kind == Kind::kString; }
  // The member called name, or nullptr.
  const JsonNode* member(std::string_view name) const;
};

struct JsonNode::Member {
  std::string name;
  JsonNode value;
};

class JsonError : public std::runtime_error {
 public:
  JsonError(const std::string& reason, int line) : std::runtime_error(reason), line_(line) {}
  int line() const { return line_; }

 private:
  int line_;
};

// Throws JsonError (its what() is the reason alone, without the line): a syntax error (nlohmann's
// description), a duplicate member, a document too large or too deep.
JsonNode parse_json_with_lines(std::string_view text);

}  // namespace bakrest::iam
