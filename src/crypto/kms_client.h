// A KMS reached over HTTP with KMS's JSON protocol (awsJson1_1, X-Amz-Target: TrentService.<Operation>),
// signed with SigV4: AWS KMS itself (https://kms.<region>.amazonaws.com), or another bakrest instance's
// control endpoint ([kms] endpoint in instance.toml, docs/OPERATIONS.md "Keys of another instance"), so that
// instances share keys as RDS instances share a region's KMS. It serves what tasks ask of a key service.
//
// Requests are signed with the keys of a credential provider: fixed keys ([kms] in instance.toml), or the
// temporary keys of an IAM role assumed through STS (storage/sts.h), fetched again when the KMS says they
// expired. Each request carries a fresh amz-sdk-invocation-id (storage/aws_request.h). Errors come back as
// KmsError with the service's exception name; a service that cannot be reached is KmsError
// KMSInternalException naming the endpoint.
//
// Thread safety: any thread (the HTTP client keeps a pool of connections).
#pragma once

#include <memory>
#include <string>

#include "crypto/key_service.h"
#include "storage/aws_request.h"
#include "storage/credentials.h"

namespace bakrest::crypto {

struct KmsClientSettings {
  std::string endpoint;  // "http://127.0.0.1:14330" or "https://kms.us-east-1.amazonaws.com", no path
  std::string region;
  std::shared_ptr<storage::CredentialProvider> credentials;  // required
};

class KmsClient : public KeyService {
 public:
  // Throws std::invalid_argument for an endpoint that is not http:// or https://host[:port], or no
  // credentials.
  explicit KmsClient(KmsClientSettings settings);
  ~KmsClient() override;

  KeyMetadata describe_key(std::string_view key) const override;
  DataKey generate_data_key(std::string_view key, const EncryptionContext& context, size_t bytes) override;
  Decrypted decrypt(std::span<const uint8_t> blob, std::optional<std::string_view> key,
                    const EncryptionContext& context) override;

  const std::string& endpoint() const { return endpoint_.url; }

 private:
  // The reply of one operation, parsed; throws KmsError.
  std::string call(const std::string& operation, const std::string& body) const;

  KmsClientSettings settings_;
  storage::ApiEndpoint endpoint_;
  std::unique_ptr<storage::http::Client> http_;
};

}  // namespace bakrest::crypto
