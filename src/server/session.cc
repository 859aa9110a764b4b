#include "server/session.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/clock.h"
#include "common/ids.h"
#include "common/text.h"
#include "server/bulk_load.h"
#include "server/prelogin.h"
#include "server/requests.h"
#include "server/rpc_reader.h"
#include "server/tokens.h"

namespace bakrest::server {
namespace {

constexpr size_t kMaxLoginBytes = 128 * 1024;
constexpr size_t kMaxQueuedEvents = 64;  // clients do not pipeline; this only bounds a misbehaving one
constexpr const char* kLanguage = "us_english";
constexpr uint64_t kBulkStreamBytes = 1024 * 1024;  // of a bulk load, held between the socket and the inserts
constexpr uint64_t kMaxPacketBytes = 65535;         // what a packet's u16 length allows

// The payload bytes a streamed message holds before the reader waits: at most a quarter of what a session may
// hold, so that a row being decoded fits beside it.
uint64_t stream_limit(const RequestBudget& budget) {
  return std::min(kBulkStreamBytes, budget.per_session_bytes() / 4);
}

// What one row of a bulk load may hold: what the session may hold, less the stream, the packet being decoded
// and the one being added. Then the reader, whose grow() waits until the session has room, always finds room
// while the request thread decodes; were the row larger, each would wait for the other.
uint64_t max_row_bytes(const RequestBudget& budget) {
  uint64_t others = stream_limit(budget) + 2 * kMaxPacketBytes;
  return budget.per_session_bytes() > others ? budget.per_session_bytes() - others : 0;
}

// "10.1.2.3:5000" -> "10.1.2.3", "[::1]:5000" -> "[::1]": the login brake counts per address, not per port.
std::string host_of(const std::string& peer) {
  if (!peer.empty() && peer.front() == '[') return peer.substr(0, peer.find(']') + 1);
  return peer.substr(0, peer.rfind(':'));
}

int port_of(const std::string& address) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos) return 0;
  try {
    return std::stoi(address.substr(colon + 1));
  } catch (const std::exception&) {
    return 0;
  }
}

// "[::1]" -> "::1": the address as sys.dm_exec_connections shows it.
std::string bare_host(const std::string& address) {
  std::string host = host_of(address);
  if (host.size() >= 2 && host.front() == '[') return host.substr(1, host.size() - 2);
  return host;
}

std::string login_timeout_text(std::chrono::milliseconds timeout) {
  return fmt::format("the client did not log in within {} ms ([limits] login_timeout_seconds)",
                     timeout.count());
}

const char* encryption_name(const Negotiated& n) {
  if (n.strict) return "TDS 8.0 strict";
  switch (n.encryption) {
    case Encryption::kFull:
      return "encrypted";
    case Encryption::kLoginOnly:
      return "login encrypted";
    case Encryption::kNone:
      break;
  }
  return "not encrypted";
}

std::string preview(std::string_view sql) {
  constexpr size_t kMax = 200;
  // CREATE LOGIN ... WITH PASSWORD: a password never goes into the server's log.
  std::string lower = ascii_lower(std::string(sql));
  if (lower.find("password") != std::string::npos) return "(not shown: the batch mentions a password)";
  std::string out(sql.substr(0, kMax));
  std::replace(out.begin(), out.end(), '\n', ' ');
  if (sql.size() > kMax) out += "...";
  return out;
}

Message internal_error(std::string text) { return Message{50000, 1, 16, std::move(text), {}, 1}; }

}  // namespace

Session::Session(Socket socket, Backend& backend, uint16_t spid, std::string server_name,
                 ProductVersion product, SessionLimits limits, EncryptionPolicy encryption)
    : socket_(std::move(socket)),
      backend_(backend),
      limits_(limits),
      encryption_(encryption),
      account_(limits.budget->open_account()),
      spid_(spid),
      server_name_(std::move(server_name)),
      product_(std::move(product)),
      peer_(socket_.peer_address()),
      writer_(transport_, spid),
      connected_at_(now_micros()) {}

Session::~Session() {
  shutdown();
  if (reader_.joinable()) reader_.join();
}

