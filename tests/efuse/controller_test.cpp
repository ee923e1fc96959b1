// eFuse semantics of the model: one-time programming, WR_DIS/RD_DIS, Reed-Solomon blocks, key
// purposes, the ESP-IDF helpers, the hardware-only key view and power loss between burns.
#include "efuse/controller.hpp"

#include <gtest/gtest.h>

#include <functional>

#include "efuse/bits.hpp"
#include "efuse/reed_solomon.hpp"
#include "efuse/storage.hpp"
#include "efuse_test_util.hpp"
#include "test_util.hpp"

namespace espsec::efuse {
namespace {

Status burn(Controller& c, std::string_view name, uint64_t value) {
  Batch b = c.begin_batch();
  auto staged = b.set_field(name, value);
  if (!staged) return std::unexpected(staged.error());
  return b.commit();
}

SecretBytes key_of(uint8_t first) {
  SecretBytes key(32);
  for (size_t i = 0; i < 32; ++i) key.expose_mutable()[i] = static_cast<uint8_t>(first + i);
  return key;
}

TEST(EfuseController, FreshChipIsStoredAsTheFileEspefuseCreates) {
  auto storage = std::make_unique<MemoryStorage>();
  auto slot = storage->slot();
  auto c = Controller::open(esp32c3(), std::move(storage));
  ASSERT_TRUE(c);
  ASSERT_TRUE(slot->has_value());
  EXPECT_EQ((*slot)->file, Bytes(512, 0));
  EXPECT_TRUE((*slot)->hardware_keys.empty());
  EXPECT_EQ((*c)->burn_count(), 0u);
}

TEST(EfuseController, BitsOnlyGoFromZeroToOne) {
  auto c = fresh_chip();
  ASSERT_TRUE(burn(*c, "SECURE_VERSION", 7));
  EXPECT_EQ(c->secure_version(), 3u);
  Batch b = c->begin_batch();
  auto lower = b.set_field("SECURE_VERSION", 3);
  ASSERT_FALSE(lower);
  EXPECT_EQ(lower.error().code, "efuse.clear_bits");
  EXPECT_EQ(lower.error().message, "New value contains some bits that cannot be cleared (value will be 0x0007)");
  // Asking for bits that are all set already is not an error, and burns nothing.
  auto same = b.set_field("SECURE_VERSION", 7);
  ASSERT_TRUE(same);
  EXPECT_EQ(*same, Staged::kAlreadyBurned);
  EXPECT_TRUE(b.empty());
  ASSERT_TRUE(burn(*c, "SECURE_VERSION", 15));
  EXPECT_EQ(c->secure_version(), 4u);
  EXPECT_EQ(c->burn_count(), 2u);
}

TEST(EfuseController, ValuesWiderThanTheFieldAreRefused) {
  auto c = fresh_chip();
  Batch b = c->begin_batch();
  auto wide = b.set_field("SPI_BOOT_CRYPT_CNT", 8);
  ASSERT_FALSE(wide);
  EXPECT_EQ(wide.error().code, "efuse.value_too_wide");
  auto unknown = b.set_field("NO_SUCH_EFUSE", 1);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, "efuse.unknown_field");
  auto calc = b.set_field("WAFER_VERSION_MINOR", 1);
  ASSERT_FALSE(calc);
  EXPECT_EQ(calc.error().code, "efuse.calculated");
}

TEST(EfuseController, OneWriteDisableBitLocksEveryFieldItCovers) {
  auto c = fresh_chip();
  Batch b = c->begin_batch();
  ASSERT_TRUE(b.write_protect(c->field("SECURE_VERSION").wr_dis_bit));
  ASSERT_TRUE(b.commit());
  for (const char* name : {"DIS_DOWNLOAD_MODE", "FLASH_TPUW", "SECURE_VERSION", "UART_PRINT_CONTROL"}) {
    Batch again = c->begin_batch();
    auto staged = again.set_field(name, 1);
    ASSERT_FALSE(staged) << name;
    EXPECT_EQ(staged.error().code, "efuse.write_protected") << name;
    EXPECT_EQ(staged.error().message, std::string(name) + " is write-protected. Burn is not possible.");
  }
  // A hidden field under the same bit (FLASH_ECC_EN, BLOCK0 bit 140) is locked too.
  Batch bits = c->begin_batch();
  const unsigned flash_ecc_en[] = {140};
  auto hidden = bits.set_bits(0, flash_ecc_en);
  ASSERT_FALSE(hidden);
  EXPECT_EQ(hidden.error().code, "efuse.write_protected");
  EXPECT_NE(hidden.error().message.find("FLASH_ECC_EN"), std::string::npos);
  // Other groups are unaffected.
  EXPECT_TRUE(burn(*c, "SECURE_BOOT_EN", 1));
}

TEST(EfuseController, ReedSolomonBlockProgramsOnce) {
  auto c = fresh_chip();
  Batch both = c->begin_batch();
  ASSERT_TRUE(both.set_field(c->field("CUSTOM_MAC"), test::hex("0022334455aa")));
  Bytes user(32, 0);
  user[0] = 0x42;
  ASSERT_TRUE(both.set_field(c->field("BLOCK_USR_DATA"), bits_or(user, extract_bits(both.pending_block(3).expose(), 0, 256))));
  ASSERT_TRUE(both.commit());  // one program operation may set any bits of the block
  Batch later = c->begin_batch();
  Bytes more = c->read_bits(c->field("BLOCK_USR_DATA"));
  more[1] |= 0x01;
  auto refused = later.set_field(c->field("BLOCK_USR_DATA"), more);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, "efuse.rs_programmed");
  EXPECT_EQ(refused.error().message, "Burn into BLOCK_USR_DATA is forbidden (RS coding scheme does not allow this).");
  const unsigned bit[] = {200};
  auto refused_bit = later.set_bits(3, bit);
  ASSERT_FALSE(refused_bit);
  EXPECT_EQ(refused_bit.error().code, "efuse.rs_programmed");
  // BLOCK0 has no coding scheme: bits may be added in later burns.
  EXPECT_TRUE(burn(*c, "DIS_TWAI", 1));
  EXPECT_TRUE(burn(*c, "DIS_ICACHE", 1));
}

