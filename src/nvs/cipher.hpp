// NVS entry encryption (ESP-IDF nvs_encrypted_partition.cpp): XTS-AES-256, one data unit per
// 32-byte entry, tweak = the entry's address relative to the partition start as a u32 LE in
// bytes 0..3 of the 16-byte tweak (bytes 4..15 zero). Headers and bitmaps are never encrypted.
#pragma once

#include <cstdint>

#include "core/bytes.hpp"
#include "core/error.hpp"
#include "crypto/aes.hpp"
#include "nvs/keys.hpp"

namespace espsec::nvs {

class EntryCipher {
 public:
  [[nodiscard]] static Result<EntryCipher> create(const Keys& keys);

  // `in` is one or more whole entries starting at relative address `address` (a multiple of
  // 32); entry k is processed under the tweak of address + 32k. `out` may alias `in`.
  [[nodiscard]] Status encrypt(uint32_t address, ByteSpan in, MutableByteSpan out);
  [[nodiscard]] Status decrypt(uint32_t address, ByteSpan in, MutableByteSpan out);

 private:
  explicit EntryCipher(crypto::AesXts xts) : xts_(std::move(xts)) {}
  enum class Dir { kEncrypt, kDecrypt };
  Status run(Dir dir, uint32_t address, ByteSpan in, MutableByteSpan out);
  crypto::AesXts xts_;
};

}  // namespace espsec::nvs
