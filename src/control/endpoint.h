// The control endpoint: an AWS-compatible HTTP endpoint on the instance, so that the AWS CLI and the SDKs set
// bakrest up with the commands they use against AWS (`aws kms create-key --endpoint-url
// http://127.0.0.1:14330`). Every request is signed with SigV4 by an access key the instance issued
// (control/access_keys.h) and checked before anything else (control/sigv4_verifier.h). It speaks each
// service's own protocol:
//
//   KMS  awsJson1_1, X-Amz-Target: TrentService.<Operation>   control/kms_api.h
//   IAM  the query protocol, Version=2010-05-08                 control/iam_api.h
//   RDS  the query protocol, Version=2014-10-31                 control/rds_api.h
//   STS  the query protocol, Version=2011-06-15                 control/sts_api.h
//
// A request is signed by the account's own access key (the master login's: everything is open to it), or by
// temporary keys of an assumed role, which must come with their session token (X-Amz-Security-Token) before
// their expiration: those may use KMS's DescribeKey, GenerateDataKey and Decrypt as the role's policies and
// the key's allow, and STS's GetCallerIdentity; IAM, RDS and the rest of KMS answer them AccessDenied.
//
// HTTP (or HTTPS, with the instance's certificate) is cpp-httplib's: a thread pool, bodies up to
// kMaxBodyBytes, read and write timeouts. Requests are logged (operation and access key ID) at debug level,
// never their bodies.
//
// Thread safety: made and stopped by one thread; requests are served on the library's threads.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "control/access_keys.h"
#include "control/iam_api.h"
#include "control/kms_api.h"
#include "control/rds_api.h"
#include "control/role_sessions.h"
#include "control/sigv4_verifier.h"
#include "control/sts_api.h"
#include "crypto/local_kms.h"

namespace httplib {
class Server;
}

namespace bakrest::control {

inline constexpr size_t kMaxBodyBytes = 1 << 20;

struct EndpointOptions {
  std::string host = "127.0.0.1";
  int port = 14330;  // 0: any free port (port() tells which)
  std::string region;
  std::string account;
  // HTTPS with this certificate and key (PEM files); both empty: plain HTTP.
  std::string tls_certificate;
  std::string tls_key;
};

class ControlEndpoint {
 public:
  // Binds and starts serving. Throws std::runtime_error if the address cannot be bound.
  ControlEndpoint(const EndpointOptions& options, AccessKeys& keys, crypto::LocalKms& kms,
                  iam::RoleStore& roles, rds::OptionGroups& option_groups, DbInstanceFacts instance);
  ~ControlEndpoint();  // stops serving and waits for the requests in progress
  ControlEndpoint(const ControlEndpoint&) = delete;
  ControlEndpoint& operator=(const ControlEndpoint&) = delete;

  int port() const { return port_; }
  std::string url() const;

 private:
  ApiReply serve(const std::string& method, const std::string& path,
                 const std::vector<std::pair<std::string, std::string>>& query,
                 const std::vector<std::pair<std::string, std::string>>& headers, const std::string& body);

  // Who signed a verified request; throws AuthError (kUnknownKey for temporary keys without their token,
  // kExpiredToken past their expiration).
  Signer signer_of(const Caller& caller,
                   const std::vector<std::pair<std::string, std::string>>& headers) const;

  EndpointOptions options_;
  AccessKeys& keys_;
  iam::RoleStore& roles_;
  RoleSessions sessions_;
  SigV4Verifier verifier_;
  KmsApi kms_api_;
  IamApi iam_api_;
  RdsApi rds_api_;
  StsApi sts_api_;
  std::unique_ptr<httplib::Server> http_;
  int port_ = 0;
  std::atomic<bool> listening_done_{false};  // listen_after_bind() returned
  std::thread thread_;
};

}  // namespace bakrest::control
