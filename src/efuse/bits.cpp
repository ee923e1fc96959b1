#include "efuse/bits.hpp"

#include <algorithm>
#include <bit>

namespace espsec::efuse {

bool get_bit(ByteSpan bits, size_t index) { return (bits[index / 8] >> (index % 8)) & 1u; }

void set_bit(MutableByteSpan bits, size_t index) {
  bits[index / 8] = static_cast<uint8_t>(bits[index / 8] | (1u << (index % 8)));
}

Bytes extract_bits(ByteSpan source, size_t start, size_t length) {
  Bytes out(bits_to_bytes(length), 0);
  for (size_t i = 0; i < length; ++i)
    if (get_bit(source, start + i)) set_bit(out, i);
  return out;
}

void or_bits(MutableByteSpan target, size_t start, ByteSpan value, size_t length) {
  for (size_t i = 0; i < length; ++i)
    if (get_bit(value, i)) set_bit(target, start + i);
}

bool all_zero(ByteSpan bits) {
  return std::all_of(bits.begin(), bits.end(), [](uint8_t b) { return b == 0; });
}

bool is_subset(ByteSpan part, ByteSpan whole) {
  for (size_t i = 0; i < part.size(); ++i)
    if ((part[i] & ~whole[i]) != 0) return false;
  return true;
}

Bytes bits_or(ByteSpan a, ByteSpan b) {
  Bytes out(a.begin(), a.end());
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<uint8_t>(out[i] | b[i]);
  return out;
}

Bytes bits_and(ByteSpan a, ByteSpan b) {
  Bytes out(a.begin(), a.end());
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<uint8_t>(out[i] & b[i]);
  return out;
}

size_t popcount(ByteSpan bits) {
  size_t n = 0;
  for (uint8_t b : bits) n += static_cast<size_t>(std::popcount(b));
  return n;
}

uint64_t to_uint(ByteSpan bits) {
  uint64_t value = 0;
  for (size_t i = 0; i < bits.size() && i < 8; ++i) value |= static_cast<uint64_t>(bits[i]) << (8 * i);
  return value;
}

Bytes from_uint(uint64_t value, size_t length) {
  Bytes out(bits_to_bytes(length), 0);
  for (size_t i = 0; i < length && i < 64; ++i)
    if ((value >> i) & 1u) set_bit(out, i);
  return out;
}

bool exceeds(uint64_t value, size_t length) { return length < 64 && (value >> length) != 0; }

std::string hex_text(ByteSpan bytes, std::string_view separator) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (i) out += separator;
    out += kHex[bytes[i] >> 4];
    out += kHex[bytes[i] & 0xF];
  }
  return out;
}

std::string bitstring_text(ByteSpan bits, size_t length) {
  std::string out;
  if (length % 4 == 0) {
    static constexpr char kHex[] = "0123456789abcdef";
    out = "0x";
    for (size_t nibble = length / 4; nibble-- > 0;) {
      unsigned v = 0;
      for (size_t b = 0; b < 4; ++b)
        if (get_bit(bits, nibble * 4 + b)) v |= 1u << b;
      out += kHex[v];
    }
  } else {
    out = "0b";
    for (size_t i = length; i-- > 0;) out += get_bit(bits, i) ? '1' : '0';
  }
  return out;
}

}  // namespace espsec::efuse
