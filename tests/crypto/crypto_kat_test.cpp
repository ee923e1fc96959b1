// Known-answer tests for the primitives, from their standards.
#include <gtest/gtest.h>

#include "core/bytes.hpp"
#include "crypto/aes.hpp"
#include "crypto/crc32.hpp"
#include "crypto/hash.hpp"
#include "crypto/pkey.hpp"
#include "crypto/random.hpp"
#include "test_util.hpp"

namespace espsec::crypto {
namespace {

using test::hex;

SecretBytes key_hex(std::string_view h) { return SecretBytes::copy_of(hex(h)); }

TEST(HashKat, Sha256AndSha384OfAbcMatchFips180) {
  EXPECT_EQ(to_hex(sha256(as_bytes("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(to_hex(digest(HashAlg::kSha384, as_bytes("abc"))),
            "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
            "8086072ba1e7cc2358baeca134c825a7");
}

TEST(HashKat, StreamingEqualsOneShotAndResets) {
  Hasher h(HashAlg::kSha256);
  h.update(as_bytes("a")).update(as_bytes("bc"));
  EXPECT_EQ(to_hex(h.finish()), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  h.update(as_bytes("abc"));
  EXPECT_EQ(to_hex(h.finish()), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(HashKat, CloneDigestsThePrefixWhileTheOriginalContinues) {
  Hasher h(HashAlg::kSha256);
  h.update(as_bytes("ab"));
  Hasher prefix = h.clone();
  h.update(as_bytes("c"));
  EXPECT_EQ(to_hex(prefix.finish()), to_hex(sha256(as_bytes("ab"))));
  EXPECT_EQ(to_hex(h.finish()), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(HashKat, HmacSha256MatchesRfc4231Case2) {
  EXPECT_EQ(to_hex(hmac_sha256(SecretBytes::copy_of(as_bytes("Jefe")),
                               as_bytes("what do ya want for nothing?"))),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(HashKat, HkdfSha256MatchesRfc5869Case1) {
  auto okm = hkdf(HashAlg::kSha256, key_hex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"),
                  hex("000102030405060708090a0b0c"), hex("f0f1f2f3f4f5f6f7f8f9"), 42);
  ASSERT_TRUE(okm);
  EXPECT_EQ(to_hex(okm->expose()),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
}

TEST(HashKat, Pbkdf2Sha256MatchesRfc7914) {
  auto dk = pbkdf2_hmac(HashAlg::kSha256, as_bytes("passwd"), as_bytes("salt"), 1, 64);
  ASSERT_TRUE(dk);
  EXPECT_EQ(to_hex(dk->expose()),
            "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
            "49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783");
}

TEST(HashKat, ConstantTimeEqualComparesContentAndLength) {
  EXPECT_TRUE(constant_time_equal(hex("0102"), hex("0102")));
  EXPECT_FALSE(constant_time_equal(hex("0102"), hex("0103")));
  EXPECT_FALSE(constant_time_equal(hex("0102"), hex("010203")));
}

TEST(Crc32, ZipAndEspRomConventions) {
  EXPECT_EQ(crc32_le(0, as_bytes("123456789")), 0xCBF43926u);
  EXPECT_EQ(crc32_le(0xFFFFFFFF, as_bytes("123456789")), 0xD202D277u);
  EXPECT_EQ(crc32_le(0xFFFFFFFF, {}), 0xFFFFFFFFu);
}

// IEEE 1619-2007 Annex B vectors 2 and 3 (data unit sequence number 0x3333333333).
TEST(AesXtsKat, Ieee1619Vectors2And3) {
  const Bytes tweak = hex("33333333330000000000000000000000");
  const Bytes plain = hex("4444444444444444444444444444444444444444444444444444444444444444");
  struct Case { const char* key; const char* cipher; } cases[] = {
      {"1111111111111111111111111111111122222222222222222222222222222222",
       "c454185e6a16936e39334038acef838bfb186fff7480adc4289382ecd6d394f0"},
      {"fffefdfcfbfaf9f8f7f6f5f4f3f2f1f022222222222222222222222222222222",
       "af85336b597afc1a900b2eb21ec949d292df4c047e0b21532186a5971a227a89"},
  };
  for (const auto& c : cases) {
    auto xts = AesXts::create(key_hex(c.key));
    ASSERT_TRUE(xts);
    EXPECT_EQ(xts->key_bits(), 128);
    Bytes out(plain.size());
    ASSERT_TRUE(xts->encrypt(tweak, plain, out));
    EXPECT_EQ(to_hex(out), c.cipher);
    Bytes back(out.size());
    ASSERT_TRUE(xts->decrypt(tweak, out, back));
    EXPECT_EQ(back, plain);
  }
}

TEST(AesXtsKat, RejectsBadKeyAndTweakLengths) {
  EXPECT_FALSE(AesXts::create(SecretBytes(48)));
  auto xts = AesXts::create(key_hex("1111111111111111111111111111111122222222222222222222222222222222"));
  ASSERT_TRUE(xts);
  Bytes out(32);
  EXPECT_FALSE(xts->encrypt(hex("00"), Bytes(32), out));
  EXPECT_FALSE(xts->encrypt(Bytes(16), Bytes(8), out));
}

// NIST SP 800-38A F.5.1 (CTR-AES128.Encrypt, block 1).
TEST(AesCtrKat, Sp80038aF51) {
  auto ctr = AesCtr::create(key_hex("2b7e151628aed2a6abf7158809cf4f3c"), hex("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"));
  ASSERT_TRUE(ctr);
  const Bytes plain = hex("6bc1bee22e409f96e93d7e117393172a");
  Bytes out(16);
  ASSERT_TRUE(ctr->apply(plain, out));
  EXPECT_EQ(to_hex(out), "874d6191b620e3261bef6864990db6ce");
}

// McGrew & Viega GCM test case 2.
TEST(AesGcmKat, GcmSpecCase2AndTamperDetection) {
  const auto key = key_hex("00000000000000000000000000000000");
  const Bytes iv = hex("000000000000000000000000");
  auto sealed = gcm_seal(key, iv, {}, hex("00000000000000000000000000000000"));
  ASSERT_TRUE(sealed);
  EXPECT_EQ(to_hex(sealed->ciphertext), "0388dace60b6a392f328c2b971b2fe78");
  EXPECT_EQ(to_hex(sealed->tag), "ab6e47d42cec13bdf53a67b21257bddf");
  auto opened = gcm_open(key, iv, {}, sealed->ciphertext, sealed->tag);
  ASSERT_TRUE(opened);
  EXPECT_EQ(*opened, hex("00000000000000000000000000000000"));
  sealed->ciphertext[3] ^= 1;
  auto bad = gcm_open(key, iv, {}, sealed->ciphertext, sealed->tag);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, "crypto.gcm_tag");
}

// FIPS 197 Appendix C.1.
TEST(AesEcbKat, Fips197C1) {
  Bytes out(16);
  ASSERT_TRUE(aes_ecb_block(Direction::kEncrypt, key_hex("000102030405060708090a0b0c0d0e0f"),
                            hex("00112233445566778899aabbccddeeff"), out));
  EXPECT_EQ(to_hex(out), "69c4e0d86a7b0430d8cdb78070b4c55a");
  Bytes back(16);
  ASSERT_TRUE(aes_ecb_block(Direction::kDecrypt, key_hex("000102030405060708090a0b0c0d0e0f"), out, back));
  EXPECT_EQ(to_hex(back), "00112233445566778899aabbccddeeff");
}

// RFC 7748 section 6.1.
TEST(X25519Kat, Rfc7748SharedSecret) {
  auto alice = PrivateKey::x25519_from_raw(key_hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"));
  ASSERT_TRUE(alice);
  EXPECT_EQ(to_hex(alice->public_key().x25519_raw()),
            "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  auto bob_pub = PublicKey::from_x25519(hex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"));
  ASSERT_TRUE(bob_pub);
  auto shared = derive_shared_secret(*alice, *bob_pub);
  ASSERT_TRUE(shared);
  EXPECT_EQ(to_hex(shared->expose()), "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
}

TEST(EcKat, ScalarOneGivesTheP256Generator) {
  SecretBytes one(32);
  one.expose_mutable()[31] = 1;
  auto key = PrivateKey::ec_from_scalar(Curve::kP256, one);
  ASSERT_TRUE(key);
  EXPECT_EQ(to_hex(key->public_key().ec_point()),
            "04"
            "6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296"
            "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5");
  EXPECT_FALSE(PrivateKey::ec_from_scalar(Curve::kP256, SecretBytes(32)));
}

TEST(EcKat, RejectsPointNotOnCurve) {
  Bytes point(65, 0);
  point[0] = 4;
  point[64] = 7;
  auto key = PublicKey::from_ec_point(Curve::kP256, point);
  ASSERT_FALSE(key);
  EXPECT_EQ(key.error().code, "crypto.ec_point");
}

TEST(Signatures, EcdsaSignVerifyAndDerRoundTrip) {
  for (Curve curve : {Curve::kP192, Curve::kP256, Curve::kP384}) {
    auto key = PrivateKey::generate_ec(curve);
    ASSERT_TRUE(key);
    const auto scheme = curve == Curve::kP384 ? SignatureScheme::kEcdsaSha384 : SignatureScheme::kEcdsaSha256;
    const Bytes digest_bytes = digest(curve == Curve::kP384 ? HashAlg::kSha384 : HashAlg::kSha256, as_bytes("m"));
    auto sig = sign_digest(*key, scheme, digest_bytes);
    ASSERT_TRUE(sig);
    EXPECT_TRUE(verify_digest(key->public_key(), scheme, digest_bytes, *sig));
    auto rs = ecdsa_der_to_rs(*sig, curve_field_bytes(curve));
    ASSERT_TRUE(rs);
    auto der = ecdsa_rs_to_der(rs->r, rs->s);
    ASSERT_TRUE(der);
    EXPECT_EQ(*der, *sig);
    Bytes wrong = digest_bytes;
    wrong[0] ^= 1;
    EXPECT_FALSE(verify_digest(key->public_key(), scheme, wrong, *sig));
  }
}

TEST(Signatures, RsaPssSignVerifyAndEncryptionRoundTrips) {
  auto key = PrivateKey::generate_rsa(2048);
  ASSERT_TRUE(key);
  const auto d = sha256(as_bytes("m"));
  auto sig = sign_digest(*key, SignatureScheme::kRsaPssSha256, d);
  ASSERT_TRUE(sig);
  EXPECT_EQ(sig->size(), 256u);
  EXPECT_TRUE(verify_digest(key->public_key(), SignatureScheme::kRsaPssSha256, d, *sig));
  EXPECT_FALSE(verify_digest(key->public_key(), SignatureScheme::kEcdsaSha256, d, *sig));
  for (RsaPadding padding : {RsaPadding::kPkcs1v15, RsaPadding::kOaepSha1, RsaPadding::kOaepSha256}) {
    auto ct = rsa_encrypt(key->public_key(), padding, as_bytes("secret"));
    ASSERT_TRUE(ct);
    auto pt = rsa_decrypt(*key, padding, *ct);
    ASSERT_TRUE(pt);
    EXPECT_EQ(as_chars(pt->expose()), "secret");
  }
}

TEST(Keys, PemRoundTripsAndGarbageIsRejected) {
  auto key = PrivateKey::generate_ec(Curve::kP256);
  ASSERT_TRUE(key);
  const auto pem = key->to_pem_traditional();
  EXPECT_NE(as_chars(pem.expose()).find("BEGIN EC PRIVATE KEY"), std::string_view::npos);
  auto again = PrivateKey::load(pem.expose());
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->public_key().equals(key->public_key()));
  auto pub = PublicKey::load(key->public_key().to_pem());
  ASSERT_TRUE(pub);
  EXPECT_TRUE(pub->equals(key->public_key()));
  EXPECT_FALSE(PrivateKey::load(as_bytes("-----BEGIN EC PRIVATE KEY-----\ngarbage\n")));
  EXPECT_FALSE(PublicKey::load(pem.expose())) << "a public-key loader must not accept a private key";
  EXPECT_FALSE(PublicKey::load({}));
}

TEST(Random, DeterministicRngRepeatsPerSeed) {
  DeterministicRng a(7), b(7), c(8);
  EXPECT_EQ(a.bytes(100), b.bytes(100));
  EXPECT_NE(a.bytes(32), c.bytes(32));
  SystemRng sys;
  EXPECT_NE(sys.bytes(32), sys.bytes(32));
}

}  // namespace
}  // namespace espsec::crypto
