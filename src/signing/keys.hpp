// Secure Boot v2 key files as espsecure reads them: which keys a signer or verifier accepts,
// and the sentence it gives for each key it refuses (espsecure/__init__.py v5.1,
// _load_sbv2_signing_key, _load_sbv2_pub_key, _get_sbv2_pub_key).
//
// Accepted: RSA-3072, ECDSA on P-192, P-256 or P-384. Files: PEM (traditional or PKCS#8,
// SubjectPublicKeyInfo for public keys) and, beyond espsecure, the same keys in DER.
#pragma once

#include "core/bytes.hpp"
#include "core/error.hpp"
#include "crypto/pkey.hpp"
#include "format/sbv2.hpp"

namespace espsec::signing {

// A private key for sign-data / extract-public-key. Errors: "signing.key_parse" (not a key),
// "signing.key_size" (RSA other than 3072 bits), "signing.key_curve" (EC on another curve),
// "signing.key_type" (Ed25519, X25519, DSA, ...).
[[nodiscard]] Result<crypto::PrivateKey> load_signing_key(ByteSpan key_file);

// The public half of a private or public key file, for verify-signature, --pub-key and
// digest-sbv2-public-key. Same error codes as load_signing_key.
[[nodiscard]] Result<crypto::PublicKey> load_verification_key(ByteSpan key_file);

// Secure Boot v1 (ESP32) public key as `extract-public-key --version 1` writes it: the raw
// 64-byte X || Y, big-endian, of a P-256 private key. Errors "signing.key_parse",
// "signing.key_curve".
[[nodiscard]] Result<Bytes> secure_boot_v1_public_key(ByteSpan key_file);

// The Secure Boot v2 scheme of a key already accepted by one of the loaders.
sbv2::Scheme scheme_of(const crypto::PublicKey& key);

// "RSA" or "ECDSA": the word espsecure prints in its block lines.
const char* key_type_word(const crypto::PublicKey& key);

}  // namespace espsec::signing
