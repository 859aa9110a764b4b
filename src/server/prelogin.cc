#include "server/prelogin.h"

#include <fmt/format.h>

#include "server/bytes.h"
#include "server/server_info.h"

namespace bakrest::server {
namespace {

enum Option : uint8_t {
  kVersion = 0x00,
  kEncryption = 0x01,
  kInstOpt = 0x02,
  kThreadId = 0x03,
  kMars = 0x04,
  kTerminator = 0xFF,
};

}  // namespace

PreloginRequest parse_prelogin(std::span<const uint8_t> payload) {
  PreloginRequest request;
  ByteReader dir(payload);
  for (;;) {
    uint8_t token = dir.u8();
    if (token == kTerminator) break;
    uint16_t offset = dir.u16be();
    uint16_t length = dir.u16be();
    if (size_t{offset} + length > payload.size()) {
      throw ProtocolError(fmt::format("PRELOGIN option {} lies outside the packet", token));
    }
    auto value = payload.subspan(offset, length);
    switch (token) {
      case kEncryption:
        if (!value.empty()) request.encryption = value[0];
        break;
      case kMars:
        request.mars = !value.empty() && value[0] != 0;
        break;
      case kInstOpt:
        for (uint8_t c : value) {
          if (c == 0) break;
          request.instance += static_cast<char>(c);
        }
        break;
      default:
        break;
    }
  }
  return request;
}

Bytes build_prelogin_reply(uint8_t encryption_answer, const ProductVersion& product) {
  struct Entry {
    uint8_t token;
    Bytes value;
  };
  const Entry entries[] = {
      {kVersion,
       {static_cast<uint8_t>(product.major), static_cast<uint8_t>(product.minor),
        static_cast<uint8_t>(product.build >> 8), static_cast<uint8_t>(product.build), 0, 0}},
      {kEncryption, {encryption_answer}},
      {kInstOpt, {0}},
      {kThreadId, {}},
      {kMars, {0}},
  };
  ByteWriter out;
  size_t offset = std::size(entries) * 5 + 1;
  for (const Entry& e : entries) {
    out.u8(e.token);
    out.u16be(static_cast<uint16_t>(offset));
    out.u16be(static_cast<uint16_t>(e.value.size()));
    offset += e.value.size();
  }
  out.u8(kTerminator);
  for (const Entry& e : entries) out.bytes(e.value);
  return out.take();
}

}  // namespace bakrest::server
