#include "encimg/keys.hpp"

#include <algorithm>

#include "crypto/hash.hpp"

namespace espsec::encimg {
namespace {

// esp_encrypted_img.c pbkdf2_salt / esp_enc_img_gen.py PREDEFINED_SALT, ITERATIONS.
constexpr std::array<uint8_t, 32> kPbkdf2Salt = {
    0x0e, 0x21, 0x60, 0x64, 0x2d, 0xae, 0x76, 0xd3, 0x34, 0x48, 0xe4, 0x3d, 0x77, 0x20, 0x12, 0x3d,
    0x9f, 0x3b, 0x1e, 0xce, 0xb8, 0x8e, 0x57, 0x3a, 0x4e, 0x8f, 0x7f, 0xb9, 0x4f, 0xf0, 0xc8, 0x69};
constexpr uint32_t kPbkdf2Iterations = 2048;
// HKDF info without its NUL (esp_encrypted_img_priv.h HKDF_INFO_SIZE = 16).
constexpr std::string_view kHkdfInfo = "_esp_enc_img_ecc";
// A fresh 32-byte string is a valid P-256 scalar with probability 1 - 2^-32; a bounded retry
// keeps a broken generator from looping forever.
constexpr int kEphemeralAttempts = 64;

Result<SecretBytes> ecies_aes_key(const crypto::PrivateKey& mine, const crypto::PublicKey& peer, ByteSpan salt) {
  ESPSEC_ASSIGN_OR_RETURN(SecretBytes shared, crypto::derive_shared_secret(mine, peer));
  return crypto::hkdf(crypto::HashAlg::kSha256, shared, salt, as_bytes(kHkdfInfo), kAesKeySize);
}

Result<Scheme> scheme_of(crypto::KeyKind kind, std::optional<crypto::Curve> curve, int bits) {
  if (kind == crypto::KeyKind::kRsa) {
    if (bits != 3072)
      return fail("encimg.rsa_size", "the RSA key is {} bits; pre-encrypted images need RSA-3072 "
                  "(the device reads a 384-byte key block)", bits);
    return Scheme::kRsa3072;
  }
  if (kind == crypto::KeyKind::kEc && curve == crypto::Curve::kP256) return Scheme::kEciesP256;
  return fail("encimg.key_type", "the key is neither RSA-3072 nor EC P-256, the two pre-encrypted image schemes");
}

}  // namespace

const char* scheme_name(Scheme scheme) {
  return scheme == Scheme::kRsa3072 ? "RSA-3072" : "ECIES-P256";
}

Result<crypto::PrivateKey> derive_ecies_device_key(const SecretBytes& hmac_key) {
  if (hmac_key.size() != kHmacKeySize)
    return fail("encimg.hmac_key_size", "the HMAC key is {} bytes; an eFuse HMAC_UP key is {} bytes",
                hmac_key.size(), kHmacKeySize);
  ESPSEC_ASSIGN_OR_RETURN(SecretBytes scalar, crypto::pbkdf2_hmac(crypto::HashAlg::kSha256, hmac_key.expose(),
                                                                  kPbkdf2Salt, kPbkdf2Iterations, 32));
  auto key = crypto::PrivateKey::ec_from_scalar(crypto::Curve::kP256, scalar);
  if (!key && key.error().code == "crypto.ec_scalar")
    return fail("encimg.hmac_key_scalar", "this HMAC key derives an invalid P-256 scalar; the device "
                "refuses it, use another key");
  return key;
}

Result<EncryptionKey> EncryptionKey::from_public_key(crypto::PublicKey key) {
  ESPSEC_ASSIGN_OR_RETURN(Scheme scheme, scheme_of(key.kind(), key.curve(), key.bits()));
  return EncryptionKey(scheme, std::move(key));
}

Result<WrappedKey> wrap_new_key(const EncryptionKey& key, Rng& rng) {
  WrappedKey out;
  if (key.scheme() == Scheme::kRsa3072) {
    out.aes_key = rng.secret(kAesKeySize);
    ESPSEC_ASSIGN_OR_RETURN(Bytes wrapped,
                            crypto::rsa_encrypt(key.public_key(), crypto::RsaPadding::kPkcs1v15, out.aes_key.expose()));
    if (wrapped.size() != kKeyBlockSize)
      return fail("encimg.rsa_size", "RSA produced {} bytes; the key block is {}", wrapped.size(), kKeyBlockSize);
    std::copy(wrapped.begin(), wrapped.end(), out.key_block.begin());
    return out;
  }
  for (int attempt = 0; attempt < kEphemeralAttempts; ++attempt) {
    auto ephemeral = crypto::PrivateKey::ec_from_scalar(crypto::Curve::kP256, rng.secret(32));
    if (!ephemeral) {
      if (ephemeral.error().code == "crypto.ec_scalar") continue;
      return std::unexpected(ephemeral.error());
    }
    EccKeyBlock block;
    const Bytes point = ephemeral->public_key().ec_point();  // 04 || X || Y
    if (point.size() != 1 + kServerPointSize)
      return fail("encimg.key_agreement", "unexpected P-256 point encoding of {} bytes", point.size());
    std::copy(point.begin() + 1, point.end(), block.server_point.begin());
    rng.fill(block.salt);
    ESPSEC_ASSIGN_OR_RETURN(out.aes_key, ecies_aes_key(*ephemeral, key.public_key(), block.salt));
    out.key_block = ecc_key_block_bytes(block);
    return out;
  }
  return fail("encimg.rng", "the random generator produced no valid P-256 scalar in {} attempts", kEphemeralAttempts);
}

Result<DecryptionKey> DecryptionKey::from_private_key(crypto::PrivateKey key) {
  ESPSEC_ASSIGN_OR_RETURN(Scheme scheme, scheme_of(key.kind(), key.curve(), key.bits()));
  return DecryptionKey(scheme, std::move(key));
}

Result<DecryptionKey> DecryptionKey::from_hmac_key(const SecretBytes& hmac_key) {
  ESPSEC_ASSIGN_OR_RETURN(crypto::PrivateKey key, derive_ecies_device_key(hmac_key));
  return DecryptionKey(Scheme::kEciesP256, std::move(key));
}

Result<SecretBytes> DecryptionKey::recover_aes_key(const std::array<uint8_t, kKeyBlockSize>& key_block) const {
  if (scheme_ == Scheme::kRsa3072) {
    auto unwrapped = crypto::rsa_decrypt(key_, crypto::RsaPadding::kPkcs1v15, key_block);
    if (!unwrapped)
      return fail("encimg.unwrap", "the AES key does not unwrap with this RSA key: wrong key or corrupted key block");
    // The device reads at most 32 bytes into its key buffer and fails otherwise.
    if (unwrapped->size() != kAesKeySize)
      return fail("encimg.unwrap", "the key block unwraps to {} bytes instead of {}: wrong key or corrupted key block",
                  unwrapped->size(), kAesKeySize);
    return std::move(*unwrapped);
  }
  const EccKeyBlock block = ecc_key_block(key_block);
  Bytes point(1 + kServerPointSize);
  point[0] = 0x04;
  std::copy(block.server_point.begin(), block.server_point.end(), point.begin() + 1);
  auto server = crypto::PublicKey::from_ec_point(crypto::Curve::kP256, point);
  if (!server)
    return fail("encimg.key_agreement", "the server public key in the header is not a point on P-256 "
                "(corrupted header or not an ECIES image)");
  return ecies_aes_key(key_, *server, block.salt);
}

}  // namespace espsec::encimg
