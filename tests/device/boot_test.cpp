// The virtual ESP32-C3 boot chain: first-boot security enablement, steady-state boots and every
// refusal the chip makes.
#include "device/boot.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>

#include "device/device_fixture.hpp"
#include "image_fixtures.hpp"

namespace espsec::device {
namespace {

using test::VirtualC3;

std::string dump(const BootReport& r) {
  std::string out = fmt::format("status {} code {} reason {}\n", to_string(r.status), r.code, r.reason);
  for (const auto& l : r.log) out += l + "\n";
  return out;
}

TEST(DeviceBoot, PlainDeviceBootsTheAppInOta0) {
  VirtualC3 c3(test::no_security());
  c3.install(test::plain_bootloader(), test::plain_app("1.0.0", 0));
  const BootReport r = c3.boot();
  ASSERT_EQ(r.status, BootStatus::kBooted) << dump(r);
  ASSERT_TRUE(r.app);
  EXPECT_EQ(r.app->label, "ota_0");
  EXPECT_EQ(r.app->desc.version, "1.0.0");
  EXPECT_EQ(exit_code(r), kExitBooted);
  EXPECT_EQ(r.resets, 0u);
}

TEST(DeviceBoot, FirstBootEnablesSecureBootAndReleaseFlashEncryption) {
  VirtualC3 c3(test::full_security());
  const Bytes app = test::signed_app("1.0.0", 1);
  c3.install(test::signed_bootloader(), app);
  const BootReport first = c3.boot();
  ASSERT_EQ(first.status, BootStatus::kBooted) << dump(first);
  if (std::getenv("ESPSEC_SHOW_LOG")) std::cout << dump(first);
  EXPECT_EQ(first.resets, 1u);
  auto device = c3.attach();
  auto& efuses = device->efuses();
  EXPECT_TRUE(efuses.secure_boot_enabled());
  EXPECT_TRUE(efuses.flash_encryption_enabled());
  EXPECT_EQ(efuses.read_uint("SPI_BOOT_CRYPT_CNT").value(), 7u);
  EXPECT_EQ(efuses.flash_encryption_mode(), efuse::FlashEncryptionMode::kRelease);
  EXPECT_EQ(efuses.read_uint("DIS_DOWNLOAD_MANUAL_ENCRYPT").value(), 1u);
  EXPECT_EQ(efuses.read_uint("ENABLE_SECURITY_DOWNLOAD").value(), 1u);
  EXPECT_EQ(efuses.read_uint("DIS_PAD_JTAG").value(), 1u);
  EXPECT_TRUE(efuses.secure_boot_key_revoked(1));
  EXPECT_TRUE(efuses.secure_boot_key_revoked(2));
  EXPECT_FALSE(efuses.secure_boot_key_revoked(0));
  // The bootloader is ciphertext on flash now.
  EXPECT_NE(Bytes(c3.memory.contents().begin(), c3.memory.contents().begin() + 64),
            Bytes(test::signed_bootloader().begin(), test::signed_bootloader().begin() + 64));
  const BootReport second = c3.boot();
  ASSERT_EQ(second.status, BootStatus::kBooted) << dump(second);
  EXPECT_EQ(second.resets, 0u);
  EXPECT_EQ(second.app->desc.version, "1.0.0");
}

}  // namespace
}  // namespace espsec::device

