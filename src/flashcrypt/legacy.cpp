#include "flashcrypt/legacy.hpp"

#include <algorithm>

#include "crypto/aes.hpp"

namespace espsec::flashcrypt {
namespace {

// 256-bit values as four 64-bit limbs, most significant first (the big-endian integers of
// espsecure's source).
using U256 = std::array<uint64_t, 4>;

// espsecure _flash_encryption_tweak_range_bits: the key bits each FLASH_CRYPT_CONFIG bit tweaks.
constexpr U256 kTweakRange[4] = {
    {0xFFFFFFFFFFFFFFFF, 0xE000000000000000, 0x0000000000000000, 0x0000000000000000},
    {0x0000000000000000, 0x1FFFFFFFFFFFFFFF, 0xF000000000000000, 0x0000000000000000},
    {0x0000000000000000, 0x0000000000000000, 0x0FFFFFFFFFFFFFFF, 0xE000000000000000},
    {0x0000000000000000, 0x0000000000000000, 0x0000000000000000, 0x1FFFFFFFFFFFFFFF},
};
// espsecure mul1, mul2 and mul2_mask ("forward bit order masks").
constexpr U256 kMul1 = {0x0000200004000080, 0x0000040000800010, 0x0000020000400008, 0x0000040000800010};
constexpr U256 kMul2 = {0x0000000000000000, 0x2000000000000000, 0x1000000000000000, 0x2000000000000001};
constexpr U256 kMul2Mask = {0x000000000000007F, 0xE00000000000000F, 0xF000000000000007, 0xE00000000000000F};

// value * factor modulo 2^256: espsecure multiplies unbounded Python integers but masks the
// product with a 256-bit tweak range, which drops exactly the bits above 2^256.
U256 times(const U256& value, uint32_t factor) {
  U256 out{};
  uint64_t carry = 0;
  for (int i = 3; i >= 0; --i) {
    // 32-bit halves keep every partial product within 64 bits.
    const uint64_t lo = (value[i] & 0xFFFFFFFFu) * factor + carry;
    const uint64_t hi = (value[i] >> 32) * factor + (lo >> 32);
    out[i] = (hi << 32) | (lo & 0xFFFFFFFFu);
    carry = hi >> 32;
  }
  return out;
}

Status check_alignment(uint32_t address, size_t length) {
  if (address % 16 != 0)
    return fail("flashcrypt.address", "Starting flash address 0x{:x} must be a multiple of 16.", address);
  if (length % 16 != 0) return fail("flashcrypt.length", "Data length is not a multiple of 16 bytes.");
  return {};
}

}  // namespace

Result<LegacyFlashCrypt> LegacyFlashCrypt::from_key_file_bytes(const SecretBytes& key, uint32_t flash_crypt_conf) {
  const size_t len = key.size();
  if (len != 16 && len != 24 && len != 32 && len != 64)
    return fail("flashcrypt.key_length", "Key file contains wrong length ({} bytes), 16, 24, 32 or 64 expected.", len);
  if (len != 24 && len != 32)
    return fail("flashcrypt.key_length",
                "ESP32 supports only 192 and 256-bit keys. Provided key is {} bits. Use --aes_xts for other chips.",
                len * 8);
  if (flash_crypt_conf > 0xF)
    return fail("flashcrypt.crypt_conf", "FLASH_CRYPT_CONFIG is a 4-bit eFuse; 0x{:x} does not fit", flash_crypt_conf);
  SecretBytes full(32);
  const ByteSpan raw = key.expose();
  std::copy(raw.begin(), raw.end(), full.expose_mutable().begin());
  // 3/4 coding scheme: the hardware repeats key bytes 8..15 (espsecure _load_hardware_key).
  if (len == 24) std::copy(raw.begin() + 8, raw.begin() + 16, full.expose_mutable().begin() + 24);
  return LegacyFlashCrypt(std::move(full), flash_crypt_conf, len == 24);
}

SecretBytes LegacyFlashCrypt::tweaked_key(uint32_t address) const {
  const uint32_t block = address >> 5;
  const U256 a = times(kMul1, block);
  const U256 b = times(kMul2, block);
  SecretBytes out = key_.clone();
  const MutableByteSpan bytes = out.expose_mutable();
  for (size_t limb = 0; limb < 4; ++limb) {
    uint64_t range = 0;
    for (int bit = 0; bit < 4; ++bit)
      if (conf_ & (1u << bit)) range |= kTweakRange[bit][limb];
    const uint64_t tweak = (a[limb] | (b[limb] & kMul2Mask[limb])) & range;
    for (size_t i = 0; i < 8; ++i) bytes[limb * 8 + i] ^= static_cast<uint8_t>(tweak >> (56 - 8 * i));
  }
  return out;
}

Status LegacyFlashCrypt::encrypt(uint32_t address, ByteSpan in, MutableByteSpan out) const {
  return transform(true, address, in, out);
}

Status LegacyFlashCrypt::decrypt(uint32_t address, ByteSpan in, MutableByteSpan out) const {
  return transform(false, address, in, out);
}

Status LegacyFlashCrypt::transform(bool encrypt, uint32_t address, ByteSpan in, MutableByteSpan out) const {
  ESPSEC_TRY(check_alignment(address, in.size()));
  if (out.size() < in.size()) return fail("flashcrypt.buffer", "output buffer too small");
  if (static_cast<uint64_t>(address) + in.size() > (uint64_t{1} << 32))
    return fail("flashcrypt.range", "data runs past the 4 GiB flash address space");
  // Flash encryption runs AES backwards: encrypting flash is an AES decryption.
  const auto direction = encrypt ? crypto::Direction::kDecrypt : crypto::Direction::kEncrypt;
  std::array<uint8_t, 16> block{};
  std::array<uint8_t, 16> result{};
  SecretBytes key;
  for (size_t done = 0; done < in.size(); done += 16) {
    const uint32_t here = address + static_cast<uint32_t>(done);
    if (done == 0 || here % 32 == 0) key = tweaked_key(here);
    std::reverse_copy(in.begin() + static_cast<std::ptrdiff_t>(done),
                      in.begin() + static_cast<std::ptrdiff_t>(done + 16), block.begin());
    ESPSEC_TRY(crypto::aes_ecb_block(direction, key, block, result));
    std::reverse_copy(result.begin(), result.end(), out.begin() + static_cast<std::ptrdiff_t>(done));
  }
  secure_wipe(block);
  secure_wipe(result);
  return {};
}

size_t pad_with_random(Bytes& data, Rng& rng) {
  const size_t pad = (16 - data.size() % 16) % 16;
  const size_t old = data.size();
  data.resize(old + pad);
  rng.fill(MutableByteSpan(data).subspan(old));
  return pad;
}

}  // namespace espsec::flashcrypt
