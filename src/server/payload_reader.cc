#include "server/payload_reader.h"

#include <fmt/format.h>

#include <algorithm>

namespace bakrest::server {

PayloadReader::PayloadReader(std::span<const uint8_t> payload) : data_(payload), ended_(true) {}

PayloadReader::PayloadReader(MessageStream& stream) : stream_(&stream) {}

bool PayloadReader::fill() {
  while (pos_ == data_.size()) {
    if (ended_) return false;
    consumed_ += data_.size();
    data_ = {};
    pos_ = 0;
    // The packet read so far goes back to the budget before the next one is waited for.
    piece_ = MessageStream::Piece();
    if (!stream_->next(piece_)) {
      ended_ = true;
      return false;
    }
    data_ = piece_.bytes;
  }
  return true;
}

void PayloadReader::truncated(size_t needed, size_t had) const {
  throw ProtocolError(
      fmt::format("truncated data: needed {} bytes at offset {}, {} left", needed, position() - had, had));
}

uint8_t PayloadReader::next_u8() {
  if (!fill()) truncated(1, 0);
  return data_[pos_++];
}

uint64_t PayloadReader::spanning_uint_le(size_t width) {
  uint64_t v = 0;
  for (size_t i = 0; i < width; ++i) {
    if (!fill()) truncated(width, i);
    v |= uint64_t{data_[pos_++]} << (8 * i);
  }
  return v;
}

std::span<const uint8_t> PayloadReader::bytes(size_t n) {
  if (data_.size() - pos_ >= n) {
    auto out = data_.subspan(pos_, n);
    pos_ += n;
    return out;
  }
  scratch_.clear();
  append(scratch_, n);
  return scratch_;
}

void PayloadReader::append(Bytes& out, size_t n) {
  size_t got = 0;
  while (got < n) {
    if (!fill()) truncated(n, got);
    size_t take = std::min(n - got, data_.size() - pos_);
    auto from = data_.begin() + static_cast<std::ptrdiff_t>(pos_);
    out.insert(out.end(), from, from + static_cast<std::ptrdiff_t>(take));
    pos_ += take;
    got += take;
  }
}

void PayloadReader::skip(size_t n) {
  size_t got = 0;
  while (got < n) {
    if (!fill()) truncated(n, got);
    size_t take = std::min(n - got, data_.size() - pos_);
    pos_ += take;
    got += take;
  }
}

uint8_t PayloadReader::peek() {
  if (!fill()) truncated(1, 0);
  return data_[pos_];
}

bool PayloadReader::at_end() { return !fill(); }

std::optional<uint64_t> PayloadReader::remaining() const {
  if (stream_) return std::nullopt;
  return data_.size() - pos_;
}

void PayloadReader::discard_rest() {
  if (stream_ && !ended_) stream_->discard_rest();
  ended_ = true;
  consumed_ += pos_;
  data_ = {};
  pos_ = 0;
  piece_ = MessageStream::Piece();
}

}  // namespace bakrest::server
