// Byte buffers and the fixed-endian integer codecs every byte format uses.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace espsec {

using Bytes = std::vector<uint8_t>;
using ByteSpan = std::span<const uint8_t>;
using MutableByteSpan = std::span<uint8_t>;

inline ByteSpan as_bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
inline std::string_view as_chars(ByteSpan b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

constexpr uint16_t load_le16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
constexpr uint32_t load_le32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}
constexpr uint64_t load_le64(const uint8_t* p) {
  return static_cast<uint64_t>(load_le32(p)) | (static_cast<uint64_t>(load_le32(p + 4)) << 32);
}
constexpr uint32_t load_be32(const uint8_t* p) {
  return (static_cast<uint32_t>(p[0]) << 24) | (static_cast<uint32_t>(p[1]) << 16) |
         (static_cast<uint32_t>(p[2]) << 8) | static_cast<uint32_t>(p[3]);
}
constexpr void store_le16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
}
constexpr void store_le32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
constexpr void store_le64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
constexpr void store_be32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (24 - 8 * i));
}

// Appends little-endian integers and raw bytes; the serializers build formats with it.
class ByteWriter {
 public:
  ByteWriter() = default;
  explicit ByteWriter(size_t reserve) { out_.reserve(reserve); }
  ByteWriter& u8(uint8_t v) { out_.push_back(v); return *this; }
  ByteWriter& le16(uint16_t v) { uint8_t b[2]; store_le16(b, v); return raw({b, 2}); }
  ByteWriter& le32(uint32_t v) { uint8_t b[4]; store_le32(b, v); return raw({b, 4}); }
  ByteWriter& le64(uint64_t v) { uint8_t b[8]; store_le64(b, v); return raw({b, 8}); }
  ByteWriter& raw(ByteSpan b) { out_.insert(out_.end(), b.begin(), b.end()); return *this; }
  ByteWriter& fill(size_t n, uint8_t v) { out_.insert(out_.end(), n, v); return *this; }
  // Writes s and pads with NUL to exactly n bytes (s longer than n is cut).
  ByteWriter& fixed_string(std::string_view s, size_t n);
  size_t size() const { return out_.size(); }
  Bytes take() { return std::move(out_); }

 private:
  Bytes out_;
};

std::string to_hex(ByteSpan data);
// Accepts upper/lower case, optional "0x" prefix, no separators. nullopt on any bad digit.
std::optional<Bytes> from_hex(std::string_view hex);
void reverse_bytes(MutableByteSpan data);
Bytes reversed(ByteSpan data);

// Overflow-checked arithmetic for lengths and offsets read from untrusted input.
std::optional<uint64_t> checked_add(uint64_t a, uint64_t b);
constexpr uint64_t align_up(uint64_t v, uint64_t alignment) {
  return (v + alignment - 1) / alignment * alignment;
}

// C string out of a fixed-size NUL-padded field; stops at the first NUL.
std::string c_string_field(ByteSpan field);

}  // namespace espsec
