#include "server/message_stream.h"

#include <utility>

namespace bakrest::server {
namespace {

const char* describe(MessageEnd how, RequestBudget::Refusal refusal) {
  switch (refusal) {
    case RequestBudget::Refusal::kNone:
      break;
    case RequestBudget::Refusal::kTooLarge:
      return "a packet of the message was larger than a session may hold";
    case RequestBudget::Refusal::kServerFull:
      return "the sessions together hold as many request bytes as the instance buffers";
  }
  switch (how) {
    case MessageEnd::kOpen:
    case MessageEnd::kComplete:
      break;
    case MessageEnd::kIgnored:
      return "the client abandoned the message (IGNORE)";
    case MessageEnd::kAttention:
      return "an ATTENTION cut the message short";
    case MessageEnd::kClosed:
      return "the connection closed in the middle of the message";
  }
  return "the message ended";
}

}  // namespace

MessageAbandoned::MessageAbandoned(MessageEnd how, RequestBudget::Refusal refusal)
    : std::runtime_error(describe(how, refusal)), how_(how), refusal_(refusal) {}

MessageStream::MessageStream(std::shared_ptr<RequestBudget::Account> account, uint64_t limit)
    : account_(std::move(account)), limit_(limit) {}

bool MessageStream::push(Bytes payload) {
  const uint64_t size = payload.size();
  {
    std::lock_guard lock(mutex_);
    ++packets_;
    received_ += size;
    if (!wanted()) return false;
  }
  if (size == 0) return true;
  RequestBudget::Reservation reservation;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [&] { return !wanted() || held_ == 0 || held_ + size <= limit_; });
      if (!wanted()) return false;
    }
    // Not under mutex_: grow() may wait for the session's earlier messages to be handled, and the consumer
    // must be able to take pieces (which gives their bytes back) meanwhile.
    RequestBudget::Refusal refusal = account_->grow(reservation, size);
    if (refusal == RequestBudget::Refusal::kNone) break;
    std::unique_lock lock(mutex_);
    if (refusal == RequestBudget::Refusal::kServerFull && held_ > 0) {
      // The instance is full, but what this stream holds comes free as the consumer takes it: a load slows
      // down to what the session's own allowance holds rather than fail.
      changed_.wait(lock, [&] { return !wanted() || held_ == 0; });
      if (!wanted()) return false;
      continue;
    }
    if (!wanted()) return false;
    refusal_ = refusal;
    std::deque<Piece> dropped;
    dropped.swap(pieces_);
    held_ = 0;
    changed_.notify_all();
    lock.unlock();  // the pieces go back to the budget without mutex_
    return false;
  }
  std::lock_guard lock(mutex_);
  if (!wanted()) return false;  // ended while the budget was asked; the reservation goes back
  held_ += size;
  pieces_.push_back(Piece{std::move(payload), std::move(reservation)});
  changed_.notify_all();
  return true;
}

void MessageStream::count_dropped(uint64_t bytes) {
  std::lock_guard lock(mutex_);
  ++packets_;
  received_ += bytes;
}

void MessageStream::end(MessageEnd how) {
  std::deque<Piece> dropped;  // given back after mutex_ is released
  std::lock_guard lock(mutex_);
  if (how == MessageEnd::kOpen || ended_ != MessageEnd::kOpen) return;
  ended_ = how;
  if (how != MessageEnd::kComplete) {
    dropped.swap(pieces_);
    held_ = 0;
  }
  changed_.notify_all();
}

bool MessageStream::next(Piece& piece) {
  Piece taken;
  {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return !pieces_.empty() || abandoned(); });
    if (refusal_ != RequestBudget::Refusal::kNone || (pieces_.empty() && ended_ != MessageEnd::kComplete))
      throw MessageAbandoned(ended_, refusal_);
    if (pieces_.empty()) return false;
    taken = std::move(pieces_.front());
    pieces_.pop_front();
    held_ -= taken.bytes.size();
    changed_.notify_all();
  }
  piece = std::move(taken);  // the piece it replaces is given back outside mutex_
  return true;
}

MessageEnd MessageStream::discard_rest() {
  std::deque<Piece> dropped;
  {
    std::lock_guard lock(mutex_);
    discarding_ = true;
    dropped.swap(pieces_);
    held_ = 0;
    changed_.notify_all();
  }
  dropped.clear();  // back to the budget now, not once the client has sent the rest
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return ended_ != MessageEnd::kOpen; });
  return ended_;
}

MessageEnd MessageStream::ended() const {
  std::lock_guard lock(mutex_);
  return ended_;
}

uint32_t MessageStream::packets() const {
  std::lock_guard lock(mutex_);
  return packets_;
}

uint64_t MessageStream::received_bytes() const {
  std::lock_guard lock(mutex_);
  return received_;
}

}  // namespace bakrest::server
