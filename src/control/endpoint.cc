#include "control/endpoint.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <functional>
#include <span>
#include <stdexcept>

#include "common/text.h"
#include "control/query_protocol.h"

namespace bakrest::control {

namespace {

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// KMS's wording of a refused signature.
ApiReply kms_auth_error(const AuthError& e) {
  switch (e.failure()) {
    case AuthFailure::kMissing:
      return KmsApi::error("MissingAuthenticationTokenException", "Missing Authentication Token");
    case AuthFailure::kUnknownKey:
      return KmsApi::error("UnrecognizedClientException",
                           "The security token included in the request is invalid.");
    case AuthFailure::kExpiredToken:
      return KmsApi::error("ExpiredTokenException", "The security token included in the request is expired");
    default:
      return KmsApi::error("InvalidSignatureException", e.what());
  }
}

// The query protocol's wording of a refused signature (IAM's; RDS and STS word it the same).
ApiReply query_auth_error(std::string_view xmlns, const AuthError& e) {
  switch (e.failure()) {
    case AuthFailure::kMissing:
      return query_error(xmlns, "MissingAuthenticationToken", "Request is missing Authentication Token", 403);
    case AuthFailure::kUnknownKey:
      return query_error(xmlns, "InvalidClientTokenId",
                         "The security token included in the request is invalid.", 403);
    case AuthFailure::kExpiredToken:
      return query_error(xmlns, "ExpiredToken", "The security token included in the request is expired", 403);
    default:
      return query_error(xmlns, "SignatureDoesNotMatch", e.what(), 403);
  }
}

}  // namespace

ControlEndpoint::ControlEndpoint(const EndpointOptions& options, AccessKeys& keys, crypto::LocalKms& kms,
                                 iam::RoleStore& roles, rds::OptionGroups& option_groups,
                                 DbInstanceFacts instance)
    : options_(options),
      keys_(keys),
      roles_(roles),
      verifier_([this](std::string_view id) -> std::optional<std::string> {
        if (auto session = sessions_.find(id)) return session->secret_access_key;
        return keys_.secret_of(id);
      }),
      kms_api_(kms, options.account, unix_now),
      iam_api_(roles, unix_now),
      rds_api_(option_groups, std::move(instance), unix_now),
      sts_api_(roles, sessions_, unix_now),
      http_(options.tls_certificate.empty() ? std::make_unique<httplib::Server>()
                                            : std::make_unique<httplib::SSLServer>(
                                                  options.tls_certificate.c_str(), options.tls_key.c_str())) {
  if (!http_->is_valid())
    throw std::runtime_error("the control endpoint cannot use the TLS certificate " +
                             options.tls_certificate + " and key " + options.tls_key);
  http_->set_payload_max_length(kMaxBodyBytes);
  http_->set_read_timeout(30, 0);
  http_->set_write_timeout(30, 0);
  http_->set_keep_alive_max_count(100);
  auto handler = [this](const httplib::Request& req, httplib::Response& res) {
    // The query string as sent (httplib's params also hold the fields of a form body, which SigV4 signs as
    // the body, not as the query).
    size_t mark = req.target.find('?');
    auto fields = parse_form(mark == std::string::npos ? std::string_view()
                                                       : std::string_view(req.target).substr(mark + 1));
    std::vector<std::pair<std::string, std::string>> query(fields.begin(), fields.end());
    std::vector<std::pair<std::string, std::string>> headers(req.headers.begin(), req.headers.end());
    ApiReply reply = serve(req.method, req.path, query, headers, req.body);
    res.status = reply.status;
    res.set_content(reply.body, reply.content_type.c_str());
  };
  // A handler that throws answers 500 without the exception's text, which could echo what the client sent.
  http_->set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr failure) {
        try {
          std::rethrow_exception(failure);
        } catch (const std::exception& e) {
          spdlog::error("control endpoint: a request failed: {}", e.what());
        } catch (...) {
          spdlog::error("control endpoint: a request failed");
        }
        res.status = 500;
        res.set_content(
            R"({"__type": "InternalFailure", "message": "The request failed in bakrest; see its log."})",
            "application/json");
      });
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
  thread_ = std::thread([this] {
    http_->listen_after_bind();
    listening_done_ = true;
  });
}

