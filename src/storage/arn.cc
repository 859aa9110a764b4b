#include "storage/arn.h"

#include <array>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "storage/quote.h"

namespace bakrest::storage {
namespace {

constexpr std::string_view kExpectedForm = "arn:aws:s3:::bucket_name/file_name.extension";
constexpr size_t kMaxKeyBytes = 1024;

bool is_ascii_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool is_whitespace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

// Decodes one UTF-8 sequence at text[pos]; returns its length, or 0 if it is malformed (truncated,
// overlong, a surrogate or beyond U+10FFFF). Strict so that one key has exactly one byte spelling.
size_t decode_utf8(std::string_view text, size_t pos, uint32_t& code_point) {
  const auto lead = static_cast<unsigned char>(text[pos]);
  size_t length;
  uint32_t min;
  if (lead < 0x80) {
    code_point = lead;
    return 1;
  } else if ((lead & 0xE0) == 0xC0) {
    length = 2, min = 0x80, code_point = lead & 0x1F;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3, min = 0x800, code_point = lead & 0x0F;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4, min = 0x10000, code_point = lead & 0x07;
  } else {
    return 0;
  }
  if (pos + length > text.size()) return 0;
  for (size_t i = 1; i < length; ++i) {
    const auto next = static_cast<unsigned char>(text[pos + i]);
    if ((next & 0xC0) != 0x80) return 0;
    code_point = (code_point << 6) | (next & 0x3F);
  }
  if (code_point < min || code_point > 0x10FFFF || (code_point >= 0xD800 && code_point <= 0xDFFF)) return 0;
  return length;
}

bool is_control(uint32_t code_point) {
  return code_point < 0x20 || (code_point >= 0x7F && code_point <= 0x9F);
}

[[noreturn]] void reject(std::string_view arn, const std::string& problem) {
  throw std::invalid_argument("The S3 ARN " + in_quotes(arn) + " " + problem);
}

}  // namespace

bool is_valid_object_key(std::string_view key) {
  if (key.empty() || key.size() > kMaxKeyBytes || key.front() == '/') return false;
  for (size_t pos = 0; pos < key.size();) {
    uint32_t code_point = 0;
    const size_t length = decode_utf8(key, pos, code_point);
    if (length == 0 || is_control(code_point)) return false;
    pos += length;
  }
  // Segments are checked on the raw bytes: '/' never occurs inside a multi-byte UTF-8 sequence.
  size_t start = 0;
  while (true) {
    const size_t slash = key.find('/', start);
    const std::string_view segment =
        key.substr(start, slash == std::string_view::npos ? key.npos : slash - start);
    if (segment.empty() || segment == "." || segment == "..") return false;
    if (slash == std::string_view::npos) return true;
    start = slash + 1;
  }
}

bool is_valid_bucket_name(std::string_view bucket) {
  if (bucket.size() < 3 || bucket.size() > 63) return false;
  if (!is_ascii_alnum(bucket.front()) || !is_ascii_alnum(bucket.back())) return false;
  for (char c : bucket) {
    if (!is_ascii_alnum(c) && c != '.' && c != '_' && c != '-') return false;
  }
  return true;
}

S3ObjectArn parse_s3_object_arn(std::string_view arn) {
  // No final period, so the sentence matches the header's example word for word.
  const std::string expected = "expected " + std::string(kExpectedForm);
  if (arn.empty()) reject(arn, "is empty: " + expected);
  if (is_whitespace(arn.front()) || is_whitespace(arn.back())) {
    reject(arn, "has leading or trailing whitespace: " + expected);
  }

  // arn:partition:service:region:account:resource; the resource (bucket/key) may itself contain ':'.
  std::array<std::string_view, 5> fields;
  std::string_view rest = arn;
  for (auto& field : fields) {
    const size_t colon = rest.find(':');
    if (colon == std::string_view::npos) reject(arn, "is not an ARN: " + expected);
    field = rest.substr(0, colon);
    rest.remove_prefix(colon + 1);
  }
  const auto [prefix, partition, service, region, account] = fields;
  const std::string_view resource = rest;

  if (prefix != "arn") reject(arn, "is not an ARN (it must start with 'arn:'): " + expected);
  if (partition != "aws") {
    reject(arn, "is in partition " + in_quotes(partition) +
                    ", but only the 'aws' partition is supported: " + expected);
  }
  if (service != "s3") reject(arn, "names service " + in_quotes(service) + " instead of 's3': " + expected);
  if (!region.empty()) {
    reject(arn, "names a region (" + in_quotes(region) + "), but S3 object ARNs have none: " + expected);
  }
  if (!account.empty()) {
    reject(arn, "names an account (" + in_quotes(account) + "), but S3 object ARNs have none: " + expected);
  }

  const size_t slash = resource.find('/');
  const std::string_view bucket = resource.substr(0, slash);
  if (bucket.empty()) reject(arn, "names no bucket: " + expected);
  // A missing object is the likelier mistake than a short bucket name, so it is reported first.
  if (slash == std::string_view::npos || slash + 1 == resource.size())
    reject(arn, "names no object: " + expected);
  if (!is_valid_bucket_name(bucket)) {
    reject(
        arn,
        "names an invalid bucket " + in_quotes(bucket) +
            ": bucket names are 3 to 63 letters, digits, '.', '_' or '-' and start and end with a letter or "
            "digit.");
  }
  const std::string_view key = resource.substr(slash + 1);
  if (!is_valid_object_key(key)) {
    reject(arn,
           "names an invalid object key " + in_quotes(key) +
               ": keys are 1 to 1024 bytes of UTF-8 without control characters, do not start with '/' and "
               "have no empty, '.' or '..' path segments.");
  }
  return S3ObjectArn{std::string(bucket), std::string(key)};
}

}  // namespace bakrest::storage
