// The TDS protocol versions bakrest speaks (7.1 to 7.4) and the wire differences between them.
#pragma once

#include <cstdint>
#include <string>

namespace bakrest::server {

// The canonical version constants for LOGINACK; clients such as tedious reject any other value.
inline constexpr uint32_t kTds71 = 0x71000001;
inline constexpr uint32_t kTds72 = 0x72090002;
inline constexpr uint32_t kTds73A = 0x730A0003;
inline constexpr uint32_t kTds73B = 0x730B0003;
inline constexpr uint32_t kTds74 = 0x74000004;

class TdsVersion {
 public:
  constexpr TdsVersion() = default;
  // The version to use with a client that asked for `client_version` in LOGIN7: the highest canonical
  // version not above it, and at least 7.1.
  static TdsVersion negotiate(uint32_t client_version);

  uint32_t value() const { return value_; }
  std::string name() const;

  // 7.2 added ALL_HEADERS, 8-byte DONE row counts, 4-byte UserType, i32 line numbers and the MAX types.
  bool has_72() const { return value_ >= kTds72; }
  // 7.3 added DATE, TIME, DATETIME2 and DATETIMEOFFSET.
  bool has_73() const { return value_ >= kTds73A; }

  bool operator==(const TdsVersion&) const = default;

 private:
  constexpr explicit TdsVersion(uint32_t value) : value_(value) {}
  uint32_t value_ = kTds74;
};

}  // namespace bakrest::server
