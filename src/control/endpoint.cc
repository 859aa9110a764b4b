#include "control/endpoint.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <stdexcept>

#include "common/text.h"

namespace bakrest::control {

namespace {

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The query protocol's error document (IAM, RDS, STS).
ApiReply query_error(std::string_view code, std::string_view message) {
  std::string body = "<ErrorResponse><Error><Type>Sender</Type><Code>" + std::string(code) +
                     "</Code><Message>" + std::string(message) +
                     "</Message></Error><RequestId>bakrest</RequestId></ErrorResponse>";
  return {400, "text/xml", body};
}

// KMS's wording of a refused signature.
ApiReply kms_auth_error(const AuthError& e) {
  switch (e.failure()) {
    case AuthFailure::kMissing:
      return KmsApi::error("MissingAuthenticationTokenException", "Missing Authentication Token");
    case AuthFailure::kUnknownKey:
      return KmsApi::error("UnrecognizedClientException",
                           "The security token included in the request is invalid.");
    default:
      return KmsApi::error("InvalidSignatureException", e.what());
  }
}

}  // namespace

ControlEndpoint::ControlEndpoint(const EndpointOptions& options, AccessKeys& keys, crypto::LocalKms& kms)
    : options_(options),
      keys_(keys),
      verifier_([this](std::string_view id) { return keys_.secret_of(id); }),
      kms_api_(kms, options.account, unix_now),
      http_(std::make_unique<httplib::Server>()) {
  http_->set_payload_max_length(kMaxBodyBytes);
  http_->set_read_timeout(30, 0);
  http_->set_write_timeout(30, 0);
  http_->set_keep_alive_max_count(100);
  auto handler = [this](const httplib::Request& req, httplib::Response& res) {
    std::vector<std::pair<std::string, std::string>> query(req.params.begin(), req.params.end());
    std::vector<std::pair<std::string, std::string>> headers(req.headers.begin(), req.headers.end());
    ApiReply reply = serve(req.method, req.path, query, headers, req.body);
    res.status = reply.status;
    res.set_content(reply.body, reply.content_type.c_str());
  };
  http_->Post(".*", handler);
  http_->Get(".*", handler);
  http_->Put(".*", handler);
  http_->Delete(".*", handler);
  port_ = options_.port == 0
              ? http_->bind_to_any_port(options_.host.c_str())
              : (http_->bind_to_port(options_.host.c_str(), options_.port) ? options_.port : -1);
  if (port_ <= 0)
    throw std::runtime_error("the control endpoint cannot listen on " + options_.host + ":" +
                             std::to_string(options_.port) + " ([control] in instance.toml)");
  thread_ = std::thread([this] { http_->listen_after_bind(); });
}

ControlEndpoint::~ControlEndpoint() {
  http_->stop();
  if (thread_.joinable()) thread_.join();
}

std::string ControlEndpoint::url() const { return "http://" + options_.host + ":" + std::to_string(port_); }

ApiReply ControlEndpoint::serve(const std::string& method, const std::string& path,
                                const std::vector<std::pair<std::string, std::string>>& query,
                                const std::vector<std::pair<std::string, std::string>>& headers,
                                const std::string& body) {
  std::string target;
  for (const auto& [name, value] : headers) {
    if (iequals(name, "x-amz-target")) target = value;
  }
  SignedRequest request{method, path, query, headers, body};
  const std::string regions[] = {options_.region};
  if (target.starts_with("TrentService.")) {
    std::string operation = target.substr(std::string_view("TrentService.").size());
    if (method != "POST" || path != "/")
      return KmsApi::error("UnknownOperationException", "KMS takes POST / only");
    try {
      Caller caller = verifier_.verify(request, "kms", regions, unix_now());
      spdlog::debug("control endpoint: kms {} by {}", operation, caller.access_key_id);
    } catch (const AuthError& e) {
      spdlog::info("control endpoint: kms {} refused: {}", operation, e.what());
      return kms_auth_error(e);
    }
    return kms_api_.handle(operation, body);
  }
  // The query protocol: the action is a form field of the body.
  httplib::Params form;
  httplib::detail::parse_query_text(body, form);
  auto action = form.find("Action");
  return query_error(
      "InvalidAction",
      "bakrest's control endpoint serves KMS (X-Amz-Target: TrentService.*) only so far; the " +
          (action == form.end() ? std::string("request") : "action " + action->second) +
          " is not served yet");
}

}  // namespace bakrest::control
