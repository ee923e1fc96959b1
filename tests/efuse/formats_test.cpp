// The two byte formats of the eFuse model: the espefuse virtual file and the hardware-key sidecar.
#include <gtest/gtest.h>

#include "efuse/hwkeys_file.hpp"
#include "efuse/virtual_file.hpp"
#include "test_util.hpp"

namespace espsec::efuse {
namespace {

constexpr size_t kWindow = 512;

TEST(VirtualFile, RegistersAreBigEndianWordsOfTheReversedWindow) {
  Bytes file(kWindow, 0);
  // Fact sheet 4.2: SECURE_VERSION = 5 -> RD_REPEAT_DATA3 (0x03C) = 0x00014000 -> file 0x1C0.
  file[0x1C1] = 0x01;
  file[0x1C2] = 0x40;
  auto window = parse_virtual_file(file, kWindow);
  ASSERT_TRUE(window);
  EXPECT_EQ(window->reg(0x03C), 0x00014000u);
  EXPECT_EQ(serialize_virtual_file(*window), file);
}

TEST(VirtualFile, EveryEspefuseStateRoundTrips) {
  ESPSEC_REQUIRE_VECTORS();
  for (const char* name : {"00_fresh", "01_burn_key_xts", "02_burn_key_digest", "03_crypt_cnt_sb_en",
                           "04_secure_version", "05_read_protect_key", "06_write_protect"}) {
    const Bytes file = test::read_vector(std::string("secure/efuse/esp32c3/") + name + ".bin");
    auto window = parse_virtual_file(file, kWindow);
    ASSERT_TRUE(window) << name;
    EXPECT_EQ(serialize_virtual_file(*window), file) << name;
  }
}

TEST(VirtualFile, EmptyFileIsAFreshChip) {
  auto window = parse_virtual_file({}, kWindow);
  ASSERT_TRUE(window);
  EXPECT_EQ(serialize_virtual_file(*window), Bytes(kWindow, 0));
}

TEST(VirtualFile, RefusesAnyOtherSize) {
  for (size_t size : {size_t{1}, size_t{511}, size_t{513}, size_t{1024}}) {
    auto window = parse_virtual_file(Bytes(size, 0), kWindow);
    ASSERT_FALSE(window) << size;
    EXPECT_EQ(window.error().code, "efuse.file_size");
    EXPECT_NE(window.error().message.find(std::to_string(size) + " bytes"), std::string::npos);
  }
}

std::vector<HardwareKeyRecord> two_records() {
  std::vector<HardwareKeyRecord> records;
  records.push_back({4, SecretBytes::copy_of(Bytes(32, 0xA5))});
  records.push_back({9, SecretBytes::copy_of(Bytes(32, 0x3C))});
  return records;
}

TEST(HwKeysFile, RoundTrip) {
  auto bytes = serialize_hwkeys_file(two_records());
  ASSERT_TRUE(bytes);
  ASSERT_EQ(bytes->size(), 12u + 2 * 36);
  EXPECT_EQ(Bytes(bytes->expose().begin(), bytes->expose().begin() + 8), Bytes(as_bytes("ESHWKEY1").begin(), as_bytes("ESHWKEY1").end()));
  auto records = parse_hwkeys_file(bytes->expose());
  ASSERT_TRUE(records);
  ASSERT_EQ(records->size(), 2u);
  EXPECT_EQ((*records)[0].block, 4);
  EXPECT_EQ(Bytes((*records)[1].contents.expose().begin(), (*records)[1].contents.expose().end()), Bytes(32, 0x3C));
  auto again = serialize_hwkeys_file(*records);
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->equals(*bytes));
  auto empty = serialize_hwkeys_file({});
  ASSERT_TRUE(empty);
  auto none = parse_hwkeys_file(empty->expose());
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

Bytes good_file() {
  auto bytes = serialize_hwkeys_file(two_records());
  return Bytes(bytes->expose().begin(), bytes->expose().end());
}

void expect_rejected(const Bytes& file, const char* code) {
  auto records = parse_hwkeys_file(file);
  ASSERT_FALSE(records) << code;
  EXPECT_EQ(records.error().code, code);
}

TEST(HwKeysFile, RejectsEachDamagedField) {
  Bytes f = good_file();
  f[0] = 'X';
  expect_rejected(f, "efuse.hwkeys_magic");
  expect_rejected(Bytes(f.begin(), f.begin() + 5), "efuse.hwkeys_magic");
  f = good_file();
  f[8] = 17;
  expect_rejected(f, "efuse.hwkeys_count");
  f = good_file();
  f[8] = 3;
  expect_rejected(f, "efuse.hwkeys_size");
  f = good_file();
  f.push_back(0);
  expect_rejected(f, "efuse.hwkeys_size");
  f = good_file();
  f[10] = 1;
  expect_rejected(f, "efuse.hwkeys_padding");
  f = good_file();
  f[12 + 2] = 1;
  expect_rejected(f, "efuse.hwkeys_padding");
  f = good_file();
  f[12 + 36] = 4;  // second record repeats block 4
  expect_rejected(f, "efuse.hwkeys_order");
}

TEST(HwKeysFile, SerializeRefusesBadRecords) {
  std::vector<HardwareKeyRecord> records;
  records.push_back({5, SecretBytes::copy_of(Bytes(31, 0))});
  EXPECT_EQ(serialize_hwkeys_file(records).error().code, "efuse.hwkeys_record");
  std::vector<HardwareKeyRecord> unordered;
  unordered.push_back({6, SecretBytes(32)});
  unordered.push_back({5, SecretBytes(32)});
  EXPECT_EQ(serialize_hwkeys_file(unordered).error().code, "efuse.hwkeys_record");
}

}  // namespace
}  // namespace espsec::efuse
