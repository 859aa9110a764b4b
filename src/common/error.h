// Errors reported to clients the way SQL Server reports them: number, state, severity (class), text.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace bakrest {

// An INFO (severity <= 10) or ERROR (severity >= 11) message for the client.
struct Message {
  int32_t number = 50000;
  uint8_t state = 1;
  uint8_t severity = 16;
  std::string text;
  std::string procedure;  // empty outside procedures
  int32_t line = 1;
};

// Thrown by any layer for a failure the client should see as a SQL Server error.
class SqlError : public std::runtime_error {
 public:
  explicit SqlError(Message message) : std::runtime_error(message.text), message_(std::move(message)) {}
  SqlError(int32_t number, uint8_t severity, std::string text, uint8_t state = 1)
      : SqlError(Message{number, state, severity, std::move(text), {}, 1}) {}

  const Message& message() const { return message_; }

 private:
  Message message_;
};

// A user error raised by an RDS procedure (severity 16, number 50000 like RAISERROR with a string).
inline SqlError procedure_error(std::string text) { return SqlError(50000, 16, std::move(text)); }

}  // namespace bakrest
