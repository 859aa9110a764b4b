#include "server/tds_version.h"

namespace bakrest::server {

TdsVersion TdsVersion::negotiate(uint32_t client_version) {
  if (client_version >= 0x74000000) return TdsVersion(kTds74);
  if (client_version >= 0x730B0000) return TdsVersion(kTds73B);
  if (client_version >= 0x73000000) return TdsVersion(kTds73A);
  if (client_version >= 0x72000000) return TdsVersion(kTds72);
  return TdsVersion(kTds71);
}

std::string TdsVersion::name() const {
  switch (value_) {
    case kTds71:
      return "7.1";
    case kTds72:
      return "7.2";
    case kTds73A:
      return "7.3A";
    case kTds73B:
      return "7.3B";
    default:
      return "7.4";
  }
}

}  // namespace bakrest::server
