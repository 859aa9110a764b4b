#include "common/ids.h"

#include <openssl/rand.h>

#include <cctype>
#include <stdexcept>
#include <vector>

namespace bakrest {

namespace {

void fill_random(uint8_t* out, size_t size) {
  if (RAND_bytes(out, static_cast<int>(size)) != 1) throw std::runtime_error("OpenSSL RAND_bytes failed");
}

constexpr char kHex[] = "0123456789ABCDEF";

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

Guid random_guid() {
  Guid guid;
  fill_random(guid.data(), guid.size());
  guid[6] = static_cast<uint8_t>((guid[6] & 0x0F) | 0x40);
  guid[8] = static_cast<uint8_t>((guid[8] & 0x3F) | 0x80);
  return guid;
}

std::string guid_to_string(const Guid& guid) {
  std::string out;
  for (size_t i = 0; i < guid.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += kHex[guid[i] >> 4];
    out += kHex[guid[i] & 0x0F];
  }
  return out;
}

std::optional<Guid> guid_from_string(std::string_view text) {
  Guid guid{};
  size_t n = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '-') continue;
    if (i + 1 >= text.size() || n >= guid.size()) return std::nullopt;
    int hi = hex_value(text[i]), lo = hex_value(text[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    guid[n++] = static_cast<uint8_t>(hi << 4 | lo);
    ++i;
  }
  if (n != guid.size()) return std::nullopt;
  return guid;
}

std::string random_hex(size_t bytes) {
  std::vector<uint8_t> raw(bytes);
  fill_random(raw.data(), raw.size());
  std::string out;
  for (uint8_t b : raw) {
    out += static_cast<char>(std::tolower(kHex[b >> 4]));
    out += static_cast<char>(std::tolower(kHex[b & 0x0F]));
  }
  return out;
}

}  // namespace bakrest
