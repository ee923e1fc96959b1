// What the espsecure commands share when they look at a signed image: the progress lines they
// print and their (deliberately loose) notion of a valid signature block.
//
//   signed image = data (multiple of 4096) || signature sector (4096)
//   signature sector = block 0 (1216) || block 1 (1216) || block 2 (1216) || 0xFF x 448
//
// espsecure's validate_signature_block accepts a block when magic == 0xE7, version is 2 (RSA)
// or 3 (ECDSA) and the CRC-32 of bytes 0..1195 matches; it does not look at the SHA type,
// curve id or key fields (that is sbv2::parse_block's stricter job). --append-signatures keeps
// such blocks verbatim, verify-signature and signature-info-v2 skip or stop at the others.
#pragma once

#include <functional>
#include <optional>
#include <string_view>

#include "core/bytes.hpp"
#include "format/sbv2.hpp"

namespace espsec::signing {

// Receives each progress line a command prints (without newline), in order.
using Report = std::function<void(std::string_view line)>;

enum class BlockKind { kRsa, kEcdsa };
const char* block_kind_word(BlockKind kind);  // "RSA" / "ECDSA"

// The kind of block `sector` holds at slot `index` under espsecure's rule, or nullopt.
std::optional<BlockKind> valid_block_kind(ByteSpan sector, size_t index);

// The slot's bytes; `sector` must be kSectorSize long.
ByteSpan block_bytes(ByteSpan sector, size_t index);

// A one-line description of why the slot is not a valid block ("erased", "bad magic byte 0x00
// (expected 0xe7)", "CRC mismatch ..."), for messages that must say more than espsecure does.
std::string invalid_block_reason(ByteSpan sector, size_t index);

}  // namespace espsec::signing
