// PRELOGIN: the first exchange, where client and server agree on encryption (handshake.h) and MARS, which
// bakrest does not offer.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "common/product_version.h"
#include "common/value.h"

namespace bakrest::server {

namespace encryption {
inline constexpr uint8_t kOff = 0x00;  // encrypt the login only
inline constexpr uint8_t kOn = 0x01;
inline constexpr uint8_t kNotSupported = 0x02;
inline constexpr uint8_t kRequired = 0x03;
}  // namespace encryption

struct PreloginRequest {
  std::optional<uint8_t> encryption;
  bool mars = false;
  std::string instance;  // INSTOPT, empty when absent
};

// Throws ProtocolError when the option directory points outside the payload.
PreloginRequest parse_prelogin(std::span<const uint8_t> payload);

// VERSION, ENCRYPTION=`encryption_answer`, INSTOPT=0, empty THREADID, MARS=0. MARS must be present: without
// it FreeTDS silently falls back to TDS 7.1.
Bytes build_prelogin_reply(uint8_t encryption_answer = encryption::kNotSupported,
                           const ProductVersion& product = {});

}  // namespace bakrest::server
