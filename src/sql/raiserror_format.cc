#include "sql/raiserror_format.h"

#include <algorithm>
#include <cstdint>
#include <optional>

#include "common/error.h"

namespace bakrest::sql {
namespace {

// Widths and precisions beyond this could only make text the 2,047-character cut removes.
constexpr int64_t kMaxWidth = static_cast<int64_t>(kMaxRaiserrorMessage);

struct Spec {
  bool left = false, plus = false, zero = false, alternate = false, space = false;
  int64_t width = 0;
  std::optional<int64_t> precision;
  bool wide = false;  // I64
  char type = 0;
};

SqlError invalid_spec(std::string_view spec) {
  return SqlError(2787, 16, "Invalid format specification: '" + std::string(spec) + "'.");
}

SqlError mismatch(size_t argument) {
  return SqlError(2786, 16,
                  "The data type of substitution parameter " + std::to_string(argument) +
                      " does not match the expected type of the format specification.");
}

class Arguments {
 public:
  explicit Arguments(const std::vector<Value>& values) : values_(values) {}

  // The next argument, or nullptr when none is left.
  const Value* next() { return next_ < values_.size() ? &values_[next_++] : nullptr; }
  size_t position() const { return next_; }  // 1-based number of the argument next() returned last

  // An integer argument (width, precision, or a number to print); nullopt for NULL or none left.
  std::optional<int64_t> integer() {
    const Value* v = next();
    if (v == nullptr || is_null(*v)) return std::nullopt;
    if (const auto* i = std::get_if<int64_t>(v)) return *i;
    if (const auto* b = std::get_if<bool>(v)) return *b ? 1 : 0;
    throw mismatch(position());
  }

 private:
  const std::vector<Value>& values_;
  size_t next_ = 0;
};

std::string pad(std::string body, const Spec& spec, std::string_view prefix = {}) {
  size_t width = static_cast<size_t>(std::clamp<int64_t>(spec.width, 0, kMaxWidth));
  size_t length = prefix.size() + body.size();
  if (length >= width) return std::string(prefix) + body;
  size_t fill = width - length;
  if (spec.left) return std::string(prefix) + body + std::string(fill, ' ');
  if (spec.zero && !spec.precision) return std::string(prefix) + std::string(fill, '0') + body;
  return std::string(fill, ' ') + std::string(prefix) + body;
}

std::string digits(uint64_t magnitude, unsigned base, bool upper) {
  const char* symbols = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  std::string out;
  do {
    out.push_back(symbols[magnitude % base]);
    magnitude /= base;
  } while (magnitude != 0);
  std::reverse(out.begin(), out.end());
  return out;
}

std::string format_integer(int64_t value, const Spec& spec) {
  std::string prefix;
  uint64_t magnitude = 0;
  if (spec.type == 'd' || spec.type == 'i') {
    int64_t v = spec.wide ? value : static_cast<int32_t>(static_cast<uint32_t>(value));
    // The magnitude of INT64_MIN does not fit int64_t; unsigned arithmetic gets it right.
    magnitude = v < 0 ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
    if (v < 0) {
      prefix = "-";
    } else if (spec.plus) {
      prefix = "+";
    } else if (spec.space) {
      prefix = " ";
    }
  } else {
    magnitude = spec.wide ? static_cast<uint64_t>(value) : static_cast<uint32_t>(value);
  }
  unsigned base = spec.type == 'o' ? 8 : (spec.type == 'x' || spec.type == 'X') ? 16 : 10;
  std::string body = digits(magnitude, base, spec.type == 'X');
  if (spec.precision) {
    size_t wanted = static_cast<size_t>(std::clamp<int64_t>(*spec.precision, 0, kMaxWidth));
    if (wanted == 0 && magnitude == 0) body.clear();
    if (body.size() < wanted) body.insert(0, wanted - body.size(), '0');
  }
  if (spec.alternate && magnitude != 0) {
    if (spec.type == 'x') prefix = "0x";
    if (spec.type == 'X') prefix = "0X";
    if (spec.type == 'o' && body.front() != '0') body.insert(0, "0");
  }
  return pad(body, spec, prefix);
}

}  // namespace

std::string format_raiserror(std::string_view format, const std::vector<Value>& values) {
  Arguments arguments(values);
  std::string out;
  size_t i = 0;
  while (i < format.size() && out.size() <= kMaxRaiserrorMessage) {
    char c = format[i];
    if (c != '%') {
      out.push_back(c);
      ++i;
      continue;
    }
    if (i + 1 < format.size() && format[i + 1] == '%') {
      out.push_back('%');
      i += 2;
      continue;
    }
    size_t start = i++;
    Spec spec;
    auto peek = [&] { return i < format.size() ? format[i] : '\0'; };
    for (;; ++i) {
      char f = peek();
      if (f == '-') {
        spec.left = true;
      } else if (f == '+') {
        spec.plus = true;
      } else if (f == '0') {
        spec.zero = true;
      } else if (f == '#') {
        spec.alternate = true;
      } else if (f == ' ') {
        spec.space = true;
      } else {
        break;
      }
    }
    // A NULL or missing '*' argument leaves the width or precision at its default.
    auto number = [&](int64_t& into) {
      if (peek() == '*') {
        ++i;
        into = arguments.integer().value_or(into);
        return;
      }
      while (peek() >= '0' && peek() <= '9') {
        into = std::min<int64_t>(into * 10 + (peek() - '0'), kMaxWidth);
        ++i;
      }
    };
    number(spec.width);
    if (peek() == '.') {
      ++i;
      int64_t precision = 0;
      number(precision);
      spec.precision = precision;
    }
    if (peek() == 'h' || peek() == 'l') {
      ++i;
    } else if (format.substr(i, 3) == "I64") {
      spec.wide = true;
      i += 3;
    }
    spec.type = peek();
    if (spec.type == '\0' || std::string_view("diuoxXs").find(spec.type) == std::string_view::npos) {
      throw invalid_spec(format.substr(start, std::min(i + 1, format.size()) - start));
    }
    ++i;
    const Value* argument = arguments.next();
    if (argument == nullptr || is_null(*argument)) {
      out += pad("(null)", spec);
      continue;
    }
    if (spec.type == 's') {
      const auto* text = std::get_if<std::string>(argument);
      if (text == nullptr) throw mismatch(arguments.position());
      std::string body = *text;
      // The precision counts characters; a UTF-8 sequence is never cut.
      if (spec.precision) {
        size_t keep = static_cast<size_t>(std::max<int64_t>(*spec.precision, 0));
        size_t at = 0, characters = 0;
        while (at < body.size() && characters < keep) {
          ++at;
          while (at < body.size() && (static_cast<unsigned char>(body[at]) & 0xC0) == 0x80) ++at;
          ++characters;
        }
        body.resize(at);
      }
      out += pad(body, spec);
      continue;
    }
    int64_t integer = 0;
    if (const auto* n = std::get_if<int64_t>(argument)) {
      integer = *n;
    } else if (const auto* b = std::get_if<bool>(argument)) {
      integer = *b ? 1 : 0;
    } else {
      throw mismatch(arguments.position());
    }
    out += format_integer(integer, spec);
  }
  if (out.size() > kMaxRaiserrorMessage) {
    // Cut on a character boundary, as SQL Server ends an over-long message with "...".
    size_t cut = kMaxRaiserrorMessage - 3;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
    out.resize(cut);
    out += "...";
  }
  return out;
}

}  // namespace bakrest::sql
