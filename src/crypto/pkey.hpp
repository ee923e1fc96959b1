// Asymmetric keys and the operations espsec needs on them: RSA-PSS and ECDSA over a digest,
// RSA encryption (PKCS#1 v1.5 and OAEP), ECDH and X25519 key agreement. Keys load from PEM
// (traditional or PKCS#8), DER, and never prompt for a password.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "core/bytes.hpp"
#include "core/error.hpp"
#include "core/secret.hpp"

typedef struct evp_pkey_st EVP_PKEY;

namespace espsec::crypto {

enum class KeyKind { kRsa, kEc, kX25519, kOther };
enum class Curve { kP192, kP256, kP384 };

size_t curve_field_bytes(Curve curve);  // 24, 32, 48
const char* curve_name(Curve curve);    // "P-256"

class PrivateKey;

class PublicKey {
 public:
  // SubjectPublicKeyInfo or PKCS#1 RSAPublicKey, PEM or DER.
  [[nodiscard]] static Result<PublicKey> load(ByteSpan data);
  [[nodiscard]] static Result<PublicKey> from_rsa(ByteSpan modulus_be, ByteSpan exponent_be);
  // `point` = 04 || X || Y (uncompressed SEC1).
  [[nodiscard]] static Result<PublicKey> from_ec_point(Curve curve, ByteSpan point);
  [[nodiscard]] static Result<PublicKey> from_x25519(ByteSpan raw32);

  KeyKind kind() const;
  std::optional<Curve> curve() const;  // for EC keys on a supported curve
  int bits() const;

  Bytes rsa_modulus() const;   // big-endian, bits()/8 bytes (RSA only, else empty)
  Bytes rsa_exponent() const;  // big-endian, minimal
  Bytes ec_point() const;      // uncompressed 04 || X || Y (EC only, else empty)
  Bytes x25519_raw() const;    // 32 bytes (X25519 only, else empty)

  Bytes to_pem() const;  // SubjectPublicKeyInfo PEM
  Bytes to_der() const;  // SubjectPublicKeyInfo DER
  bool equals(const PublicKey& other) const;

  EVP_PKEY* native() const { return key_.get(); }
  explicit PublicKey(std::shared_ptr<EVP_PKEY> key) : key_(std::move(key)) {}

 private:
  std::shared_ptr<EVP_PKEY> key_;
};

class PrivateKey {
 public:
  // PEM (traditional "RSA/EC PRIVATE KEY" or PKCS#8) or DER; unencrypted only.
  [[nodiscard]] static Result<PrivateKey> load(ByteSpan data);
  [[nodiscard]] static Result<PrivateKey> generate_rsa(int bits);
  [[nodiscard]] static Result<PrivateKey> generate_ec(Curve curve);
  [[nodiscard]] static Result<PrivateKey> generate_x25519();
  // Big-endian scalar of field size; the public point is derived.
  [[nodiscard]] static Result<PrivateKey> ec_from_scalar(Curve curve, const SecretBytes& scalar);
  [[nodiscard]] static Result<PrivateKey> x25519_from_raw(const SecretBytes& raw32);

  KeyKind kind() const;
  std::optional<Curve> curve() const;
  int bits() const;
  PublicKey public_key() const;

  // The encodings a key file holds. Traditional = what espsecure writes.
  SecretBytes to_pem_traditional() const;
  SecretBytes to_pem_pkcs8() const;

  EVP_PKEY* native() const { return key_.get(); }
  explicit PrivateKey(std::shared_ptr<EVP_PKEY> key) : key_(std::move(key)) {}

 private:
  std::shared_ptr<EVP_PKEY> key_;
};

// Signatures over an already computed digest (the message hash).
//   kRsaPssSha256: RSASSA-PSS, SHA-256, MGF1-SHA-256, salt 32; raw big-endian signature.
//   kEcdsaSha256 / kEcdsaSha384: ECDSA; signature DER-encoded (r, s).
enum class SignatureScheme { kRsaPssSha256, kEcdsaSha256, kEcdsaSha384 };

[[nodiscard]] Result<Bytes> sign_digest(const PrivateKey& key, SignatureScheme scheme, ByteSpan digest);
// False for any signature that does not verify, including malformed ones.
bool verify_digest(const PublicKey& key, SignatureScheme scheme, ByteSpan digest, ByteSpan signature);

// Conversions between a DER ECDSA signature and fixed-size big-endian r and s.
struct EcdsaRs {
  Bytes r;  // big-endian, exactly field_len bytes
  Bytes s;
};
[[nodiscard]] Result<EcdsaRs> ecdsa_der_to_rs(ByteSpan der, size_t field_len);
[[nodiscard]] Result<Bytes> ecdsa_rs_to_der(ByteSpan r_be, ByteSpan s_be);

enum class RsaPadding { kPkcs1v15, kOaepSha1, kOaepSha256 };
[[nodiscard]] Result<Bytes> rsa_encrypt(const PublicKey& key, RsaPadding padding, ByteSpan plaintext);
[[nodiscard]] Result<SecretBytes> rsa_decrypt(const PrivateKey& key, RsaPadding padding, ByteSpan ciphertext);

// ECDH (same curve) or X25519 shared secret.
[[nodiscard]] Result<SecretBytes> derive_shared_secret(const PrivateKey& mine, const PublicKey& peer);

// Montgomery constants the ESP RSA hardware needs next to the modulus (Secure Boot v2 blocks):
// R^2 mod n with R = 2^bits(n), big-endian, and m' = -n^-1 mod 2^32.
struct RsaMontgomery {
  Bytes r_squared;  // big-endian, same length as n
  uint32_t m_prime = 0;
};
[[nodiscard]] Result<RsaMontgomery> rsa_montgomery(ByteSpan modulus_be);

}  // namespace espsec::crypto
