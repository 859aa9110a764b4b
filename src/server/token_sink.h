// The ResultSink the server hands to request handlers: it encodes each call as TDS tokens into the
// reply message, streaming full packets as they fill.
//
// DONE bookkeeping: every DONE-like token but the last of a reply must carry MORE, and the last must
// not. The sink therefore holds back the most recent DONE/DONEINPROC/DONEPROC and writes it, with
// MORE, only when another token follows; end_response() writes it as the final token (or a plain DONE
// when the handler produced none).
//
// ATTENTION: once `attention` reports true, tokens are dropped whole, so the reply ends at a token
// boundary; end_response() still closes the message properly.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "common/result_sink.h"
#include "server/bytes.h"
#include "server/packet.h"
#include "server/row_codec.h"
#include "server/tds_version.h"
#include "server/tokens.h"

namespace bakrest::server {

class TokenSink final : public ResultSink {
 public:
  TokenSink(MessageWriter& out, TdsVersion version, std::string server_name, std::function<bool()> attention);

  void columns(const std::vector<Column>& columns) override;
  void row(const std::vector<Value>& values) override;
  void done(std::optional<uint64_t> rows) override;
  void message(const Message& message) override;
  void database_changed(const std::string& from, const std::string& to) override;
  void procedure_started() override;
  void procedure_done(int32_t return_status) override;
  // True after ATTENTION, and also once the connection has failed, so handlers stop early.
  bool attention() const override;

  // Starts the reply message.
  void begin_response();
  // Ends one RPC call: closes procedures the handler left open and makes sure the call ends with a
  // DONEPROC, as clients expect one per call.
  void end_rpc_call();
  // Writes the held-back DONE as the final token and sends the rest of the message with EOM.
  void end_response();

  // ENVCHANGE for a transaction begin/commit/rollback, placed before the held-back DONE.
  void transaction_changed(EnvChange type, uint64_t descriptor);
  // ENVCHANGE acknowledging a connection reset.
  void connection_reset();
  // RETURNVALUE for an output parameter, placed before the held-back DONEPROC as SQL Server does.
  void return_value(uint16_t ordinal, std::string_view name, const Column& column,
                    const Value& value) override;

  void flush() override;

  // Sends (MAX) columns as NTEXT and IMAGE, as SQL Server sends them to TDS 7.1 clients, for a client that
  // can't read them as (MAX): FreeTDS's ct-lib describes a PLP column as 2147483647 characters, and
  // DBD::Sybase 1.14 (Debian's) then allocates one more byte than an int holds and dies ("Out of memory!") —
  // also against SQL Server itself. As TEXT the same client reads them.
  void set_max_types_as_lobs(bool on) { max_as_lob_ = on; }

  // Errors (severity >= 11) sent so far in this reply.
  int error_count() const { return error_count_; }
  // The connection failed while writing; the session should end.
  bool broken() const { return broken_; }

 private:
  // Writes a token, first releasing the held-back DONE with MORE.
  void emit(const ByteWriter& token);
  void write_raw(const Bytes& bytes);
  void hold_done(DoneToken done);
  uint16_t error_bit();

  MessageWriter& out_;
  TdsVersion version_;
  std::string server_name_;
  std::function<bool()> attention_;

  std::optional<ResultSetEncoder> result_set_;
  std::optional<DoneToken> held_done_;
  bool error_since_done_ = false;
  int error_count_ = 0;
  int procedure_depth_ = 0;
  bool max_as_lob_ = false;
  int doneprocs_ = 0;          // DONEPROC tokens written in this reply
  int doneprocs_at_call_ = 0;  // ... before the current RPC call started
  bool broken_ = false;
  ByteWriter scratch_;
};

}  // namespace bakrest::server
