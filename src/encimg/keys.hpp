// Keys of the two pre-encrypted image schemes and how the 32-byte AES-256-GCM key travels in
// the 384-byte key block (storage-and-OTA fact sheet 4.1; esp_encrypted_img.c decipher_gcm_key,
// derive_gcm_key, compute_ecc_key_with_hmac; esp_enc_img_gen.py encrypt).
//
//   RSA-3072:   key block = RSAES-PKCS1-v1_5 encryption of the AES key (not OAEP).
//   ECIES-P256: device scalar d = PBKDF2-HMAC-SHA256(password = 32-byte HMAC_UP eFuse key,
//               fixed salt, 2048 iterations, 32 bytes) read big-endian; the image carries a
//               fresh server point Q and salt; AES key = HKDF-SHA256(IKM = x(d*Q),
//               salt, info "_esp_enc_img_ecc", 32).
#pragma once

#include <array>

#include "core/bytes.hpp"
#include "core/error.hpp"
#include "core/rng.hpp"
#include "core/secret.hpp"
#include "crypto/pkey.hpp"
#include "encimg/container.hpp"

namespace espsec::encimg {

enum class Scheme { kRsa3072, kEciesP256 };
const char* scheme_name(Scheme scheme);  // "RSA-3072", "ECIES-P256"

inline constexpr size_t kHmacKeySize = 32;

// The device private key of the ECIES scheme, derived from the HMAC_UP eFuse key exactly as
// the device's HMAC peripheral does it. "encimg.hmac_key_size" for a key that is not 32
// bytes, "encimg.hmac_key_scalar" when the derived scalar is not in 1..n-1 (the device
// refuses such a key; esp_enc_img_gen.py draws another).
[[nodiscard]] Result<crypto::PrivateKey> derive_ecies_device_key(const SecretBytes& hmac_key);

// What the build server holds: the device's RSA-3072 public key or its P-256 public key.
class EncryptionKey {
 public:
  // "encimg.key_type" for keys of other types or curves, "encimg.rsa_size" for RSA keys that
  // are not 3072 bits (the device accepts only a 384-byte key block).
  [[nodiscard]] static Result<EncryptionKey> from_public_key(crypto::PublicKey key);
  Scheme scheme() const { return scheme_; }
  const crypto::PublicKey& public_key() const { return key_; }

 private:
  EncryptionKey(Scheme scheme, crypto::PublicKey key) : scheme_(scheme), key_(std::move(key)) {}
  Scheme scheme_;
  crypto::PublicKey key_;
};

// A fresh AES key and the key block that carries it to the device.
struct WrappedKey {
  SecretBytes aes_key;  // 32 bytes
  std::array<uint8_t, kKeyBlockSize> key_block{};
};
// The AES key, the ECIES ephemeral scalar and the salt come from `rng` (RSA padding bytes come
// from OpenSSL's own generator).
[[nodiscard]] Result<WrappedKey> wrap_new_key(const EncryptionKey& key, Rng& rng);

// What the device holds: its RSA-3072 private key, or the ECIES device key (derived from the
// HMAC key, or given as a P-256 private key as esp_enc_img_gen.py decrypt takes it).
class DecryptionKey {
 public:
  [[nodiscard]] static Result<DecryptionKey> from_private_key(crypto::PrivateKey key);
  [[nodiscard]] static Result<DecryptionKey> from_hmac_key(const SecretBytes& hmac_key);

  Scheme scheme() const { return scheme_; }
  crypto::PublicKey public_key() const { return key_.public_key(); }

  // The AES key the key block carries. Errors: "encimg.unwrap" (RSA: the block does not
  // decrypt under this key, or not to 32 bytes: wrong key or corrupted block),
  // "encimg.key_agreement" (ECIES: the server point is not on P-256).
  // An ECIES block made for another device yields a key that fails later at the GCM tag.
  [[nodiscard]] Result<SecretBytes> recover_aes_key(const std::array<uint8_t, kKeyBlockSize>& key_block) const;

 private:
  DecryptionKey(Scheme scheme, crypto::PrivateKey key) : scheme_(scheme), key_(std::move(key)) {}
  Scheme scheme_;
  crypto::PrivateKey key_;
};

}  // namespace espsec::encimg
