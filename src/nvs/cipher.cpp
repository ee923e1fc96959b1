#include "nvs/cipher.hpp"

#include <algorithm>
#include <array>

#include "nvs/format.hpp"

namespace espsec::nvs {

Result<EntryCipher> EntryCipher::create(const Keys& keys) {
  ESPSEC_ASSIGN_OR_RETURN(auto xts, crypto::AesXts::create(keys.xts_key()));
  return EntryCipher(std::move(xts));
}

Status EntryCipher::encrypt(uint32_t address, ByteSpan in, MutableByteSpan out) {
  return run(Dir::kEncrypt, address, in, out);
}

Status EntryCipher::decrypt(uint32_t address, ByteSpan in, MutableByteSpan out) {
  return run(Dir::kDecrypt, address, in, out);
}

Status EntryCipher::run(Dir dir, uint32_t address, ByteSpan in, MutableByteSpan out) {
  if (in.size() % kEntrySize != 0 || address % kEntrySize != 0 || out.size() < in.size())
    return fail("nvs.cipher_length", "NVS encryption works on whole 32-byte entries (got {} bytes at 0x{:x})",
                in.size(), address);
  std::array<uint8_t, 16> tweak{};
  std::array<uint8_t, kEntrySize> unit;
  for (size_t off = 0; off < in.size(); off += kEntrySize) {
    store_le32(tweak.data(), address + static_cast<uint32_t>(off));
    std::copy_n(in.begin() + static_cast<std::ptrdiff_t>(off), kEntrySize, unit.begin());
    MutableByteSpan dst = out.subspan(off, kEntrySize);
    if (dir == Dir::kEncrypt) {
      ESPSEC_TRY(xts_.encrypt(tweak, unit, dst));
    } else {
      ESPSEC_TRY(xts_.decrypt(tweak, unit, dst));
    }
  }
  secure_wipe(unit);
  return {};
}

}  // namespace espsec::nvs