TEST(EfuseController, CommitLeavesParityAndControllerRegistersAsEspefuse) {
  auto c = fresh_chip();
  Batch b = c->begin_batch();
  ASSERT_TRUE(b.write_key(4, KeyPurpose::kUser, key_of(1)));
  ASSERT_TRUE(b.write_key(6, KeyPurpose::kUser, key_of(50)));
  ASSERT_TRUE(b.commit());
  // The last RS block programmed is the lowest one: BLOCK_KEY0 (blocks go BLOCKn..BLOCK0).
  SecretBytes k0 = key_of(1);
  std::array<uint8_t, 32> data{};
  std::copy(k0.expose().begin(), k0.expose().end(), data.begin());
  const auto parity = rs_block_parity(data);
  EXPECT_EQ(c->read_register(0x020), load_le32(parity.data()));
  EXPECT_EQ(c->read_register(0x028), load_le32(parity.data() + 8));
  EXPECT_EQ(c->read_register(0x1CC), 0x5AA5u);
  EXPECT_EQ(c->read_register(0x1E8), 0x28u);
  EXPECT_EQ(c->read_register(0x1F0), 0x3000u);
  EXPECT_EQ(c->read_register(0x1F4), 0x190u);
  // A BLOCK0-only burn keeps the parity registers.
  ASSERT_TRUE(burn(*c, "DIS_TWAI", 1));
  EXPECT_EQ(c->read_register(0x020), load_le32(parity.data()));
}

