// One client connection from PRELOGIN to disconnect.
//
// Threads: run() performs the handshake and then processes requests in order. After login a reader
// thread keeps reading the socket, so an ATTENTION that arrives while a request runs is seen at once:
// it flags the running reply (which then stops at a token boundary) and interrupts the handler. Every
// ATTENTION is acknowledged, in order after the replies before it, by a separate message holding a
// DONE with the ATTN bit, also when the reply it meant to cancel had already finished.
//
// The reader queues each message once it has all of it, except a BULK_LOAD message: that one is queued at
// its first packet with a MessageStream, which the reader then fills a packet at a time while the request
// thread inserts the rows, so that a bulk load of any size holds a bounded part of it at a time.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "server/backend.h"
#include "server/handshake.h"
#include "server/login7.h"
#include "server/login_throttle.h"
#include "server/message_stream.h"
#include "server/packet.h"
#include "server/prepared.h"
#include "server/request_budget.h"
#include "server/socket.h"
#include "server/tds_version.h"
#include "server/token_sink.h"
#include "server/transport.h"

namespace bakrest::server {

// What a session may use, and the instance's shared brakes (Listener owns them).
struct SessionLimits {
  RequestBudget* budget = nullptr;    // request bytes the session may hold (RequestBudget); required
  LoginThrottle* throttle = nullptr;  // failed logins slow down later attempts; null: no brake
  std::chrono::milliseconds login_timeout{30000};  // to send PRELOGIN and LOGIN7 after connecting
};

class Session {
 public:
  Session(Socket socket, Backend& backend, uint16_t spid, std::string server_name, ProductVersion product,
          SessionLimits limits, EncryptionPolicy encryption);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Serves the connection until the client leaves, the connection fails or shutdown() is called.
  // Never throws.
  void run();
  // Makes run() return soon. Safe from any thread.
  void shutdown();

  uint16_t spid() const { return spid_; }

  // For a connection over the instance's max_connections: answers PRELOGIN (with TLS as for any other
  // connection), reads LOGIN7 (within the login timeout) and replies with SQL Server's 17809, then closes.
  // Never throws.
  static void refuse(Socket socket, const std::string& server_name, const ProductVersion& product,
                     const EncryptionPolicy& encryption, int max_connections,
                     std::chrono::milliseconds timeout);

 private:
  struct Event {
    enum class Kind { kRequest, kAttention, kClosed } kind = Kind::kClosed;
    InMessage message;  // for kRequest; refused set when the budget had no room for it
  };

  bool handshake();
  void send_login_reply(const Login7& login, size_t packet_size);
  ConnectionInfo connection_info(const Negotiated& negotiated, size_t packet_size) const;
  void send_login_failure(const Message& error);
  void reader_loop();
  // Queues the BULK_LOAD message that first starts and reads it into its stream; returns the header of an
  // ATTENTION packet that cut it short (stream_message()).
  std::optional<PacketHeader> stream_request(const PacketHeader& first);
  // Queues a request, waiting while the queue is full.
  void queue_request(InMessage message);
  // An ATTENTION arrived: interrupts the running handler and queues its acknowledgement.
  void note_attention();
  void request_loop();
  void push(Event event);
  void handle_request(const InMessage& request);
  void handle_sql_batch(const InMessage& request, TokenSink& sink);
  void handle_rpc(const InMessage& request, TokenSink& sink);
  void handle_prepared(const ProcCall& call, TokenSink& sink);
  void handle_transaction(const InMessage& request, TokenSink& sink);
  void handle_bulk_load(const InMessage& request, TokenSink& sink);
  // Calls into the handler with interrupt() enabled, turning exceptions into error messages.
  template <class F>
  void call_handler(TokenSink& sink, F&& f);
  void send_attention_ack();
  // The error for a request the budget refused (SQL Server's 701), with a DONE.
  void send_refusal(const InMessage& request);
  Message refusal_message(RequestBudget::Refusal refusal, uint64_t received_bytes) const;
  bool cancelled() const { return attention_pending_.load() > 0 || closed_.load(); }

  Socket socket_;
  Transport transport_{socket_};  // what requests are read from and replies written to
  Backend& backend_;
  SessionLimits limits_;
  EncryptionPolicy encryption_;
  std::shared_ptr<RequestBudget::Account> account_;
  const uint16_t spid_;
  const std::string server_name_;
  const ProductVersion product_;
  const std::string peer_;
  MessageWriter writer_;
  const int64_t connected_at_;  // microseconds since 1970
  std::shared_ptr<ConnectionCounters> counters_ = std::make_shared<ConnectionCounters>();
  TdsVersion version_;
  bool max_as_lob_ = false;  // (MAX) columns go as NTEXT/IMAGE: the client's library is FreeTDS's ct-lib
  std::unique_ptr<RequestHandler> handler_;
  std::string user_;
  uint64_t next_transaction_ = 0;
  uint64_t transaction_ = 0;  // descriptor of the open transaction manager transaction, 0 if none
  PreparedStatements prepared_;

  std::thread reader_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Event> events_;
  bool handler_running_ = false;  // guarded by mutex_, so interrupt() only reaches a running handler
  std::shared_ptr<MessageStream> streaming_;  // guarded by mutex_: the message the reader is streaming
  std::atomic<int> attention_pending_{0};
  std::atomic<bool> closed_{false};
};

}  // namespace bakrest::server
