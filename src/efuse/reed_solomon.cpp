#include "efuse/reed_solomon.hpp"

#include <algorithm>

namespace espsec::efuse {
namespace {

// GF(2^8) with the primitive polynomial x^8 + x^4 + x^3 + x^2 + 1 (0x11D).
struct GaloisField {
  std::array<uint8_t, 512> exp{};  // doubled so that exp[log a + log b] needs no reduction
  std::array<uint8_t, 256> log{};

  constexpr GaloisField() {
    unsigned x = 1;
    for (unsigned i = 0; i < 255; ++i) {
      exp[i] = static_cast<uint8_t>(x);
      log[x] = static_cast<uint8_t>(i);
      x <<= 1;
      if (x & 0x100) x ^= 0x11D;
    }
    for (unsigned i = 255; i < exp.size(); ++i) exp[i] = exp[i - 255];
  }
  constexpr uint8_t mul(uint8_t a, uint8_t b) const {
    if (a == 0 || b == 0) return 0;
    return exp[static_cast<unsigned>(log[a]) + log[b]];
  }
};

constexpr GaloisField kField;

// g(x) = (x - a^0)(x - a^1)...(x - a^(n-1)), highest-degree coefficient first (g[0] = 1).
Bytes generator(size_t n) {
  Bytes g(n + 1, 0);
  g[0] = 1;
  for (size_t i = 0; i < n; ++i) {
    const uint8_t root = kField.exp[i];
    for (size_t j = i + 1; j > 0; --j) g[j] = static_cast<uint8_t>(g[j] ^ kField.mul(g[j - 1], root));
  }
  return g;
}

}  // namespace

Bytes rs_parity(ByteSpan data, size_t parity_bytes) {
  if (parity_bytes == 0 || parity_bytes > kRsMaxParityBytes || data.size() + parity_bytes > 255) return {};
  const Bytes g = generator(parity_bytes);
  // Remainder of data(x) * x^n divided by g(x), by synthetic division.
  Bytes remainder(parity_bytes, 0);
  for (uint8_t byte : data) {
    const uint8_t factor = static_cast<uint8_t>(byte ^ remainder[0]);
    for (size_t j = 0; j + 1 < parity_bytes; ++j)
      remainder[j] = static_cast<uint8_t>(remainder[j + 1] ^ kField.mul(g[j + 1], factor));
    remainder[parity_bytes - 1] = kField.mul(g[parity_bytes], factor);
  }
  return remainder;
}

std::array<uint8_t, kRsParityBytes> rs_block_parity(std::span<const uint8_t, kRsDataBytes> data) {
  const Bytes parity = rs_parity(data, kRsParityBytes);
  std::array<uint8_t, kRsParityBytes> out{};
  std::copy(parity.begin(), parity.end(), out.begin());
  return out;
}

}  // namespace espsec::efuse
