// ESP flash encryption, XTS-AES flavour (ESP32-S2/S3/C3/C6/H2/C2): what the chip's cache applies
// to flash contents and what `espsecure encrypt-flash-data --aes-xts` produces.
//
//   flash address A ......................................................
//   |<- 128-byte data unit at U = A & ~0x7F ->|<- unit U + 0x80 ->| ...
//   tweak(U) = LE32(U) || 12 x 00
//   ciphertext unit = reverse(XTS-AES-Encrypt(key, tweak(U), reverse(plaintext unit)))
//
// Partial units at either end behave as if zero-padded: each 16-byte block of a unit is
// independent once the tweak and block index are fixed. (Boot-chain fact sheet 3.1.)
#pragma once

#include <cstdint>

#include "core/bytes.hpp"
#include "core/error.hpp"
#include "core/secret.hpp"
#include "crypto/aes.hpp"

namespace espsec::flashcrypt {

inline constexpr uint32_t kXtsUnit = 128;

class FlashXts {
 public:
  // A key as espsecure reads it from a key file: 32 bytes = AES-128-XTS, 64 = AES-256-XTS,
  // 16 = AES-128-XTS with SHA-256(key) as the 32-byte key. Other lengths are refused.
  [[nodiscard]] static Result<FlashXts> from_key_file_bytes(const SecretBytes& key);

  // The checks encrypt() and decrypt() make before any work: `address` and `length` multiples of
  // 16 (as the hardware and espsecure require), the range inside the 4 GiB address space.
  [[nodiscard]] static Status check_range(uint32_t address, size_t length);

  // `address` and data length must be multiples of 16 (as the hardware and espsecure require).
  // `in` and `out` may be the same buffer (each 128-byte unit is read before it is written).
  [[nodiscard]] Status encrypt(uint32_t address, ByteSpan in, MutableByteSpan out);
  [[nodiscard]] Status decrypt(uint32_t address, ByteSpan in, MutableByteSpan out);

  int key_bits() const { return xts_.key_bits(); }
  bool key_extended() const { return extended_; }  // a 16-byte key was stretched with SHA-256

 private:
  FlashXts(crypto::AesXts xts, bool extended) : xts_(std::move(xts)), extended_(extended) {}
  Status transform(bool encrypt, uint32_t address, ByteSpan in, MutableByteSpan out);
  crypto::AesXts xts_;
  bool extended_;
};

}  // namespace espsec::flashcrypt
