// Consistency of the chip data tables (the only chip-specific part of the model).
#include <gtest/gtest.h>

#include <set>

#include "efuse/bits.hpp"
#include "efuse/chip.hpp"

namespace espsec::efuse {
namespace {

const FieldInfo* find(const ChipDescription& chip, std::string_view name) {
  for (const FieldInfo& f : chip.fields)
    if (f.name == name) return &f;
  return nullptr;
}

TEST(EfuseChipData, Esp32c3FieldsFitTheirBlocksAndNamesAreUnique) {
  const ChipDescription& chip = esp32c3();
  EXPECT_EQ(find_chip("esp32c3"), &chip);
  EXPECT_EQ(find_chip("esp32s3"), nullptr);
  std::set<std::string_view> names;
  for (const FieldInfo& f : chip.fields) {
    EXPECT_TRUE(names.insert(f.name).second) << f.name;
    for (std::string_view alias : f.aliases) {
      if (!alias.empty()) {
        EXPECT_TRUE(names.insert(alias).second) << alias;
      }
    }
    ASSERT_LT(f.block, chip.blocks.size()) << f.name;
    if (f.calculated()) {
      for (const CalcPart& p : f.parts) EXPECT_NE(find(chip, p.field), nullptr) << p.field;
      continue;
    }
    EXPECT_LE(f.start_bit() + f.bit_len, chip.blocks[f.block].words * 32u) << f.name;
    if (f.type == FieldType::kBool) {
      EXPECT_EQ(f.bit_len, 1) << f.name;
    }
    if (f.block != 0) {
      EXPECT_EQ(f.wr_dis_bit, chip.blocks[f.block].wr_dis_bit) << f.name;
    }
    if (f.rd_dis_bit != kNoBit) {
      EXPECT_EQ(f.rd_dis_bit, chip.blocks[f.block].rd_dis_bit) << f.name;
    }
  }
  EXPECT_EQ(chip.fields.size(), 111u);  // 110 yaml fields + the calculated WAFER_VERSION_MINOR
}

// Every assigned bit of BLOCK0 belongs to some field, so write protection can be judged bit by
// bit. The table assigns bits 0..183; the last byte of RD_REPEAT_DATA4 has no field (and no
// WR_DIS bit) in espefuse or ESP-IDF.
TEST(EfuseChipData, Esp32c3Block0IsCoveredUpToBit183) {
  const ChipDescription& chip = esp32c3();
  Bytes covered(24, 0);
  for (const FieldInfo& f : chip.fields) {
    if (f.block != 0 || f.calculated()) continue;
    for (unsigned i = 0; i < f.bit_len; ++i) set_bit(covered, f.start_bit() + i);
  }
  Bytes expected(24, 0xFF);
  expected[23] = 0;
  EXPECT_EQ(covered, expected);
}

// Fact sheet 4.3/4.4: positions and WR_DIS bits of the security fields.
TEST(EfuseChipData, Esp32c3SecurityFieldsAreWhereTheFactSheetSays) {
  struct Expect { const char* name; unsigned start; unsigned len; int wr; } expected[] = {
      {"RD_DIS", 32, 7, 0},           {"DIS_ICACHE", 40, 1, 2},        {"SOFT_DIS_JTAG", 48, 3, 31},
      {"DIS_PAD_JTAG", 51, 1, 2},     {"SPI_BOOT_CRYPT_CNT", 82, 3, 4}, {"SECURE_BOOT_KEY_REVOKE2", 87, 1, 7},
      {"KEY_PURPOSE_0", 88, 4, 8},    {"KEY_PURPOSE_5", 108, 4, 13},   {"SECURE_BOOT_EN", 116, 1, 15},
      {"SECURE_BOOT_AGGRESSIVE_REVOKE", 117, 1, 16}, {"DIS_DOWNLOAD_MODE", 128, 1, 18},
      {"ENABLE_SECURITY_DOWNLOAD", 133, 1, 18},      {"SECURE_VERSION", 142, 16, 18},
      {"ERR_RST_ENABLE", 159, 1, 19}, {"USB_EXCHG_PINS", 57, 1, 30},
  };
  for (const auto& e : expected) {
    const FieldInfo* f = find(esp32c3(), e.name);
    ASSERT_NE(f, nullptr) << e.name;
    EXPECT_EQ(f->block, 0) << e.name;
    EXPECT_EQ(f->start_bit(), e.start) << e.name;
    EXPECT_EQ(f->bit_len, e.len) << e.name;
    EXPECT_EQ(f->wr_dis_bit, e.wr) << e.name;
  }
}

}  // namespace
}  // namespace espsec::efuse
