#include "flashcrypt/xts.hpp"

#include <gtest/gtest.h>

#include <numeric>

#include "crypto/hash.hpp"
#include "test_util.hpp"

namespace espsec::flashcrypt {
namespace {

Bytes iota_bytes(size_t n, uint8_t first) {
  Bytes b(n);
  std::iota(b.begin(), b.end(), first);
  return b;
}

// Boot-chain fact sheet 3.1 (espsecure): plaintext 00..1f; key32 = 00..1f; key64 = 40..7f.
TEST(FlashXts, EspsecureKnownAnswers) {
  struct Case { size_t key_len; uint8_t key_first; uint32_t address; const char* cipher; } cases[] = {
      {32, 0x00, 0x0, "85fb6fb34ff81a84f5158a36fce2fff0d09e82e8ceac132bb81e194fc205e7fa"},
      {32, 0x00, 0x10000, "2c2a288e9e96647587883012b81d17396a80540eebdd2f9e323e7017d6d650de"},
      {32, 0x00, 0x10060, "f2f9c165aa3b01f5421def25082195dca10fa600a0c86745c8e19b1aca3a6d64"},
      {64, 0x40, 0x10000, "3807d7bb7821a941f4df52e94c8847a58cfc99cd4ad001805e4181ef3a9f1208"},
  };
  const Bytes plain = iota_bytes(32, 0);
  for (const auto& c : cases) {
    auto xts = FlashXts::from_key_file_bytes(SecretBytes::copy_of(iota_bytes(c.key_len, c.key_first)));
    ASSERT_TRUE(xts);
    Bytes out(32), back(32);
    ASSERT_TRUE(xts->encrypt(c.address, plain, out));
    EXPECT_EQ(to_hex(out), c.cipher) << "address " << c.address;
    ASSERT_TRUE(xts->decrypt(c.address, out, back));
    EXPECT_EQ(back, plain);
  }
}

TEST(FlashXts, SixteenByteKeyIsStretchedWithSha256) {
  const Bytes key16 = iota_bytes(16, 1);
  auto short_key = FlashXts::from_key_file_bytes(SecretBytes::copy_of(key16));
  ASSERT_TRUE(short_key);
  EXPECT_TRUE(short_key->key_extended());
  const auto stretched = crypto::sha256(key16);
  auto long_key = FlashXts::from_key_file_bytes(SecretBytes::copy_of(stretched));
  ASSERT_TRUE(long_key);
  const Bytes plain = iota_bytes(256, 9);
  Bytes a(256), b(256);
  ASSERT_TRUE(short_key->encrypt(0x2000, plain, a));
  ASSERT_TRUE(long_key->encrypt(0x2000, plain, b));
  EXPECT_EQ(a, b);
}

TEST(FlashXts, SplitWritesEqualOneWrite) {
  auto xts = FlashXts::from_key_file_bytes(SecretBytes::copy_of(iota_bytes(32, 3)));
  ASSERT_TRUE(xts);
  const Bytes plain = iota_bytes(512, 7);
  Bytes whole(512), parts(512);
  ASSERT_TRUE(xts->encrypt(0x1010, plain, whole));
  ASSERT_TRUE(xts->encrypt(0x1010, ByteSpan(plain).first(48), MutableByteSpan(parts).first(48)));
  ASSERT_TRUE(xts->encrypt(0x1040, ByteSpan(plain).subspan(48), MutableByteSpan(parts).subspan(48)));
  EXPECT_EQ(whole, parts);
}

// In place (in == out) gives what separate buffers give, for whole and partial units.
TEST(FlashXts, InPlaceEqualsSeparateBuffers) {
  auto xts = FlashXts::from_key_file_bytes(SecretBytes::copy_of(iota_bytes(32, 3)));
  ASSERT_TRUE(xts);
  const Bytes plain = iota_bytes(512, 7);
  for (const uint32_t address : {0x1000u, 0x1010u, 0x1070u}) {
    Bytes separate(plain.size());
    ASSERT_TRUE(xts->encrypt(address, plain, separate));
    Bytes in_place = plain;
    ASSERT_TRUE(xts->encrypt(address, in_place, in_place));
    EXPECT_EQ(in_place, separate) << address;
    ASSERT_TRUE(xts->decrypt(address, in_place, in_place));
    EXPECT_EQ(in_place, plain) << address;
  }
}

TEST(FlashXts, RejectsBadKeysAddressesAndLengths) {
  EXPECT_EQ(FlashXts::from_key_file_bytes(SecretBytes(24)).error().message,
            "AES_XTS supports only 128, 256, and 512-bit keys. Provided key is 192 bits.");
  EXPECT_EQ(FlashXts::from_key_file_bytes(SecretBytes(48)).error().code, "flashcrypt.key_length");
  auto xts = FlashXts::from_key_file_bytes(SecretBytes::copy_of(iota_bytes(32, 3)));
  ASSERT_TRUE(xts);
  Bytes out(32);
  EXPECT_EQ(xts->encrypt(8, Bytes(32), out).error().code, "flashcrypt.address");
  EXPECT_EQ(xts->encrypt(0, Bytes(20), out).error().code, "flashcrypt.length");
}

TEST(FlashXtsInterop, EspsecureVectorsEncryptAndDecrypt) {
  ESPSEC_REQUIRE_VECTORS();
  struct Case { const char* key; uint32_t address; const char* plain; const char* cipher; } cases[] = {
      {"secure/xts/key128.bin", 0x0, "secure/xts/plain_64KiB.bin", "secure/xts/plain_64KiB.k128.at_0x0.enc.bin"},
      {"secure/xts/key128.bin", 0x10000, "secure/xts/plain_64KiB.bin", "secure/xts/plain_64KiB.k128.at_0x10000.enc.bin"},
      {"secure/xts/key128.bin", 0x13000, "secure/xts/plain_64KiB.bin", "secure/xts/plain_64KiB.k128.at_0x13000.enc.bin"},
      {"secure/xts/key256.bin", 0x0, "secure/xts/plain_64KiB.bin", "secure/xts/plain_64KiB.k256.at_0x0.enc.bin"},
      {"secure/xts/key256.bin", 0x10000, "secure/xts/plain_64KiB.bin", "secure/xts/plain_64KiB.k256.at_0x10000.enc.bin"},
      {"secure/xts/key256.bin", 0x13000, "secure/xts/plain_64KiB.bin", "secure/xts/plain_64KiB.k256.at_0x13000.enc.bin"},
      {"secure/xts/key512.bin", 0x0, "secure/xts/plain_64KiB.bin", "secure/xts/plain_64KiB.k512.at_0x0.enc.bin"},
      {"secure/xts/key512.bin", 0x10000, "secure/xts/plain_64KiB.bin", "secure/xts/plain_64KiB.k512.at_0x10000.enc.bin"},
      {"secure/xts/key512.bin", 0x13000, "secure/xts/plain_64KiB.bin", "secure/xts/plain_64KiB.k512.at_0x13000.enc.bin"},
      {"secure/xts/key256.bin", 0x10000, "secure/xts/plain_65488.bin", "secure/xts/plain_65488.k256.at_0x10000.enc.bin"},
      {"secure/xts/key512.bin", 0x13050, "secure/xts/plain_65488.bin", "secure/xts/plain_65488.k512.at_0x13050.enc.bin"},
      {"secure/esptool/256bit_key.bin", 0x1000, "secure/esptool/bootloader.bin", "secure/esptool/bootloader-encrypted-aes-xts.bin"},
      {"secure/esptool/ef-flashencryption-key.bin", 0x20000, "secure/esptool/hello-world-signed.bin",
       "secure/esptool/hello-world-signed-encrypted-aes-xts.bin"},
      {"secure/esptool/512bit_key.bin", 0x10000, "secure/esptool/hello-world-signed.bin",
       "secure/esptool/hello-world-signed-encrypted-aes-xts-256.bin"},
  };
  for (const auto& c : cases) {
    auto xts = FlashXts::from_key_file_bytes(SecretBytes::copy_of(test::read_vector(c.key)));
    ASSERT_TRUE(xts) << c.key;
    const Bytes plain = test::read_vector(c.plain);
    const Bytes cipher = test::read_vector(c.cipher);
    Bytes out(plain.size());
    ASSERT_TRUE(xts->encrypt(c.address, plain, out));
    EXPECT_EQ(out, cipher) << c.cipher;
    ASSERT_TRUE(xts->decrypt(c.address, cipher, out));
    EXPECT_EQ(out, plain) << c.cipher;
  }
}

}  // namespace
}  // namespace espsec::flashcrypt
