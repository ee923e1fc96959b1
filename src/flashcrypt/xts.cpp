#include "flashcrypt/xts.hpp"

#include <algorithm>
#include <array>
#include <cstring>

#include "crypto/hash.hpp"

namespace espsec::flashcrypt {
namespace {

// dst = the 128 bytes of src in reverse order, eight bytes at a time (the hot loop of every
// whole data unit).
void reverse_unit(const uint8_t* src, uint8_t* dst) {
  for (size_t word = 0; word < kXtsUnit / 8; ++word) {
    uint64_t w;
    std::memcpy(&w, src + 8 * word, 8);
    w = __builtin_bswap64(w);
    std::memcpy(dst + kXtsUnit - 8 * (word + 1), &w, 8);
  }
}

}  // namespace

Result<FlashXts> FlashXts::from_key_file_bytes(const SecretBytes& key) {
  if (key.size() == 16) {
    auto stretched = crypto::sha256(key.expose());
    SecretBytes full = SecretBytes::copy_of(stretched);
    secure_wipe(stretched);
    ESPSEC_ASSIGN_OR_RETURN(auto xts, crypto::AesXts::create(full));
    return FlashXts(std::move(xts), true);
  }
  if (key.size() == 24)
    return fail("flashcrypt.key_length", "AES_XTS supports only 128, 256, and 512-bit keys. Provided key is 192 bits.");
  if (key.size() != 32 && key.size() != 64)
    return fail("flashcrypt.key_length", "Key file contains wrong length ({} bytes), 16, 24, 32 or 64 expected.",
                key.size());
  ESPSEC_ASSIGN_OR_RETURN(auto xts, crypto::AesXts::create(key));
  return FlashXts(std::move(xts), false);
}

Status FlashXts::encrypt(uint32_t address, ByteSpan in, MutableByteSpan out) {
  return transform(true, address, in, out);
}

Status FlashXts::decrypt(uint32_t address, ByteSpan in, MutableByteSpan out) {
  return transform(false, address, in, out);
}

Status FlashXts::check_range(uint32_t address, size_t length) {
  // Wording of espsecure's _flash_encryption_operation_aes_xts.
  if (address % 16 != 0)
    return fail("flashcrypt.address", "Starting flash address 0x{:x} must be a multiple of 16.", address);
  if (length % 16 != 0) return fail("flashcrypt.length", "Input data length ({}) must be a multiple of 16.", length);
  if (static_cast<uint64_t>(address) + length > (uint64_t{1} << 32))
    return fail("flashcrypt.range", "data runs past the 4 GiB flash address space");
  return {};
}

Status FlashXts::transform(bool encrypt, uint32_t address, ByteSpan in, MutableByteSpan out) {
  ESPSEC_TRY(check_range(address, in.size()));
  if (out.size() < in.size()) return fail("flashcrypt.buffer", "output buffer too small");

  std::array<uint8_t, kXtsUnit> unit{};
  std::array<uint8_t, kXtsUnit> result{};
  std::array<uint8_t, 16> tweak{};
  size_t done = 0;
  while (done < in.size()) {
    const uint32_t here = address + static_cast<uint32_t>(done);
    const uint32_t unit_base = here & ~(kXtsUnit - 1);
    const size_t offset_in_unit = here - unit_base;
    const size_t n = std::min<size_t>(kXtsUnit - offset_in_unit, in.size() - done);
    const bool whole_unit = n == kXtsUnit;
    // reverse(unit) puts unit byte i at position 127 - i; padding bytes stay zero.
    if (whole_unit) {
      reverse_unit(in.data() + done, unit.data());
    } else {
      unit.fill(0);
      for (size_t i = 0; i < n; ++i) unit[kXtsUnit - 1 - (offset_in_unit + i)] = in[done + i];
    }
    store_le32(tweak.data(), unit_base);
    auto status = encrypt ? xts_.encrypt(tweak, unit, result) : xts_.decrypt(tweak, unit, result);
    if (!status) return status;
    if (whole_unit) {
      reverse_unit(result.data(), out.data() + done);
    } else {
      for (size_t i = 0; i < n; ++i) out[done + i] = result[kXtsUnit - 1 - (offset_in_unit + i)];
    }
    done += n;
  }
  secure_wipe(unit);
  secure_wipe(result);
  return {};
}

}  // namespace espsec::flashcrypt
