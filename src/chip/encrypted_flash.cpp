#include "chip/encrypted_flash.hpp"

#include <algorithm>

#include "core/secret.hpp"

namespace espsec::chip {
namespace {

constexpr uint32_t kBlock = 16;  // the flash-encryption engine's write granularity

}  // namespace

Status EncryptedFlash::read(uint32_t address, MutableByteSpan out) {
  ESPSEC_TRY(check_range(size(), address, out.size(), "read"));
  if (out.empty()) return {};
  // Whole blocks around the range; the flash size is a multiple of 16, so they stay inside.
  const uint32_t start = address & ~(kBlock - 1);
  const uint64_t end = align_up(uint64_t{address} + out.size(), kBlock);
  // A block-aligned range (every image load) is decrypted where it lands, without copies.
  if (start == address && end == uint64_t{address} + out.size()) {
    ESPSEC_TRY(raw_.read(address, out));
    return xts_.decrypt(address, out, out);
  }
  Bytes cipher(static_cast<size_t>(end - start));
  ESPSEC_TRY(raw_.read(start, cipher));
  Bytes plain(cipher.size());
  ESPSEC_TRY(xts_.decrypt(start, cipher, plain));
  std::copy_n(plain.begin() + (address - start), out.size(), out.begin());
  secure_wipe(plain);
  return {};
}

Status EncryptedFlash::program(uint32_t address, ByteSpan data) {
  if (address % kBlock != 0 || data.size() % kBlock != 0)
    return fail("flash.encrypted_unaligned",
                "encrypted flash write at 0x{:x} of {} bytes: address and length must be multiples of 16", address,
                data.size());
  ESPSEC_TRY(check_range(size(), address, data.size(), "program"));
  if (data.empty()) return {};
  Bytes cipher(data.size());
  ESPSEC_TRY(xts_.encrypt(address, data, cipher));
  return raw_.program(address, cipher);
}

}  // namespace espsec::chip