TEST(EfuseController, ReadProtectionHidesTheKeyFromSoftwareAndTheFileButNotFromTheEngines) {
  auto storage = std::make_unique<MemoryStorage>();
  auto slot = storage->slot();
  auto opened = Controller::open(esp32c3(), std::move(storage));
  ASSERT_TRUE(opened);
  Controller& c = **opened;
  Batch b = c.begin_batch();
  ASSERT_TRUE(b.write_key(4, KeyPurpose::kXtsAes128Key, key_of(0x10)));
  ASSERT_TRUE(b.commit());
  EXPECT_FALSE(c.block_readable(4));
  EXPECT_EQ(c.read_block(4), Bytes(32, 0));
  EXPECT_EQ(ByteSpan((*slot)->file).subspan(0x144, 32).size(), 32u);
  EXPECT_EQ(Bytes((*slot)->file.begin() + 0x144, (*slot)->file.begin() + 0x164), Bytes(32, 0));
  auto hw = c.hardware_key(4);
  ASSERT_TRUE(hw);
  EXPECT_TRUE(hw->equals(key_of(0x10)));
  auto fe = c.flash_encryption_key();
  ASSERT_TRUE(fe);
  SecretBytes expected = key_of(0x10);
  reverse_bytes(expected.expose_mutable());
  EXPECT_TRUE(fe->equals(expected));
  ASSERT_EQ((*slot)->hardware_keys.size(), 1u);
  EXPECT_EQ((*slot)->hardware_keys[0].block, 4);
  // A later burn into the protected block is refused: software cannot see what it would damage.
  Batch again = c.begin_batch();
  auto staged = again.set_field(c.field("BLOCK_KEY0"), Bytes(32, 0xFF));
  ASSERT_FALSE(staged);
  EXPECT_EQ(staged.error().code, "efuse.read_protected");
}

TEST(EfuseController, KeyProtectedByAnotherToolHasNoKnownHardwareContents) {
  ESPSEC_REQUIRE_VECTORS();
  auto c = open_memory(test::read_vector("secure/efuse/esp32c3/05_read_protect_key.bin"));
  ASSERT_TRUE(c);
  auto key = (*c)->hardware_key(4);
  ASSERT_FALSE(key);
  EXPECT_EQ(key.error().code, "efuse.hw_key_unknown");
  EXPECT_EQ((*c)->flash_encryption_key().error().code, "efuse.hw_key_unknown");
  // Readable blocks are what the engines see: the digest in BLOCK_KEY1.
  auto digest = (*c)->hardware_key(5);
  ASSERT_TRUE(digest);
  EXPECT_EQ(Bytes(digest->expose().begin(), digest->expose().end()), test::read_vector("secure/keys/rsa3072_a.digest.bin"));
}

TEST(EfuseController, WriteKeyFollowsEspIdf) {
  auto c = fresh_chip();
  Batch b = c->begin_batch();
  ASSERT_TRUE(b.write_key(5, KeyPurpose::kSecureBootDigest0, key_of(0x80)));
  ASSERT_TRUE(b.commit());
  EXPECT_EQ(c->key_purpose_value(5), 9);
  EXPECT_FALSE(c->block_writeable(5));
  EXPECT_TRUE(c->block_readable(5));  // digests stay readable
  EXPECT_FALSE(c->field_writeable(c->field("KEY_PURPOSE_1")));
  EXPECT_EQ(c->key_block_with_purpose(KeyPurpose::kSecureBootDigest0), 5u);
  EXPECT_FALSE(c->key_block_unused(5));
  EXPECT_TRUE(c->key_block_unused(4));
  EXPECT_EQ(c->find_unused_key_block(), 4u);

  Batch again = c->begin_batch();
  EXPECT_EQ(again.write_key(5, KeyPurpose::kHmacUp, key_of(1)).error().code, "efuse.key_block_in_use");
  EXPECT_EQ(again.write_key(3, KeyPurpose::kHmacUp, key_of(1)).error().code, "efuse.not_key_block");
  EXPECT_EQ(again.write_key(4, KeyPurpose::kXtsAes256Key1, key_of(1)).error().code, "efuse.key_purpose_unsupported");
  EXPECT_EQ(again.write_key(4, KeyPurpose::kHmacUp, SecretBytes(33)).error().code, "efuse.key_size");
  // SOC_EFUSE_BLOCK9_KEY_PURPOSE_QUIRK: BLOCK_KEY5 cannot hold an XTS key.
  auto quirk = again.write_key(9, KeyPurpose::kXtsAes128Key, key_of(1));
  ASSERT_FALSE(quirk);
  EXPECT_EQ(quirk.error().code, "efuse.key_purpose_quirk");
  EXPECT_TRUE(again.empty());  // refused keys leave nothing behind
  // Unused-block search skips blocks this batch already uses, and the quirk block for XTS.
  auto first = again.write_key_to_unused_block(KeyPurpose::kHmacUp, key_of(2));
  ASSERT_TRUE(first);
  EXPECT_EQ(*first, 4u);
  auto second = again.write_key_to_unused_block(KeyPurpose::kHmacDownJtag, key_of(3));
  ASSERT_TRUE(second);
  EXPECT_EQ(*second, 6u);
  ASSERT_TRUE(again.commit());
  EXPECT_EQ(c->key_purpose_value(4), 8);
  EXPECT_FALSE(c->block_readable(4));
  EXPECT_FALSE(c->block_readable(6));
}

