#include "chip/file_flash.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "chip/flash_window.hpp"
#include "test_util.hpp"

namespace espsec::chip {
namespace {

constexpr uint32_t kMiB = 1024 * 1024;

TEST(FileFlash, CreatesAnErasedPrivateFileOfTheChipSize) {
  test::TempDir dir;
  auto flash = FileFlash::create(dir / "flash.bin", 4 * kMiB);
  ASSERT_TRUE(flash) << flash.error().message;
  EXPECT_EQ(flash->size(), 4 * kMiB);
  EXPECT_EQ(std::filesystem::file_size(dir / "flash.bin"), 4 * kMiB);
  struct stat st {};
  ASSERT_EQ(::stat((dir / "flash.bin").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto all = flash->read_bytes(0, 4 * kMiB);
  ASSERT_TRUE(all);
  EXPECT_TRUE(std::all_of(all->begin(), all->end(), [](uint8_t b) { return b == 0xFF; }));
}

TEST(FileFlash, NorSemanticsAndPersistence) {
  test::TempDir dir;
  {
    auto flash = FileFlash::create(dir / "f.bin", 2 * kMiB);
    ASSERT_TRUE(flash);
    ASSERT_TRUE(flash->program(0x1FFFF0, Bytes(16, 0x0F)));
    ASSERT_TRUE(flash->program(0x1FFFF0, Bytes(16, 0xF1)));  // bits only go 1 -> 0
    ASSERT_TRUE(flash->program(0x5000, Bytes{0x12, 0x34}));
    ASSERT_TRUE(flash->program(0x6000, Bytes(3 * kSectorSize + 7, 0xA5)));  // spans sectors and chunks
    ASSERT_TRUE(flash->erase_sector(0x5000));
    ASSERT_TRUE(flash->sync());
  }
  auto again = FileFlash::open(dir / "f.bin");
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(*again->read_bytes(0x1FFFF0, 2), (Bytes{0x01, 0x01}));
  EXPECT_EQ(*again->read_bytes(0x5000, 2), (Bytes{0xFF, 0xFF}));
  EXPECT_EQ(*again->read_bytes(0x6000 + 3 * kSectorSize + 6, 2), (Bytes{0xA5, 0xFF}));
}

TEST(FileFlash, RefusesOutOfRangeAndUnalignedAccess) {
  test::TempDir dir;
  auto flash = FileFlash::create(dir / "f.bin", 2 * kMiB);
  ASSERT_TRUE(flash);
  Bytes two(2);
  EXPECT_EQ(flash->read(2 * kMiB - 1, two).error().code, "flash.out_of_range");
  EXPECT_EQ(flash->program(0xFFFFFFFF, Bytes{0}).error().code, "flash.out_of_range");
  EXPECT_EQ(flash->erase_sector(2 * kMiB).error().code, "flash.out_of_range");
  EXPECT_EQ(flash->erase_sector(0x100).error().code, "flash.unaligned");
  EXPECT_TRUE(flash->read(2 * kMiB - 2, two));
}

TEST(FileFlash, CreateRefusesExistingFilesAndOddSizes) {
  test::TempDir dir;
  test::write_bytes(dir / "taken.bin", Bytes{1, 2, 3});
  EXPECT_EQ(FileFlash::create(dir / "taken.bin", 2 * kMiB).error().code, "io.exists");
  EXPECT_EQ(test::read_bytes(dir / "taken.bin"), (Bytes{1, 2, 3}));
  EXPECT_EQ(FileFlash::create(dir / "odd.bin", 3 * kMiB).error().code, "flash.size");
  EXPECT_FALSE(std::filesystem::exists(dir / "odd.bin"));
  EXPECT_EQ(FileFlash::create(dir / "no" / "dir.bin", 2 * kMiB).error().code, "io.create");
}

TEST(FileFlash, OpenRefusesBadFiles) {
  test::TempDir dir;
  EXPECT_EQ(FileFlash::open(dir / "missing.bin").error().code, "flash.open");
  std::filesystem::create_directory(dir / "d");
  EXPECT_EQ(FileFlash::open(dir / "d").error().code, "flash.open");
  test::write_bytes(dir / "small.bin", Bytes(100, 0xFF));
  auto small = FileFlash::open(dir / "small.bin");
  EXPECT_EQ(small.error().code, "flash.file_size");
  EXPECT_NE(small.error().message.find("100 bytes"), std::string::npos);
  test::write_bytes(dir / "three.bin", Bytes(3 * kMiB, 0xFF));
  EXPECT_EQ(FileFlash::open(dir / "three.bin").error().code, "flash.file_size");
  ASSERT_TRUE(FileFlash::create(dir / "two.bin", 2 * kMiB));
  auto mismatch = FileFlash::open(dir / "two.bin", 4 * kMiB);
  EXPECT_EQ(mismatch.error().code, "flash.file_size");
  EXPECT_EQ(mismatch.error().message,
            fmt::format("flash file {} is {} bytes, expected {} bytes", (dir / "two.bin").string(), 2 * kMiB, 4 * kMiB));
  EXPECT_TRUE(FileFlash::open(dir / "two.bin", 2 * kMiB));
}

TEST(FileFlash, OpenRefusesAFileWithoutWriteAccess) {
  if (::geteuid() == 0) GTEST_SKIP() << "running as root: file permissions do not apply";
  test::TempDir dir;
  ASSERT_TRUE(FileFlash::create(dir / "ro.bin", 2 * kMiB));
  std::filesystem::permissions(dir / "ro.bin", std::filesystem::perms::owner_read);
  EXPECT_EQ(FileFlash::open(dir / "ro.bin").error().code, "flash.open");
}

TEST(FileFlash, OneProcessAtATime) {
  test::TempDir dir;
  auto first = FileFlash::create(dir / "f.bin", 2 * kMiB);
  ASSERT_TRUE(first);
  EXPECT_EQ(FileFlash::open(dir / "f.bin").error().code, "flash.in_use");
  FileFlash moved = std::move(*first);  // the lock moves with the descriptor
  EXPECT_EQ(FileFlash::open(dir / "f.bin").error().code, "flash.in_use");
  { FileFlash gone = std::move(moved); }
  EXPECT_TRUE(FileFlash::open(dir / "f.bin"));
}

TEST(FileFlash, TruncatedUnderneathIsAnErrorNotGarbage) {
  test::TempDir dir;
  auto flash = FileFlash::create(dir / "f.bin", 2 * kMiB);
  ASSERT_TRUE(flash);
  std::filesystem::resize_file(dir / "f.bin", kMiB);
  Bytes buf(16);
  EXPECT_EQ(flash->read(kMiB + 16, buf).error().code, "flash.read");
}

TEST(FlashWindow, TranslatesAndConfines) {
  MemoryFlash flash(64 * kSectorSize);
  auto window = FlashWindow::make(flash, 0xd000, 0x2000);
  ASSERT_TRUE(window);
  EXPECT_EQ(window->size(), 0x2000u);
  EXPECT_EQ(window->offset(), 0xd000u);
  ASSERT_TRUE(window->program(0x1000, Bytes{0x00}));
  EXPECT_EQ(flash.contents()[0xe000], 0x00);
  ASSERT_TRUE(window->erase_sector(0x1000));
  EXPECT_EQ(flash.contents()[0xe000], 0xFF);
  Bytes one(1);
  EXPECT_EQ(window->read(0x2000, one).error().code, "flash.out_of_range");
  EXPECT_EQ(window->program(0x1FFF, Bytes{0, 0}).error().code, "flash.out_of_range");
  EXPECT_EQ(window->erase_sector(0x2000).error().code, "flash.out_of_range");
  EXPECT_EQ(window->erase_sector(0x800).error().code, "flash.unaligned");
  EXPECT_EQ(window->program(0xFFFFFFFF, Bytes{0}).error().code, "flash.out_of_range");
  // A window whose size is not whole sectors cannot erase its partial last sector.
  auto odd = FlashWindow::make(flash, 0x10000, 0x1800);
  ASSERT_TRUE(odd);
  EXPECT_EQ(odd->erase_sector(0x1000).error().code, "flash.out_of_range");
}

TEST(FlashWindow, RefusesBadPlacement) {
  MemoryFlash flash(16 * kSectorSize);
  EXPECT_EQ(FlashWindow::make(flash, 0x800, 0x1000).error().code, "flash.unaligned");
  EXPECT_EQ(FlashWindow::make(flash, 0xF000, 0x2000).error().code, "flash.out_of_range");
  EXPECT_EQ(FlashWindow::make(flash, 0xF000, 0xFFFFFFFF).error().code, "flash.out_of_range");
  EXPECT_TRUE(FlashWindow::make(flash, 0xF000, 0x1000));
}

}  // namespace
}  // namespace espsec::chip
