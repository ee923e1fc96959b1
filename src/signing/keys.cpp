#include "signing/keys.hpp"

#include <string_view>

namespace espsec::signing {
namespace {

// The same refusal for a private or a public key; wording from espsecure v5.1.
template <class Key>
Status check_sbv2_key(const Key& key, const char* unsupported) {
  switch (key.kind()) {
    case crypto::KeyKind::kRsa:
      if (key.bits() != 3072)
        return fail("signing.key_size", "Key file has length {} bits. Secure boot v2 only supports RSA-3072.",
                    key.bits());
      return {};
    case crypto::KeyKind::kEc:
      if (!key.curve())
        return fail("signing.key_curve",
                    "Key file uses incorrect curve. Secure Boot V2 + ECDSA only supports NIST192p, NIST256p, "
                    "NIST384p (aka prime192v1 / secp192r1, prime256v1 / secp256r1, secp384r1).");
      return {};
    default:
      return fail("signing.key_type", "{}", unsupported);
  }
}

bool holds_private_pem(ByteSpan file) {
  const std::string_view text = as_chars(file);
  return text.find("-----BEGIN RSA PRIVATE KEY") != std::string_view::npos ||
         text.find("-----BEGIN EC PRIVATE KEY") != std::string_view::npos ||
         text.find("-----BEGIN PRIVATE KEY") != std::string_view::npos;
}

}  // namespace

Result<crypto::PrivateKey> load_signing_key(ByteSpan key_file) {
  auto key = crypto::PrivateKey::load(key_file);
  if (!key) return fail("signing.key_parse", "Could not load the signing key: {}.", key.error().message);
  ESPSEC_TRY(check_sbv2_key(*key, "Unsupported signing key for Secure Boot V2."));
  return key;
}

Result<crypto::PublicKey> load_verification_key(ByteSpan key_file) {
  if (holds_private_pem(key_file)) {
    ESPSEC_ASSIGN_OR_RETURN(auto key, load_signing_key(key_file));
    return key.public_key();
  }
  auto pub = crypto::PublicKey::load(key_file);
  if (!pub) {
    // A DER private key: espsecure reads PEM only, espsec also takes DER.
    if (auto priv = crypto::PrivateKey::load(key_file)) {
      ESPSEC_TRY(check_sbv2_key(*priv, "Unsupported signing key for Secure Boot V2."));
      return priv->public_key();
    }
    return fail("signing.key_parse",
                "Verification key does not appear to be an RSA Private or Public key in PEM format. Unsupported.");
  }
  ESPSEC_TRY(check_sbv2_key(*pub, "Unsupported public key for Secure Boot V2."));
  return pub;
}

Result<Bytes> secure_boot_v1_public_key(ByteSpan key_file) {
  auto key = crypto::PrivateKey::load(key_file);
  if (!key || key->kind() != crypto::KeyKind::kEc)
    return fail("signing.key_parse", "Incorrect ECDSA private key specified. Please check algorithm and/or format.");
  if (key->curve() != crypto::Curve::kP256)
    return fail("signing.key_curve",
                "Signing key uses incorrect curve. ESP32 Secure Boot only supports NIST256p (openssl calls this "
                "curve 'prime256v1').");
  const Bytes point = key->public_key().ec_point();  // 04 || X || Y
  if (point.size() != 65) return fail("signing.key_point", "the P-256 public key point has an unexpected encoding");
  return Bytes(point.begin() + 1, point.end());
}

sbv2::Scheme scheme_of(const crypto::PublicKey& key) {
  // Both loaders admit only keys scheme_for_key accepts.
  return sbv2::scheme_for_key(key).value_or(sbv2::Scheme::kRsa3072);
}

const char* key_type_word(const crypto::PublicKey& key) {
  return key.kind() == crypto::KeyKind::kRsa ? "RSA" : "ECDSA";
}

}  // namespace espsec::signing
