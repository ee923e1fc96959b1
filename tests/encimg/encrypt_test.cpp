// Key handling of both schemes and host-side encryption: our images decrypt with our streaming
// decryptor and have the reference tool's layout wherever the format is deterministic.
#include "encimg/encrypt.hpp"

#include <gtest/gtest.h>

#include "crypto/aes.hpp"
#include "crypto/hash.hpp"
#include "crypto/random.hpp"
#include "encimg/decryptor.hpp"
#include "test_util.hpp"

namespace espsec::encimg {
namespace {

EncryptionKey public_key(const char* vector) {
  auto pk = crypto::PublicKey::load(test::read_vector(vector));
  EXPECT_TRUE(pk);
  auto key = EncryptionKey::from_public_key(std::move(*pk));
  EXPECT_TRUE(key) << key.error().message;
  return std::move(*key);
}

DecryptionKey rsa_private() {
  auto pk = crypto::PrivateKey::load(test::read_vector("encrypted_img/rsa3072_private.pem"));
  EXPECT_TRUE(pk);
  return DecryptionKey::from_private_key(std::move(*pk)).value();
}

DecryptionKey hmac_key() {
  return DecryptionKey::from_hmac_key(SecretBytes::copy_of(test::read_vector("encrypted_img/device_hmac_key.bin"))).value();
}

Result<Bytes> decrypt_all(ByteSpan image, DecryptionKey key, size_t chunk) {
  ImageDecryptor dec(std::move(key));
  Bytes out;
  for (size_t at = 0; at < image.size(); at += chunk) ESPSEC_TRY(dec.feed(image.subspan(at, std::min(chunk, image.size() - at)), out));
  ESPSEC_TRY(dec.finish());
  return out;
}

Bytes pattern(size_t n) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(i * 31 + 7);
  return b;
}

// The device key derived from the HMAC key is the one esp_enc_img_gen.py --generate_ecc_key wrote.
TEST(EncImgKeys, HmacKeyDerivesTheReferenceDeviceKey) {
  ESPSEC_REQUIRE_VECTORS();
  const Bytes hmac = test::read_vector("encrypted_img/device_hmac_key.bin");
  EXPECT_EQ(to_hex(crypto::sha256(hmac)), "e747f362dea100cd419d09be44101bed757ff4093340c5bde6efe4b644f59ed1");
  auto derived = derive_ecies_device_key(SecretBytes::copy_of(hmac));
  ASSERT_TRUE(derived) << derived.error().message;
  auto expected_pub = crypto::PublicKey::load(test::read_vector("encrypted_img/device_pub_key.pem"));
  ASSERT_TRUE(expected_pub);
  EXPECT_TRUE(derived->public_key().equals(*expected_pub));
  EXPECT_EQ(derived->public_key().to_pem(), test::read_vector("encrypted_img/device_pub_key.pem"));
  auto expected_priv = crypto::PrivateKey::load(test::read_vector("encrypted_img/device_priv_key.pem"));
  ASSERT_TRUE(expected_priv);
  const auto pkcs8 = derived->to_pem_pkcs8();
  EXPECT_EQ(Bytes(pkcs8.expose().begin(), pkcs8.expose().end()), test::read_vector("encrypted_img/device_priv_key.pem"));
  EXPECT_EQ(hmac_key().scheme(), Scheme::kEciesP256);
}

TEST(EncImgKeys, RejectsKeysNoDeviceCanUse) {
  auto short_hmac = derive_ecies_device_key(SecretBytes(31));
  ASSERT_FALSE(short_hmac);
  EXPECT_EQ(short_hmac.error().code, "encimg.hmac_key_size");
  EXPECT_EQ(DecryptionKey::from_hmac_key(SecretBytes(33)).error().code, "encimg.hmac_key_size");

  auto rsa2048 = crypto::PrivateKey::generate_rsa(2048);
  ASSERT_TRUE(rsa2048);
  auto enc = EncryptionKey::from_public_key(rsa2048->public_key());
  ASSERT_FALSE(enc);
  EXPECT_EQ(enc.error().code, "encimg.rsa_size");
  EXPECT_NE(enc.error().message.find("2048"), std::string::npos);
  EXPECT_EQ(DecryptionKey::from_private_key(*rsa2048).error().code, "encimg.rsa_size");

  auto p384 = crypto::PrivateKey::generate_ec(crypto::Curve::kP384);
  ASSERT_TRUE(p384);
  EXPECT_EQ(EncryptionKey::from_public_key(p384->public_key()).error().code, "encimg.key_type");
  EXPECT_EQ(DecryptionKey::from_private_key(*p384).error().code, "encimg.key_type");
  auto x25519 = crypto::PrivateKey::generate_x25519();
  ASSERT_TRUE(x25519);
  EXPECT_EQ(EncryptionKey::from_public_key(x25519->public_key()).error().code, "encimg.key_type");
}

TEST(EncImgEncrypt, RsaImagesRoundTripAndMatchTheReferenceLayout) {
  ESPSEC_REQUIRE_VECTORS();
  const EncryptionKey key = public_key("encrypted_img/rsa3072_public.pem");
  EXPECT_EQ(key.scheme(), Scheme::kRsa3072);
  crypto::SystemRng rng;
  const Bytes reference = test::read_vector("encrypted_img/plain_4k.rsa.enc.bin");
  const Bytes plain = test::read_vector("encrypted_img/plain_4k.bin");
  auto image = encrypt_image(plain, key, rng);
  ASSERT_TRUE(image) << image.error().message;
  ASSERT_EQ(image->size(), reference.size());
  // Deterministic parts: magic, size field, reserved bytes.
  EXPECT_EQ(Bytes(image->begin(), image->begin() + 4), Bytes(reference.begin(), reference.begin() + 4));
  EXPECT_EQ(Bytes(image->begin() + kSizeOffset, image->begin() + kSizeOffset + 4),
            Bytes(reference.begin() + kSizeOffset, reference.begin() + kSizeOffset + 4));
  EXPECT_EQ(Bytes(image->begin() + kReservedOffset, image->begin() + kHeaderSize),
            Bytes(reference.begin() + kReservedOffset, reference.begin() + kHeaderSize));
  for (size_t chunk : {1ul, 16ul, 17ul, 5000ul}) {
    auto back = decrypt_all(*image, rsa_private(), chunk);
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(*back, plain);
  }
  // The wrapped key is PKCS#1 v1.5 (random padding): two encryptions differ everywhere random.
  auto again = encrypt_image(plain, key, rng);
  ASSERT_TRUE(again);
  EXPECT_NE(Bytes(again->begin() + 4, again->begin() + 388), Bytes(image->begin() + 4, image->begin() + 388));
}

TEST(EncImgEncrypt, EciesImagesRoundTripAndMatchTheReferenceLayout) {
  ESPSEC_REQUIRE_VECTORS();
  const EncryptionKey key = public_key("encrypted_img/device_pub_key.pem");
  EXPECT_EQ(key.scheme(), Scheme::kEciesP256);
  crypto::SystemRng rng;
  const Bytes reference = test::read_vector("encrypted_img/plain_4k.ecc.enc.bin");
  const Bytes plain = test::read_vector("encrypted_img/plain_4k.bin");
  auto image = encrypt_image(plain, key, rng);
  ASSERT_TRUE(image) << image.error().message;
  ASSERT_EQ(image->size(), reference.size());
  const size_t zero_from = kKeyBlockOffset + kServerPointSize + kSaltSize;
  EXPECT_EQ(Bytes(image->begin(), image->begin() + 4), Bytes(reference.begin(), reference.begin() + 4));
  EXPECT_EQ(Bytes(image->begin() + zero_from, image->begin() + kIvOffset),
            Bytes(reference.begin() + zero_from, reference.begin() + kIvOffset));
  EXPECT_EQ(Bytes(image->begin() + kSizeOffset, image->begin() + kSizeOffset + 4),
            Bytes(reference.begin() + kSizeOffset, reference.begin() + kSizeOffset + 4));
  EXPECT_EQ(Bytes(image->begin() + kReservedOffset, image->begin() + kHeaderSize),
            Bytes(reference.begin() + kReservedOffset, reference.begin() + kHeaderSize));
  auto back = decrypt_all(*image, hmac_key(), 333);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, plain);
}

