#include "signing/keys.hpp"

#include <gtest/gtest.h>

#include "signing/signing_test_util.hpp"
#include "test_util.hpp"

namespace espsec::signing {
namespace {

using espsec::test::read_vector;

TEST(SigningKeys, EveryVectorKeyLoadsAndGivesItsDigest) {
  ESPSEC_REQUIRE_VECTORS();
  for (const char* name : {"rsa3072_a", "rsa3072_b", "rsa3072_c", "ecdsa192_a", "ecdsa256_a", "ecdsa384_a"}) {
    const std::string base = std::string("secure/keys/") + name;
    auto signing = load_signing_key(read_vector(base + ".pem"));
    ASSERT_TRUE(signing) << name;
    const Bytes expected = read_vector(base + ".digest.bin");
    for (const std::string& file : {base + ".pem", base + ".pub.pem"}) {
      auto key = load_verification_key(read_vector(file));
      ASSERT_TRUE(key) << file;
      auto digest = sbv2::key_digest(*key);
      ASSERT_TRUE(digest);
      EXPECT_EQ(Bytes(digest->begin(), digest->end()), expected) << file;
    }
    // extract-public-key --version 2 output, byte for byte.
    EXPECT_EQ(signing->public_key().to_pem(), read_vector(base + ".pub.pem")) << name;
  }
}

TEST(SigningKeys, EsptoolKeyDigestsIncludingPkcs8) {
  ESPSEC_REQUIRE_VECTORS();
  struct Case { const char* file; const char* digest; } cases[] = {
      {"rsa_secure_boot_signing_key.pem", "cb2791a371b0c0322bf7370478ba0962224cab1cf2287879e429673e7da84463"},
      {"rsa_secure_boot_signing_key2.pem", "901a7409238d52d4cbf96f563fb3f4296dabd66a33f53b15eecd8cb3e7ec45d3"},
      {"rsa_secure_boot_signing_key3.pem", "27919392d68bab79286a26759143a5b1d599efcebd754e5703b5dd23b5e3dd3b"},
      {"rsa_secure_boot_signing_key4.pem", "736a94d37cc7f85d393d2fe0f0040f23fd13481f89d17234f2d735005fd199d9"},
      {"rsa_secure_boot_signing_pubkey4.pem", "736a94d37cc7f85d393d2fe0f0040f23fd13481f89d17234f2d735005fd199d9"},
      {"ecdsa192_secure_boot_signing_key2.pem", "c3149c0f462fe8fa91498ff80b852767c83f042bbc6517a6f481bee56b1d3aaa"},
      {"ecdsa192_secure_boot_signing_key_v2.pem", "1e3d151696ca7f22a6e88bd527a03b3b5b9516162a4f32801af78c4a20f75fe9"},
      {"ecdsa256_secure_boot_signing_key_pkcs8.pem", "f35cc5dbdde67f94a7bbcb5723371ba91822193582308f84cb95b4531219056d"},
      {"ecdsa256_secure_boot_signing_key_v2.pem", "bf0f6af68bd36d8b53b3daa933f60a04901b65877e35ea57da735e99b271a744"},
      {"ecdsa256_secure_boot_signing_pubkey2.pem", "716eea788455201eee3f0718945e3aac27b42fe338f51b1403cd8e77962b9386"},
      {"ecdsa384_secure_boot_signing_key2.pem", "33359a939871a30dd4c6dd6ae6e2bbad40781f650b9408b0072c7f7e028f1288"},
  };
  for (const auto& c : cases) {
    auto key = load_verification_key(read_vector(std::string("secure/esptool/") + c.file));
    ASSERT_TRUE(key) << c.file;
    EXPECT_EQ(to_hex(*sbv2::key_digest(*key)), c.digest) << c.file;
  }
}

TEST(SigningKeys, DerEncodingsLoadToo) {
  ESPSEC_REQUIRE_VECTORS();
  auto pem = load_signing_key(read_vector("secure/keys/ecdsa384_a.pem"));
  ASSERT_TRUE(pem);
  const Bytes spki_der = pem->public_key().to_der();
  auto from_der = load_verification_key(spki_der);
  ASSERT_TRUE(from_der);
  EXPECT_TRUE(from_der->equals(pem->public_key()));
}

TEST(SigningKeys, SecureBootV1PublicKeyIsRawBigEndianPoint) {
  ESPSEC_REQUIRE_VECTORS();
  auto raw = secure_boot_v1_public_key(read_vector("secure/esptool/ecdsa256_secure_boot_signing_key.pem"));
  ASSERT_TRUE(raw);
  EXPECT_EQ(*raw, read_vector("secure/esptool/ecdsa256_secure_boot_signing_pubkey_raw.bin"));
  auto p384 = secure_boot_v1_public_key(read_vector("secure/keys/ecdsa384_a.pem"));
  ASSERT_FALSE(p384);
  EXPECT_EQ(p384.error().code, "signing.key_curve");
  EXPECT_EQ(secure_boot_v1_public_key(read_vector("secure/keys/rsa3072_a.pem")).error().code, "signing.key_parse");
}

TEST(SigningKeys, RefusesKeysSecureBootV2CannotUse) {
  struct Case { const char* kind; const char* code; const char* private_message; const char* public_message; } cases[] = {
      {"rsa2048", "signing.key_size", "Key file has length 2048 bits. Secure boot v2 only supports RSA-3072.",
       "Key file has length 2048 bits. Secure boot v2 only supports RSA-3072."},
      {"p521", "signing.key_curve",
       "Key file uses incorrect curve. Secure Boot V2 + ECDSA only supports NIST192p, NIST256p, NIST384p (aka "
       "prime192v1 / secp192r1, prime256v1 / secp256r1, secp384r1).",
       "Key file uses incorrect curve. Secure Boot V2 + ECDSA only supports NIST192p, NIST256p, NIST384p (aka "
       "prime192v1 / secp192r1, prime256v1 / secp256r1, secp384r1)."},
      {"ed25519", "signing.key_type", "Unsupported signing key for Secure Boot V2.",
       "Unsupported public key for Secure Boot V2."},
      {"x25519", "signing.key_type", "Unsupported signing key for Secure Boot V2.",
       "Unsupported public key for Secure Boot V2."},
  };
  for (const auto& c : cases) {
    const auto pems = test::foreign_key(c.kind);
    auto signing = load_signing_key(pems.private_pem);
    ASSERT_FALSE(signing) << c.kind;
    EXPECT_EQ(signing.error().code, c.code) << c.kind;
    EXPECT_EQ(signing.error().message, c.private_message) << c.kind;
    auto from_private = load_verification_key(pems.private_pem);
    ASSERT_FALSE(from_private) << c.kind;
    EXPECT_EQ(from_private.error().message, c.private_message) << c.kind;
    auto from_public = load_verification_key(pems.public_pem);
    ASSERT_FALSE(from_public) << c.kind;
    EXPECT_EQ(from_public.error().code, c.code) << c.kind;
    EXPECT_EQ(from_public.error().message, c.public_message) << c.kind;
  }
}

TEST(SigningKeys, RefusesGarbledAndEmptyFiles) {
  const Bytes garbled = Bytes(as_bytes("-----BEGIN RSA PRIVATE KEY-----\nnot base64 at all\n-----END RSA PRIVATE KEY-----\n").begin(),
                              as_bytes("-----BEGIN RSA PRIVATE KEY-----\nnot base64 at all\n-----END RSA PRIVATE KEY-----\n").end());
  for (const Bytes& file : {garbled, Bytes{}, Bytes(100, 0x42)}) {
    auto signing = load_signing_key(file);
    ASSERT_FALSE(signing);
    EXPECT_EQ(signing.error().code, "signing.key_parse");
    auto verification = load_verification_key(file);
    ASSERT_FALSE(verification);
    EXPECT_EQ(verification.error().code, "signing.key_parse");
  }
  EXPECT_EQ(load_verification_key(Bytes(100, 0x42)).error().message,
            "Verification key does not appear to be an RSA Private or Public key in PEM format. Unsupported.");
}

}  // namespace
}  // namespace espsec::signing
