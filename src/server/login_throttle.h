// A brake on password guessing (docs/OPERATIONS.md, "Limits"). After failed logins, further attempts for
// the same login name, and from the same client address, wait: base after the first failure, doubling
// with each one after it, at most max. Attempts that arrive together take turns, so opening many
// connections does not guess faster. The wait is bounded and a success ends it, so the right password is
// never kept out for long: after `max` at most, it logs in. Failures are forgotten after `forget`.
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <map>
#include <mutex>
#include <string>

namespace bakrest::server {

struct LoginThrottleOptions {
  std::chrono::milliseconds base{250};
  std::chrono::milliseconds max{8000};
  std::chrono::seconds forget{15 * 60};
  size_t max_entries = 10000;  // login names and addresses remembered (at least 2); the oldest go first
};

class LoginThrottle {
 public:
  using Clock = std::chrono::steady_clock;

  explicit LoginThrottle(LoginThrottleOptions options = {});

  // Waits until an attempt by user from address may be checked and returns how long it waited; returns
  // at once after stop().
  std::chrono::milliseconds wait_turn(const std::string& user, const std::string& address);
  // The attempt failed: the next ones wait longer. Returns the consecutive failures counted for the
  // login name or the address, whichever is more.
  int failed(const std::string& user, const std::string& address);
  // The attempt succeeded: the login name and the address start over.
  void succeeded(const std::string& user, const std::string& address);
  // Ends every wait at once (the server is stopping).
  void stop();

 private:
  struct Entry {
    int failures = 0;
    Clock::time_point last_failure{};
    Clock::time_point next_turn{};  // when the next attempt may be checked
  };
  Entry& entry(const std::string& key, Clock::time_point now);
  std::chrono::milliseconds delay(const Entry& e) const;
  void forget_old(Clock::time_point now);

  const LoginThrottleOptions options_;
  std::mutex mutex_;
  std::condition_variable stopped_;
  bool stopping_ = false;
  std::map<std::string, Entry> entries_;  // "user:<lower name>" and "address:<address>"
};

}  // namespace bakrest::server
