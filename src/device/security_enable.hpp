// First-boot security enablement as the ESP-IDF 2nd-stage bootloader performs it on an ESP32-C3
// (bootloader_support: secure_boot_v2/secure_boot.c esp_secure_boot_v2_permanently_enable,
// esp32c3/secure_boot_secure_features.c, flash_encrypt.c esp_flash_encrypt_check_and_update,
// esp32c3/flash_encryption_secure_features.c; boot-chain fact sheet 2.8, 3.3-3.5).
//
// Each eFuse step is one batch commit (one burn operation); flash is encrypted in place sector
// by sector (read, erase, write through the encryption engine), so a power-cut test can stop
// between any two operations.
#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/error.hpp"
#include "device/boot_log.hpp"
#include "device/device.hpp"
#include "format/image.hpp"
#include "format/partition_table.hpp"

namespace espsec::device {

// The bootloader stops here (abort / halt); the chip does nothing more until reset.
struct Halt {
  std::string code;
  std::string reason;
};

// Failures of the emulation itself (power cut by a test, host I/O), as opposed to refusals the
// chip makes: these propagate out of power_on instead of becoming a BootReport.
bool emulation_failure(const Error& error);

struct ImageRef {
  ByteSpan bytes;  // the image as read through the cache (plaintext)
  const image::ImageInfo* info;
};

// esp_secure_boot_v2_permanently_enable: burns the bootloader's key digests (or uses digests
// already burned), checks that the app is signed by one of them, revokes the unused digest
// slots, restricts ROM download mode and JTAG as configured and sets SECURE_BOOT_EN, in one
// batch. Returns a Halt when the bootloader would abort.
[[nodiscard]] Result<std::optional<Halt>> enable_secure_boot(Device& device, BootLog& log,
                                                             std::vector<std::string>& notes, ImageRef bootloader,
                                                             ImageRef app);

enum class FlashEncryptionStep { kAlreadyEnabled, kEnabledResetNeeded };

// esp_flash_encrypt_check_and_update: when SPI_BOOT_CRYPT_CNT is even, make sure a key is burned
// and the security eFuses are set (one batch), encrypt the bootloader, partition table and the
// partitions ESP-IDF encrypts, then raise SPI_BOOT_CRYPT_CNT; the caller resets the chip.
[[nodiscard]] Result<std::variant<FlashEncryptionStep, Halt>> check_and_update_flash_encryption(
    Device& device, BootLog& log, std::vector<std::string>& notes, const partition::Table& table);

}  // namespace espsec::device
