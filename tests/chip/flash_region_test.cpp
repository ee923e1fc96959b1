#include "chip/flash_region.hpp"

#include <gtest/gtest.h>

namespace espsec::chip {
namespace {

TEST(FlashRegion, TranslatesAddressesIntoItsWindow) {
  MemoryFlash mem(4 * kSectorSize);
  auto region = FlashRegion::create(mem, kSectorSize, 2 * kSectorSize);
  ASSERT_TRUE(region) << region.error().message;
  EXPECT_EQ(region->size(), 2 * kSectorSize);
  ASSERT_TRUE(region->program(5, Bytes{0x12}));
  EXPECT_EQ(mem.contents()[kSectorSize + 5], 0x12);
  Bytes out(1);
  ASSERT_TRUE(region->read(5, out));
  EXPECT_EQ(out[0], 0x12);
  ASSERT_TRUE(region->erase_sector(0));
  EXPECT_EQ(mem.contents()[kSectorSize + 5], 0xFF);
}

TEST(FlashRegion, NeverReachesPastItsWindow) {
  MemoryFlash mem(4 * kSectorSize);
  auto region = FlashRegion::create(mem, kSectorSize, kSectorSize);
  ASSERT_TRUE(region);
  Bytes out(2);
  EXPECT_EQ(region->read(kSectorSize - 1, out).error().code, "flash.out_of_range");
  EXPECT_EQ(region->program(kSectorSize, Bytes{0}).error().code, "flash.out_of_range");
  EXPECT_EQ(region->erase_sector(kSectorSize).error().code, "flash.out_of_range");
  EXPECT_EQ(region->erase_sector(1).error().code, "flash.unaligned");
  EXPECT_EQ(mem.contents()[2 * kSectorSize], 0xFF);
}

TEST(FlashRegion, RejectsUnalignedOrOversizedWindows) {
  MemoryFlash mem(4 * kSectorSize);
  EXPECT_EQ(FlashRegion::create(mem, 100, kSectorSize).error().code, "flash.region_unaligned");
  EXPECT_EQ(FlashRegion::create(mem, 0, 100).error().code, "flash.region_unaligned");
  EXPECT_EQ(FlashRegion::create(mem, 3 * kSectorSize, 2 * kSectorSize).error().code, "flash.region_range");
  EXPECT_EQ(FlashRegion::create(mem, 0xFFFFF000u, 2 * kSectorSize).error().code, "flash.region_range");
}

}  // namespace
}  // namespace espsec::chip