void Session::shutdown() {
  closed_ = true;
  account_->close();  // a reader waiting for the budget gives up
  socket_.shutdown();
  std::lock_guard lock(mutex_);
  if (streaming_) streaming_->close();  // ... and so does one waiting for the request thread to take packets
  changed_.notify_all();
}

void Session::refuse(Socket socket, const std::string& server_name, const ProductVersion& product,
                     const EncryptionPolicy& encryption, int max_connections,
                     std::chrono::milliseconds timeout) {
  std::string peer = socket.peer_address();
  try {
    Transport transport(socket);
    transport.set_deadline(std::chrono::steady_clock::now() + timeout, login_timeout_text(timeout));
    MessageWriter writer(transport, 0);
    auto negotiated = negotiate(transport, writer, encryption, product, kMaxLoginBytes);
    if (!negotiated) return;
    TdsVersion version = TdsVersion::negotiate(parse_login7(negotiated->login7.payload).tds_version);
    ByteWriter out;
    write_message(
        out,
        Message{17809,
                1,
                20,
                fmt::format("Could not connect because the maximum number of '{}' user connections has "
                            "already been reached. The system administrator can use sp_configure to "
                            "increase the maximum value. The connection has been closed.",
                            max_connections),
                {},
                1},
        server_name, version);
    write_done(out, DoneToken{token::kDone, done_status::kError, 0, 0}, version);
    writer.begin();
    writer.write(out.data());
    writer.end();
    spdlog::warn("refused a connection from {}: {} connections are open ([limits] max_connections)", peer,
                 max_connections);
  } catch (const std::exception& e) {
    spdlog::debug("refusing a connection from {}: {}", peer, e.what());
  }
}

void Session::run() {
  spdlog::info("session {}: connection from {}", spid_, peer_);
  try {
    if (handshake()) {
      reader_ = std::thread([this] { reader_loop(); });
      request_loop();
    }
  } catch (const ProtocolError& e) {
    spdlog::warn("session {}: closing connection from {}: {}", spid_, peer_, e.what());
  } catch (const std::exception& e) {
    spdlog::info("session {}: connection from {} ended: {}", spid_, peer_, e.what());
  }
  shutdown();
  if (reader_.joinable()) reader_.join();
  handler_.reset();
  spdlog::info("session {}: disconnected{}", spid_, user_.empty() ? "" : fmt::format(" (user '{}')", user_));
}

bool Session::handshake() {
  transport_.set_deadline(std::chrono::steady_clock::now() + limits_.login_timeout,
                          login_timeout_text(limits_.login_timeout));
  auto negotiated = negotiate(transport_, writer_, encryption_, product_, kMaxLoginBytes);
  if (!negotiated) return false;
  if (negotiated->refusal) {
    spdlog::warn("session {}: refused a connection from {} that does not encrypt ([tls] force_encryption)",
                 spid_, peer_);
    Login7 login = parse_login7(negotiated->login7.payload);
    version_ = TdsVersion::negotiate(login.tds_version);
    send_login_failure(*negotiated->refusal);
    return false;
  }
  Login7 login = parse_login7(negotiated->login7.payload);
  version_ = TdsVersion::negotiate(login.tds_version);
  user_ = login.user_name;
  size_t packet_size = login.packet_size == 0
                           ? kDefaultPacketSize
                           : std::clamp<size_t>(login.packet_size, kMinPacketSize, kMaxPacketSize);

  LoginRequest request{login.user_name, login.password,  login.database,
                       login.app_name,  login.host_name, connection_info(*negotiated, packet_size)};
  request.connection.client_interface = login.library_name;
  // FreeTDS ct-lib (DBD::Sybase, sqsh) can't read (MAX) columns: TokenSink::set_max_types_as_lobs.
  max_as_lob_ = login.library_name == "CT-Library";
  request.connection.client_version = login.client_version;
  request.connection.client_pid = login.client_pid;
  const std::string address = host_of(peer_);
  try {
    if (limits_.throttle) {
      auto waited = limits_.throttle->wait_turn(login.user_name, address);
      if (waited.count() > 0) {
        spdlog::info("session {}: login for user '{}' from {} waited {} ms after earlier failed logins",
                     spid_, login.user_name, address, waited.count());
      }
      if (closed_) return false;
    }
    handler_ = backend_.login(request, spid_);
    if (!handler_) throw std::runtime_error("the backend returned no session handler");
    if (limits_.throttle) limits_.throttle->succeeded(login.user_name, address);
  } catch (const SqlError& e) {
    if (limits_.throttle && e.message().number == 18456) {
      int failures = limits_.throttle->failed(login.user_name, address);
      spdlog::warn("session {}: login failed for user '{}' from {} ({} consecutive failures): {}", spid_,
                   login.user_name, address, failures, e.what());
    } else {
      spdlog::info("session {}: login failed for user '{}' from {}: {}", spid_, login.user_name, peer_,
                   e.what());
    }
    send_login_failure(e.message());
    return false;
  } catch (const std::exception& e) {
    spdlog::error("session {}: login for user '{}' failed unexpectedly: {}", spid_, login.user_name,
                  e.what());
    send_login_failure(internal_error(e.what()));
    return false;
  }

  send_login_reply(login, packet_size);
  writer_.set_packet_size(packet_size);
  writer_.count_into(counters_.get());
  transport_.set_deadline(std::nullopt);  // logged in: idle for as long as it likes
  spdlog::info("session {}: user '{}' logged in from {} (app '{}', host '{}', TDS {}, packet size {}, {}{})",
               spid_, login.user_name, peer_, login.app_name, login.host_name, version_.name(), packet_size,
               encryption_name(*negotiated),
               negotiated->tls_protocol.empty()
                   ? std::string()
                   : fmt::format(" with {} {}", negotiated->tls_protocol, negotiated->tls_cipher));
  return true;
}

