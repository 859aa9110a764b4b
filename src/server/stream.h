// A bidirectional byte stream: the TCP socket in production, memory in tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace bakrest::server {

class Stream {
 public:
  virtual ~Stream() = default;
  // Reads at least one byte, at most buf.size(); returns 0 at end of stream. Throws on failure.
  virtual size_t read_some(std::span<uint8_t> buf) = 0;
  // Writes everything or throws.
  virtual void write_all(std::span<const uint8_t> data) = 0;
};

}  // namespace bakrest::server
