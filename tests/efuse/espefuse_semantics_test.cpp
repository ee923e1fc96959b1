// espefuse's value parsing and presentation rules, field by field.
#include <gtest/gtest.h>

#include "efuse/bits.hpp"
#include "efuse/espefuse_commands.hpp"
#include "efuse/espefuse_view.hpp"
#include "efuse_test_util.hpp"
#include "test_util.hpp"

namespace espsec::efuse {
namespace {

TEST(EspefuseSemantics, PythonIntWithBaseZero) {
  struct Case { const char* text; bool ok; uint64_t value; bool negative; } cases[] = {
      {"7", true, 7, false},       {"0x1F", true, 31, false}, {"0X1f", true, 31, false}, {"0o17", true, 15, false},
      {"0b101", true, 5, false},   {"1_000", true, 1000, false}, {"0x_ff", true, 255, false}, {"0", true, 0, false},
      {"00", true, 0, false},      {" 12 ", true, 12, false},   {"-3", true, 3, true},       {"+3", true, 3, false},
      {"007", false, 0, false},    {"1__0", false, 0, false},   {"_1", false, 0, false},     {"1_", false, 0, false},
      {"0x", false, 0, false},     {"0b102", false, 0, false},  {"12a", false, 0, false},    {"", false, 0, false},
      {"0z1", false, 0, false},    {"seven", false, 0, false},
  };
  for (const auto& c : cases) {
    const auto v = parse_python_int(c.text);
    EXPECT_EQ(v.has_value(), c.ok) << c.text;
    if (v && c.ok) {
      EXPECT_EQ(v->magnitude, c.value) << c.text;
      EXPECT_EQ(v->negative, c.negative) << c.text;
      EXPECT_FALSE(v->too_large);
    }
  }
  EXPECT_TRUE(parse_python_int("0x1" + std::string(16, '0'))->too_large);
}

Bytes value(const Controller& c, const char* field, std::optional<std::string_view> text) {
  auto v = parse_burn_value(c, c.field(field), text);
  EXPECT_TRUE(v) << field << ": " << (v ? "" : v.error().message);
  return v.value_or(Bytes{});
}

TEST(EspefuseSemantics, BurnValuesParseAsEspefuseReadsThem) {
  auto c = fresh_chip();
  EXPECT_EQ(value(*c, "SECURE_BOOT_EN", std::nullopt), Bytes{1});  // a bare bool burns 1
  EXPECT_EQ(value(*c, "SECURE_VERSION", "0x10"), (Bytes{0x10, 0x00}));
  EXPECT_EQ(value(*c, "SPI_BOOT_CRYPT_CNT", std::nullopt), Bytes{1});  // a bare counter burns its next bit
  EXPECT_EQ(value(*c, "KEY_PURPOSE_2", "HMAC_UP"), Bytes{8});
  EXPECT_EQ(value(*c, "KEY_PURPOSE_2", "9"), Bytes{9});
  // Bytes: plain hex is register order, "0x..." a big-endian number.
  const Bytes id = test::hex("00112233445566778899aabbccddeeff");
  EXPECT_EQ(value(*c, "OPTIONAL_UNIQUE_ID", "00112233445566778899aabbccddeeff"), id);
  EXPECT_EQ(value(*c, "OPTIONAL_UNIQUE_ID", "0x00112233445566778899aabbccddeeff"), reversed(id));
  EXPECT_EQ(value(*c, "CUSTOM_MAC", "02:11:22:33:44:55"), test::hex("021122334455"));
}

TEST(EspefuseSemantics, BadBurnValuesAreRefusedWithEspefuseWording) {
  auto c = fresh_chip();
  struct Case { const char* field; std::optional<std::string_view> text; const char* message; } cases[] = {
      {"SECURE_BOOT_EN", "0", "New value is not accepted for eFuse 'SECURE_BOOT_EN' (will always burn 0->1), given value=0"},
      {"FLASH_TPUW", std::nullopt, "New value required for eFuse 'FLASH_TPUW' (given None)"},
      {"FLASH_TPUW", "0", "New value should not be 0 for 'FLASH_TPUW' (given value= 0)"},
      {"FLASH_TPUW", "16", "New value '16' is not suitable for FLASH_TPUW (uint:4): it needs more than 4 bits"},
      {"CUSTOM_MAC", "01:bb:cc:dd:ee:ff", "Custom MAC must be a unicast MAC!"},
      {"CUSTOM_MAC", std::nullopt, "Required MAC Address in AA:CD:EF:01:02:03 format!"},
      {"CUSTOM_MAC", "02:11:22:33:44:5", "MAC Address needs to be a 6-byte hexadecimal number (12 hexadecimal characters)!"},
      {"CUSTOM_MAC", "0x:11:22:33:44:55", "is not hexadecimal"},
      {"OPTIONAL_UNIQUE_ID", "0X00112233445566778899aabbccddeeff", "is not hexadecimal data"},
      {"OPTIONAL_UNIQUE_ID", "001", "is not hexadecimal data"},
      {"KEY_PURPOSE_1", "0x4", "'0x4' unknown name"},
      {"KEY_PURPOSE_1", "2", "'2' can not be set (value out of range)"},
      {"KEY_PURPOSE_5", "XTS_AES_128_KEY",
       "KEY_PURPOSE_5 can not have XTS_AES_128_KEY key due to a hardware bug (please see TRM for more details)"},
  };
  for (const auto& k : cases) {
    auto v = parse_burn_value(*c, c->field(k.field), k.text);
    ASSERT_FALSE(v) << k.field;
    EXPECT_EQ(v.error().code, "efuse.bad_value");
    EXPECT_NE(v.error().message.find(k.message), std::string::npos) << v.error().message;
  }
}

TEST(EspefuseSemantics, PythonTitleCase) {
  EXPECT_EQ(python_title("spi pad"), "Spi Pad");
  EXPECT_EQ(python_title("MAC"), "Mac");
  EXPECT_EQ(python_title("identity"), "Identity");
}

TEST(EspefuseSemantics, CalibrationFieldsAppearFromBlockVersionOne) {
  auto c = fresh_chip();
  auto before = espefuse_fields(*c);
  EXPECT_EQ(std::count_if(before.begin(), before.end(), [](const FieldInfo* f) { return f->category == "calibration"; }), 0);
  EXPECT_EQ(find_espefuse_field(*c, "TEMP_CALIB").error().code, "efuse.hidden_field");
  Batch b = c->begin_batch();
  ASSERT_TRUE(b.set_field("BLK_VERSION_MAJOR", 1));
  ASSERT_TRUE(b.set_field("TEMP_CALIB", 3));
  ASSERT_TRUE(b.set_field("OCODE", 0x80));
  ASSERT_TRUE(b.set_field("ADC1_INIT_CODE_ATTEN0", (1u << 9) | 5));
  ASSERT_TRUE(b.set_field("ADC1_INIT_CODE_ATTEN1", 1u << 9));
  ASSERT_TRUE(b.commit());
  EXPECT_EQ(c->block_version(), 100u);
  ASSERT_TRUE(find_espefuse_field(*c, "TEMP_CALIB"));
  // Python: 3 * 0.1 == 0.30000000000000004; -1 * 0 * 0.1 == 0.0 (an int product first).
  EXPECT_EQ(field_meaning(*c, c->field("TEMP_CALIB")).text(), "0.30000000000000004");
  EXPECT_EQ(field_meaning(*c, c->field("ADC1_INIT_CODE_ATTEN0")).text(), "-20");
  EXPECT_EQ(field_meaning(*c, c->field("ADC1_INIT_CODE_ATTEN1")).text(), "0");
  EXPECT_EQ(field_meaning(*c, c->field("OCODE")).text(), "128");
  EXPECT_EQ(field_meaning(*c, c->field("BLK_VERSION_MAJOR")).text(), "With calibration");
  auto text = summary(*c, {}, SummaryFormat::kSummary);
  ASSERT_TRUE(text);
  EXPECT_NE(text->find("Calibration fuses:\nK_RTC_LDO (BLOCK1)"), std::string::npos);
  EXPECT_NE(text->find("TEMP_CALIB (BLOCK2)                                Temperature calibration data                       = "
                       "0.30000000000000004 R/W (0b000000011)"),
            std::string::npos)
      << *text;
  auto json = summary(*c, {}, SummaryFormat::kJson);
  ASSERT_TRUE(json);
  EXPECT_EQ(nlohmann::json::parse(*json)["TEMP_CALIB"]["value"], 0.30000000000000004);
}

TEST(EspefuseSemantics, MacsShowAsEspefuseShowsThem) {
  auto c = fresh_chip();
  Batch b = c->begin_batch();
  ASSERT_TRUE(b.set_field(c->field("MAC"), test::hex("665544332211")));
  ASSERT_TRUE(b.set_field(c->field("CUSTOM_MAC"), test::hex("021122334455")));
  ASSERT_TRUE(b.commit());
  // The factory MAC is stored least significant byte first; CUSTOM_MAC in register order.
  EXPECT_EQ(field_meaning(*c, c->field("MAC")).text(), "11:22:33:44:55:66 (OK)");
  EXPECT_EQ(field_meaning(*c, c->field("CUSTOM_MAC")).text(), "02:11:22:33:44:55 (OK)");
}

TEST(EspefuseSemantics, UnknownKeyPurposeValueIsAForbiddenState) {
  auto c = fresh_chip();
  Batch b = c->begin_batch();
  ASSERT_TRUE(b.set_field("KEY_PURPOSE_4", 13));
  ASSERT_TRUE(b.commit());
  EXPECT_EQ(field_meaning(*c, c->field("KEY_PURPOSE_4")).text(), "FORBIDDEN_STATE");
}

TEST(EspefuseSemantics, ChangesNameEveryFieldAndMaskKeys) {
  auto c = fresh_chip();
  Batch b = c->begin_batch();
  SecretBytes key(32);
  key.expose_mutable()[0] = 0x5A;
  ASSERT_TRUE(b.write_key(4, KeyPurpose::kHmacUp, key));
  const auto lines = describe_changes(*c, b, false);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0], "    WR_DIS (BLOCK0): 0 (0x00000000) -> 8388864 (0x00800100)");
  EXPECT_EQ(lines[2], "    KEY_PURPOSE_0 (BLOCK0): USER (0x0) -> HMAC_UP (0x8)");
  EXPECT_EQ(lines[3].find("5a"), std::string::npos) << lines[3];
  EXPECT_NE(lines[3].find("(then read-protected)"), std::string::npos);
  EXPECT_NE(describe_changes(*c, b, true)[3].find("5a 00"), std::string::npos);
}

}  // namespace
}  // namespace espsec::efuse
