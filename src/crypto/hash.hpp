// Message digests, HMAC, HKDF and constant-time comparison over OpenSSL EVP.
#pragma once

#include <array>
#include <cstdint>
#include <memory>

#include "core/bytes.hpp"
#include "core/error.hpp"
#include "core/secret.hpp"

namespace espsec::crypto {

enum class HashAlg { kMd5, kSha1, kSha256, kSha384, kSha512 };

size_t digest_size(HashAlg alg);
const char* hash_name(HashAlg alg);  // "SHA-256"

using Sha256Digest = std::array<uint8_t, 32>;

// Streaming digest. Movable, not copyable.
class Hasher {
 public:
  explicit Hasher(HashAlg alg);
  Hasher(Hasher&&) noexcept;
  Hasher& operator=(Hasher&&) noexcept;
  ~Hasher();

  Hasher& update(ByteSpan data);
  // An independent hasher in the same state: digests of a prefix and of the whole stream
  // from one pass over the data.
  Hasher clone() const;
  // Returns the digest and resets the hasher for reuse with the same algorithm.
  Bytes finish();
  HashAlg alg() const { return alg_; }

 private:
  struct Impl;
  HashAlg alg_;
  std::unique_ptr<Impl> impl_;
};

Bytes digest(HashAlg alg, ByteSpan data);
Sha256Digest sha256(ByteSpan data);

Bytes hmac(HashAlg alg, const SecretBytes& key, ByteSpan data);
Bytes hmac_sha256(const SecretBytes& key, ByteSpan data);

// RFC 5869 HKDF (extract then expand).
[[nodiscard]] Result<SecretBytes> hkdf(HashAlg alg, const SecretBytes& ikm, ByteSpan salt,
                                       ByteSpan info, size_t length);

// PBKDF2-HMAC (RFC 8018).
[[nodiscard]] Result<SecretBytes> pbkdf2_hmac(HashAlg alg, ByteSpan password, ByteSpan salt,
                                              uint32_t iterations, size_t length);

// Constant time in the contents; lengths are public.
bool constant_time_equal(ByteSpan a, ByteSpan b);

}  // namespace espsec::crypto
