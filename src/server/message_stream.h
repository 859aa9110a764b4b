// One client message handed from a session's reader thread to its request thread a packet at a time, for a
// message that may be larger than a session may hold: a BULK_LOAD message carries a bulk load of any size,
// and the request thread inserts its rows while the rest of them is still arriving.
//
// The reader thread (the producer) adds each packet's payload with push() and ends the message with end(): at
// EOM, at EOM with IGNORE (the client abandons the message), when an ATTENTION packet cuts it short, or when
// the connection fails. push() blocks while the stream holds its limit of payload bytes that the request
// thread has not taken yet; the reader then stops reading the socket, and TCP stops the client. Each payload
// held is a reservation on the session's RequestBudget account, so [limits] max_buffered_request_mb still
// bounds what all sessions hold; the message as a whole is bounded by nothing.
//
// The request thread (the consumer) takes the payloads in order with next(). When it stops early (a malformed
// row, a failed insert, no INSERT BULK pending) it calls discard_rest(): what is held is dropped, push()
// returns false from then on so that the reader reads the rest of the message without keeping it, and
// discard_rest() returns once the message has ended. The reply waits for that: it answers the whole message,
// and how the message ended (IGNORE) decides what it says.
//
// close() ends the stream from any thread (the session is ending): a push() or next() that waits returns or
// throws at once, and every later call does too.
//
// Thread safety: one producer thread and one consumer thread; close() and ended() from any thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <stdexcept>

#include "common/value.h"
#include "server/request_budget.h"

namespace bakrest::server {

// How a streamed message ended.
enum class MessageEnd {
  kOpen,       // not yet
  kComplete,   // the packet with EOM arrived
  kIgnored,    // the packet with EOM had IGNORE too: the client abandoned the message
  kAttention,  // an ATTENTION packet arrived before EOM
  kClosed,     // the connection closed or failed before EOM, or the session is ending
};

// Thrown by MessageStream::next() for a message that ended other than kComplete, or whose packets the request
// budget refused.
class MessageAbandoned : public std::runtime_error {
 public:
  MessageAbandoned(MessageEnd how, RequestBudget::Refusal refusal);
  // How the message ended; kOpen when the budget refused it and the rest is still being read (and dropped).
  MessageEnd how() const { return how_; }
  // Why the budget refused a packet, or kNone.
  RequestBudget::Refusal refusal() const { return refusal_; }

 private:
  MessageEnd how_;
  RequestBudget::Refusal refusal_;
};

class MessageStream {
 public:
  // One packet's payload and the budget's share it holds, given back when the piece is destroyed.
  struct Piece {
    Bytes bytes;
    RequestBudget::Reservation reservation;
  };

  // account: the session's, on which each payload held draws. limit: the payload bytes held before push()
  // blocks; one payload is always taken, however large, so a limit below the packet size cannot stall a
  // message.
  MessageStream(std::shared_ptr<RequestBudget::Account> account, uint64_t limit);
  MessageStream(const MessageStream&) = delete;
  MessageStream& operator=(const MessageStream&) = delete;

  // Producer. Adds the payload of the message's next packet, waiting while the stream is full. Returns false
  // when the payload is not wanted — the consumer called discard_rest(), the stream has ended, or the budget
  // refused it (which drops what the stream holds; next() then throws) — and no later one will be: read the
  // rest of the message, drop it, and end() the stream at its end as ever.
  bool push(Bytes payload);
  // Producer. Counts a packet whose payload was read and dropped because push() said it was not wanted.
  void count_dropped(uint64_t bytes);
  // Producer. The message has ended (how is not kOpen). The first end counts; an end other than kComplete
  // drops what the stream holds.
  void end(MessageEnd how);

  // Consumer. The next payload into piece (which lets go of what it held); false after the last one of a
  // complete message. Blocks until a payload arrives or the message ends. Throws MessageAbandoned for a
  // message that ended other than kComplete or that the budget refused, even if payloads were still held.
  bool next(Piece& piece);
  // Consumer. Takes no more: drops what is held, has push() refuse the rest, and waits until the message has
  // ended. Returns how it ended.
  MessageEnd discard_rest();

  // Any thread: ends the stream with kClosed unless it has ended already.
  void close() { end(MessageEnd::kClosed); }
  MessageEnd ended() const;
  // Packets and payload bytes push() was given, kept or not.
  uint32_t packets() const;
  uint64_t received_bytes() const;

 private:
  // With mutex_ held.
  bool wanted() const {
    return ended_ == MessageEnd::kOpen && !discarding_ && refusal_ == RequestBudget::Refusal::kNone;
  }
  bool abandoned() const { return ended_ != MessageEnd::kOpen || refusal_ != RequestBudget::Refusal::kNone; }

  const std::shared_ptr<RequestBudget::Account> account_;
  const uint64_t limit_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;  // pieces taken or added, the stream ended or discarding
  std::deque<Piece> pieces_;
  uint64_t held_ = 0;  // payload bytes in pieces_
  bool discarding_ = false;
  MessageEnd ended_ = MessageEnd::kOpen;
  RequestBudget::Refusal refusal_ = RequestBudget::Refusal::kNone;  // why the budget refused a packet
  uint32_t packets_ = 0;
  uint64_t received_ = 0;
};

}  // namespace bakrest::server