// Independent check of the ECIES arithmetic: recompute the AES key of our image from the
// header with the device's private key by hand (ECDH x-coordinate, HKDF-SHA256) and open it.
TEST(EncImgEncrypt, EciesKeyScheduleMatchesTheSpecification) {
  ESPSEC_REQUIRE_VECTORS();
  crypto::DeterministicRng rng(7);
  const Bytes plain = pattern(100);
  auto image = encrypt_image(plain, public_key("encrypted_img/device_pub_key.pem"), rng);
  ASSERT_TRUE(image);
  auto header = parse_header(*image);
  ASSERT_TRUE(header);
  Bytes point = {0x04};
  point.insert(point.end(), header->key_block.begin(), header->key_block.begin() + 64);
  auto server = crypto::PublicKey::from_ec_point(crypto::Curve::kP256, point);
  ASSERT_TRUE(server);
  auto device = crypto::PrivateKey::load(test::read_vector("encrypted_img/device_priv_key.pem"));
  ASSERT_TRUE(device);
  auto shared = crypto::derive_shared_secret(*device, *server);
  ASSERT_TRUE(shared);
  ASSERT_EQ(shared->size(), 32u);
  auto aes = crypto::hkdf(crypto::HashAlg::kSha256, *shared, ByteSpan(header->key_block).subspan(64, 32),
                          as_bytes("_esp_enc_img_ecc"), 32);
  ASSERT_TRUE(aes);
  auto opened = crypto::gcm_open(*aes, header->iv, {}, ByteSpan(*image).subspan(kHeaderSize), header->tag);
  ASSERT_TRUE(opened) << opened.error().message;
  EXPECT_EQ(*opened, plain);
}

