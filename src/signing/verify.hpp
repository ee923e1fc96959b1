// Secure Boot v2 verification and inspection with espsecure v5.1 semantics
// (espsecure/__init__.py verify_signature_v2, signature_info_v2). Pure: bytes in, verdict out.
//
// verify_image, for a key K and an image of n * 4096 bytes (n >= 1):
//   digest = SHA-256 (or SHA-384 for P-384 blocks) of image[0 .. size-4096)
//   for block i in 0 .. (K is RSA ? 2 : 0):        <- espsecure 5.1 tries only block 0 with an
//     not valid (magic/version/CRC)   -> "Signature block i invalid. Skipping."    ECDSA key
//     stored digest != digest         -> fatal at once, whatever the other blocks hold
//     signature verifies with K       -> success noted, the next block is still examined
//     otherwise                       -> "... is not signed by the supplied key. ..."
//   no success -> "Checked all blocks. Signature could not be verified with the provided key."
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/bytes.hpp"
#include "core/error.hpp"
#include "crypto/hash.hpp"
#include "crypto/pkey.hpp"
#include "signing/sector.hpp"

namespace espsec::signing {

// Errors: "signing.image_size" (empty or not a multiple of 4096), "signing.digest_mismatch",
// "signing.not_verified". On success, the index of every block that verified with `key`.
[[nodiscard]] Result<std::vector<size_t>> verify_image(ByteSpan image, const crypto::PublicKey& key,
                                                       const Report& report);

struct BlockInfo {
  size_t index = 0;
  BlockKind kind = BlockKind::kRsa;
  crypto::Sha256Digest key_digest{};  // what eFuse SECURE_BOOT_DIGESTn must hold for its key
};

struct SignatureInfo {
  std::vector<BlockInfo> blocks;  // the valid blocks before the first invalid slot
  // The first slot that is not a valid block, when it is not erased flash (all 0xFF): a
  // damaged block rather than the end of the list.
  std::optional<size_t> corrupt_block;
  std::string corrupt_reason;
};

// Errors: "signing.image_size", "signing.info_digest_mismatch".
[[nodiscard]] Result<SignatureInfo> signature_info(ByteSpan image, const Report& report);

// Python's repr() of a bytes object (b'\x9b{...'), as espsecure prints digests in messages.
std::string python_bytes_repr(ByteSpan bytes);

}  // namespace espsec::signing
