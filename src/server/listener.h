// The TDS endpoint: accepts connections and serves each on its own thread until stopped.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "server/backend.h"
#include "server/handshake.h"
#include "server/login_throttle.h"
#include "server/request_budget.h"
#include "server/socket.h"

namespace bakrest::server {

struct ListenerOptions {
  std::string host = "127.0.0.1";
  int port = 1433;                      // 0 = any free port
  std::string server_name = "bakrest";  // reported in ERROR and INFO messages
  ProductVersion product;               // the SQL Server version PRELOGIN and LOGINACK name
  // Limits (docs/OPERATIONS.md, "Limits"): connections served at once (more are refused with 17809),
  // request bytes per session and for all sessions, and the time to log in.
  int max_connections = 256;
  uint64_t max_request_bytes = 64u << 20;
  uint64_t max_buffered_request_bytes = 512u << 20;
  std::chrono::milliseconds login_timeout{30000};
  LoginThrottleOptions throttle;
  // TLS (docs/OPERATIONS.md, "Encryption"): the certificate, which must outlive the listener, and whether
  // connections that do not encrypt are refused. Without a certificate nothing is encrypted.
  EncryptionPolicy encryption;
};

class Listener {
 public:
  // Binds and listens. Throws std::runtime_error with a sentence naming the address if that fails,
  // e.g. because the port is taken.
  Listener(Backend& backend, ListenerOptions options);
  ~Listener();  // stop()
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // The port actually bound (useful with port 0).
  int port() const { return port_; }

  // Accepts connections until stop(). Returns at once if stop() was already called.
  void run();

  // Closes the listening socket and every session and joins their threads; waits for run() to
  // return. Thread-safe and idempotent. Must not be called from a session's own thread.
  void stop();

  // Sessions whose connection is open (refused connections are not counted).
  size_t active_sessions();
  // Waits until at most `count` sessions are open, or for timeout; returns whether they are.
  bool wait_for_sessions(size_t count, std::chrono::milliseconds timeout);
  // Request bytes the sessions hold beyond their allowances (RequestBudget).
  uint64_t buffered_request_bytes() const { return budget_.held(); }

 private:
  struct Slot;

  void accept_one();
  void reap_finished();
  int allocate_spid();  // -1 when all SPIDs are in use

  Backend& backend_;
  const ListenerOptions options_;
  Socket listen_socket_;
  Socket wake_read_;  // a pipe that wakes run() from poll() on stop()
  Socket wake_write_;
  int port_ = 0;

  RequestBudget budget_;
  LoginThrottle throttle_;

  std::mutex stop_mutex_;  // serializes stop()
  std::mutex mutex_;
  std::condition_variable run_exited_;
  std::condition_variable session_ended_;
  bool stopping_ = false;
  bool running_ = false;
  std::list<std::unique_ptr<Slot>> sessions_;  // and connections being refused
  std::set<int> spids_;
  size_t active_ = 0;    // sessions (not refusals) whose thread has not finished
  size_t refusing_ = 0;  // connections being refused
};

}  // namespace bakrest::server
