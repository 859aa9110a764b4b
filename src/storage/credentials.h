// Where S3Store's keys come from: the AWS SDKs' default chain, in their order (docs/OPERATIONS.md, "S3
// buckets"): the bucket's own keys in instance.toml (or a secret_file), the AWS_ACCESS_KEY_ID /
// AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN variables, the shared credentials file
// (AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials, profile AWS_PROFILE or "default"), then EC2 instance
// metadata (IMDSv2, endpoint AWS_EC2_METADATA_SERVICE_ENDPOINT or http://169.254.169.254;
// AWS_EC2_METADATA_DISABLED=true skips it). The first source that has keys is used. Secrets never appear in
// what these functions throw or log. Thread safety: a provider may be used from any number of threads.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "storage/http_client.h"
#include "storage/sigv4.h"

namespace bakrest::storage {

struct CredentialSettings {
  std::string access_key_id;
  std::string secret_access_key;
  std::string secret_file;  // alternative to secret_access_key: a file holding only the secret
  std::string session_token;
  std::string profile;  // a profile of the shared credentials file; empty: AWS_PROFILE or "default"
};

class CredentialProvider {
 public:
  virtual ~CredentialProvider() = default;
  // Keys that are valid now. Throws StorageError kAccessDenied when there are none, saying where it looked.
  virtual sigv4::Credentials get(const CallContext& ctx) = 0;
  // The store refused the keys as expired: the next get() fetches fresh ones if the source can.
  virtual void invalidate() {}
  // Where the keys come from, for logs and errors ("instance.toml", "the environment", ...).
  virtual std::string source() const = 0;
};

// Fixed keys; source says where they came from ("[kms] in instance.toml").
std::shared_ptr<CredentialProvider> fixed_credentials(sigv4::Credentials keys, std::string source);

// Resolves the chain now for the sources that are local (config, environment, file) and throws
// std::runtime_error for a broken one (a secret_file that cannot be read, a profile file that has the
// profile without both keys); falls back to instance metadata, which is asked at first use.
std::unique_ptr<CredentialProvider> default_credential_chain(const CredentialSettings& settings,
                                                             http::Options http_options);

// Reads `[profile]` of an AWS shared credentials file (INI: [name], key = value, # and ; comments).
// Returns empty credentials if the file or profile is absent.
sigv4::Credentials read_shared_credentials(const std::string& file, const std::string& profile);

}  // namespace bakrest::storage
