// Message digests, HMAC and their text forms (OpenSSL underneath): SHA-256 for the backup format's digest
// and SigV4, MD5 for S3's Content-MD5. Each object is used by one thread at a time. Every call throws
// std::runtime_error only if OpenSSL itself fails (out of memory).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

struct evp_md_ctx_st;
struct evp_md_st;

namespace bakrest {

// An incremental digest of one algorithm.
class Digester {
 public:
  void update(std::span<const uint8_t> bytes);
  void update(std::string_view text) { update({reinterpret_cast<const uint8_t*>(text.data()), text.size()}); }

 protected:
  explicit Digester(const evp_md_st* algorithm);
  void finish_into(std::span<uint8_t> out);

 private:
  struct Free {
    void operator()(evp_md_ctx_st* ctx) const;
  };
  std::unique_ptr<evp_md_ctx_st, Free> ctx_;
};

class Sha256 : public Digester {
 public:
  using Digest = std::array<uint8_t, 32>;
  Sha256();
  Digest finish();
};

class Md5 : public Digester {
 public:
  using Digest = std::array<uint8_t, 16>;
  Md5();
  Digest finish();
};

Sha256::Digest sha256(std::span<const uint8_t> bytes);
inline Sha256::Digest sha256(std::string_view text) {
  return sha256({reinterpret_cast<const uint8_t*>(text.data()), text.size()});
}
Sha256::Digest hmac_sha256(std::span<const uint8_t> key, std::string_view message);

// Lower-case hexadecimal, two digits a byte.
std::string to_hex(std::span<const uint8_t> bytes);
// Standard base64 with padding (RFC 4648 §4).
std::string to_base64(std::span<const uint8_t> bytes);
// The bytes of standard base64 text with its padding, or nullopt for anything else (white space, and bits
// set that no byte uses, included: each value has one text).
std::optional<std::vector<uint8_t>> from_base64(std::string_view text);

// Whether two secrets are equal, in a time that depends on their lengths only (not on where they differ).
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace bakrest