ControlEndpoint::~ControlEndpoint() {
  // httplib's stop() does nothing until the listening loop has marked itself running, and that loop starts on
  // its own thread: wait for it (or for its end) first, or a stop right after the start would never end it.
  while (!http_->is_running() && !listening_done_) std::this_thread::yield();
  http_->stop();
  if (thread_.joinable()) thread_.join();
}

std::string ControlEndpoint::url() const {
  return (options_.tls_certificate.empty() ? "http://" : "https://") + options_.host + ":" +
         std::to_string(port_);
}

Signer ControlEndpoint::signer_of(const Caller& caller,
                                  const std::vector<std::pair<std::string, std::string>>& headers) const {
  Signer signer;
  signer.account = options_.account;
  signer.session = sessions_.find(caller.access_key_id);
  if (!signer.session) {
    signer.arn =
        "arn:aws:iam::" + options_.account + ":user/" + keys_.login_of(caller.access_key_id).value_or("");
    signer.user_id = caller.access_key_id;
    return signer;
  }
  std::string token;
  for (const auto& [name, value] : headers) {
    if (iequals(name, "x-amz-security-token")) token = value;
  }
  RoleSessions::check(*signer.session, token, unix_now());
  signer.arn = signer.session->assumed_role_arn;
  signer.user_id = signer.session->assumed_role_id;
  return signer;
}

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
    Signer signer;
    try {
      Caller caller = verifier_.verify(request, "kms", regions, unix_now());
      signer = signer_of(caller, headers);
      spdlog::debug("control endpoint: kms {} by {} ({})", operation, caller.access_key_id, signer.arn);
    } catch (const AuthError& e) {
      spdlog::info("control endpoint: kms {} refused: {}", operation, e.what());
      return kms_auth_error(e);
    }
    std::shared_ptr<const iam::RolePolicies> role;
    if (signer.session) {
      auto policies = roles_.role_policies(signer.session->role_arn);
      // The role was deleted after its session began: its keys are good for nothing.
      if (!policies)
        return KmsApi::error("AccessDeniedException",
                             "User " + signer.arn + " acts as a role that no longer exists");
      role = std::make_shared<const iam::RolePolicies>(std::move(*policies));
    }
    return kms_api_.handle(operation, body, role);
  }
  // The query protocol: the action and the API version are form fields of the body.
  std::map<std::string, std::string> form = parse_form(body);
  const std::string action = form.contains("Action") ? form["Action"] : "";
  // Each query service: its API version, its name in SigV4 scopes, the regions it is signed for, its API.
  // IAM is global: the CLI signs for us-east-1 unless told otherwise.
  const std::string iam_regions[] = {options_.region, "us-east-1"};
  struct QueryService {
    const char* version;
    const char* service;
    std::span<const std::string> regions;
    const char* xmlns;
    std::function<ApiReply()> handle;
  };
  Signer signer;
  const QueryService services[] = {
      {"2010-05-08", "iam", iam_regions, kIamXmlns, [&] { return iam_api_.handle(form); }},
      {"2014-10-31", "rds", regions, kRdsXmlns, [&] { return rds_api_.handle(form); }},
      {"2011-06-15", "sts", iam_regions, kStsXmlns, [&] { return sts_api_.handle(form, signer); }},
  };
  for (const QueryService& q : services) {
    if (form["Version"] != q.version) continue;
    try {
      Caller caller = verifier_.verify(request, q.service, q.regions, unix_now());
      signer = signer_of(caller, headers);
      spdlog::debug("control endpoint: {} {} by {} ({})", q.service, action, caller.access_key_id,
                    signer.arn);
    } catch (const AuthError& e) {
      spdlog::info("control endpoint: {} {} refused: {}", q.service, action, e.what());
      return query_auth_error(q.xmlns, e);
    }
    // Assumed roles reach only KMS's key operations and STS here.
    if (signer.session && std::string_view(q.service) != "sts") {
      return query_error(q.xmlns, "AccessDenied",
                         "User: " + signer.arn + " is not authorized to perform: " + q.service + ":" +
                             action + " (bakrest serves " + q.service +
                             " to the account's own access key only)",
                         403);
    }
    return q.handle();
  }
  return query_error(kRdsXmlns, "InvalidAction",
                     "bakrest's control endpoint serves KMS, IAM, RDS and STS; the " +
                         (action.empty() ? std::string("request") : "action " + action) + " (API version " +
                         (form["Version"].empty() ? std::string("none") : form["Version"]) +
                         ") is not served yet");
}

}  // namespace bakrest::control
