// Secure Boot v2 signature blocks and the 4 KiB signature sector (ESP-IDF esp_secure_boot.h,
// espsecure). Pure parse/serialize; integers little-endian. Boot-chain fact sheet 2.2-2.6.
//
// Signature sector (4096 bytes, right after the 4 KiB-aligned signed data):
//   +0     block 0 (1216)   +1216  block 1 (1216)   +2432  block 2 (1216)   +3648  0xFF x 448
//   unused block slots are 0xFF (erased flash)
//
// RSA-3072 block (version 2):             ECDSA P-192/P-256 block (version 3, SHA-256):
//   0    E7 02 00 00                        0    E7 03 00 00
//   4    SHA-256(signed data)  32           4    SHA-256(signed data)  32
//   36   n, little-endian     384  --+      36   curve id (1 P-192, 2 P-256)  1  --+ key field
//   420  e                      4    |      37   X || Y, each LE; zero-padded to 64 |
//   424  R^2 mod n, LE        384    | key  101  r || s, each LE; zero-padded to 64 (signature)
//   808  m' = -n^-1 mod 2^32    4  --+      165  zero x 1031
//   812  PSS signature, byte-reversed 384   1196 CRC-32 (zip) of bytes 0..1195
//   1196 CRC-32 (zip) of bytes 0..1195      1200 zero x 16
//   1200 zero x 16
// ECDSA P-384 block (version 3, SHA-384): 0 E7 03 01 00 | 4 SHA-384 (48) | 52 curve id 3 |
//   53 X || Y LE (96) | 149 r || s LE (96) | 245 zero x 951 | 1196 CRC | 1200 zero x 16
//
// The eFuse key digest is SHA-256 of the key field exactly as stored (always SHA-256).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "core/bytes.hpp"
#include "core/error.hpp"
#include "crypto/hash.hpp"
#include "crypto/pkey.hpp"

namespace espsec::sbv2 {

inline constexpr size_t kBlockSize = 1216;
inline constexpr size_t kSectorSize = 4096;
inline constexpr size_t kMaxBlocks = 3;
inline constexpr uint8_t kMagic = 0xE7;
inline constexpr size_t kCrcOffset = 1196;

enum class Scheme { kRsa3072, kEcdsaP192, kEcdsaP256, kEcdsaP384 };

const char* scheme_name(Scheme scheme);  // "RSA-3072", "ECDSA P-256"
crypto::HashAlg image_digest_alg(Scheme scheme);
crypto::SignatureScheme signature_scheme(Scheme scheme);
// The scheme a key signs with, or an error naming why the key cannot be used.
[[nodiscard]] Result<Scheme> scheme_for_key(const crypto::PublicKey& key);

struct SignatureBlock {
  Scheme scheme = Scheme::kRsa3072;
  Bytes image_digest;     // 32 bytes (48 for P-384)
  Bytes key_field;        // 776 (RSA), 65 (P-192/P-256) or 97 (P-384) bytes
  Bytes signature_field;  // 384 (RSA, reversed), 64 or 96 (r || s little-endian)
};

// Layout of a block: where its fields sit, by scheme.
struct BlockLayout {
  size_t digest_offset, digest_size;
  size_t key_offset, key_size;
  size_t signature_offset, signature_size;
};
BlockLayout block_layout(Scheme scheme);

// Serialized key material of `key` as a block stores it; fails for keys Secure Boot v2 cannot use.
[[nodiscard]] Result<Bytes> key_field(const crypto::PublicKey& key);
// The key a block's key field describes.
[[nodiscard]] Result<crypto::PublicKey> public_key(Scheme scheme, ByteSpan key_field);
// SHA-256 of the key field: what espsecure digest-sbv2-public-key writes and eFuse stores.
crypto::Sha256Digest key_digest(ByteSpan key_field);
[[nodiscard]] Result<crypto::Sha256Digest> key_digest(const crypto::PublicKey& key);

// Signature as OpenSSL makes it (RSA: big-endian; ECDSA: DER) <-> the block's signature field.
[[nodiscard]] Result<Bytes> signature_field(Scheme scheme, ByteSpan native_signature);
[[nodiscard]] Result<Bytes> native_signature(Scheme scheme, ByteSpan signature_field);

// Block codec. parse_block checks magic, version, SHA type, curve id and CRC, each with its
// own error code ("sbv2.block_magic", "sbv2.block_version", "sbv2.block_sha_type",
// "sbv2.block_curve", "sbv2.block_crc"); it does not verify the signature.
[[nodiscard]] Result<SignatureBlock> parse_block(ByteSpan block);
[[nodiscard]] Result<Bytes> serialize_block(const SignatureBlock& block);

// One slot of a signature sector: a valid block, an erased (all-0xFF) slot, or the reason the
// slot holds something that is not a valid block.
struct SectorSlot {
  std::optional<SignatureBlock> block;
  bool erased = false;
  std::optional<Error> problem;
};
std::array<SectorSlot, kMaxBlocks> parse_sector(ByteSpan sector);
// Blocks 0.. in order into a 4096-byte sector, the rest 0xFF. At most kMaxBlocks.
[[nodiscard]] Result<Bytes> serialize_sector(std::span<const Bytes> serialized_blocks);

// True when the signature in `block` verifies over `block.image_digest` with its own key.
// The caller decides whether that digest is the image's and whether the key is trusted.
bool signature_verifies(const SignatureBlock& block);

}  // namespace espsec::sbv2