ConnectionInfo Session::connection_info(const Negotiated& negotiated, size_t packet_size) const {
  ConnectionInfo c;
  c.client_address = bare_host(peer_);
  c.client_port = port_of(peer_);
  std::string local = socket_.local_address();
  c.local_address = bare_host(local);
  c.local_port = port_of(local);
  c.encrypted = negotiated.encryption == Encryption::kFull;
  c.tls_protocol = negotiated.tls_protocol;
  c.strict = negotiated.strict;
  c.protocol_version = version_.value();
  c.packet_size = static_cast<uint32_t>(packet_size);
  c.connect_time_micros = connected_at_;
  c.connection_id = guid_to_string(random_guid());
  c.counters = counters_;
  return c;
}

void Session::send_login_reply(const Login7& login, size_t packet_size) {
  std::string database = handler_->current_database();
  ByteWriter out;
  write_envchange_text(out, EnvChange::kDatabase, database, "master");
  write_message(out, Message{5701, 2, 0, fmt::format("Changed database context to '{}'.", database), {}, 1},
                server_name_, version_);
  write_envchange_collation(out);
  write_envchange_text(out, EnvChange::kLanguage, kLanguage, "");
  write_message(out, Message{5703, 1, 0, fmt::format("Changed language setting to {}.", kLanguage), {}, 1},
                server_name_, version_);
  write_envchange_text(out, EnvChange::kPacketSize, std::to_string(packet_size), std::to_string(packet_size));
  write_loginack(out, version_, product_);
  if (login.requests_utf8) write_featureextack_utf8(out);
  write_done(out, DoneToken{}, version_);
  writer_.begin();
  writer_.write(out.data());
  writer_.end();
}

void Session::send_login_failure(const Message& error) {
  ByteWriter out;
  Message m = error;
  m.severity = std::max<uint8_t>(m.severity, 11);
  write_message(out, m, server_name_, version_);
  write_done(out, DoneToken{token::kDone, done_status::kError, 0, 0}, version_);
  writer_.begin();
  writer_.write(out.data());
  writer_.end();
}

void Session::push(Event event) {
  std::lock_guard lock(mutex_);
  events_.push_back(std::move(event));
  changed_.notify_all();
}

