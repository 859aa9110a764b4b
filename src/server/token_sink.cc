#include "server/token_sink.h"

#include <spdlog/spdlog.h>

#include <utility>

namespace bakrest::server {

TokenSink::TokenSink(MessageWriter& out, TdsVersion version, std::string server_name,
                     std::function<bool()> attention)
    : out_(out), version_(version), server_name_(std::move(server_name)), attention_(std::move(attention)) {}

bool TokenSink::attention() const { return broken_ || attention_(); }

void TokenSink::begin_response() {
  out_.begin(PacketType::kReply);
  doneprocs_at_call_ = doneprocs_;
}

void TokenSink::write_raw(const Bytes& bytes) {
  if (broken_) return;
  try {
    out_.write(bytes);
  } catch (const std::exception& e) {
    // Handlers may swallow exceptions; a flag they can observe through attention() is more reliable.
    spdlog::debug("writing a reply failed: {}", e.what());
    broken_ = true;
  }
}

void TokenSink::flush() {
  if (broken_ || attention()) return;
  try {
    out_.flush();
  } catch (const std::exception& e) {
    spdlog::debug("writing a reply failed: {}", e.what());
    broken_ = true;
  }
}

void TokenSink::emit(const ByteWriter& token) {
  if (attention()) return;
  if (held_done_) {
    held_done_->status |= done_status::kMore;
    ByteWriter done;
    write_done(done, *held_done_, version_);
    held_done_.reset();
    write_raw(done.data());
  }
  write_raw(token.data());
}

void TokenSink::hold_done(DoneToken done) {
  if (attention()) return;
  scratch_.clear();
  emit(scratch_);  // releases the previous held-back DONE
  held_done_ = done;
}

uint16_t TokenSink::error_bit() {
  uint16_t bit = error_since_done_ ? done_status::kError : 0;
  error_since_done_ = false;
  return bit;
}

void TokenSink::columns(const std::vector<Column>& columns) {
  if (columns.empty()) {
    result_set_.reset();
    return;
  }
  result_set_.emplace(columns, version_, max_as_lob_);
  scratch_.clear();
  result_set_->write_metadata(scratch_);
  emit(scratch_);
}

void TokenSink::row(const std::vector<Value>& values) {
  if (!result_set_) return;  // no columns announced: nothing a client could read
  scratch_.clear();
  result_set_->write_row(scratch_, values);
  emit(scratch_);
}

void TokenSink::done(std::optional<uint64_t> rows) {
  result_set_.reset();
  DoneToken d;
  d.token = procedure_depth_ > 0 ? token::kDoneInProc : token::kDone;
  d.status = static_cast<uint16_t>(error_bit() | (rows ? done_status::kCount : 0));
  d.row_count = rows.value_or(0);
  hold_done(d);
}

void TokenSink::message(const Message& message) {
  if (message.severity > 10) {
    error_since_done_ = true;
    ++error_count_;
  }
  scratch_.clear();
  write_message(scratch_, message, server_name_, version_);
  emit(scratch_);
}

void TokenSink::database_changed(const std::string& from, const std::string& to) {
  scratch_.clear();
  write_envchange_text(scratch_, EnvChange::kDatabase, to, from);
  emit(scratch_);
}

void TokenSink::transaction_changed(EnvChange type, uint64_t descriptor) {
  if (attention()) return;
  // SQL Server puts this ENVCHANGE before the statement's DONE; keep the held DONE held.
  scratch_.clear();
  write_envchange_transaction(scratch_, type, descriptor);
  write_raw(scratch_.data());
}

void TokenSink::connection_reset() {
  if (attention()) return;
  scratch_.clear();
  write_envchange_text(scratch_, EnvChange::kResetConnection, "", "");
  emit(scratch_);
}

void TokenSink::return_value(uint16_t ordinal, std::string_view name, const Column& column,
                             const Value& value) {
  if (attention()) return;
  scratch_.clear();
  write_return_value(scratch_, ordinal, name, column, value, version_, max_as_lob_);
  write_raw(scratch_.data());
}

void TokenSink::procedure_started() { ++procedure_depth_; }

void TokenSink::procedure_done(int32_t return_status) {
  if (procedure_depth_ > 0) --procedure_depth_;
  result_set_.reset();
  scratch_.clear();
  write_return_status(scratch_, return_status);
  emit(scratch_);
  DoneToken d{token::kDoneProc, error_bit(), kCurCmdExecute, 0};
  hold_done(d);
  if (!attention()) ++doneprocs_;
}

void TokenSink::end_rpc_call() {
  procedure_depth_ = 0;
  result_set_.reset();
  if (doneprocs_ == doneprocs_at_call_) {
    hold_done(DoneToken{token::kDoneProc, error_bit(), kCurCmdExecute, 0});
    ++doneprocs_;
  }
  doneprocs_at_call_ = doneprocs_;
}

void TokenSink::end_response() {
  DoneToken last = held_done_.value_or(DoneToken{token::kDone, 0, 0, 0});
  if (!held_done_) last.status = error_bit();
  last.status &= static_cast<uint16_t>(~done_status::kMore);
  held_done_.reset();
  ByteWriter tail;
  write_done(tail, last, version_);
  write_raw(tail.data());
  if (broken_) return;
  try {
    out_.end();
  } catch (const std::exception& e) {
    spdlog::debug("writing a reply failed: {}", e.what());
    broken_ = true;
  }
}

}  // namespace bakrest::server
