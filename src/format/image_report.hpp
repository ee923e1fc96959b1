// A readable description of an image file for `espsec image info`: everything parse_image
// finds, plus the Secure Boot v2 signature sector behind it, as esptool image-info style text
// or as JSON (schema in docs/image.md).
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/bytes.hpp"
#include "core/error.hpp"
#include "format/image.hpp"
#include "format/sbv2.hpp"

namespace espsec::image {

struct SignatureBlockReport {
  enum class State { kValid, kAbsent, kInvalid };
  State state = State::kAbsent;
  std::string problem;  // why an invalid block is invalid
  std::optional<sbv2::SignatureBlock> block;
  crypto::Sha256Digest key_digest{};   // valid blocks: what eFuse must hold to trust the key
  bool digest_matches_image = false;   // block's image digest == digest of the signed region
  bool signature_verifies = false;     // signature over the block's digest with the block's key
};

struct ImageReport {
  ImageInfo info;
  uint64_t padding_length = 0;        // bytes between the image and the signature sector
  bool padding_erased = true;         // those bytes are all 0xFF
  std::optional<std::array<SignatureBlockReport, sbv2::kMaxBlocks>> signature_blocks;  // sector present
  uint64_t trailing_length = 0;       // bytes after the image (and its signature sector, if any)
};

// Parses `bytes` (parse_image codes) and examines the signature sector if there is one.
[[nodiscard]] Result<ImageReport> describe_image(ByteSpan bytes);

std::string report_text(const ImageReport& report, std::string_view file);
nlohmann::json report_json(const ImageReport& report, std::string_view file);

}  // namespace espsec::image