void Session::reader_loop() {
  try {
    std::optional<PacketHeader> next;  // the next message's first header, when it has been read already
    while (!closed_) {
      std::optional<PacketHeader> first =
          next ? std::exchange(next, std::nullopt) : read_packet_header(transport_);
      if (!first) break;
      if (first->type == static_cast<uint8_t>(PacketType::kBulkLoad)) {
        next = stream_request(*first);
        continue;
      }
      auto message = read_message_from(transport_, *first, *account_);
      if (!message) continue;  // the client marked it IGNORE
      counters_->reads += message->packets;
      counters_->last_read_micros = now_micros();
      if (message->type == PacketType::kAttention) {
        note_attention();
        continue;
      }
      queue_request(std::move(*message));
    }
  } catch (const ProtocolError& e) {
    spdlog::warn("session {}: closing connection from {}: {}", spid_, peer_, e.what());
  } catch (const std::exception& e) {
    if (!closed_) spdlog::debug("session {}: read failed: {}", spid_, e.what());
  }
  closed_ = true;
  {
    std::lock_guard lock(mutex_);
    if (handler_running_) handler_->interrupt();
  }
  push(Event{Event::Kind::kClosed, {}});
}

std::optional<PacketHeader> Session::stream_request(const PacketHeader& first) {
  auto stream = std::make_shared<MessageStream>(account_, stream_limit(*limits_.budget));
  {
    std::lock_guard lock(mutex_);
    streaming_ = stream;
  }
  struct Streamed {
    Session& session;
    ~Streamed() {
      std::lock_guard lock(session.mutex_);
      session.streaming_.reset();
    }
  } streamed{*this};
  if (closed_) stream->close();  // shutdown() ran before streaming_ was set
  InMessage message = start_message(first);
  message.stream = stream;
  queue_request(std::move(message));
  auto attention = stream_message(transport_, first, *stream);
  counters_->reads += stream->packets();
  counters_->last_read_micros = now_micros();
  return attention;
}

void Session::queue_request(InMessage message) {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return events_.size() < kMaxQueuedEvents || closed_; });
  events_.push_back(Event{Event::Kind::kRequest, std::move(message)});
  changed_.notify_all();
}

void Session::note_attention() {
  std::lock_guard lock(mutex_);
  if (handler_running_) handler_->interrupt();
  // One acknowledgement answers attentions that arrive back to back, so a flood of them queues one event, not
  // one each.
  if (!events_.empty() && events_.back().kind == Event::Kind::kAttention) return;
  ++attention_pending_;
  events_.push_back(Event{Event::Kind::kAttention, {}});
  changed_.notify_all();
}

void Session::request_loop() {
  for (;;) {
    Event event;
    {
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [&] { return !events_.empty() || closed_; });
      if (events_.empty()) return;
      event = std::move(events_.front());
      events_.pop_front();
      changed_.notify_all();
    }
    switch (event.kind) {
      case Event::Kind::kClosed:
        return;
      case Event::Kind::kAttention:
        if (!closed_) send_attention_ack();
        --attention_pending_;
        break;
      case Event::Kind::kRequest:
        if (closed_) return;
        if (event.message.refused != RequestBudget::Refusal::kNone) {
          send_refusal(event.message);
        } else {
          handle_request(event.message);
        }
        break;
    }
  }
}

Message Session::refusal_message(RequestBudget::Refusal refusal, uint64_t received_bytes) const {
  const uint64_t mib = 1024 * 1024;
  std::string why =
      refusal == RequestBudget::Refusal::kTooLarge
          ? fmt::format(
                "the request was {} bytes; a session may send at most {} MiB at once ([limits] "
                "max_request_mb)",
                received_bytes, limits_.budget->per_session_bytes() / mib)
          : fmt::format(
                "the sessions together hold the {} MiB of requests this instance buffers ([limits] "
                "max_buffered_request_mb); try again",
                limits_.budget->total_bytes() / mib);
  spdlog::warn("session {}: refused a request from {}: {}", spid_, peer_, why);
  std::string text =
      "There is insufficient system memory in resource pool 'default' to run this query. (" + why + ".)";
  return Message{701, 1, 17, std::move(text), {}, 1};
}

void Session::send_refusal(const InMessage& request) {
  Message refusal = refusal_message(request.refused, request.received_bytes);
  TokenSink sink(writer_, version_, server_name_, [this] { return cancelled(); });
  sink.begin_response();
  sink.message(refusal);
  sink.end_response();
}

void Session::send_attention_ack() {
  ByteWriter out;
  write_done(out, DoneToken{token::kDone, done_status::kAttention, 0, 0}, version_);
  writer_.begin();
  writer_.write(out.data());
  writer_.end();
}

