#include "chip/flash.hpp"

#include <gtest/gtest.h>

namespace espsec::chip {
namespace {

TEST(MemoryFlash, ProgramOnlyClearsBitsAndEraseSetsOnes) {
  MemoryFlash flash(2 * kSectorSize);
  ASSERT_TRUE(flash.program(10, Bytes{0x0F}));
  ASSERT_TRUE(flash.program(10, Bytes{0xF1}));
  auto b = flash.read_bytes(10, 1);
  ASSERT_TRUE(b);
  EXPECT_EQ((*b)[0], 0x01);
  ASSERT_TRUE(flash.erase_sector(0));
  b = flash.read_bytes(10, 1);
  EXPECT_EQ((*b)[0], 0xFF);
}

TEST(MemoryFlash, RefusesOutOfRangeAndUnalignedErase) {
  MemoryFlash flash(kSectorSize);
  Bytes buf(2);
  auto r = flash.read(kSectorSize - 1, buf);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "flash.out_of_range");
  EXPECT_EQ(flash.program(0xFFFFFFFF, Bytes{0}).error().code, "flash.out_of_range");
  EXPECT_EQ(flash.erase_sector(100).error().code, "flash.unaligned");
  EXPECT_EQ(flash.erase_sector(kSectorSize).error().code, "flash.out_of_range");
  EXPECT_EQ(flash.erase_range(0, 100).error().code, "flash.unaligned");
}

TEST(FaultInjectingFlash, CutsPowerAfterTheBudgetAndStaysDead) {
  MemoryFlash mem(2 * kSectorSize);
  FaultInjectingFlash flash(mem);
  flash.cut_power_after(2);
  ASSERT_TRUE(flash.program(0, Bytes{0x00}));
  ASSERT_TRUE(flash.erase_sector(0));
  auto s = flash.program(1, Bytes{0x00});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, "flash.power_lost");
  EXPECT_TRUE(flash.power_lost());
  EXPECT_EQ(flash.operations(), 2u);
  EXPECT_EQ(mem.contents()[1], 0xFF) << "the cut operation must not land";
  Bytes buf(1);
  EXPECT_FALSE(flash.read(0, buf));
}

TEST(FaultInjectingFlash, TornProgramLandsHalfTheBytes) {
  MemoryFlash mem(kSectorSize);
  FaultInjectingFlash flash(mem);
  flash.cut_power_after(0, /*torn=*/true);
  EXPECT_FALSE(flash.program(0, Bytes(8, 0x00)));
  EXPECT_EQ(mem.contents()[3], 0x00);
  EXPECT_EQ(mem.contents()[4], 0xFF);
  EXPECT_FALSE(flash.program(100, Bytes(8, 0x00)));
  EXPECT_EQ(mem.contents()[100], 0xFF) << "operations after the cut never land";
}

TEST(FaultInjectingFlash, TornEraseClearsHalfTheSector) {
  MemoryFlash mem(kSectorSize);
  std::fill(mem.contents().begin(), mem.contents().end(), 0x00);
  FaultInjectingFlash flash(mem);
  flash.cut_power_after(0, /*torn=*/true);
  EXPECT_FALSE(flash.erase_sector(0));
  EXPECT_EQ(mem.contents()[0], 0xFF);
  EXPECT_EQ(mem.contents()[kSectorSize - 1], 0x00);
}

}  // namespace
}  // namespace espsec::chip
