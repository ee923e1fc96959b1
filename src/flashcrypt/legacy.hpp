// ESP32 (original chip) flash encryption: AES-256 with a key tweaked per 32-byte flash block,
// as `espsecure encrypt-flash-data` / `decrypt-flash-data` without --aes-xts compute it
// (espsecure/__init__.py v5.1: _flash_encryption_tweak_range_bits, _flash_encryption_tweak_key,
// _flash_encryption_operation_esp32). Boot-chain fact sheet 3.2.
//
//   key K (256 bits, the key file read as a big-endian integer; a 24-byte 3/4-coding key is
//   extended to 32 bytes as key || key[8:16])
//   for the 32-byte flash block at address A (A multiple of 32):
//     a = A >> 5
//     K_A = K xor (((mul1 * a) | ((mul2 * a) & mul2_mask)) & tweak_range(FLASH_CRYPT_CONFIG))
//   each 16-byte block at address B in [A, A + 32):
//     ciphertext = reverse(AES-256-Decrypt(K_A, reverse(plaintext)))   (the cipher runs
//     "inverted": encrypting flash uses AES decryption, and decrypting uses AES encryption)
//
// FLASH_CRYPT_CONFIG bit i enables the tweak for one quarter of the key bits (0xF = all).
#pragma once

#include <array>
#include <cstdint>

#include "core/bytes.hpp"
#include "core/error.hpp"
#include "core/rng.hpp"
#include "core/secret.hpp"

namespace espsec::flashcrypt {

class LegacyFlashCrypt {
 public:
  // A key as espsecure reads it without --aes-xts: 32 bytes, or 24 bytes (3/4 coding scheme,
  // extended). Errors "flashcrypt.key_length" with espsecure's wording; "flashcrypt.crypt_conf"
  // when flash_crypt_conf does not fit the 4-bit eFuse.
  [[nodiscard]] static Result<LegacyFlashCrypt> from_key_file_bytes(const SecretBytes& key, uint32_t flash_crypt_conf);

  // `address` and the data length must be multiples of 16 (16-byte AES blocks at flash
  // addresses); `out` at least as long as `in`. In place (in == out) is allowed.
  [[nodiscard]] Status encrypt(uint32_t address, ByteSpan in, MutableByteSpan out) const;
  [[nodiscard]] Status decrypt(uint32_t address, ByteSpan in, MutableByteSpan out) const;

  // The 256-bit AES key used for the 32-byte flash block holding `address`.
  SecretBytes tweaked_key(uint32_t address) const;

  bool key_extended() const { return extended_; }  // a 24-byte key was extended

 private:
  LegacyFlashCrypt(SecretBytes key, uint32_t conf, bool extended)
      : key_(std::move(key)), conf_(conf), extended_(extended) {}
  Status transform(bool encrypt, uint32_t address, ByteSpan in, MutableByteSpan out) const;
  SecretBytes key_;  // 32 bytes, big-endian as read from the key file (after extension)
  uint32_t conf_;
  bool extended_;
};

// espsecure encrypts a plaintext whose length is not a multiple of 16 after padding it with
// random bytes; returns how many it added (0 when already aligned).
size_t pad_with_random(Bytes& data, Rng& rng);

}  // namespace espsec::flashcrypt
