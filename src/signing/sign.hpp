// Secure Boot v2 signing with espsecure v5.1 `sign-data --version 2` semantics
// (espsecure/__init__.py sign_secure_boot_v2). Pure: bytes in, signed image out.
//
//   input ──┬─ length % 4096 != 0 ──> pad with 0xFF to 4096 (refused with precalculated signatures)
//           └─ append_signatures ───> keep the valid blocks of the last 4096 bytes verbatim and
//                                     strip that sector; none valid: sign the whole input afresh
//   output = data || [kept blocks][new blocks: one per key, in order][0xFF ...]  (4096 bytes)
//
// Without append_signatures an already signed input is plain data (a second sector follows).
#pragma once

#include <span>
#include <vector>

#include "core/bytes.hpp"
#include "core/error.hpp"
#include "crypto/pkey.hpp"
#include "signing/sector.hpp"

namespace espsec::signing {

struct SignRequest {
  // Private keys, one block each in order. Ignored when precalculated signatures are given
  // (as espsecure ignores --keyfile when --signature is given).
  std::span<const crypto::PrivateKey> keys;
  // Signatures made elsewhere (HSM, openssl) over the SHA-256 (SHA-384 for P-384) of the data
  // to sign, paired in order with their public keys; the counts must match. RSA-3072: 384-byte
  // big-endian PSS (SHA-256, MGF1-SHA-256, salt 32); ECDSA: DER. Each must verify.
  std::span<const crypto::PublicKey> precalculated_keys;
  std::span<const Bytes> precalculated_signatures;
  bool append_signatures = false;
};

// The signed image is input[0, data_length) || 0xFF x padding || sector, described rather than
// copied so that a large input is never duplicated in memory.
struct SignedImage {
  size_t data_length = 0;   // input bytes kept (the whole input, or all but a stripped sector)
  size_t padding = 0;       // 0xFF bytes after them, up to the next 4096 boundary
  Bytes sector;             // the new 4096-byte signature sector
  size_t total_blocks = 0;  // blocks now in the sector
  size_t signed_length() const { return data_length + padding; }  // "Signed N bytes of data"
};

// Errors: "signing.empty_input", "signing.unaligned_precalculated", "signing.sector_full",
// "signing.signature_count", "signing.too_many_keys", "signing.no_keys",
// "signing.precalculated_invalid", and the key and signature codes of crypto / sbv2.
// `report` receives espsecure's progress lines (padding, kept blocks, key count).
[[nodiscard]] Result<SignedImage> sign_image(ByteSpan input, const SignRequest& request, const Report& report);

// The whole signed image in one buffer.
Bytes assemble(ByteSpan input, const SignedImage& signed_image);

}  // namespace espsec::signing