TEST(EfuseController, UnusedKeyBlockNeedsEveryConditionOfEspIdf) {
  auto c = fresh_chip();
  for (unsigned id = 4; id <= 9; ++id) EXPECT_TRUE(c->key_block_unused(id));
  EXPECT_FALSE(c->key_block_unused(3));
  Batch b = c->begin_batch();
  ASSERT_TRUE(b.write_protect(c->field("KEY_PURPOSE_2").wr_dis_bit));  // purpose locked
  ASSERT_TRUE(b.read_protect_block(7));                                  // block read-protected
  ASSERT_TRUE(b.write_protect(c->block(8).wr_dis_bit));                  // block write-protected
  const unsigned bit[] = {5};
  ASSERT_TRUE(b.set_bits(9, bit));                                       // data present
  ASSERT_TRUE(b.commit());
  EXPECT_TRUE(c->key_block_unused(4));
  for (unsigned id = 6; id <= 9; ++id) EXPECT_FALSE(c->key_block_unused(id)) << id;
}

TEST(EfuseController, CountingFieldsAndFlashEncryptionMode) {
  auto c = fresh_chip();
  EXPECT_EQ(c->flash_encryption_mode(), FlashEncryptionMode::kDisabled);
  ASSERT_TRUE(burn(*c, "SPI_BOOT_CRYPT_CNT", 1));
  EXPECT_TRUE(c->flash_encryption_enabled());
  EXPECT_EQ(c->flash_encryption_mode(), FlashEncryptionMode::kDevelopment);
  EXPECT_EQ(c->plaintext_flashes_left(), 1u);
  ASSERT_TRUE(burn(*c, "SPI_BOOT_CRYPT_CNT", 3));
  EXPECT_FALSE(c->flash_encryption_enabled());
  EXPECT_EQ(c->flash_encryption_mode(), FlashEncryptionMode::kDisabled);
  ASSERT_TRUE(burn(*c, "SPI_BOOT_CRYPT_CNT", 7));
  EXPECT_EQ(c->flash_encryption_mode(), FlashEncryptionMode::kDevelopment);  // download-mode encryption still on
  EXPECT_EQ(c->plaintext_flashes_left(), 0u);
  ASSERT_TRUE(burn(*c, "DIS_DOWNLOAD_MANUAL_ENCRYPT", 1));
  EXPECT_EQ(c->flash_encryption_mode(), FlashEncryptionMode::kDevelopment);
  ASSERT_TRUE(burn(*c, "DIS_DOWNLOAD_ICACHE", 1));
  EXPECT_EQ(c->flash_encryption_mode(), FlashEncryptionMode::kRelease);

  // Locking CRYPT_CNT counts like burning it to all ones.
  auto d = fresh_chip();
  ASSERT_TRUE(burn(*d, "SPI_BOOT_CRYPT_CNT", 1));
  ASSERT_TRUE(burn(*d, "DIS_DOWNLOAD_MANUAL_ENCRYPT", 1));
  ASSERT_TRUE(burn(*d, "DIS_DOWNLOAD_ICACHE", 1));
  EXPECT_EQ(d->flash_encryption_mode(), FlashEncryptionMode::kDevelopment);
  Batch lock = d->begin_batch();
  ASSERT_TRUE(lock.write_protect(4));
  ASSERT_TRUE(lock.commit());
  EXPECT_EQ(d->flash_encryption_mode(), FlashEncryptionMode::kRelease);
  EXPECT_EQ(d->plaintext_flashes_left(), 0u);

  EXPECT_FALSE(d->jtag_soft_disabled());
  ASSERT_TRUE(burn(*d, "SOFT_DIS_JTAG", 1));
  EXPECT_TRUE(d->jtag_soft_disabled());
  ASSERT_TRUE(burn(*d, "SOFT_DIS_JTAG", 3));
  EXPECT_FALSE(d->jtag_soft_disabled());
  EXPECT_FALSE(d->secure_boot_key_revoked(1));
  ASSERT_TRUE(burn(*d, "SECURE_BOOT_KEY_REVOKE1", 1));
  EXPECT_TRUE(d->secure_boot_key_revoked(1));
  EXPECT_FALSE(d->secure_boot_enabled());
}

