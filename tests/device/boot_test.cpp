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
