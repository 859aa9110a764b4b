#include "server/login_throttle.h"

#include <algorithm>

#include "common/text.h"

namespace bakrest::server {

LoginThrottle::LoginThrottle(LoginThrottleOptions options) : options_(options) {}

LoginThrottle::Entry& LoginThrottle::entry(const std::string& key, Clock::time_point now) {
  Entry& e = entries_[key];
  if (e.failures > 0 && now - e.last_failure > options_.forget) e = Entry{};
  return e;
}

void LoginThrottle::forget_old(Clock::time_point now) {
  // Room for the two entries an attempt may add; called before any entry is looked up, so none held is
  // erased.
  if (entries_.size() + 2 <= options_.max_entries) return;
  std::erase_if(entries_, [&](const auto& item) { return now - item.second.last_failure > options_.forget; });
  // Still full: the entries whose last failure is oldest go, so memory stays bounded.
  while (!entries_.empty() && entries_.size() + 2 > options_.max_entries) {
    auto oldest = std::min_element(entries_.begin(), entries_.end(), [](const auto& a, const auto& b) {
      return a.second.last_failure < b.second.last_failure;
    });
    entries_.erase(oldest);
  }
}

std::chrono::milliseconds LoginThrottle::delay(const Entry& e) const {
  if (e.failures == 0) return std::chrono::milliseconds(0);
  auto d = options_.base;
  for (int i = 1; i < e.failures && d < options_.max; ++i) d *= 2;
  return std::min(d, options_.max);
}

std::chrono::milliseconds LoginThrottle::wait_turn(const std::string& user, const std::string& address) {
  std::unique_lock lock(mutex_);
  Clock::time_point now = Clock::now();
  forget_old(now);
  Entry* keys[] = {&entry("user:" + ascii_lower(user), now), &entry("address:" + address, now)};
  Clock::time_point turn = now;
  for (Entry* e : keys) {
    if (e->failures > 0) turn = std::max(turn, e->next_turn);
  }
  // Attempts that come together take turns: the one after this waits this one's delay more.
  for (Entry* e : keys) {
    if (e->failures > 0) e->next_turn = turn + delay(*e);
  }
  stopped_.wait_until(lock, turn, [&] { return stopping_; });
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::max(turn, now) - now);
}

int LoginThrottle::failed(const std::string& user, const std::string& address) {
  std::lock_guard lock(mutex_);
  Clock::time_point now = Clock::now();
  forget_old(now);
  int most = 0;
  for (const std::string& key : {"user:" + ascii_lower(user), "address:" + address}) {
    Entry& e = entry(key, now);
    ++e.failures;
    e.last_failure = now;
    e.next_turn = std::max(e.next_turn, now + delay(e));
    most = std::max(most, e.failures);
  }
  return most;
}

void LoginThrottle::succeeded(const std::string& user, const std::string& address) {
  std::lock_guard lock(mutex_);
  entries_.erase("user:" + ascii_lower(user));
  entries_.erase("address:" + address);
}

void LoginThrottle::stop() {
  std::lock_guard lock(mutex_);
  stopping_ = true;
  stopped_.notify_all();
}

}  // namespace bakrest::server
