// How many request bytes the server holds: each session at most per_session bytes (its message being read
// plus those it has queued), all sessions together at most total bytes beyond a small allowance each
// (kSessionAllowance), so that ordinary requests are always served however full the shared budget is
// (docs/OPERATIONS.md, "Limits"). A client can't make the server buffer more than that, however large or
// unfinished its messages are: read_message() stops buffering a message the budget refuses and reads the
// rest of it only to drop it. A BULK_LOAD message is not held whole but streamed (MessageStream): the packets
// it holds at a time, and the row being decoded from them, are what it draws on the budget.
//
// Thread safety: all of it may be used from any thread; one Account belongs to one session.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>

namespace bakrest::server {

class RequestBudget {
 public:
  // What each session holds without drawing on the shared total: ordinary batches and RPCs fit in it.
  static constexpr uint64_t kSessionAllowance = 256 * 1024;

  RequestBudget(uint64_t per_session_bytes, uint64_t total_bytes);
  RequestBudget(const RequestBudget&) = delete;
  RequestBudget& operator=(const RequestBudget&) = delete;

  enum class Refusal {
    kNone,
    kTooLarge,    // one message is larger than a session may send
    kServerFull,  // the sessions together hold as much as the instance allows
  };

  class Account;

  // The bytes one message holds; they are given back when it is destroyed.
  class Reservation {
   public:
    Reservation() = default;
    ~Reservation();
    Reservation(Reservation&& other) noexcept;
    Reservation& operator=(Reservation&& other) noexcept;
    Reservation(const Reservation&) = delete;
    Reservation& operator=(const Reservation&) = delete;

    uint64_t bytes() const { return bytes_; }

   private:
    friend class Account;
    void release();
    std::shared_ptr<Account> account_;
    uint64_t bytes_ = 0;
  };

  // One session's share. A message that fits the session's limit but not beside the messages the
  // session already holds waits for them to be processed (a client that sends ahead is slowed down, not
  // refused); a message over the limit alone, or one the instance has no room for, is refused.
  class Account : public std::enable_shared_from_this<Account> {
   public:
    explicit Account(RequestBudget& budget) : budget_(budget) {}
    // Grows reservation to total bytes. Returns kNone when it has, else why not (reservation unchanged).
    Refusal grow(Reservation& reservation, uint64_t total);
    // The same, but never waits: bytes that do not fit beside what the session holds now are kTooLarge. For
    // the request thread, which would wait for itself: what the session holds is its to give back.
    Refusal try_grow(Reservation& reservation, uint64_t total);
    // Wakes a grow() that waits, which then refuses with kServerFull: the session is ending.
    void close();
    uint64_t held() const;

   private:
    friend class Reservation;
    Refusal grow(Reservation& reservation, uint64_t total, bool wait);
    void give_back(uint64_t bytes);

    RequestBudget& budget_;
    mutable std::mutex mutex_;
    std::condition_variable released_;
    uint64_t held_ = 0;
    bool closed_ = false;
  };

  std::shared_ptr<Account> open_account() { return std::make_shared<Account>(*this); }

  uint64_t per_session_bytes() const { return per_session_; }
  uint64_t total_bytes() const { return total_; }
  uint64_t held() const;  // by all sessions, beyond their allowances

 private:
  bool take(uint64_t bytes);
  void give(uint64_t bytes);

  const uint64_t per_session_;
  const uint64_t total_;
  mutable std::mutex mutex_;
  uint64_t held_ = 0;
};

}  // namespace bakrest::server
