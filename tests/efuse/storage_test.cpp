// FileStorage: the espefuse-compatible eFuse file plus the 0600 hardware-key sidecar.
#include "efuse/storage.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "core/file_io.hpp"
#include "test_util.hpp"

namespace espsec::efuse {
namespace {

Result<std::unique_ptr<Controller>> open_file(const std::filesystem::path& path) {
  return Controller::open(esp32c3(), std::make_unique<FileStorage>(path));
}

SecretBytes pattern_key() {
  SecretBytes key(32);
  for (size_t i = 0; i < 32; ++i) key.expose_mutable()[i] = static_cast<uint8_t>(0xA0 + i);
  return key;
}

TEST(EfuseFileStorage, MissingFileBecomesAFreshChipFile) {
  test::TempDir dir;
  const auto path = dir / "efuse.bin";
  auto c = open_file(path);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(test::read_bytes(path), Bytes(512, 0));
  EXPECT_FALSE(std::filesystem::exists(FileStorage::hwkeys_path(path)));
}

TEST(EfuseFileStorage, EmptyFileBecomesAFreshChipFile) {
  test::TempDir dir;
  const auto path = dir / "efuse.bin";
  test::write_bytes(path, {});
  ASSERT_TRUE(open_file(path));
  EXPECT_EQ(test::read_bytes(path), Bytes(512, 0));
}

TEST(EfuseFileStorage, FileOfAnotherSizeIsRefusedAndLeftAlone) {
  test::TempDir dir;
  const auto path = dir / "efuse.bin";
  for (size_t size : {size_t{100}, size_t{511}, size_t{600}}) {
    test::write_bytes(path, Bytes(size, 0x11));
    auto c = open_file(path);
    ASSERT_FALSE(c) << size;
    EXPECT_EQ(c.error().code, "efuse.file_size");
    EXPECT_EQ(test::read_bytes(path), Bytes(size, 0x11));
  }
}

TEST(EfuseFileStorage, ReadProtectedKeyLivesOnlyInThe0600Sidecar) {
  test::TempDir dir;
  const auto path = dir / "efuse.bin";
  {
    auto c = open_file(path);
    ASSERT_TRUE(c);
    Batch b = (*c)->begin_batch();
    ASSERT_TRUE(b.write_key(4, KeyPurpose::kXtsAes128Key, pattern_key()));
    ASSERT_TRUE(b.commit());
  }
  const Bytes file = test::read_bytes(path);
  const SecretBytes key = pattern_key();
  EXPECT_EQ(std::search(file.begin(), file.end(), key.expose().begin(), key.expose().begin() + 8), file.end());
  const auto sidecar = FileStorage::hwkeys_path(path);
  ASSERT_TRUE(std::filesystem::exists(sidecar));
  struct stat st {};
  ASSERT_EQ(::stat(sidecar.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // Next power-on: the engines still get the key.
  auto c = open_file(path);
  ASSERT_TRUE(c);
  auto hw = (*c)->hardware_key(4);
  ASSERT_TRUE(hw) << hw.error().message;
  EXPECT_TRUE(hw->equals(key));
  EXPECT_EQ((*c)->read_block(4), Bytes(32, 0));
}

TEST(EfuseFileStorage, SidecarRecordForAReadableBlockIsIgnored) {
  // What a crash between the sidecar write and the eFuse file write leaves behind.
  test::TempDir dir;
  const auto path = dir / "efuse.bin";
  std::vector<HardwareKeyRecord> records;
  records.push_back({4, pattern_key()});
  auto bytes = serialize_hwkeys_file(records);
  ASSERT_TRUE(bytes);
  ASSERT_TRUE(write_file_atomic(FileStorage::hwkeys_path(path), bytes->expose(), FileMode::kSecret));
  auto c = open_file(path);
  ASSERT_TRUE(c);
  auto hw = (*c)->hardware_key(4);
  ASSERT_TRUE(hw);
  EXPECT_TRUE(hw->equals(SecretBytes(32)));  // the block as software reads it: empty
  Batch b = (*c)->begin_batch();
  ASSERT_TRUE(b.set_field("DIS_TWAI", 1));
  ASSERT_TRUE(b.commit());
  auto rewritten = parse_hwkeys_file(test::read_bytes(FileStorage::hwkeys_path(path)));
  ASSERT_TRUE(rewritten);
  EXPECT_TRUE(rewritten->empty());
}

TEST(EfuseFileStorage, DamagedSidecarIsRefusedWithItsName) {
  test::TempDir dir;
  const auto path = dir / "efuse.bin";
  test::write_bytes(FileStorage::hwkeys_path(path), as_bytes("not a key file"));
  auto c = open_file(path);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, "efuse.hwkeys_magic");
  EXPECT_NE(c.error().message.find("efuse.bin.hwkeys"), std::string::npos);
}

TEST(EfuseFileStorage, SidecarNamingABlockThatCannotBeReadProtectedIsRefused) {
  test::TempDir dir;
  const auto path = dir / "efuse.bin";
  std::vector<HardwareKeyRecord> records;
  records.push_back({2, pattern_key()});
  auto bytes = serialize_hwkeys_file(records);
  ASSERT_TRUE(bytes);
  test::write_bytes(path, Bytes(512, 0));
  test::write_bytes(FileStorage::hwkeys_path(path), bytes->expose());
  auto c = open_file(path);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, "efuse.hwkeys_block");
}

TEST(EfuseFileStorage, EspefuseStatesLoadAndBurnsContinueOnThem) {
  ESPSEC_REQUIRE_VECTORS();
  test::TempDir dir;
  const auto path = dir / "efuse.bin";
  test::write_bytes(path, test::read_vector("secure/efuse/esp32c3/06_write_protect.bin"));
  auto c = open_file(path);
  ASSERT_TRUE(c);
  EXPECT_TRUE((*c)->secure_boot_enabled());
  EXPECT_EQ((*c)->secure_version(), 3u);
  EXPECT_EQ((*c)->flash_encryption_mode(), FlashEncryptionMode::kDevelopment);
  Batch b = (*c)->begin_batch();
  auto locked = b.set_field("SPI_BOOT_CRYPT_CNT", 3);
  ASSERT_FALSE(locked);
  EXPECT_EQ(locked.error().code, "efuse.write_protected");
}

}  // namespace
}  // namespace espsec::efuse