TEST(EfuseController, ReadProtectNeedsRdDisWritable) {
  auto c = fresh_chip();
  Batch b = c->begin_batch();
  ASSERT_TRUE(b.write_protect(0));
  ASSERT_TRUE(b.commit());
  Batch again = c->begin_batch();
  auto staged = again.read_protect_block(4);
  ASSERT_FALSE(staged);
  EXPECT_EQ(staged.error().code, "efuse.rd_dis_locked");
  EXPECT_EQ(again.read_protect_block(3).error().code, "efuse.not_read_protectable");
}

TEST(EfuseController, BatchFromBeforeAnotherCommitIsStale) {
  auto c = fresh_chip();
  Batch first = c->begin_batch();
  Batch second = c->begin_batch();
  ASSERT_TRUE(first.set_field("DIS_TWAI", 1));
  ASSERT_TRUE(second.set_field("DIS_ICACHE", 1));
  ASSERT_TRUE(first.commit());
  auto stale = second.commit();
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code, "efuse.stale_batch");
  EXPECT_EQ(c->read_uint("DIS_ICACHE").value(), 0u);
}

TEST(EfuseController, ChangesPreviewEveryFieldABatchTouches) {
  auto c = fresh_chip();
  Batch b = c->begin_batch();
  ASSERT_TRUE(b.write_key(4, KeyPurpose::kXtsAes128Key, key_of(1)));
  std::vector<std::string_view> names;
  for (const FieldChange& change : b.changes()) names.push_back(change.field->name);
  EXPECT_EQ(names, (std::vector<std::string_view>{"WR_DIS", "RD_DIS", "KEY_PURPOSE_0", "BLOCK_KEY0"}));
  const auto changes = b.changes();
  EXPECT_FALSE(changes.back().readable_after);
  EXPECT_EQ(c->burn_count(), 0u);  // previewing burns nothing
}

