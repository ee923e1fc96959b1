// Reed-Solomon parity of an eFuse block, as the eFuse controller computes it for BLOCK1..10 on
// ESP32-S2/S3/C3/C6 and as espefuse (reedsolo.RSCodec(12)) writes to PGM_CHECK_VALUE0..2:
// RS(44,32) over GF(2^8) with primitive polynomial 0x11D, generator alpha = 2 and first
// consecutive root alpha^0 (reedsolo defaults). The code is systematic: codeword = data || parity.
// (Boot-chain fact sheet 4.1; vectors README-secure.md section 7.)
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "core/bytes.hpp"

namespace espsec::efuse {

inline constexpr size_t kRsDataBytes = 32;
inline constexpr size_t kRsParityBytes = 12;
inline constexpr size_t kRsMaxParityBytes = 64;

// `parity_bytes` (1..64) parity symbols of `data` (at most 255 - parity_bytes bytes) for the
// code above; any other size gives an empty result.
Bytes rs_parity(ByteSpan data, size_t parity_bytes);

// The 12 parity bytes of an eFuse block: its 32 bytes in register order (word 0 little-endian
// first; a 24-byte block padded with 8 zero bytes).
std::array<uint8_t, kRsParityBytes> rs_block_parity(std::span<const uint8_t, kRsDataBytes> data);

}  // namespace espsec::efuse
