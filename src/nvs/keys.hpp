// NVS encryption keys: the XTS-AES-256 key (data key eky || tweak key tky) and the two ways a
// device gets it (ESP-IDF nvs_api.cpp nvs_flash_read_security_cfg, nvs_sec_provider.c).
//
// nvs_keys partition (plain text; on the chip it sits under flash encryption, so callers pass
// the decrypted bytes):
//
//   +0    32  eky   XTS data key
//   +32   32  tky   XTS tweak key
//   +64   u32 crc   NVS CRC (crc32_le(0xFFFFFFFF)) over bytes 0..63
//   +68   ...       FF up to 4096
//
// HMAC scheme (nvs_sec_provider): eky = HMAC-SHA256(K, 5a5abeae x 8), tky = HMAC-SHA256(K,
// a5a5dece x 8) with K the 32-byte eFuse key of purpose HMAC_UP.
#pragma once

#include <cstddef>

#include "core/bytes.hpp"
#include "core/error.hpp"
#include "core/rng.hpp"
#include "core/secret.hpp"

namespace espsec::nvs {

inline constexpr size_t kXtsKeySize = 64;
inline constexpr size_t kKeysPartitionSize = 4096;
inline constexpr size_t kHmacKeySize = 32;

class Keys {
 public:
  // 64 bytes eky || tky. OpenSSL (and therefore this tool) refuses XTS with equal halves.
  [[nodiscard]] static Result<Keys> from_xts_key(SecretBytes key);
  // A whole nvs_keys partition image (4096 bytes of plain text) with a valid CRC.
  [[nodiscard]] static Result<Keys> parse_partition(ByteSpan image);
  // nvs_sec_provider derivation from the 32-byte HMAC_UP eFuse key.
  [[nodiscard]] static Result<Keys> derive_from_hmac_key(const SecretBytes& hmac_key);
  [[nodiscard]] static Result<Keys> generate(Rng& rng);

  Keys(Keys&&) noexcept = default;
  Keys& operator=(Keys&&) noexcept = default;
  [[nodiscard]] Keys clone() const { return Keys(key_.clone()); }

  const SecretBytes& xts_key() const { return key_; }
  // The 4096-byte nvs_keys partition image holding these keys.
  SecretBytes partition_image() const;

 private:
  explicit Keys(SecretBytes key) : key_(std::move(key)) {}
  SecretBytes key_;
};

}  // namespace espsec::nvs
