// LOGIN7: parse_login7() on a client's payload, then what the server does next with its numbers (the TDS
// version negotiation) and the password round trip of the scrambling.
#include "fuzz_support.h"
#include "server/bytes.h"
#include "server/login7.h"
#include "server/tds_version.h"

using namespace bakrest;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    server::Login7 login = server::parse_login7({data, size});
    server::TdsVersion version = server::TdsVersion::negotiate(login.tds_version);
    fuzz::check(version.value() >= server::kTds71 && version.value() <= server::kTds74,
                "the negotiated version is one bakrest speaks");
    (void)version.name();
    fuzz::check(server::decode_password(server::encode_password(login.password)) == login.password,
                "a decoded password scrambles and unscrambles to itself");
  } catch (const server::ProtocolError&) {
  }
  return 0;
}
