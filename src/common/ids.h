// Random identifiers: GUIDs for databases, tokens for instance ids and file names.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bakrest {

using Guid = std::array<uint8_t, 16>;

// A random (version 4) GUID from OpenSSL's CSPRNG.
Guid random_guid();
// Upper-case 8-4-4-4-12 form, as SQL Server shows uniqueidentifiers.
std::string guid_to_string(const Guid& guid);
std::optional<Guid> guid_from_string(std::string_view text);

// n random bytes as lower-case hex.
std::string random_hex(size_t bytes);

}  // namespace bakrest
