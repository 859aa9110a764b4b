// AWS KMS's JSON protocol (awsJson1_1: POST /, X-Amz-Target: TrentService.<Operation>, a JSON body) over the
// instance's own KMS (crypto/local_kms.h), so that `aws kms ... --endpoint-url` works unchanged:
//
//   CreateKey, DescribeKey, ListKeys, CreateAlias, DeleteAlias, ListAliases, EnableKey, DisableKey,
//   ScheduleKeyDeletion, PutKeyPolicy, GetKeyPolicy, GenerateDataKey, Encrypt, Decrypt
//
// A request signed with an assumed role's temporary keys (control/sts_api.h) may DescribeKey, GenerateDataKey
// and Decrypt (with its KeyId), as the role's policies and the key's policy allow (iam/authorized_kms.h);
// every other operation needs the account's own access key (AccessDeniedException).
//
// Replies are KMS's: the operation's JSON, or HTTP 400 with {"__type": <exception>, "message": ...}. A field
// an operation does not take here (Tags, MultiRegion, GrantTokens, ...) is refused by name, never ignored.
//
// Thread safety: handle() may be called from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "crypto/local_kms.h"
#include "iam/role_store.h"

namespace bakrest::control {

struct ApiReply {
  int status = 200;
  std::string content_type;
  std::string body;
};

class KmsApi {
 public:
  // now: the clock (unix seconds) for creation and deletion dates.
  KmsApi(crypto::LocalKms& kms, std::string account, std::function<int64_t()> now)
      : kms_(kms), account_(std::move(account)), now_(std::move(now)) {}

  // operation: what follows "TrentService." in X-Amz-Target; as_role: the role whose temporary keys signed
  // the request, or null for the account's own key.
  ApiReply handle(std::string_view operation, std::string_view body,
                  std::shared_ptr<const iam::RolePolicies> as_role = nullptr);

  // An error reply in KMS's form.
  static ApiReply error(std::string_view code, std::string_view message, int status = 400);

 private:
  crypto::LocalKms& kms_;
  std::string account_;
  std::function<int64_t()> now_;
};

}  // namespace bakrest::control
