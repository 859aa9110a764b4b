#include "common/utf8.h"

#include <gtest/gtest.h>

namespace bakrest {
namespace {

TEST(XmlText, WellFormedUtf8WithoutControlCharacters) {
  EXPECT_TRUE(is_xml_text(""));
  EXPECT_TRUE(is_xml_text("native backup and restore"));
  EXPECT_TRUE(is_xml_text("tab\tline\ncarriage\r"));
  EXPECT_TRUE(is_xml_text("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));
  EXPECT_TRUE(is_xml_text("\xEF\xBF\xBD"));  // U+FFFD written as itself
  EXPECT_FALSE(is_xml_text(std::string("nul\0", 4)));
  EXPECT_FALSE(is_xml_text("bell \x07"));
  EXPECT_FALSE(is_xml_text("\xC3("));         // a continuation byte missing
  EXPECT_FALSE(is_xml_text("\xC0\xAF"));      // an overlong '/'
  EXPECT_FALSE(is_xml_text("\xED\xA0\x80"));  // a surrogate
  EXPECT_FALSE(is_xml_text("\xEF\xBF\xBE"));  // U+FFFE
  EXPECT_FALSE(is_xml_text("cut \xE2\x82"));  // cut short
}

}  // namespace
}  // namespace bakrest
