#include "server/prelogin.h"

#include <gtest/gtest.h>

#include "server/bytes.h"

namespace bakrest::server {
namespace {

TEST(TdsPreloginTest, ReplyIsByteExactAndIncludesMars) {
  Bytes expected = {
      0x00, 0x00, 0x1A, 0x00, 0x06,        // VERSION at 26, 6 bytes
      0x01, 0x00, 0x20, 0x00, 0x01,        // ENCRYPTION at 32
      0x02, 0x00, 0x21, 0x00, 0x01,        // INSTOPT at 33
      0x03, 0x00, 0x22, 0x00, 0x00,        // THREADID at 34, empty
      0x04, 0x00, 0x22, 0x00, 0x01,        // MARS at 34
      0xFF,                                //
      0x0F, 0x00, 0x10, 0x39, 0x00, 0x00,  // 15.0.4153
      0x02,                                // ENCRYPT_NOT_SUP
      0x00,                                // INSTOPT
      0x00,                                // MARS off
  };
  EXPECT_EQ(build_prelogin_reply(), expected);
}

TEST(TdsPreloginTest, ParsesFreeTdsStyleRequest) {
  Bytes request = {
      0x00, 0x00, 0x1A, 0x00, 0x06,  // VERSION
      0x01, 0x00, 0x20, 0x00, 0x01,  // ENCRYPTION
      0x02, 0x00, 0x21, 0x00, 0x08,  // INSTOPT "MSSQL\0" + padding
      0x03, 0x00, 0x29, 0x00, 0x04,  // THREADID
      0x04, 0x00, 0x2D, 0x00, 0x01,  // MARS
      0xFF, 0x08, 0x00, 0x01, 0x55, 0x00, 0x00,
      0x01,                                            // ENCRYPT_ON
      'M',  'S',  'S',  'Q',  'L',  0x00, 0x00, 0x00,  //
      0x00, 0x00, 0x00, 0x00,                          // thread id
      0x01,                                            // MARS on
  };
  PreloginRequest p = parse_prelogin(request);
  EXPECT_EQ(p.encryption, encryption::kOn);
  EXPECT_TRUE(p.mars);
  EXPECT_EQ(p.instance, "MSSQL");
}

TEST(TdsPreloginTest, OptionOutsideThePacketIsRejected) {
  Bytes request = {0x01, 0x00, 0x20, 0x00, 0x01, 0xFF};
  EXPECT_THROW(parse_prelogin(request), ProtocolError);
  EXPECT_THROW(parse_prelogin(Bytes{0x01, 0x00}), ProtocolError);  // directory cut short
}

}  // namespace
}  // namespace bakrest::server
