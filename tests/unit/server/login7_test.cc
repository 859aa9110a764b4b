#include "server/login7.h"

#include <gtest/gtest.h>

#include "server/bytes.h"
#include "server/text.h"

namespace bakrest::server {
namespace {

struct Field {
  std::string text;
  bool password = false;
};

// Builds a LOGIN7 the way clients lay it out: fixed part, offset table, then the strings.
Bytes build_login7(uint32_t version, const std::vector<Field>& fields, const Bytes& feature_ext) {
  constexpr size_t kHeader = 94;
  ByteWriter data;
  std::vector<std::pair<uint16_t, uint16_t>> table;
  size_t extension_slot = 5;  // ibExtension/cbExtension sits after ServerName
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i == extension_slot) {
      table.emplace_back(static_cast<uint16_t>(kHeader + data.size()), feature_ext.empty() ? 0 : 4);
      if (!feature_ext.empty()) data.u32le(0);  // patched below
    }
    uint16_t offset = static_cast<uint16_t>(kHeader + data.size());
    std::u16string units = utf8_to_utf16(fields[i].text);
    Bytes bytes = fields[i].password ? encode_password(fields[i].text) : [&] {
      ByteWriter w;
      put_utf16le(w, units);
      return w.take();
    }();
    data.bytes(bytes);
    table.emplace_back(offset, static_cast<uint16_t>(units.size()));
  }
  Bytes tail = data.take();
  if (!feature_ext.empty()) {
    uint32_t ext_offset = static_cast<uint32_t>(kHeader + tail.size());
    size_t at = table[extension_slot].first - kHeader;
    for (int k = 0; k < 4; ++k) tail[at + k] = static_cast<uint8_t>(ext_offset >> (8 * k));
    tail.insert(tail.end(), feature_ext.begin(), feature_ext.end());
  }

  ByteWriter out;
  out.u32le(static_cast<uint32_t>(kHeader + tail.size()));
  out.u32le(version);
  out.u32le(8192);  // packet size
  out.u32le(7);     // client program version
  out.u32le(4242);  // pid
  out.u32le(0);     // connection id
  out.u8(0xE0);
  out.u8(0x03);
  out.u8(0x00);
  out.u8(feature_ext.empty() ? 0x00 : 0x10);
  out.u32le(0);      // time zone
  out.u32le(0x409);  // LCID
  for (auto [offset, length] : table) {
    out.u16le(offset);
    out.u16le(length);
    if (out.size() == 72) out.zeros(6);  // ClientID sits between Database and SSPI
  }
  while (out.size() < kHeader) out.u8(0);  // SSPI, AtchDBFile, ChangePassword, cbSSPILong: empty
  out.bytes(tail);
  return out.take();
}

TEST(TdsLogin7Test, PasswordIsNibbleSwappedAndXoredWithA5) {
  // 'p' = 70 00 -> swap 07 00 -> xor A5 = A2 A5
  EXPECT_EQ(encode_password("p"), (Bytes{0xA2, 0xA5}));
  const uint8_t scrambled[] = {0xA2, 0xA5};
  EXPECT_EQ(decode_password(scrambled), "p");
  EXPECT_EQ(decode_password(encode_password("S\xC3\xA9"
                                            "cret!123")),
            "S\xC3\xA9"
            "cret!123");
}

TEST(TdsLogin7Test, ParsesEveryFieldByItsOffset) {
  Bytes login = build_login7(
      0x74000004, {{"myhost"}, {"sa"}, {"Secret1!", true}, {"my app"}, {"server1"}, {"ODBC"}, {""}, {"mydb"}},
      {});
  Login7 l = parse_login7(login);
  EXPECT_EQ(l.tds_version, 0x74000004u);
  EXPECT_EQ(l.packet_size, 8192u);
  EXPECT_EQ(l.client_pid, 4242u);
  EXPECT_EQ(l.host_name, "myhost");
  EXPECT_EQ(l.user_name, "sa");
  EXPECT_EQ(l.password, "Secret1!");
  EXPECT_EQ(l.app_name, "my app");
  EXPECT_EQ(l.server_name, "server1");
  EXPECT_EQ(l.library_name, "ODBC");
  EXPECT_EQ(l.language, "");
  EXPECT_EQ(l.database, "mydb");
  EXPECT_FALSE(l.integrated_security);
  EXPECT_FALSE(l.requests_utf8);
}

TEST(TdsLogin7Test, FeatureExtUtf8RequestIsDetected) {
  Bytes fe = {0x04, 0x01, 0x00, 0x00, 0x00, 0x01,  // column encryption, 1 byte
              0x0A, 0x00, 0x00, 0x00, 0x00,        // UTF8_SUPPORT, empty
              0xFF};
  Login7 l = parse_login7(
      build_login7(0x74000004, {{"h"}, {"u"}, {"p", true}, {"a"}, {"s"}, {"l"}, {""}, {""}}, fe));
  EXPECT_TRUE(l.requests_utf8);
  EXPECT_EQ(l.user_name, "u");

  Bytes other = {0x04, 0x01, 0x00, 0x00, 0x00, 0x01, 0xFF};
  l = parse_login7(
      build_login7(0x74000004, {{"h"}, {"u"}, {"p", true}, {"a"}, {"s"}, {"l"}, {""}, {""}}, other));
  EXPECT_FALSE(l.requests_utf8);
}

TEST(TdsLogin7Test, ShortOrInconsistentLoginIsRejected) {
  Bytes login = build_login7(0x71000001, {{"h"}, {"u"}, {"p", true}, {"a"}, {"s"}, {"l"}, {""}, {"d"}}, {});
  EXPECT_THROW(parse_login7(std::span(login).first(50)), ProtocolError);

  Bytes bad_offset = login;
  bad_offset[40] = 0xF0;  // UserName offset far outside
  bad_offset[41] = 0x00;
  EXPECT_THROW(parse_login7(bad_offset), ProtocolError);

  Bytes bad_length = login;
  bad_length[0] = 0xFF;  // declared length beyond the payload
  bad_length[1] = 0xFF;
  EXPECT_THROW(parse_login7(bad_length), ProtocolError);
}

}  // namespace
}  // namespace bakrest::server