void Session::handle_request(const InMessage& request) {
  TokenSink sink(writer_, version_, server_name_, [this] { return cancelled(); });
  sink.set_max_types_as_lobs(max_as_lob_);
  sink.begin_response();
  if (request.reset_connection) {
    spdlog::debug("session {}: connection reset{}", spid_,
                  request.reset_keeps_transaction ? " (keeping the transaction)" : "");
    call_handler(sink, [&] { handler_->reset(request.reset_keeps_transaction); });
    if (!request.reset_keeps_transaction) transaction_ = 0;
    sink.connection_reset();
  }
  switch (request.type) {
    case PacketType::kSqlBatch:
      handle_sql_batch(request, sink);
      break;
    case PacketType::kRpc:
      handle_rpc(request, sink);
      break;
    case PacketType::kTransactionManager:
      handle_transaction(request, sink);
      break;
    case PacketType::kBulkLoad:
      handle_bulk_load(request, sink);
      break;
    case PacketType::kPrelogin:
    case PacketType::kLogin7:
    case PacketType::kSspi:
      throw ProtocolError(
          fmt::format("unexpected packet type 0x{:02X} after login", static_cast<int>(request.type)));
    default:
      sink.message(internal_error(fmt::format("bakrest does not support TDS requests of type 0x{:02X}.",
                                              static_cast<int>(request.type))));
      break;
  }
  sink.end_response();
  if (sink.broken()) throw std::runtime_error("the connection failed while sending a reply");
}

template <class F>
void Session::call_handler(TokenSink& sink, F&& f) {
  {
    std::lock_guard lock(mutex_);
    handler_running_ = true;
  }
  try {
    f();
  } catch (const SqlError& e) {
    Message m = e.message();
    m.severity = std::max<uint8_t>(m.severity, 11);
    sink.message(m);
  } catch (const std::exception& e) {
    spdlog::warn("session {}: request failed: {}", spid_, e.what());
    sink.message(internal_error(e.what()));
  } catch (...) {
    spdlog::error("session {}: request failed with a non-standard exception", spid_);
    sink.message(internal_error("internal error"));
  }
  std::lock_guard lock(mutex_);
  handler_running_ = false;
}

void Session::handle_sql_batch(const InMessage& request, TokenSink& sink) {
  std::string sql = decode_sql_batch(request.payload, version_);
  spdlog::debug("session {}: batch: {}", spid_, preview(sql));
  call_handler(sink, [&] { handler_->run_batch(sql, sink); });
}

void Session::handle_rpc(const InMessage& request, TokenSink& sink) {
  for (RpcCall& rpc : parse_rpc_request(request.payload, version_)) {
    if (sink.attention()) break;
    if (rpc.error) {
      spdlog::debug("session {}: RPC refused: {}", spid_, rpc.error->text);
      sink.message(*rpc.error);
    } else if (PreparedStatements::is_prepared_procedure(rpc.call.name)) {
      handle_prepared(rpc.call, sink);
    } else {
      spdlog::debug("session {}: RPC {} with {} parameters", spid_, rpc.call.name, rpc.call.args.size());
      call_handler(sink, [&] { handler_->run_rpc(rpc.call, sink); });
    }
    sink.end_rpc_call();
  }
}

void Session::handle_prepared(const ProcCall& call, TokenSink& sink) {
  PreparedStatements::Plan plan;
  try {
    plan = prepared_.plan(call);
  } catch (const SqlError& e) {
    sink.message(e.message());
    return;
  }
  spdlog::debug("session {}: {} ({} prepared statements)", spid_, call.name, prepared_.size());
  if (plan.execute) {
    call_handler(sink, [&] { handler_->run_rpc(*plan.execute, sink); });
  } else {
    sink.procedure_started();
    sink.procedure_done(0);
  }
  if (plan.new_handle) {
    sink.return_value(0, plan.handle_parameter, Column{"", ColumnType::kInt, 0}, int64_t{*plan.new_handle});
  }
}

