// Bit strings as the eFuse model stores them: little-endian byte vectors where bit i of the
// value is bit (i % 8) of byte (i / 8). A block's register-order bytes are exactly such a string,
// so a field is the run of bits [word * 32 + pos, + bit_len) of its block.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/bytes.hpp"

namespace espsec::efuse {

inline size_t bits_to_bytes(size_t bits) { return (bits + 7) / 8; }

bool get_bit(ByteSpan bits, size_t index);
void set_bit(MutableByteSpan bits, size_t index);

// Bits [start, start + length) of `source`, as a fresh little-endian string.
Bytes extract_bits(ByteSpan source, size_t start, size_t length);
// ORs the first `length` bits of `value` into `target` at bit `start`.
void or_bits(MutableByteSpan target, size_t start, ByteSpan value, size_t length);

bool all_zero(ByteSpan bits);
// True when every set bit of `part` is also set in `whole` (same sizes).
bool is_subset(ByteSpan part, ByteSpan whole);
// a | b, a & b (same sizes).
Bytes bits_or(ByteSpan a, ByteSpan b);
Bytes bits_and(ByteSpan a, ByteSpan b);
size_t popcount(ByteSpan bits);

// Low 64 bits as an integer / an integer as a `length`-bit string (higher bits dropped).
uint64_t to_uint(ByteSpan bits);
Bytes from_uint(uint64_t value, size_t length);
// True when `value` needs more than `length` bits.
bool exceeds(uint64_t value, size_t length);

// Bytes as lowercase hex pairs joined by `separator` ("6a 3e 0e", "aa:bb:cc").
std::string hex_text(ByteSpan bytes, std::string_view separator);

// How Python's bitstring prints `length` bits: "0x" and hex digits when the length is a
// multiple of 4, else "0b" and binary digits, most significant first (espefuse's raw column).
std::string bitstring_text(ByteSpan bits, size_t length);

}  // namespace espsec::efuse