namespace espsec::device {
namespace {

using test::VirtualC3;

SecurityConfig secure_boot_only() {
  SecurityConfig s = test::full_security();
  s.flash_encryption = FlashEncryption::kNone;
  return s;
}

// A device whose first boot already enabled what `security` asks for.
void provision(VirtualC3& c3, const Bytes& bootloader, const Bytes& app) {
  c3.install(bootloader, app);
  const BootReport r = c3.boot();
  ASSERT_EQ(r.status, BootStatus::kBooted) << dump(r);
}

void expect_refusal(const BootReport& r, BootStatus status, const std::string& code, int exit) {
  EXPECT_EQ(r.status, status) << dump(r);
  EXPECT_EQ(r.code, code) << dump(r);
  EXPECT_EQ(exit_code(r), exit) << dump(r);
  EXPECT_FALSE(r.reason.empty());
  EXPECT_FALSE(r.app);
}

Bytes flip(Bytes b, size_t offset) {
  b.at(offset) ^= 0x01;
  return b;
}

TEST(DeviceBootRefusal, RomRefusesAnUnsignedBootloaderOnceSecureBootIsOn) {
  VirtualC3 c3(secure_boot_only());
  provision(c3, test::signed_bootloader(), test::signed_app("1.0.0", 0));
  c3.erase(0, 0x8000);
  c3.write(0, test::plain_bootloader());
  expect_refusal(c3.boot(), BootStatus::kRomSignature, "secure_boot.no_valid_block", kExitRomSignature);
}

TEST(DeviceBootRefusal, RomRefusesATamperedBootloader) {
  VirtualC3 c3(secure_boot_only());
  provision(c3, test::signed_bootloader(), test::signed_app("1.0.0", 0));
  auto info = image::parse_image(test::signed_bootloader());
  ASSERT_TRUE(info);
  // A flipped appended-hash byte keeps the checksum: the signature's digest no longer matches.
  c3.write(0, flip(test::signed_bootloader(), info->checksum_offset + 5));
  expect_refusal(c3.boot(), BootStatus::kRomSignature, "secure_boot.digest_mismatch", kExitRomSignature);
  // A flipped code byte breaks the checksum the ROM checks first.
  c3.write(0, flip(test::signed_bootloader(), info->segments[1].data_offset + 3));
  expect_refusal(c3.boot(), BootStatus::kRomNoBootloader, "image.checksum", kExitRomNoBootloader);
}

TEST(DeviceBootRefusal, BootloaderSignedByAnotherKeyIsRefusedByTheRom) {
  VirtualC3 c3(secure_boot_only());
  provision(c3, test::signed_bootloader(), test::signed_app("1.0.0", 0));
  c3.write(0, test::sign_image(test::plain_bootloader(), test::rsa_key_b()));
  expect_refusal(c3.boot(), BootStatus::kRomSignature, "secure_boot.key_not_burned", kExitRomSignature);
}

TEST(DeviceBootRefusal, AppsUnsignedTamperedOrSignedByAnUnknownKey) {
  VirtualC3 c3(secure_boot_only());
  provision(c3, test::signed_bootloader(), test::signed_app("1.0.0", 0));
  c3.erase(test::kOta0, 0x40000);
  c3.write(test::kOta0, test::plain_app("1.0.1", 0));
  expect_refusal(c3.boot(), BootStatus::kNoBootableApp, "secure_boot.no_valid_block", kExitAppSignature);
  c3.write(test::kOta0, test::sign_image(test::plain_app("1.0.1", 0), test::rsa_key_b()));
  expect_refusal(c3.boot(), BootStatus::kNoBootableApp, "secure_boot.key_not_burned", kExitAppSignature);
  const Bytes good = test::signed_app("1.0.1", 0);
  auto info = image::parse_image(good);
  ASSERT_TRUE(info);
  c3.write(test::kOta0, flip(good, info->checksum_offset + 1));
  expect_refusal(c3.boot(), BootStatus::kNoBootableApp, "secure_boot.digest_mismatch", kExitAppSignature);
  c3.write(test::kOta0, flip(good, info->segments[0].data_offset + 300));
  expect_refusal(c3.boot(), BootStatus::kNoBootableApp, "image.checksum", kExitAppImageInvalid);
  c3.write(test::kOta0, good);
  EXPECT_EQ(c3.boot().status, BootStatus::kBooted);
}

TEST(DeviceBootRefusal, AppSignedOnlyByARevokedKey) {
  VirtualC3 c3(secure_boot_only());
  const crypto::PrivateKey* both[] = {&test::rsa_key_a(), &test::rsa_key_b()};
  const Bytes bootloader = test::sign_image(test::plain_bootloader(), both);
  provision(c3, bootloader, test::sign_image(test::plain_app("1.0.0", 0), both));
  c3.burn("SECURE_BOOT_KEY_REVOKE0", 1);  // esp_ota_revoke_secure_boot_public_key(0)
  // The bootloader still verifies with key B (block 1); an app signed only by A does not.
  c3.write(test::kOta0, test::signed_app("1.0.1", 0));
  const BootReport r = c3.boot();
  expect_refusal(r, BootStatus::kNoBootableApp, "secure_boot.key_revoked", kExitAppSignature);
  c3.write(test::kOta0, test::sign_image(test::plain_app("1.0.1", 0), test::rsa_key_b()));
  EXPECT_EQ(c3.boot().status, BootStatus::kBooted);
}

TEST(DeviceBootRefusal, SecureVersionBelowTheEfuse) {
  VirtualC3 c3(secure_boot_only());
  provision(c3, test::signed_bootloader(), test::signed_app("2.0.0", 2));
  EXPECT_EQ(c3.attach()->efuses().secure_version(), 2u);
  c3.write(test::kOta0, test::signed_app("1.0.0", 1));
  expect_refusal(c3.boot(), BootStatus::kNoBootableApp, "anti_rollback.secure_version", kExitAppSecureVersion);
}

TEST(DeviceBootRefusal, PartitionTableWithABadMd5) {
  VirtualC3 c3(test::no_security());
  c3.install(test::plain_bootloader(), test::plain_app("1.0.0", 0));
  Bytes table = c3.memory.contents();
  table = Bytes(table.begin() + 0x8000, table.begin() + 0x8000 + 0xC00);
  table[6 * 32 + 20] ^= 0xFF;  // inside the MD5 of the entry after the six partitions
  c3.write(0x8000, table);
  expect_refusal(c3.boot(), BootStatus::kPartitionTable, "partition_table.md5", kExitPartitionTable);
}

TEST(DeviceBootRefusal, AppTooLargeForItsPartition) {
  VirtualC3 c3(test::no_security());
  c3.install(test::plain_bootloader(), test::plain_app("1.0.0", 0, 0x30000));
  std::vector<partition::Entry> entries = {
      {"otadata", partition::type::kData, partition::subtype::kDataOta, 0xF000, 0x2000, 0},
      {"ota_0", partition::type::kApp, partition::subtype::kOta0, 0x20000, 0x20000, 0}};
  c3.write(0x8000, partition::serialize_table(entries, true).value());
  expect_refusal(c3.boot(), BootStatus::kNoBootableApp, "image.partition_size", kExitAppTooLarge);
}

TEST(DeviceBootRefusal, PlaintextAppOnAnEncryptedDevice) {
  VirtualC3 c3(test::full_security(FlashEncryption::kDevelopment));
  provision(c3, test::signed_bootloader(), test::signed_app("1.0.0", 0));
  c3.write(test::kOta0, test::signed_app("1.0.1", 0));
  expect_refusal(c3.boot(), BootStatus::kNoBootableApp, "boot.plaintext_on_encrypted_flash",
                 kExitAppPlaintextOnEncrypted);
  c3.write_encrypted(test::kOta0, test::signed_app("1.0.1", 0));
  const BootReport r = c3.boot();
  ASSERT_EQ(r.status, BootStatus::kBooted) << dump(r);
  EXPECT_EQ(r.app->desc.version, "1.0.1");
}

TEST(DeviceBootRefusal, PlaintextBootloaderOnAnEncryptedDevice) {
  VirtualC3 c3(test::full_security());
  provision(c3, test::signed_bootloader(), test::signed_app("1.0.0", 0));
  c3.write(0, test::signed_bootloader());
  expect_refusal(c3.boot(), BootStatus::kRomNoBootloader, "rom.plaintext_on_encrypted_flash", kExitRomNoBootloader);
}

TEST(DeviceBootRefusal, FirstBootHaltsWhenTheAppIsNotSignedByTheBootloaderKey) {
  VirtualC3 c3(test::full_security());
  c3.install(test::signed_bootloader(), test::sign_image(test::plain_app("1.0.0", 0), test::rsa_key_b()));
  // Before Secure Boot is on, apps are checked against the bootloader's own keys.
  expect_refusal(c3.boot(), BootStatus::kNoBootableApp, "secure_boot.key_not_burned", kExitAppSignature);
  EXPECT_FALSE(c3.attach()->efuses().secure_boot_enabled()) << "nothing may be burned for an unbootable app";
}

TEST(DeviceBootRefusal, FirstBootRefusesAnUnsignedBootloader) {
  VirtualC3 c3(test::full_security());
  c3.install(test::plain_bootloader(), test::signed_app("1.0.0", 0));
  const BootReport r = c3.boot();
  EXPECT_EQ(r.status, BootStatus::kNoBootableApp) << dump(r);
  EXPECT_FALSE(c3.attach()->efuses().secure_boot_enabled());
}

// ---- otadata and rollback ----------------------------------------------------------------

TEST(DeviceBootOtadata, CorruptSectorsAreReportedAndWorkedAround) {
  VirtualC3 c3(test::no_security());
  c3.install(test::plain_bootloader(), test::plain_app("1.0.0", 0));
  c3.write(test::kOta1, test::plain_app("2.0.0", 0));
  BootReport r = c3.boot();  // otadata blank: ota_0 boots and sector 0 gets seq 1
  ASSERT_EQ(r.status, BootStatus::kBooted) << dump(r);
  c3.set_boot_partition(ota::AppSlot::ota_slot(1));  // sector 1: seq 2 -> ota_1
  r = c3.boot();
  ASSERT_EQ(r.status, BootStatus::kBooted) << dump(r);
  EXPECT_EQ(r.app->label, "ota_1") << dump(r);
  // One corrupt sector: the other one decides.
  Bytes sector1(c3.memory.contents().begin() + test::kOtadata + 0x1000,
                c3.memory.contents().begin() + test::kOtadata + 0x1020);
  sector1[28] ^= 0xFF;  // CRC
  c3.write(test::kOtadata + 0x1000, sector1);
  r = c3.boot();
  ASSERT_EQ(r.status, BootStatus::kBooted) << dump(r);
  EXPECT_EQ(r.app->label, "ota_0");
  ASSERT_FALSE(r.notes.empty());
  EXPECT_NE(r.notes.front().find("sector 1 holds a corrupt entry"), std::string::npos) << r.notes.front();
  // Both corrupt: the default partition (no factory: ota_0).
  Bytes sector0(c3.memory.contents().begin() + test::kOtadata, c3.memory.contents().begin() + test::kOtadata + 0x20);
  sector0[28] ^= 0xFF;
  c3.write(test::kOtadata, sector0);
  r = c3.boot();
  ASSERT_EQ(r.status, BootStatus::kBooted) << dump(r);
  EXPECT_EQ(r.app->label, "ota_0");
  EXPECT_NE(r.notes.front().find("both sectors"), std::string::npos) << r.notes.front();
}

TEST(DeviceBootRollback, UnconfirmedUpdateRollsBackOnTheNextBoot) {
  VirtualC3 c3(secure_boot_only());
  provision(c3, test::signed_bootloader(), test::signed_app("1.0.0", 1));
  c3.write(test::kOta1, test::signed_app("2.0.0", 2));
  c3.set_boot_partition(ota::AppSlot::ota_slot(1));
  BootOptions failing;
  failing.self_test = [](const BootedApp&) -> Status { return fail("app.self_test", "update server unreachable"); };
  BootReport r = c3.boot(failing);
  ASSERT_EQ(r.status, BootStatus::kBooted) << dump(r);
  EXPECT_EQ(r.app->label, "ota_1");
  EXPECT_EQ(r.app->ota_state, otadata::state::kPendingVerify);
  EXPECT_EQ(c3.attach()->efuses().secure_version(), 1u) << "never raised before the app confirms";
  r = c3.boot();
  ASSERT_EQ(r.status, BootStatus::kBooted) << dump(r);
  EXPECT_EQ(r.app->label, "ota_0") << "the pending app was aborted";
  EXPECT_TRUE(std::any_of(r.log.begin(), r.log.end(),
                          [](const std::string& l) { return l.find("marking as ABORTED") != std::string::npos; }));
}

TEST(DeviceBootRollback, ConfirmedUpdateBecomesValidAndRaisesTheSecureVersion) {
  VirtualC3 c3(secure_boot_only());
  provision(c3, test::signed_bootloader(), test::signed_app("1.0.0", 1));
  c3.write(test::kOta1, test::signed_app("2.0.0", 3));
  c3.set_boot_partition(ota::AppSlot::ota_slot(1));
  BootReport r = c3.boot();
  ASSERT_EQ(r.status, BootStatus::kBooted) << dump(r);
  EXPECT_EQ(r.app->label, "ota_1");
  EXPECT_EQ(r.app->ota_state, otadata::state::kValid);
  EXPECT_EQ(c3.attach()->efuses().secure_version(), 3u);
  // The old app can no longer run: its secure version is below the eFuse, so the bootloader
  // ignores the otadata entry that selects it.
  c3.set_boot_partition(ota::AppSlot::ota_slot(0));
  r = c3.boot();
  ASSERT_EQ(r.status, BootStatus::kBooted) << dump(r);
  EXPECT_EQ(r.app->label, "ota_1");
  EXPECT_TRUE(std::any_of(r.notes.begin(), r.notes.end(), [](const std::string& n) {
    return n.find("ota_0 skipped: its secure_version 1 is below the eFuse secure version 3") != std::string::npos;
  })) << dump(r);
}

}  // namespace
}  // namespace espsec::device