// A sequence of burns, as a first boot performs them, cut after every burn operation: reopening
// the storage always gives exactly the state after the last completed burn.
TEST(EfuseController, PowerCutAfterEveryBurnLeavesTheOldOrTheNewState) {
  using Step = std::function<Status(Controller&)>;
  const std::vector<Step> steps = {
      [](Controller& c) -> Status {
        Batch b = c.begin_batch();
        ESPSEC_TRY(b.write_key(5, KeyPurpose::kSecureBootDigest0, key_of(0x40)));
        ESPSEC_TRY(b.set_field("SECURE_BOOT_KEY_REVOKE1", 1));
        ESPSEC_TRY(b.set_field("SECURE_BOOT_KEY_REVOKE2", 1));
        ESPSEC_TRY(b.set_field("SECURE_BOOT_EN", 1));
        return b.commit();
      },
      [](Controller& c) -> Status {
        Batch b = c.begin_batch();
        ESPSEC_TRY(b.write_key_to_unused_block(KeyPurpose::kXtsAes128Key, key_of(0x70)));
        ESPSEC_TRY(b.set_field("DIS_DOWNLOAD_ICACHE", 1));
        ESPSEC_TRY(b.set_field("DIS_DIRECT_BOOT", 1));
        return b.commit();
      },
      [](Controller& c) { return burn(c, "SPI_BOOT_CRYPT_CNT", 1); },
      [](Controller& c) { return burn(c, "SECURE_VERSION", 1); },
      [](Controller& c) { return burn(c, "SECURE_VERSION", 3); },
  };
  // Reference run: the stored state after each completed burn.
  std::vector<Bytes> files;
  std::vector<size_t> hidden_counts;
  {
    auto storage = std::make_unique<MemoryStorage>();
    auto slot = storage->slot();
    auto c = Controller::open(esp32c3(), std::move(storage));
    ASSERT_TRUE(c);
    files.push_back((*slot)->file);
    hidden_counts.push_back(0);
    for (const Step& step : steps) {
      ASSERT_TRUE(step(**c));
      files.push_back((*slot)->file);
      hidden_counts.push_back((*slot)->hardware_keys.size());
    }
  }
  for (size_t cut = 0; cut <= steps.size(); ++cut) {
    auto storage = std::make_unique<MemoryStorage>();
    auto slot = storage->slot();
    auto c = Controller::open(esp32c3(), std::move(storage));
    ASSERT_TRUE(c);
    (*c)->cut_power_after(cut);
    for (size_t i = 0; i < steps.size(); ++i) {
      const Status s = steps[i](**c);
      if (i < cut) {
        ASSERT_TRUE(s) << "cut " << cut << " step " << i;
      } else {
        ASSERT_FALSE(s) << "cut " << cut << " step " << i;
        EXPECT_EQ(s.error().code, "efuse.power_lost");
      }
    }
    EXPECT_EQ((*c)->power_lost(), cut < steps.size());
    // Power on again: the same storage, a new controller.
    auto again = Controller::open(esp32c3(), std::make_unique<MemoryStorage>(slot));
    ASSERT_TRUE(again);
    EXPECT_EQ((*again)->file_image(), files[cut]) << "cut after " << cut << " burns";
    EXPECT_EQ((*slot)->hardware_keys.size(), hidden_counts[cut]);
    if (cut >= 2) {
      EXPECT_TRUE((*again)->flash_encryption_key()) << "the FE key survives the power cycle";
    }
  }
}

TEST(EfuseController, RefusesFileWhereAReadProtectedBlockHoldsData) {
  Bytes file(512, 0);
  file[0x1CF] = 0x01;  // RD_DIS bit 0 (register 0x030, file 0x1CC..0x1CF big-endian)
  file[0x150] = 0x5A;  // a byte of BLOCK_KEY0
  auto c = open_memory(file);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, "efuse.file_inconsistent");
  EXPECT_NE(c.error().message.find("BLOCK_KEY0"), std::string::npos);
}

TEST(EfuseController, ReportsCodingErrorsFromTheControllerRegisters) {
  Bytes file(512, 0);
  // RD_RS_ERR0 (0x1C0): BLOCK_KEY1 has 2 errors (bits 16..18) and its fail bit (bit 23).
  store_be32(file.data() + (0x1FC - 0x1C0), (2u << 16) | (1u << 23));
  // RD_REPEAT_ERR1 (0x180) flags BLOCK0 word 2 bit 18: SPI_BOOT_CRYPT_CNT.
  store_be32(file.data() + (0x1FC - 0x180), 1u << 18);
  auto c = open_memory(file);
  ASSERT_TRUE(c);
  EXPECT_EQ((*c)->block_errors(5).errors, 2u);
  EXPECT_TRUE((*c)->block_errors(5).fail);
  EXPECT_EQ((*c)->block_errors(0).errors, 1u);
  EXPECT_TRUE((*c)->field_has_error((*c)->field("SPI_BOOT_CRYPT_CNT")));
  EXPECT_FALSE((*c)->field_has_error((*c)->field("SECURE_BOOT_EN")));
  EXPECT_TRUE((*c)->field_has_error((*c)->field("BLOCK_KEY1")));
  EXPECT_FALSE((*c)->block_errors(4).fail);
}

}  // namespace
}  // namespace espsec::efuse