TEST(EncImgEncrypt, EciesIsDeterministicForAFixedRng) {
  ESPSEC_REQUIRE_VECTORS();
  const EncryptionKey key = public_key("encrypted_img/device_pub_key.pem");
  crypto::DeterministicRng a(99), b(99), c(100);
  const Bytes plain = pattern(777);
  auto x = encrypt_image(plain, key, a);
  auto y = encrypt_image(plain, key, b);
  auto z = encrypt_image(plain, key, c);
  ASSERT_TRUE(x && y && z);
  EXPECT_EQ(*x, *y);
  EXPECT_NE(*x, *z);
}

TEST(EncImgEncrypt, RoundTripsEverySmallSize) {
  ESPSEC_REQUIRE_VECTORS();
  const EncryptionKey rsa = public_key("encrypted_img/rsa3072_public.pem");
  const EncryptionKey ecc = public_key("encrypted_img/device_pub_key.pem");
  crypto::DeterministicRng rng(1);
  for (size_t n : {0ul, 1ul, 15ul, 16ul, 17ul, 31ul, 32ul, 33ul, 4099ul}) {
    const Bytes plain = pattern(n);
    auto r = encrypt_image(plain, rsa, rng);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->size(), kHeaderSize + n);
    EXPECT_EQ(decrypt_all(*r, rsa_private(), 5).value(), plain) << n;
    auto e = encrypt_image(plain, ecc, rng);
    ASSERT_TRUE(e);
    EXPECT_EQ(decrypt_all(*e, hmac_key(), 5).value(), plain) << n;
  }
}

}  // namespace
}  // namespace espsec::encimg
