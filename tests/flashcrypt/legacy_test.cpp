#include "flashcrypt/legacy.hpp"

#include <gtest/gtest.h>

#include <numeric>

#include "crypto/random.hpp"
#include "test_util.hpp"

namespace espsec::flashcrypt {
namespace {

SecretBytes counting_key(size_t size, uint8_t first) {
  SecretBytes key(size);
  std::iota(key.expose_mutable().begin(), key.expose_mutable().end(), first);
  return key;
}

Bytes counting_bytes(size_t size) {
  Bytes out(size);
  std::iota(out.begin(), out.end(), uint8_t{0});
  return out;
}

// Known answers computed with espsecure v5.1 (esptool v5.1.0 espsecure/__init__.py,
// `espsecure encrypt-flash-data --keyfile K --address A --flash-crypt-conf C`, no --aes-xts):
// key32 = bytes 00..1f, key24 = bytes 40..57, plaintext = bytes 00..3f.
TEST(LegacyFlashCrypt, EspsecureKnownAnswers) {
  struct Case {
    size_t key_size;
    uint8_t key_first;
    uint32_t address;
    uint32_t conf;
    const char* ciphertext;
  } cases[] = {
      {32, 0x00, 0x0, 0xF,
       "12a1ca1afd2e84819588f76945e0f107108c61e2db61a4ab5b13f5356eebfe153debaf765acb6beef7da797dd4dbf5d8624844356fdf14"
       "ceb4a7f3c88dc1d46c"},
      {32, 0x00, 0x1000, 0xF,
       "a354ea55e9d9d83cd027e80a6b03a53cfc3886d3f8090e2da27c51dbc4a61351cdf9f00c743bd33742e28544ffad8d92783779f1e794e3"
       "744df99032250a8f5a"},
      // Starts in the middle of a 32-byte tweak block.
      {32, 0x00, 0x10010, 0x3,
       "f71f343f9cb8c3752837563de6bb20f53f8bd934f244c0711b974efb6fe3950cf07cf56e795ba0bc2e5e4a21fe28562f2e436f8ba38aeb"
       "ed6fa85cb543502b3b"},
      {32, 0x00, 0x1000, 0x9,
       "975256e7f06e9a2c179ac66235420fcacbcfbea1ea08247790c1e7ea6aba020472a929dca170bfaea0fd41f71e24c12a7ac7fd5c725def"
       "79fd7ec97367ef0ad2"},
      // FLASH_CRYPT_CONFIG 0: no tweak, the address does not matter.
      {32, 0x00, 0x3FFFE0, 0x0,
       "12a1ca1afd2e84819588f76945e0f107108c61e2db61a4ab5b13f5356eebfe15e62802f276e4f038910a85dad5c947736993304a840940"
       "147be0a372379a9992"},
      // The top of the address space: the tweak product carries past 2^256 and is cut.
      {32, 0x00, 0xFFFFFFC0, 0xF,
       "33425c4c0e73c03929f7ad3956954c8fcf88aaac3ffa90d4290ce017134c53f55280ca6d521b4291751e853fe21aafc1aa0e94b9009c8e"
       "6762d3692d2da2fa21"},
      // 3/4 coding scheme 192-bit key, extended with its bytes 8..15.
      {24, 0x40, 0x10020, 0xF,
       "967ceac212c7f0d9a2beffdf6aeed0ab11306aba27af692a6c080b3668f10418d38d0c9e63743573594cd1000c221d49f6b9586b932c51"
       "101dc970ffe6f5db4a"},
  };
  const Bytes plain = counting_bytes(64);
  for (const auto& c : cases) {
    auto crypt = LegacyFlashCrypt::from_key_file_bytes(counting_key(c.key_size, c.key_first), c.conf);
    ASSERT_TRUE(crypt);
    EXPECT_EQ(crypt->key_extended(), c.key_size == 24);
    Bytes out(plain.size());
    ASSERT_TRUE(crypt->encrypt(c.address, plain, out));
    EXPECT_EQ(to_hex(out), c.ciphertext) << std::hex << c.address << " conf " << c.conf;
    Bytes back(out.size());
    ASSERT_TRUE(crypt->decrypt(c.address, out, back));
    EXPECT_EQ(back, plain);
  }
}

TEST(LegacyFlashCrypt, RoundTripsAtEveryAlignmentAndSplitsFreely) {
  crypto::DeterministicRng rng(7);
  const Bytes plain = rng.bytes(4096);
  auto crypt = LegacyFlashCrypt::from_key_file_bytes(rng.secret(32), 0xF);
  ASSERT_TRUE(crypt);
  for (uint32_t address : {0x0u, 0x10u, 0x20u, 0x30u, 0x10000u, 0x12350u}) {
    Bytes whole(plain.size());
    ASSERT_TRUE(crypt->encrypt(address, plain, whole));
    // Encrypting in pieces at their own addresses gives the same bytes (the key tweak depends
    // only on the flash address).
    Bytes pieces(plain.size());
    for (size_t off = 0; off < plain.size(); off += 48) {
      const size_t n = std::min<size_t>(48, plain.size() - off);
      ASSERT_TRUE(crypt->encrypt(address + static_cast<uint32_t>(off), ByteSpan(plain).subspan(off, n),
                                 MutableByteSpan(pieces).subspan(off, n)));
    }
    EXPECT_EQ(pieces, whole) << address;
    Bytes in_place = whole;
    ASSERT_TRUE(crypt->decrypt(address, in_place, in_place));
    EXPECT_EQ(in_place, plain) << address;
  }
}

TEST(LegacyFlashCrypt, DifferentAddressesGiveDifferentCiphertext) {
  auto crypt = LegacyFlashCrypt::from_key_file_bytes(counting_key(32, 0), 0xF);
  ASSERT_TRUE(crypt);
  const Bytes plain(32, 0xAB);
  Bytes a(32), b(32);
  ASSERT_TRUE(crypt->encrypt(0x1000, plain, a));
  ASSERT_TRUE(crypt->encrypt(0x1020, plain, b));
  EXPECT_NE(a, b);
  EXPECT_NE(to_hex(crypt->tweaked_key(0x1000).expose()), to_hex(crypt->tweaked_key(0x1020).expose()));
  // Both 16-byte halves of one 32-byte block share a key.
  EXPECT_EQ(to_hex(crypt->tweaked_key(0x1000).expose()), to_hex(crypt->tweaked_key(0x1010).expose()));
}

TEST(LegacyFlashCrypt, RejectsBadKeysAddressesAndLengths) {
  for (size_t size : {0u, 8u, 31u, 48u}) {
    auto r = LegacyFlashCrypt::from_key_file_bytes(SecretBytes(size), 0xF);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, "flashcrypt.key_length");
    EXPECT_EQ(r.error().message,
              fmt::format("Key file contains wrong length ({} bytes), 16, 24, 32 or 64 expected.", size));
  }
  for (size_t size : {16u, 64u}) {
    auto r = LegacyFlashCrypt::from_key_file_bytes(SecretBytes(size), 0xF);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message, fmt::format("ESP32 supports only 192 and 256-bit keys. Provided key is {} bits. "
                                             "Use --aes_xts for other chips.",
                                             size * 8));
  }
  EXPECT_EQ(LegacyFlashCrypt::from_key_file_bytes(SecretBytes(32), 0x10).error().code, "flashcrypt.crypt_conf");