void Session::handle_bulk_load(const InMessage& request, TokenSink& sink) {
  if (!request.stream) throw std::logic_error("a bulk load arrived whole, not streamed");
  MessageStream& stream = *request.stream;
  call_handler(sink, [&] {
    try {
      BulkLoadReader rows(stream, version_, BulkRowLimits{max_row_bytes(*limits_.budget), account_});
      handler_->bulk_load(rows, sink);
    } catch (const ProtocolError& e) {
      // The message was framed correctly, only its rows are not: the request fails, the connection stays.
      stream.discard_rest();
      spdlog::info("session {}: refused a malformed bulk load: {}", spid_, e.what());
      throw SqlError(4804, 16,
                     fmt::format("The bulk load data from the client is malformed ({}). Nothing of this load "
                                 "was inserted.",
                                 e.what()));
    } catch (const MessageAbandoned& e) {
      // The handler undid what it inserted. An ATTENTION is acknowledged after this reply; a client that set
      // IGNORE still reads a reply (tedious, mssql-jdbc and SqlClient do), which says nothing more than DONE.
      stream.discard_rest();
      if (e.refusal() != RequestBudget::Refusal::kNone)
        throw SqlError(refusal_message(e.refusal(), stream.received_bytes()));
      spdlog::info("session {}: bulk load abandoned ({}); nothing of it was inserted", spid_, e.what());
    } catch (...) {
      stream.discard_rest();  // before call_handler() reports it
      throw;
    }
  });
  // However the handler ended, the reply waits for the end of the message: its rest is read and dropped.
  MessageEnd how = stream.discard_rest();
  spdlog::debug("session {}: bulk load of {} bytes in {} packets ({})", spid_, stream.received_bytes(),
                stream.packets(),
                how == MessageEnd::kComplete    ? "complete"
                : how == MessageEnd::kIgnored   ? "abandoned with IGNORE"
                : how == MessageEnd::kAttention ? "cut short by ATTENTION"
                                                : "cut short by the connection");
}

void Session::handle_transaction(const InMessage& request, TokenSink& sink) {
  TransactionRequest tm = parse_transaction_request(request.payload, version_);
  // " [name]" for a request that names its transaction or savepoint.
  std::string name;
  if (!tm.name.empty()) {
    name = " [";
    for (char c : tm.name) name += c == ']' ? std::string("]]") : std::string(1, c);
    name += "]";
  }
  auto execute = [&](const std::string& sql) {
    int errors = sink.error_count();
    call_handler(sink, [&] { handler_->run_batch(sql, sink); });
    return sink.error_count() == errors;
  };
  auto run = [&](const std::string& sql, EnvChange change) {
    if (!execute(sql)) return false;
    if (change == EnvChange::kBeginTransaction) {
      transaction_ = ++next_transaction_;
      sink.transaction_changed(change, transaction_);
    } else {
      sink.transaction_changed(change, transaction_);
      transaction_ = 0;
    }
    return true;
  };
  switch (tm.kind) {
    case TransactionRequest::Kind::kBegin:
      run("BEGIN TRANSACTION" + name, EnvChange::kBeginTransaction);
      break;
    case TransactionRequest::Kind::kSave:
      // A savepoint: the transaction goes on, so no ENVCHANGE.
      execute("SAVE TRANSACTION" + name);
      break;
    case TransactionRequest::Kind::kRollback:
      if (!tm.name.empty()) {
        // To a savepoint, or the whole transaction when the name is its own: only the latter ends it.
        if (execute("ROLLBACK TRANSACTION" + name) && handler_->open_transactions() == 0 &&
            transaction_ != 0) {
          sink.transaction_changed(EnvChange::kRollbackTransaction, transaction_);
          transaction_ = 0;
          if (tm.begin_after) run("BEGIN TRANSACTION", EnvChange::kBeginTransaction);
        }
        break;
      }
      [[fallthrough]];
    case TransactionRequest::Kind::kCommit: {
      bool commit = tm.kind == TransactionRequest::Kind::kCommit;
      bool ok = run(commit ? "COMMIT" : "ROLLBACK",
                    commit ? EnvChange::kCommitTransaction : EnvChange::kRollbackTransaction);
      if (ok && tm.begin_after) run("BEGIN TRANSACTION", EnvChange::kBeginTransaction);
      break;
    }
    case TransactionRequest::Kind::kUnsupported:
      sink.message(internal_error(
          fmt::format("bakrest does not support transaction manager request type {}.", tm.request_type)));
      break;
  }
}

}  // namespace bakrest::server
