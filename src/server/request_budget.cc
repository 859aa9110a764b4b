#include "server/request_budget.h"

#include <utility>

namespace bakrest::server {

RequestBudget::RequestBudget(uint64_t per_session_bytes, uint64_t total_bytes)
    : per_session_(per_session_bytes), total_(total_bytes) {}

bool RequestBudget::take(uint64_t bytes) {
  std::lock_guard lock(mutex_);
  if (held_ + bytes > total_) return false;
  held_ += bytes;
  return true;
}

void RequestBudget::give(uint64_t bytes) {
  std::lock_guard lock(mutex_);
  held_ -= bytes;
}

uint64_t RequestBudget::held() const {
  std::lock_guard lock(mutex_);
  return held_;
}

namespace {

// The part of what a session holds that counts against the shared total.
uint64_t shared_part(uint64_t held) {
  return held > RequestBudget::kSessionAllowance ? held - RequestBudget::kSessionAllowance : 0;
}

}  // namespace

RequestBudget::Refusal RequestBudget::Account::grow(Reservation& reservation, uint64_t total) {
  return grow(reservation, total, true);
}

RequestBudget::Refusal RequestBudget::Account::try_grow(Reservation& reservation, uint64_t total) {
  return grow(reservation, total, false);
}

RequestBudget::Refusal RequestBudget::Account::grow(Reservation& reservation, uint64_t total, bool wait) {
  if (total <= reservation.bytes_) return Refusal::kNone;
  if (total > budget_.per_session_) return Refusal::kTooLarge;
  uint64_t more = total - reservation.bytes_;
  std::unique_lock lock(mutex_);
  // The session's other messages are waiting for its handler, which gives their bytes back.
  auto fits = [&] { return held_ + more <= budget_.per_session_; };
  if (!wait && !fits()) return Refusal::kTooLarge;
  released_.wait(lock, [&] { return closed_ || fits(); });
  if (closed_ || !budget_.take(shared_part(held_ + more) - shared_part(held_))) return Refusal::kServerFull;
  held_ += more;
  if (!reservation.account_) reservation.account_ = shared_from_this();
  reservation.bytes_ = total;
  return Refusal::kNone;
}

void RequestBudget::Account::close() {
  std::lock_guard lock(mutex_);
  closed_ = true;
  released_.notify_all();
}

uint64_t RequestBudget::Account::held() const {
  std::lock_guard lock(mutex_);
  return held_;
}

void RequestBudget::Account::give_back(uint64_t bytes) {
  std::lock_guard lock(mutex_);
  budget_.give(shared_part(held_) - shared_part(held_ - bytes));
  held_ -= bytes;
  released_.notify_all();
}

RequestBudget::Reservation::~Reservation() { release(); }

RequestBudget::Reservation::Reservation(Reservation&& other) noexcept
    : account_(std::move(other.account_)), bytes_(std::exchange(other.bytes_, 0)) {}

RequestBudget::Reservation& RequestBudget::Reservation::operator=(Reservation&& other) noexcept {
  if (this != &other) {
    release();
    account_ = std::move(other.account_);
    bytes_ = std::exchange(other.bytes_, 0);
  }
  return *this;
}

void RequestBudget::Reservation::release() {
  if (account_ && bytes_ > 0) account_->give_back(bytes_);
  account_.reset();
  bytes_ = 0;
}

}  // namespace bakrest::server
