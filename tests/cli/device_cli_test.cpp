// espsec device: the command line around the virtual chip, its exit codes and refusals.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "device/boot.hpp"
#include "device/device_fixture.hpp"
#include "image_fixtures.hpp"
#include "test_util.hpp"

namespace espsec::device {
namespace {

using test::run_cli;

class DeviceCli : public ::testing::Test {
 protected:
  void SetUp() override {
    test::write_bytes(dir_ / "bootloader.bin", test::signed_bootloader());
    test::write_bytes(dir_ / "app.bin", test::signed_app("1.0.0", 1));
    test::write_bytes(dir_ / "app2.bin", test::signed_app("2.0.0", 2));
    test::write_bytes(dir_ / "plain_app.bin", test::plain_app("3.0.0", 0));
  }
  std::string dev() const { return (dir_ / "dev").string(); }
  std::string file(const std::string& name) const { return (dir_ / name).string(); }
  test::TempDir dir_;
};

TEST_F(DeviceCli, CreateFlashBootAndInspectASecureDevice) {
  auto r = run_cli({"device", "create", dev(), "--chip", "esp32c3", "--flash-size", "4MB", "--secure-boot",
                    "--flash-encryption", "release", "--id", "unit-1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::filesystem::exists(dir_ / "dev" / "efuse.bin"));
  r = run_cli({"device", "flash", dev(), "0x0", file("bootloader.bin"), "0x20000", file("app.bin")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_cli({"device", "boot", dev()});
  ASSERT_EQ(r.exit_code, kExitBooted) << r.out << r.err;
  EXPECT_NE(r.out.find("Secure boot permanently enabled"), std::string::npos);
  EXPECT_NE(r.out.find("== booted ota_0 at 0x20000: thermostat 1.0.0"), std::string::npos) << r.out;
  r = run_cli({"device", "boot", dev(), "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["status"], "booted");
  EXPECT_EQ(j["app"]["version"], "1.0.0");
  r = run_cli({"device", "info", dev()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Flash encryption: release (SPI_BOOT_CRYPT_CNT 0b111)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Download mode: secure download mode"), std::string::npos) << r.out;
  // espefuse's own file format: our eFuse command reads it.
  r = run_cli({"efuse", "--virt", "--chip", "esp32c3", "--path-efuse-file", (dir_ / "dev" / "efuse.bin").string(),
               "summary", "SECURE_BOOT_EN", "--format", "value_only"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("True"), std::string::npos) << r.out;
}

TEST_F(DeviceCli, DownloadModeRefusalsFollowTheEfuses) {
  ASSERT_EQ(run_cli({"device", "create", dev(), "--secure-boot", "--flash-encryption", "release"}).exit_code, 0);
  ASSERT_EQ(run_cli({"device", "flash", dev(), "0x0", file("bootloader.bin"), "0x20000", file("app.bin")}).exit_code, 0);
  ASSERT_EQ(run_cli({"device", "boot", dev()}).exit_code, 0);
  // Secure download mode: no reads.
  auto r = run_cli({"device", "read-flash", dev(), "0x0", "0x1000", file("dump.bin")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("not supported in Secure Download Mode"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir_ / "dump.bin"));
  // Plaintext onto the encrypted device.
  r = run_cli({"device", "flash", dev(), "0x210000", file("app2.bin")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("Detected flash encryption and secure download mode enabled"), std::string::npos) << r.err;
  // Encrypted writes are what the ROM does in secure download mode.
  r = run_cli({"device", "flash", dev(), "--encrypt", "0x20000", file("app2.bin")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = run_cli({"device", "boot", dev()});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("thermostat 2.0.0"), std::string::npos) << r.out;
  // Misaligned encrypted write.
  r = run_cli({"device", "flash", dev(), "--encrypt", "0x210008", file("app2.bin")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("not 16 byte aligned"), std::string::npos) << r.err;
}

TEST_F(DeviceCli, DisabledDownloadModeRefusesEverything) {
  ASSERT_EQ(run_cli({"device", "create", dev(), "--secure-boot", "--rom-download-mode", "disabled"}).exit_code, 0);
  ASSERT_EQ(run_cli({"device", "flash", dev(), "0x0", file("bootloader.bin"), "0x20000", file("app.bin")}).exit_code, 0);
  ASSERT_EQ(run_cli({"device", "boot", dev()}).exit_code, 0);
  auto r = run_cli({"device", "flash", dev(), "0x20000", file("app2.bin")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("DIS_DOWNLOAD_MODE"), std::string::npos) << r.err;
  r = run_cli({"device", "read-flash", dev(), "0x0", "16", file("dump.bin")});
  EXPECT_EQ(r.exit_code, 2);
}

TEST_F(DeviceCli, DevelopmentModeAllowsEncryptedReflashAndRefusesPlaintext) {
  ASSERT_EQ(run_cli({"device", "create", dev(), "--flash-encryption", "development"}).exit_code, 0);
  test::write_bytes(dir_ / "plain_bl.bin", test::plain_bootloader());
  ASSERT_EQ(run_cli({"device", "flash", dev(), "0x0", file("plain_bl.bin"), "0x20000", file("plain_app.bin")}).exit_code, 0);
  ASSERT_EQ(run_cli({"device", "boot", dev()}).exit_code, 0);
  auto r = run_cli({"device", "flash", dev(), "0x20000", file("plain_app.bin")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("plaintext"), std::string::npos) << r.err;
  r = run_cli({"device", "flash", dev(), "--force", "0x20000", file("plain_app.bin")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = run_cli({"device", "boot", dev()});
  EXPECT_EQ(r.exit_code, kExitAppPlaintextOnEncrypted) << r.out;
  // Reading is allowed in development mode and returns ciphertext.
  r = run_cli({"device", "read-flash", dev(), "0x0", "0x1000", file("dump.bin")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(test::read_bytes(dir_ / "dump.bin"),
            Bytes(test::plain_bootloader().begin(), test::plain_bootloader().begin() + 0x1000));
}

TEST_F(DeviceCli, BadArgumentsAndMissingDevices) {
  auto r = run_cli({"device", "create", dev(), "--flash-size", "3MB"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("flash size"), std::string::npos) << r.err;
  r = run_cli({"device", "create", dev(), "--flash-encryption", "maybe"});
  EXPECT_EQ(r.exit_code, 2);
  r = run_cli({"device", "boot", file("nowhere")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("device.json"), std::string::npos) << r.err;
  ASSERT_EQ(run_cli({"device", "create", dev()}).exit_code, 0);
  r = run_cli({"device", "create", dev()});
  EXPECT_EQ(r.exit_code, 2) << "an existing device is never overwritten";
  r = run_cli({"device", "flash", dev(), "0x3FF000", file("app.bin")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("does not fit"), std::string::npos) << r.err;
  r = run_cli({"device", "flash", dev(), "0x20000"});
  EXPECT_EQ(r.exit_code, 2);
  r = run_cli({"device", "boot", dev()});
  EXPECT_EQ(r.exit_code, kExitRomNoBootloader) << r.out;
  EXPECT_NE(r.out.find("nothing booted"), std::string::npos);
}

}  // namespace
}  // namespace espsec::device
