#include "boot/image_verify.hpp"

#include <algorithm>
#include <bit>
#include <string>

#include <fmt/format.h>

namespace espsec::boot {
namespace {

// How far a block got through verification; the furthest decides the reported reason.
enum class Stage { kInvalid, kKeyNotBurned, kKeyRevoked, kDigestMismatch, kSignatureInvalid };

const char* stage_code(Stage stage) {
  switch (stage) {
    case Stage::kInvalid: return "secure_boot.no_valid_block";
    case Stage::kKeyNotBurned: return "secure_boot.key_not_burned";
    case Stage::kKeyRevoked: return "secure_boot.key_revoked";
    case Stage::kDigestMismatch: return "secure_boot.digest_mismatch";
    case Stage::kSignatureInvalid: return "secure_boot.signature_invalid";
  }
  return "secure_boot.no_valid_block";
}

const char* stage_summary(Stage stage) {
  switch (stage) {
    case Stage::kInvalid: return "no valid signature block";
    case Stage::kKeyNotBurned: return "signed by a key whose digest is not burned";
    case Stage::kKeyRevoked: return "signed by a key whose digest slot is revoked";
    case Stage::kDigestMismatch: return "image digest mismatch";
    case Stage::kSignatureInvalid: return "signature invalid";
  }
  return "";
}

Result<Bytes> secure_boot_digest(const image::ImageInfo& info, ByteSpan image, sbv2::Scheme scheme) {
  return image::signed_region_digest(info, image, sbv2::image_digest_alg(scheme));
}

}  // namespace

Result<SignatureMatch> verify_signature_sector(ByteSpan sector, ByteSpan image_digest, const SecureBootConfig& config) {
  if (sector.size() != sbv2::kSectorSize)
    return fail("secure_boot.sector_size", "signature sector is {} bytes, expected {}", sector.size(), sbv2::kSectorSize);
  if (std::none_of(config.key_digests.begin(), config.key_digests.end(), [](const auto& d) { return d.has_value(); }))
    return fail("secure_boot.no_trusted_keys", "no Secure Boot key digest is burned in eFuse");

  Stage furthest = Stage::kInvalid;
  std::string details;
  const auto slots = sbv2::parse_sector(sector);
  for (size_t i = 0; i < slots.size(); ++i) {
    auto note = [&](Stage stage, std::string_view what) {
      furthest = std::max(furthest, stage);
      details += fmt::format("{}block {}: {}", details.empty() ? "" : "; ", i, what);
    };
    // Valid for this device (validate_signature_block): magic, CRC, then the configured scheme.
    const std::optional<sbv2::SignatureBlock>& block = slots[i].block;
    if (!block) {
      note(Stage::kInvalid, slots[i].erased ? "absent" : slots[i].problem->message);
      continue;
    }
    if (block->scheme != config.scheme) {
      note(Stage::kInvalid, fmt::format("{} block, but the device verifies {}", sbv2::scheme_name(block->scheme),
                                        sbv2::scheme_name(config.scheme)));
      continue;
    }
    const crypto::Sha256Digest key_digest = sbv2::key_digest(block->key_field);
    std::optional<size_t> trusted;
    bool revoked_match = false;
    for (size_t slot = 0; slot < kDigestSlots; ++slot) {
      const auto& burned = config.key_digests[slot];
      if (!burned || !crypto::constant_time_equal(*burned, key_digest)) continue;
      if (config.revoked[slot]) {
        revoked_match = true;
        continue;
      }
      trusted = slot;
      break;
    }
    if (!trusted) {
      if (revoked_match) note(Stage::kKeyRevoked, "signed by a key whose digest slot is revoked");
      else note(Stage::kKeyNotBurned, fmt::format("signed by a key whose digest is not burned ({})", to_hex(key_digest)));
      continue;
    }
    if (!crypto::constant_time_equal(block->image_digest, image_digest)) {
      note(Stage::kDigestMismatch, "image digest mismatch");
      continue;
    }
    if (!sbv2::signature_verifies(*block)) {
      note(Stage::kSignatureInvalid, "signature invalid");
      continue;
    }
    return SignatureMatch{i, *trusted};
  }
  return make_error(stage_code(furthest), fmt::format("{} ({})", stage_summary(furthest), details));
}

namespace {

// verify_image after the image was parsed: every check from the segment rules on.
Result<VerifiedImage> verify_parsed(image::ImageInfo parsed, ByteSpan flash, const image::Chip& chip_desc,
                                    const image::ChipState& chip, const VerifyOptions& options) {
  const bool is_app = options.role == image::Role::kApp;
  VerifiedImage out;
  out.info = std::move(parsed);
  const image::ImageInfo& info = out.info;
  ESPSEC_TRY(image::check_segments(info, chip_desc, options.role));
  if (is_app && !info.segments.empty()) {
    if (chip_desc.checks_efuse_block_revision) {
      const ByteSpan desc = info.segment_data(flash, 0);  // >= 256 bytes: check_segments
      ESPSEC_TRY(image::check_efuse_block_revision(load_le16(desc.data() + image::kAppDescMinEfuseBlkRevOffset),
                                                   load_le16(desc.data() + image::kAppDescMaxEfuseBlkRevOffset), chip));
    }
    if (options.require_app_desc) {
      ESPSEC_ASSIGN_OR_RETURN(const image::AppDesc desc, image::require_app_desc(info));
      out.secure_version = desc.secure_version;
    }
  }
  ESPSEC_TRY(image::check_checksum(info));
  ESPSEC_TRY(image::check_fits(info, options.partition_size, options.secure_boot.has_value()));

  if (options.secure_boot) {
    if (!info.has_signature_sector)
      return fail("image.truncated", "signature sector at offset 0x{:x} runs past the end of the data ({} bytes)",
                  info.signed_length, flash.size());
    ESPSEC_ASSIGN_OR_RETURN(const Bytes digest, secure_boot_digest(info, flash, options.secure_boot->scheme));
    auto match = verify_signature_sector(flash.subspan(info.signed_length, image::kSectorSize), digest,
                                         *options.secure_boot);
    if (!match) {
      // As esp_image_format.c does after a failed signature: tell corruption from a bad signature.
      const char* hint = !info.header.has_hash() ? "no simple hash to tell corruption apart"
                         : info.hash_ok()        ? "simple hash matches: image valid, signature bad"
                                                 : "simple hash mismatch: image corrupted on flash";
      Error error = std::move(match.error());
      error.message = fmt::format("{}; {}", error.message, hint);
      return std::unexpected(std::move(error));
    }
    out.signature = *match;
    out.length = info.signed_total_length;
  } else {
    if (is_app) ESPSEC_TRY(image::check_hash(info));
    out.length = info.image_length;
  }
  return out;
}

Result<const image::Chip*> describe(const image::ChipState& chip) {
  const image::Chip* chip_desc = image::chip_by_id(chip.chip_id);
  if (chip_desc == nullptr) return fail("image.chip_unknown", "chip id {} is not a chip espsec describes", chip.chip_id);
  return chip_desc;
}

}  // namespace

Result<VerifiedImage> verify_image(ByteSpan flash, const image::ChipState& chip, const VerifyOptions& options) {
  ESPSEC_ASSIGN_OR_RETURN(const image::Chip* chip_desc, describe(chip));
  ESPSEC_ASSIGN_OR_RETURN(const image::Header header, image::parse_header(flash));
  ESPSEC_TRY(image::check_chip(header, chip, options.role));
  ESPSEC_ASSIGN_OR_RETURN(image::ImageInfo info, image::parse_image(flash));
  return verify_parsed(std::move(info), flash, *chip_desc, chip, options);
}

Result<VerifiedImage> verify_image(image::ImageInfo parsed, ByteSpan flash, const image::ChipState& chip,
                                   const VerifyOptions& options) {
  ESPSEC_ASSIGN_OR_RETURN(const image::Chip* chip_desc, describe(chip));
  ESPSEC_TRY(image::check_chip(parsed.header, chip, options.role));
  return verify_parsed(std::move(parsed), flash, *chip_desc, chip, options);
}

Result<std::vector<crypto::Sha256Digest>> signature_key_digests(const image::ImageInfo& info, ByteSpan image,
                                                                sbv2::Scheme scheme) {
  if (!info.has_signature_sector || image.size() < info.signed_total_length)
    return fail("image.truncated", "signature sector at offset 0x{:x} runs past the end of the data ({} bytes)",
                info.signed_length, image.size());
  ESPSEC_ASSIGN_OR_RETURN(const Bytes digest, secure_boot_digest(info, image, scheme));
  const auto slots = sbv2::parse_sector(image.subspan(info.signed_length, image::kSectorSize));
  std::vector<crypto::Sha256Digest> digests;
  for (size_t i = 0; i < slots.size(); ++i) {
    const std::optional<sbv2::SignatureBlock>& block = slots[i].block;
    // Past the last valid block: absent, bad magic or CRC, or a digest of some other image.
    if (!block || !crypto::constant_time_equal(block->image_digest, digest)) break;
    if (block->scheme != scheme || !sbv2::signature_verifies(*block))
      return fail("secure_boot.first_boot_signature",
                  "signature block {} is valid but its signature does not verify with its own key under {}", i,
                  sbv2::scheme_name(scheme));
    digests.push_back(sbv2::key_digest(block->key_field));
  }
  return digests;
}

Result<uint32_t> app_secure_version(const image::ImageInfo& info) {
  ESPSEC_ASSIGN_OR_RETURN(const image::AppDesc desc, image::require_app_desc(info));
  return desc.secure_version;
}

unsigned efuse_secure_version(uint32_t field, unsigned width) {
  const uint32_t mask = width >= 32 ? 0xFFFFFFFFu : ((1u << width) - 1);
  return static_cast<unsigned>(std::popcount(field & mask));
}

Status check_secure_version(uint32_t image_version, unsigned efuse_version) {
  if (image_version < efuse_version)
    return fail("anti_rollback.secure_version", "image secure version {} is below the eFuse secure version {}",
                image_version, efuse_version);
  return {};
}

}  // namespace espsec::boot