  auto crypt = LegacyFlashCrypt::from_key_file_bytes(SecretBytes(32), 0xF);
  ASSERT_TRUE(crypt);
  Bytes out(64);
  auto bad_address = crypt->encrypt(0x1008, Bytes(32), out);
  ASSERT_FALSE(bad_address);
  EXPECT_EQ(bad_address.error().message, "Starting flash address 0x1008 must be a multiple of 16.");
  EXPECT_EQ(crypt->decrypt(0x1000, Bytes(20), out).error().code, "flashcrypt.length");
  EXPECT_EQ(crypt->encrypt(0x1000, Bytes(64), MutableByteSpan(out).first(32)).error().code, "flashcrypt.buffer");
  EXPECT_EQ(crypt->encrypt(0xFFFFFFF0, Bytes(32), out).error().code, "flashcrypt.range");
}

TEST(LegacyFlashCrypt, RandomPaddingOnlyWhenUnaligned) {
  crypto::DeterministicRng rng(1);
  Bytes aligned(32, 1);
  EXPECT_EQ(pad_with_random(aligned, rng), 0u);
  EXPECT_EQ(aligned.size(), 32u);
  Bytes odd(1000, 1);
  EXPECT_EQ(pad_with_random(odd, rng), 8u);
  EXPECT_EQ(odd.size(), 1008u);
}

}  // namespace
}  // namespace espsec::flashcrypt
