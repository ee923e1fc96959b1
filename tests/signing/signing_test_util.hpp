// Helpers shared by the signing tests: vector keys, and a verifier that uses OpenSSL directly
// (not espsec's crypto facade) to prove a block holds a standard signature over the data.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.hpp"
#include "crypto/pkey.hpp"
#include "signing/sector.hpp"
#include "test_util.hpp"

namespace espsec::signing::test {

// Collects the progress lines a signing function reports.
struct Log {
  std::vector<std::string> lines;
  Report sink() {
    return [this](std::string_view l) { lines.emplace_back(l); };
  }
};

// keys/<name>.pem or keys/<name>.pub.pem from the vectors.
crypto::PrivateKey vector_private_key(const std::string& name);
crypto::PublicKey vector_public_key(const std::string& name);

// True when `block` (1216 bytes) carries a signature by the PEM public key over `data`,
// checked with OpenSSL's EVP_DigestVerify over the data itself: RSA-PSS-SHA256 (MGF1-SHA256,
// salt 32) or ECDSA with SHA-256 / SHA-384.
bool openssl_verifies_block(ByteSpan public_key_pem, ByteSpan block, ByteSpan data);

// The block at slot `index` of the signature sector that ends `image`.
Bytes sector_block(ByteSpan image, size_t index);

// Keys Secure Boot v2 refuses, made with OpenSSL: "rsa2048", "p521", "ed25519", "x25519".
struct PemPair {
  Bytes private_pem;  // PKCS#8
  Bytes public_pem;   // SubjectPublicKeyInfo
};
PemPair foreign_key(const std::string& kind);

}  // namespace espsec::signing::test
