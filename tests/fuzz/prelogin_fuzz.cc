// PRELOGIN option directory: parse_prelogin() on a client's payload.
#include "server/bytes.h"
#include "server/prelogin.h"

using namespace bakrest;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    server::PreloginRequest request = server::parse_prelogin({data, size});
    (void)request;
  } catch (const server::ProtocolError&) {
  }
  return 0;
}
