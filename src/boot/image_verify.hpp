// What the ESP-IDF 2nd-stage bootloader (esp_image_format.c image_load) and the ROM do with an
// image in flash: load-and-verify (header, chip, segments, checksum, length, simple hash) and
// Secure Boot v2 signature verification against eFuse state given as plain values; plus the
// first-boot key digest collection and the anti-rollback version. Boot-chain fact sheet 1.10,
// 2.7, 2.8 and 7. Pure: the caller reads flash and eFuses and passes bytes and values.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "core/bytes.hpp"
#include "core/error.hpp"
#include "crypto/hash.hpp"
#include "format/image.hpp"
#include "format/sbv2.hpp"

namespace espsec::boot {

inline constexpr size_t kDigestSlots = 3;  // SECURE_BOOT_DIGEST0..2 (ESP32-C3/S3/C6)

// eFuse state Secure Boot v2 verification reads.
struct SecureBootConfig {
  sbv2::Scheme scheme = sbv2::Scheme::kRsa3072;  // the one scheme the device accepts
  // Slot i holds the digest of the key block whose purpose is SECURE_BOOT_DIGEST<i>, if any.
  std::array<std::optional<crypto::Sha256Digest>, kDigestSlots> key_digests{};
  std::array<bool, kDigestSlots> revoked{};  // SECURE_BOOT_KEY_REVOKE<i>
};

// The block that verified and the eFuse slot whose digest it matched.
struct SignatureMatch {
  size_t block = 0;
  size_t slot = 0;
};

// Verifies a 4096-byte signature sector against `image_digest` (SHA-256, or SHA-384 for P-384)
// as ESP-IDF / the ROM do (secure_boot_signatures_*.c, docs "Verifying an Image"): blocks 0..2
// in order; a block counts only when its magic, CRC, version and curve are valid for the
// configured scheme; its key digest must equal a trusted, non-revoked slot; then its image
// digest must equal `image_digest`; then the signature must verify. First success wins. Block
// padding (bytes 1200..1215) and the sector tail after the blocks are not read.
// Errors, the most advanced failure over all blocks deciding the code; the message lists each block:
//   "secure_boot.no_trusted_keys"    no slot holds a digest
//   "secure_boot.no_valid_block"     no valid signature block
//   "secure_boot.key_not_burned"     signed by a key whose digest is not burned
//   "secure_boot.key_revoked"        signed by a key whose slot is revoked
//   "secure_boot.digest_mismatch"    the block's image digest differs from the image's
//   "secure_boot.signature_invalid"  the signature does not verify
//   "secure_boot.sector_size"        `sector` is not 4096 bytes
[[nodiscard]] Result<SignatureMatch> verify_signature_sector(ByteSpan sector, ByteSpan image_digest,
                                                             const SecureBootConfig& config);

struct VerifyOptions {
  image::Role role = image::Role::kApp;
  // Bytes of flash the image may occupy: the partition size, or for the bootloader the space up
  // to the partition table. The span given to verify_image may be shorter.
  uint64_t partition_size = 0;
  // Set when signed images are required (Secure Boot v2, or signed apps): the signature is
  // verified instead of the simple hash, and the signature sector must fit in the partition.
  std::optional<SecureBootConfig> secure_boot;
  // Require esp_app_desc_t in an app's segment 0: ESP-IDF does with anti-rollback enabled, on
  // chips with a configurable MMU page, and whenever OTA code reads the app description.
  bool require_app_desc = true;
};

struct VerifiedImage {
  image::ImageInfo info;
  // ESP-IDF image_len: image and simple hash, or up to the end of the signature sector when signed.
  uint64_t length = 0;
  std::optional<SignatureMatch> signature;  // with Secure Boot
  std::optional<uint32_t> secure_version;   // app descriptor's anti-rollback version
};

// Full load-and-verify of the image at the start of `flash`, in ESP-IDF's order: magic; chip
// id and revision ("image.chip_*"); segment count, headers and lengths (parse_image codes);
// segment rules ("image.segment0_length", "image.segment_alignment", "image.app_desc_magic");
// app eFuse block revision ("image.efuse_block_revision_*"); checksum ("image.checksum"); length
// within the partition ("image.partition_size"); then either the signature (verify_signature_sector
// codes; the message adds whether the simple hash still matches, as ESP-IDF logs "image valid,
// signature bad" or "image corrupted on flash") or, for apps without Secure Boot, the simple hash
// ("image.hash"; ESP-IDF does not check a bootloader's simple hash without Secure Boot).
// "image.chip_unknown" when chip.chip_id is not a chip espsec describes.
// One pass computes the checksum, simple hash and SHA-256 image digest.
[[nodiscard]] Result<VerifiedImage> verify_image(ByteSpan flash, const image::ChipState& chip,
                                                 const VerifyOptions& options);
// The same checks and result for an image the caller already parsed (`parsed` =
// image::parse_image(flash)), without walking and hashing its bytes a second time.
[[nodiscard]] Result<VerifiedImage> verify_image(image::ImageInfo parsed, ByteSpan flash, const image::ChipState& chip,
                                                 const VerifyOptions& options);

// First boot with Secure Boot v2 not yet enabled (ESP-IDF secure_boot.c
// s_calculate_image_public_key_digests): the key digests of the image's signature blocks in
// block order, stopping at the first block that is absent or invalid (bad magic, CRC, or image
// digest). Every collected block's signature must verify with its own key under `scheme`:
// "secure_boot.first_boot_signature" otherwise, which aborts enablement. The bootloader burns
// the digests it finds in its own image; an empty result means "no valid signature blocks".
[[nodiscard]] Result<std::vector<crypto::Sha256Digest>> signature_key_digests(const image::ImageInfo& info,
                                                                             ByteSpan image,
                                                                             sbv2::Scheme scheme);

// Anti-rollback (fact sheet 7).
inline constexpr unsigned kEsp32c3SecureVersionBits = 16;  // eFuse SECURE_VERSION, BLOCK0 bits 142..157

// esp_app_desc_t.secure_version; "image.app_desc_magic" / "image.segment0_length" without a descriptor.
[[nodiscard]] Result<uint32_t> app_secure_version(const image::ImageInfo& info);
// eFuse SECURE_VERSION is a thermometer code: the version is the number of set bits among the
// low `width` bits (esp_efuse_read_secure_version).
unsigned efuse_secure_version(uint32_t field, unsigned width = kEsp32c3SecureVersionBits);
// "anti_rollback.secure_version" when the image's version is below the eFuse one
// (esp_efuse_check_secure_version).
[[nodiscard]] Status check_secure_version(uint32_t image_version, unsigned efuse_version);

}  // namespace espsec::boot
