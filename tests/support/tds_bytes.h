// Building TDS byte strings in tests: what the protocol tests (tests/unit/server/) and the fuzz seed writer
// (tests/fuzz/make_fuzz_seeds.cc) lay out by hand, one home for them.
#pragma once

#include <initializer_list>
#include <string_view>

#include "common/value.h"
#include "server/bytes.h"
#include "server/tds_version.h"
#include "server/text.h"

namespace bakrest::server::tds_bytes {

// SQL_Latin1_General_CP1_CI_AS's five collation bytes, and the same with the UTF-8 flag (bit 26 of the u32).
inline const Bytes kLatin1Collation = {0x09, 0x04, 0xD0, 0x00, 0x34};
inline const Bytes kUtf8Collation = {0x09, 0x04, 0xD0, 0x04, 0x34};

inline TdsVersion v74() { return TdsVersion::negotiate(kTds74); }
inline TdsVersion v71() { return TdsVersion::negotiate(kTds71); }

inline Bytes concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// UTF-8 text as the UTF-16LE bytes TDS carries, without a length.
inline Bytes utf16(std::string_view utf8) {
  ByteWriter w;
  put_utf16le(w, utf8_to_utf16(utf8));
  return w.take();
}

}  // namespace bakrest::server::tds_bytes
