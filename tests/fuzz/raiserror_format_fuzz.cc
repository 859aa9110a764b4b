// RAISERROR's format strings and arguments come from clients: format_raiserror() must never read past the
// format, loop, or make more than its 2,047 characters (plus "...") whatever the specification's widths.
// The input is the format, a NUL, then arguments separated by NULs: those that parse as integers are
// integers, "~" is NULL, the rest text.
#include <charconv>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "fuzz_support.h"
#include "sql/raiserror_format.h"

using namespace bakrest;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t nul = input.find('\0');
  std::string_view format = input.substr(0, nul);
  std::vector<Value> arguments;
  while (nul != std::string_view::npos && arguments.size() < sql::kMaxRaiserrorArguments) {
    size_t next = input.find('\0', nul + 1);
    std::string_view piece = input.substr(nul + 1, next == std::string_view::npos ? next : next - nul - 1);
    int64_t n = 0;
    auto [end, ec] = std::from_chars(piece.data(), piece.data() + piece.size(), n);
    if (piece == "~") {
      arguments.emplace_back(std::monostate{});
    } else if (ec == std::errc() && end == piece.data() + piece.size() && !piece.empty()) {
      arguments.emplace_back(n);
    } else {
      arguments.emplace_back(std::string(piece));
    }
    nul = next;
  }
  try {
    std::string text = sql::format_raiserror(format, arguments);
    fuzz::check(text.size() <= sql::kMaxRaiserrorMessage, "the message is at most 2,047 bytes");
  } catch (const SqlError& e) {
    fuzz::check(e.message().number == 2786 || e.message().number == 2787, "only RAISERROR's format errors");
  }
  return 0;
}
