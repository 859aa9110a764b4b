// A refusal as an AWS service words it: its error code (IAM's "NoSuchEntity", RDS's
// "OptionGroupNotFoundFault", KMS's "NotFoundException"), the message as what(), and the HTTP status the
// control endpoint answers with. Each service's layer derives its own type, so a catch names the service.
#pragma once

#include <stdexcept>
#include <string>

namespace bakrest {

class ServiceError : public std::runtime_error {
 public:
  ServiceError(std::string code, const std::string& message, int http_status = 400)
      : std::runtime_error(message), code_(std::move(code)), http_status_(http_status) {}
  const std::string& code() const { return code_; }
  int http_status() const { return http_status_; }

 private:
  std::string code_;
  int http_status_;
};

}  // namespace bakrest
