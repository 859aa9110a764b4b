// The TDS endpoint: accepts connections and serves each on its own thread until stopped.
#pragma once

#include <condition_variable>
#include <list>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "server/backend.h"
#include "server/socket.h"

namespace bakrest::server {

struct ListenerOptions {
  std::string host = "127.0.0.1";
  int port = 1433;                      // 0 = any free port
  std::string server_name = "bakrest";  // reported in ERROR and INFO messages
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

  std::mutex stop_mutex_;  // serializes stop()
  std::mutex mutex_;
  std::condition_variable run_exited_;
  bool stopping_ = false;
  bool running_ = false;
  std::list<std::unique_ptr<Slot>> sessions_;
  std::set<int> spids_;
};

}  // namespace bakrest::server
