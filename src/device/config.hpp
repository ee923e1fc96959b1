// A virtual device's configuration (DIR/device.json): the chip, its flash, and the security
// options a real product compiles into its bootloader and app (ESP-IDF Kconfig), which the
// emulated boot chain follows.
//
//   {"chip": "esp32c3", "id": "c3-5f0e2a", "flash_size": 4194304,
//    "partition_table_offset": 32768,
//    "security": {"secure_boot": true, "flash_encryption": "release",
//                 "rom_download_mode": "secure", "allow_jtag": false,
//                 "allow_unused_digest_slots": false, "aggressive_revoke": false,
//                 "app_rollback": true, "anti_rollback": true},
//    "ota": {"url": "https://127.0.0.1:8443/v1/products/p/channels/stable/manifest",
//            "trust": "ca", "trust_file": "ota-trust.pem", "decryption": "none"}}
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace espsec::device {

enum class FlashEncryption { kNone, kDevelopment, kRelease };  // CONFIG_SECURE_FLASH_ENC_ENABLED + mode
enum class RomDownloadMode { kEnabled, kSecure, kDisabled };     // CONFIG_SECURE_UART_ROM_DL_MODE

std::string_view to_string(FlashEncryption mode);
std::string_view to_string(RomDownloadMode mode);
[[nodiscard]] Result<FlashEncryption> parse_flash_encryption(std::string_view text);
[[nodiscard]] Result<RomDownloadMode> parse_rom_download_mode(std::string_view text);

struct SecurityConfig {
  bool secure_boot = false;                // CONFIG_SECURE_BOOT_V2_ENABLED (RSA-3072 on ESP32-C3)
  FlashEncryption flash_encryption = FlashEncryption::kNone;
  RomDownloadMode rom_download_mode = RomDownloadMode::kEnabled;
  bool allow_jtag = false;                 // CONFIG_SECURE_BOOT_ALLOW_JTAG
  bool allow_unused_digest_slots = false;  // CONFIG_SECURE_BOOT_ALLOW_UNUSED_DIGEST_SLOTS
  bool aggressive_revoke = false;          // CONFIG_SECURE_BOOT_ENABLE_AGGRESSIVE_KEY_REVOKE
  bool app_rollback = true;                // CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE
  bool anti_rollback = true;               // CONFIG_BOOTLOADER_APP_ANTI_ROLLBACK
};

// ESP-IDF's default for CONFIG_SECURE_UART_ROM_DL_MODE: secure download mode once the device is
// meant to be secure (Secure Boot or release-mode flash encryption), else left enabled.
RomDownloadMode default_rom_download_mode(bool secure_boot, FlashEncryption flash_encryption);

// Where the device's firmware looks for updates (written by `espsec device ota`).
struct OtaConfig {
  std::string url;         // the channel manifest URL
  std::string trust;       // "bundle", "ca" or "pinned"
  std::string trust_file;  // in the device directory
  // How the firmware decrypts pre-encrypted images: "none", "rsa" (ota-decrypt-key.pem in the
  // device directory, the key a product embeds in its firmware) or "efuse-hmac" (ECIES key derived
  // from the eFuse key block with purpose HMAC_UP).
  std::string decryption = "none";
};

struct DeviceConfig {
  std::string chip = "esp32c3";
  std::string id;
  uint32_t flash_size = 4 * 1024 * 1024;
  uint32_t partition_table_offset = 0x8000;
  SecurityConfig security;
  std::optional<OtaConfig> ota;
};

[[nodiscard]] Result<DeviceConfig> parse_config(std::string_view json);
std::string serialize_config(const DeviceConfig& config);
// Refuses combinations the chip or ESP-IDF refuse (anti-rollback without rollback, unknown chip,
// flash sizes the model lacks, a table offset that is not 4 KiB aligned or overlaps the bootloader).
[[nodiscard]] Status validate(const DeviceConfig& config);

}  // namespace espsec::device
