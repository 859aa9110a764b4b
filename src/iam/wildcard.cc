#include "iam/wildcard.h"

#include <array>
#include <optional>
#include <vector>

#include "common/text.h"

namespace bakrest::iam {

namespace {

char fold(char c, bool ignore_case) { return ignore_case ? ascii_fold(c) : c; }

// What each pattern character may stand for.
struct Rule {
  bool star_crosses_colon = true;      // may '*' at this position match ':'?
  bool question_matches_colon = true;  // may '?' here be ':'?
};

// The match table, one row at a time: reach[j] says whether the pattern so far matches text[0, j). Quadratic
// in the worst case and never exponential, whatever the pattern (a backtracking matcher is exponential on
// "*a*a*a*...b"). rule(i) says what pattern[i] may match.
template <typename RuleOf>
bool match_table(std::string_view pattern, std::string_view text, bool ignore_case, RuleOf rule) {
  std::vector<char> reach(text.size() + 1, 0), next(text.size() + 1, 0);
  reach[0] = 1;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char p = pattern[i];
    const Rule r = rule(i);
    std::fill(next.begin(), next.end(), 0);
    if (p == '*') {
      // '*' extends any reachable prefix by a run of the characters it may stand for.
      bool carry = false;
      for (size_t j = 0; j <= text.size(); ++j) {
        if (reach[j]) carry = true;
        next[j] = carry;
        if (j < text.size() && text[j] == ':' && !r.star_crosses_colon) carry = false;
      }
    } else {
      for (size_t j = 0; j < text.size(); ++j) {
        if (!reach[j]) continue;
        const char t = text[j];
        bool one =
            p == '?' ? (t != ':' || r.question_matches_colon) : fold(p, ignore_case) == fold(t, ignore_case);
        if (one) next[j + 1] = 1;
      }
    }
    reach.swap(next);
  }
  return reach[text.size()] != 0;
}

// The first five colons of text divide it into six segments; nullopt if it has fewer.
std::optional<std::array<std::string_view, 6>> arn_segments(std::string_view text) {
  std::array<std::string_view, 6> out;
  for (size_t k = 0; k < 5; ++k) {
    size_t colon = text.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    out[k] = text.substr(0, colon);
    text.remove_prefix(colon + 1);
  }
  out[5] = text;
  return out;
}

}  // namespace

bool wildcard_match(std::string_view pattern, std::string_view text, bool ignore_case) {
  return match_table(pattern, text, ignore_case, [](size_t) { return Rule{}; });
}

bool resource_match(std::string_view pattern, std::string_view arn) {
  if (pattern == "*") return true;
  // The segment of each pattern position, and whether a '*' there ends its segment.
  std::vector<Rule> rules(pattern.size());
  size_t segment = 0;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const bool inside_fixed_segment = segment < 5;
    const bool ends_segment = i + 1 == pattern.size() || (pattern[i + 1] == ':' && segment < 5);
    rules[i].star_crosses_colon = !inside_fixed_segment || ends_segment;
    rules[i].question_matches_colon = !inside_fixed_segment;
    if (pattern[i] == ':' && segment < 5) ++segment;
  }
  return match_table(pattern, arn, false, [&](size_t i) { return rules[i]; });
}

bool arn_like(std::string_view pattern, std::string_view arn) {
  if (pattern == "*") return true;
  auto want = arn_segments(pattern);
  auto have = arn_segments(arn);
  if (!want || !have) return false;
  for (size_t k = 0; k < 6; ++k) {
    if (!wildcard_match((*want)[k], (*have)[k])) return false;
  }
  return true;
}

}  // namespace bakrest::iam
