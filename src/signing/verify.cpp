#include "signing/verify.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "format/sbv2.hpp"
#include "signing/keys.hpp"

namespace espsec::signing {
namespace {

using sbv2::kMaxBlocks;
using sbv2::kSectorSize;

// SHA type byte of an ECDSA block (espsecure ECDSA_SHA_384 = 1).
constexpr uint8_t kEcdsaSha384 = 0x01;

Status check_image_size(ByteSpan image) {
  if (image.size() < kSectorSize || image.size() % kSectorSize != 0)
    return fail("signing.image_size", "Invalid datafile. Data size should be non-zero & a multiple of 4096.");
  return {};
}

bool uses_sha384(ByteSpan block) { return block[1] == 0x03 && block[2] == kEcdsaSha384; }

// Digests of the signed data, each computed at most once.
class ImageDigests {
 public:
  explicit ImageDigests(ByteSpan image) : data_(image.first(image.size() - kSectorSize)) {}
  const Bytes& for_block(ByteSpan block) {
    auto& slot = uses_sha384(block) ? sha384_ : sha256_;
    if (!slot) slot = crypto::digest(uses_sha384(block) ? crypto::HashAlg::kSha384 : crypto::HashAlg::kSha256, data_);
    return *slot;
  }

 private:
  ByteSpan data_;
  std::optional<Bytes> sha256_, sha384_;
};

ByteSpan stored_digest(ByteSpan block) { return block.subspan(4, uses_sha384(block) ? 48 : 32); }

// Whether `block` carries a signature of `digest` by `key`, read as espsecure reads it: an RSA
// key takes the 384 bytes at 812, an EC key the r || s after the curve id and point, sized by
// the curve id the block claims.
bool signed_by(ByteSpan block, const crypto::PublicKey& key, ByteSpan digest) {
  if (key.kind() == crypto::KeyKind::kRsa) {
    const Bytes signature = reversed(block.subspan(812, 384));
    return crypto::verify_digest(key, crypto::SignatureScheme::kRsaPssSha256, digest, signature);
  }
  const size_t curve_offset = uses_sha384(block) ? 52 : 36;
  const size_t point_size = uses_sha384(block) ? 96 : 64;
  const uint8_t curve_id = block[curve_offset];
  // Curve ids from espsecure: 1 = P-192, 2 = P-256, 3 = P-384.
  const size_t coordinate = curve_id == 1 ? 24 : curve_id == 2 ? 32 : curve_id == 3 ? 48 : 0;
  if (coordinate == 0) return false;
  const ByteSpan rs = block.subspan(curve_offset + 1 + point_size, 2 * coordinate);
  auto der = crypto::ecdsa_rs_to_der(reversed(rs.first(coordinate)), reversed(rs.last(coordinate)));
  if (!der) return false;
  const auto scheme = curve_id == 3 ? crypto::SignatureScheme::kEcdsaSha384 : crypto::SignatureScheme::kEcdsaSha256;
  return crypto::verify_digest(key, scheme, digest, *der);
}

}  // namespace

std::string python_bytes_repr(ByteSpan bytes) {
  const bool has_single = std::find(bytes.begin(), bytes.end(), '\'') != bytes.end();
  const bool has_double = std::find(bytes.begin(), bytes.end(), '"') != bytes.end();
  const char quote = has_single && !has_double ? '"' : '\'';
  std::string out = "b";
  out += quote;
  for (const uint8_t c : bytes) {
    if (c == quote || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20 || c >= 0x7F) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  out += quote;
  return out;
}

Result<std::vector<size_t>> verify_image(ByteSpan image, const crypto::PublicKey& key, const Report& report) {
  ESPSEC_TRY(check_image_size(image));
  const ByteSpan sector = image.last(kSectorSize);
  // espsecure 5.1 (esptool issue #1120): with an ECDSA key only block 0 is examined.
  const size_t blocks_to_try = key.kind() == crypto::KeyKind::kRsa ? kMaxBlocks : 1;
  ImageDigests digests(image);
  std::vector<size_t> verified;
  for (size_t i = 0; i < blocks_to_try; ++i) {
    const auto kind = valid_block_kind(sector, i);
    if (!kind) {
      report(fmt::format("Signature block {} invalid. Skipping.", i));
      continue;
    }
    report(fmt::format("Signature block {} is valid ({}).", i, block_kind_word(*kind)));
    const ByteSpan block = block_bytes(sector, i);
    const Bytes& digest = digests.for_block(block);
    if (!crypto::constant_time_equal(digest, stored_digest(block)))
      return fail("signing.digest_mismatch",
                  "Signature block image digest does not match the actual image digest {}. Expected {}.",
                  python_bytes_repr(digest), python_bytes_repr(stored_digest(block)));
    if (signed_by(block, key, digest)) {
      report(fmt::format("Signature block {} verification successful using the supplied key ({}).", i,
                         key_type_word(key)));
      verified.push_back(i);
    } else {
      report(fmt::format("Signature block {} is not signed by the supplied key. Checking the next block...", i));
    }
  }
  if (verified.empty())
    return fail("signing.not_verified", "Checked all blocks. Signature could not be verified with the provided key.");
  return verified;
}

Result<SignatureInfo> signature_info(ByteSpan image, const Report& report) {
  ESPSEC_TRY(check_image_size(image));
  const ByteSpan sector = image.last(kSectorSize);
  ImageDigests digests(image);
  SignatureInfo info;
  for (size_t i = 0; i < kMaxBlocks; ++i) {
    const auto kind = valid_block_kind(sector, i);
    if (!kind) {
      report(fmt::format("Signature block {} absent/invalid. Skipping checking next blocks...", i));
      const ByteSpan raw = block_bytes(sector, i);
      if (!std::all_of(raw.begin(), raw.end(), [](uint8_t b) { return b == 0xFF; })) {
        info.corrupt_block = i;
        info.corrupt_reason = invalid_block_reason(sector, i);
      }
      break;
    }
    report(fmt::format("Signature block {} is valid ({}).", i, block_kind_word(*kind)));
    const ByteSpan block = block_bytes(sector, i);
    const Bytes& digest = digests.for_block(block);
    if (!crypto::constant_time_equal(digest, stored_digest(block)))
      return fail("signing.info_digest_mismatch", "Digest in signature block {} doesn't match the image digest.", i);
    // The key field as digest-sbv2-public-key hashes it (boot-chain fact sheet 2.6).
    const ByteSpan key_field = *kind == BlockKind::kRsa ? block.subspan(36, 776)
                               : uses_sha384(block)     ? block.subspan(52, 97)
                                                        : block.subspan(36, 65);
    BlockInfo entry{i, *kind, sbv2::key_digest(key_field)};
    report(fmt::format("Public key digest for block {}: {:02x}", i, fmt::join(entry.key_digest, " ")));
    info.blocks.push_back(entry);
  }
  return info;
}

}  // namespace espsec::signing
