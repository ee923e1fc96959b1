// The crypto facade against keys and signatures made by espsecure and openssl.
#include <gtest/gtest.h>

#include "crypto/hash.hpp"
#include "crypto/pkey.hpp"
#include "test_util.hpp"

namespace espsec::crypto {
namespace {

TEST(KeyInterop, TraditionalPemReEncodesByteForByte) {
  ESPSEC_REQUIRE_VECTORS();
  for (const char* name : {"rsa3072_a", "rsa3072_b", "ecdsa192_a", "ecdsa256_a", "ecdsa384_a"}) {
    const Bytes pem = test::read_vector(std::string("secure/keys/") + name + ".pem");
    auto key = PrivateKey::load(pem);
    ASSERT_TRUE(key) << name;
    const auto again = key->to_pem_traditional();
    EXPECT_EQ(Bytes(again.expose().begin(), again.expose().end()), pem) << name;
    EXPECT_EQ(key->public_key().to_pem(), test::read_vector(std::string("secure/keys/") + name + ".pub.pem")) << name;
  }
}

TEST(KeyInterop, Pkcs8PrivateKeyLoads) {
  ESPSEC_REQUIRE_VECTORS();
  auto key = PrivateKey::load(test::read_vector("secure/esptool/ecdsa256_secure_boot_signing_key_pkcs8.pem"));
  ASSERT_TRUE(key);
  EXPECT_EQ(key->curve(), Curve::kP256);
}

TEST(KeyInterop, MontgomeryConstantOfEsptoolKey) {
  ESPSEC_REQUIRE_VECTORS();
  auto key = PrivateKey::load(test::read_vector("secure/esptool/rsa_secure_boot_signing_key.pem"));
  ASSERT_TRUE(key);
  auto mont = rsa_montgomery(key->public_key().rsa_modulus());
  ASSERT_TRUE(mont);
  EXPECT_EQ(mont->m_prime, 0x86191D7Du);  // boot-chain fact sheet 2.3
}

TEST(SignatureInterop, OpensslSignaturesVerify) {
  ESPSEC_REQUIRE_VECTORS();
  const Bytes data = test::read_vector("secure/sign/fixed_8KiB.bin");
  const auto d256 = sha256(data);
  const auto d384 = digest(HashAlg::kSha384, data);
  auto rsa = PublicKey::load(test::read_vector("secure/keys/rsa3072_a.pub.pem"));
  auto p256 = PublicKey::load(test::read_vector("secure/keys/ecdsa256_a.pub.pem"));
  auto p384 = PublicKey::load(test::read_vector("secure/keys/ecdsa384_a.pub.pem"));
  auto p192 = PublicKey::load(test::read_vector("secure/keys/ecdsa192_a.pub.pem"));
  ASSERT_TRUE(rsa && p256 && p384 && p192);
  EXPECT_TRUE(verify_digest(*rsa, SignatureScheme::kRsaPssSha256, d256,
                            test::read_vector("secure/sign/fixed_8KiB.rsa3072.sig.bin")));
  EXPECT_TRUE(verify_digest(*p256, SignatureScheme::kEcdsaSha256, d256,
                            test::read_vector("secure/sign/fixed_8KiB.ecdsa256.sig.der")));
  EXPECT_TRUE(verify_digest(*p384, SignatureScheme::kEcdsaSha384, d384,
                            test::read_vector("secure/sign/fixed_8KiB.ecdsa384.sig.der")));
  EXPECT_TRUE(verify_digest(*p192, SignatureScheme::kEcdsaSha256, d256,
                            test::read_vector("secure/sign/fixed_8KiB.ecdsa192.sig.der")));
  EXPECT_FALSE(verify_digest(*p256, SignatureScheme::kEcdsaSha256, d256,
                             test::read_vector("secure/sign/fixed_8KiB.ecdsa192.sig.der")));
}

}  // namespace
}  // namespace espsec::crypto
