// AES modes over OpenSSL EVP: XTS (flash encryption, NVS encryption), GCM (pre-encrypted
// images, protocomm Security 2), CTR (protocomm Security 1) and single-block ECB (the legacy
// ESP32 flash-encryption scheme builds its own tweak around it).
#pragma once

#include <memory>

#include "core/bytes.hpp"
#include "core/error.hpp"
#include "core/secret.hpp"

namespace espsec::crypto {

// AES-XTS (IEEE 1619). Key = data key || tweak key: 32 bytes for AES-128-XTS, 64 for
// AES-256-XTS. Each call processes one data unit (at least 16 bytes) under a 16-byte tweak.
class AesXts {
 public:
  [[nodiscard]] static Result<AesXts> create(const SecretBytes& key);
  AesXts(AesXts&&) noexcept;
  AesXts& operator=(AesXts&&) noexcept;
  ~AesXts();

  [[nodiscard]] Status encrypt(ByteSpan tweak, ByteSpan in, MutableByteSpan out);
  [[nodiscard]] Status decrypt(ByteSpan tweak, ByteSpan in, MutableByteSpan out);
  int key_bits() const { return key_bits_; }  // 128 or 256

 private:
  struct Impl;
  AesXts(std::unique_ptr<Impl> impl, int key_bits);
  std::unique_ptr<Impl> impl_;
  int key_bits_;
};

// AES-CTR keystream over a 16-byte initial counter block; key 16, 24 or 32 bytes.
class AesCtr {
 public:
  [[nodiscard]] static Result<AesCtr> create(const SecretBytes& key, ByteSpan counter_block);
  AesCtr(AesCtr&&) noexcept;
  AesCtr& operator=(AesCtr&&) noexcept;
  ~AesCtr();
  // Encryption and decryption are the same operation; `out` must be in.size() long.
  [[nodiscard]] Status apply(ByteSpan in, MutableByteSpan out);

 private:
  struct Impl;
  explicit AesCtr(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

enum class Direction { kEncrypt, kDecrypt };

// Streaming AES-GCM; key 16, 24 or 32 bytes, any IV length OpenSSL accepts (12 typical).
class AesGcm {
 public:
  [[nodiscard]] static Result<AesGcm> create(Direction dir, const SecretBytes& key, ByteSpan iv);
  AesGcm(AesGcm&&) noexcept;
  AesGcm& operator=(AesGcm&&) noexcept;
  ~AesGcm();

  [[nodiscard]] Status add_aad(ByteSpan aad);  // before any update()
  [[nodiscard]] Status update(ByteSpan in, MutableByteSpan out);
  [[nodiscard]] Result<Bytes> finish_encrypt(size_t tag_len = 16);
  // Fails with "crypto.gcm_tag" when the data or tag was altered.
  [[nodiscard]] Status finish_decrypt(ByteSpan tag);

 private:
  struct Impl;
  explicit AesGcm(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct GcmSealed {
  Bytes ciphertext;
  Bytes tag;
};
[[nodiscard]] Result<GcmSealed> gcm_seal(const SecretBytes& key, ByteSpan iv, ByteSpan aad,
                                         ByteSpan plaintext, size_t tag_len = 16);
[[nodiscard]] Result<Bytes> gcm_open(const SecretBytes& key, ByteSpan iv, ByteSpan aad,
                                     ByteSpan ciphertext, ByteSpan tag);

// One 16-byte block of raw AES (key 16, 24 or 32 bytes).
[[nodiscard]] Status aes_ecb_block(Direction dir, const SecretBytes& key, ByteSpan in16,
                                   MutableByteSpan out16);

}  // namespace espsec::crypto
