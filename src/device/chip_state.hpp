// What the ROM and the bootloader read from the chip before they touch an image: the Secure
// Boot v2 key digests and revocations, the chip and eFuse block revisions, and the flash as the
// CPU sees it through the cache (decrypted while SPI_BOOT_CRYPT_CNT has an odd number of bits).
#pragma once

#include <memory>
#include <optional>

#include "boot/image_verify.hpp"
#include "chip/encrypted_flash.hpp"
#include "chip/flash.hpp"
#include "device/device.hpp"
#include "format/image.hpp"

namespace espsec::device {

// ESP32-C3 chip id in image headers, and the revision the emulated chip reports (v0.4, as
// espefuse's C3 emulator does).
inline constexpr uint16_t kChipIdEsp32c3 = 0x0005;
inline constexpr uint16_t kChipRevision = 4;

image::ChipState chip_state(const efuse::Controller& efuses);
// Key digests of the blocks with purpose SECURE_BOOT_DIGEST0..2, and SECURE_BOOT_KEY_REVOKE0..2.
boot::SecureBootConfig secure_boot_efuses(const efuse::Controller& efuses);

// The cache's view of the flash for one boot stage.
class CacheView {
 public:
  [[nodiscard]] static Result<CacheView> open(Device& device);
  chip::Flash& flash() { return encrypted_ ? static_cast<chip::Flash&>(*encrypted_) : *raw_; }
  chip::Flash& raw() { return *raw_; }
  bool encrypted() const { return encrypted_.has_value(); }

 private:
  explicit CacheView(chip::Flash& raw) : raw_(&raw) {}
  chip::Flash* raw_;
  std::optional<chip::EncryptedFlash> encrypted_;
};

// The flash-encryption engine over the raw flash, with the key the eFuses hold (whether or not
// CRYPT_CNT currently enables the cache's decryption).
[[nodiscard]] Result<chip::EncryptedFlash> encryption_engine(Device& device);

}  // namespace espsec::device
