#include "signing/sector.hpp"

#include <algorithm>
#include <string>

#include <fmt/format.h>

#include "crypto/crc32.hpp"

namespace espsec::signing {

const char* block_kind_word(BlockKind kind) { return kind == BlockKind::kRsa ? "RSA" : "ECDSA"; }

ByteSpan block_bytes(ByteSpan sector, size_t index) {
  return sector.subspan(index * sbv2::kBlockSize, sbv2::kBlockSize);
}

std::optional<BlockKind> valid_block_kind(ByteSpan sector, size_t index) {
  if (sector.size() != sbv2::kSectorSize || index >= sbv2::kMaxBlocks) return std::nullopt;
  const ByteSpan block = block_bytes(sector, index);
  if (block[0] != sbv2::kMagic) return std::nullopt;
  // Versions from espsecure: SIG_BLOCK_VERSION_RSA = 2, SIG_BLOCK_VERSION_ECDSA = 3.
  if (block[1] != 0x02 && block[1] != 0x03) return std::nullopt;
  if (load_le32(block.data() + sbv2::kCrcOffset) != crypto::crc32_le(0, block.first(sbv2::kCrcOffset)))
    return std::nullopt;
  return block[1] == 0x02 ? BlockKind::kRsa : BlockKind::kEcdsa;
}

std::string invalid_block_reason(ByteSpan sector, size_t index) {
  if (sector.size() != sbv2::kSectorSize || index >= sbv2::kMaxBlocks) return "no such block";
  const ByteSpan block = block_bytes(sector, index);
  if (std::all_of(block.begin(), block.end(), [](uint8_t b) { return b == 0xFF; })) return "erased (all 0xFF)";
  if (block[0] != sbv2::kMagic) return fmt::format("bad magic byte 0x{:02x} (expected 0xe7)", block[0]);
  if (block[1] != 0x02 && block[1] != 0x03)
    return fmt::format("unknown block version {} (expected 2 for RSA or 3 for ECDSA)", block[1]);
  const uint32_t stored = load_le32(block.data() + sbv2::kCrcOffset);
  const uint32_t computed = crypto::crc32_le(0, block.first(sbv2::kCrcOffset));
  if (stored != computed) return fmt::format("CRC mismatch (stored 0x{:08x}, computed 0x{:08x})", stored, computed);
  return "valid";
}

}  // namespace espsec::signing
