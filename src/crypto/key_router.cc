#include "crypto/key_router.h"

namespace bakrest::crypto {

bool KeyRouter::of_account(std::string_view key) const {
  // arn:aws:kms:<region>:<account>:<key/... or alias/...>
  constexpr std::string_view kPrefix = "arn:aws:kms:";
  if (!key.starts_with(kPrefix)) return false;
  key.remove_prefix(kPrefix.size());
  const size_t region_end = key.find(':');
  if (region_end == std::string_view::npos) return false;
  key.remove_prefix(region_end + 1);
  return key.starts_with(account_) && key.substr(account_.size()).starts_with(":");
}

}  // namespace bakrest::crypto
