#include "server/transport.h"

#include <algorithm>
#include <cerrno>
#include <system_error>

#include "server/bytes.h"

namespace bakrest::server {

void Transport::set_deadline(std::optional<std::chrono::steady_clock::time_point> deadline,
                             std::string what) {
  raw_.deadline_ = deadline;
  raw_.deadline_text_ = std::move(what);
  if (!deadline) raw_.socket_.set_receive_timeout(std::chrono::milliseconds(0));
}

void Transport::unread(std::span<const uint8_t> bytes) {
  unread_.insert(unread_.begin(), bytes.begin(), bytes.end());
}

size_t Transport::read_some(std::span<uint8_t> buf) {
  if (!unread_.empty()) {
    size_t n = std::min(buf.size(), unread_.size());
    std::copy_n(unread_.begin(), n, buf.begin());
    unread_.erase(unread_.begin(), unread_.begin() + static_cast<std::ptrdiff_t>(n));
    return n;
  }
  return tls_ ? tls_->read_some(raw_, buf) : raw_.read_some(buf);
}

void Transport::write_all(std::span<const uint8_t> data) {
  if (tls_) {
    tls_->write_all(raw_, data);
  } else {
    raw_.write_all(data);
  }
}

size_t Transport::Raw::read_some(std::span<uint8_t> buf) {
  if (!deadline_) return socket_.read_some(buf);
  // Each read gets what is left of the time, so a client that sends a byte now and then must still finish
  // in time.
  auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline_ - std::chrono::steady_clock::now());
  if (left.count() <= 0) throw ProtocolError(deadline_text_);
  socket_.set_receive_timeout(left);
  try {
    return socket_.read_some(buf);
  } catch (const std::system_error& e) {
    if (e.code().value() == EAGAIN || e.code().value() == EWOULDBLOCK) throw ProtocolError(deadline_text_);
    throw;
  }
}

}  // namespace bakrest::server
