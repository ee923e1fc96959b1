#include "nvs/keys.hpp"

#include <gtest/gtest.h>

#include "crypto/crc32.hpp"
#include "crypto/hash.hpp"
#include "crypto/random.hpp"
#include "nvs/cipher.hpp"
#include "test_util.hpp"

namespace espsec::nvs {
namespace {

using espsec::test::hex;
using espsec::test::read_vector;

TEST(NvsKeys, ParsesTheGeneratorsKeysFileAndWritesItBackIdentically) {
  ESPSEC_REQUIRE_VECTORS();
  const Bytes file = read_vector("nvs/keys/nvs_keys.bin");
  auto keys = Keys::parse_partition(file);
  ASSERT_TRUE(keys) << keys.error().message;
  EXPECT_TRUE(crypto::constant_time_equal(keys->xts_key().expose(), ByteSpan(file).first(64)));
  EXPECT_TRUE(crypto::constant_time_equal(keys->partition_image().expose(), file));
}

TEST(NvsKeys, HmacDerivationMatchesTheGeneratorsHmacKeysFile) {
  ESPSEC_REQUIRE_VECTORS();
  const Bytes hmac_key = read_vector("nvs/keys/hmac_key.bin");
  EXPECT_EQ(to_hex(hmac_key), "84ccf61c0052ce2711712c3876891bafb4aae577a0dc92fe81bd799499f6d7fa");
  auto keys = Keys::derive_from_hmac_key(SecretBytes::copy_of(hmac_key));
  ASSERT_TRUE(keys) << keys.error().message;
  EXPECT_TRUE(
      crypto::constant_time_equal(keys->partition_image().expose(), read_vector("nvs/keys/nvs_keys_hmac.bin")));
}

TEST(NvsKeys, RejectsEachBadKeysFile) {
  crypto::DeterministicRng rng(1);
  auto keys = Keys::generate(rng);
  ASSERT_TRUE(keys);
  const SecretBytes good = keys->partition_image();
  const Bytes image(good.expose().begin(), good.expose().end());

  EXPECT_EQ(Keys::parse_partition(ByteSpan(image).first(64)).error().code, "nvs.keys_size");
  Bytes longer = image;
  longer.push_back(0xFF);
  EXPECT_EQ(Keys::parse_partition(longer).error().code, "nvs.keys_size");

  Bytes bad_crc = image;
  bad_crc[64] ^= 1;
  const auto crc_error = Keys::parse_partition(bad_crc);
  EXPECT_EQ(crc_error.error().code, "nvs.keys_crc");
  EXPECT_NE(crc_error.error().message.find("CRC"), std::string::npos);

  Bytes flipped_key = image;
  flipped_key[5] ^= 1;
  EXPECT_EQ(Keys::parse_partition(flipped_key).error().code, "nvs.keys_crc");

  EXPECT_EQ(Keys::parse_partition(Bytes(4096, 0xFF)).error().code, "nvs.keys_not_initialized");

  Bytes equal_halves(4096, 0xFF);
  std::fill_n(equal_halves.begin(), 64, 0x11);
  store_le32(equal_halves.data() + 64, crypto::crc32_le(0xFFFFFFFF, ByteSpan(equal_halves).first(64)));
  EXPECT_EQ(Keys::parse_partition(equal_halves).error().code, "nvs.keys_equal_halves");

  EXPECT_EQ(Keys::from_xts_key(SecretBytes(32)).error().code, "nvs.keys_size");
  EXPECT_EQ(Keys::derive_from_hmac_key(SecretBytes(31)).error().code, "nvs.hmac_key_size");
  EXPECT_EQ(Keys::derive_from_hmac_key(SecretBytes(64)).error().code, "nvs.hmac_key_size");
}

TEST(NvsCipher, EncryptsTheWorkedExampleEntryUnderItsAddress) {
  ESPSEC_REQUIRE_VECTORS();
  auto keys = Keys::parse_partition(read_vector("nvs/keys/nvs_keys.bin"));
  ASSERT_TRUE(keys);
  auto cipher = EntryCipher::create(*keys);
  ASSERT_TRUE(cipher) << cipher.error().message;
  // storage-and-ota.md 2.1: entry 0 of page 0 of nvs_encrypted.bin.
  const Bytes plain = hex("000101ff0612ebfd6e735f6f6e650000000000000000000001ffffffffffffff");
  const Bytes want = hex("0ebe5c2c3fd5cc7de34ee791006d45cfd1871257d6892a690c3d1f0336088e22");
  Bytes out(32);
  ASSERT_TRUE(cipher->encrypt(0x40, plain, out));
  EXPECT_EQ(out, want);
  Bytes back(32);
  ASSERT_TRUE(cipher->decrypt(0x40, out, back));
  EXPECT_EQ(back, plain);
  // Several entries at once: each under its own address.
  Bytes two(64), one_by_one(64);
  Bytes plain2 = plain;
  plain2.insert(plain2.end(), plain.begin(), plain.end());
  ASSERT_TRUE(cipher->encrypt(0x40, plain2, two));
  ASSERT_TRUE(cipher->encrypt(0x40, plain, MutableByteSpan(one_by_one).first(32)));
  ASSERT_TRUE(cipher->encrypt(0x60, plain, MutableByteSpan(one_by_one).subspan(32)));
  EXPECT_EQ(two, one_by_one);
  EXPECT_EQ(cipher->encrypt(0x40, ByteSpan(plain).first(16), out).error().code, "nvs.cipher_length");
}

TEST(NvsCipher, DecryptingTheEncryptedVectorEntryByEntryGivesThePlainVector) {
  ESPSEC_REQUIRE_VECTORS();
  auto keys = Keys::parse_partition(read_vector("nvs/keys/nvs_keys.bin"));
  ASSERT_TRUE(keys);
  auto cipher = EntryCipher::create(*keys);
  ASSERT_TRUE(cipher);
  Bytes image = read_vector("nvs/nvs_encrypted.bin");
  const Bytes plain = read_vector("nvs/nvs_plain.bin");
  for (uint32_t page = 0; page < image.size() / 4096; ++page) {
    for (uint32_t e = 0; e < 126; ++e) {
      const uint32_t at = page * 4096 + 64 + e * 32;
      MutableByteSpan entry(image.data() + at, 32);
      if (std::all_of(entry.begin(), entry.end(), [](uint8_t b) { return b == 0xFF; })) continue;
      ASSERT_TRUE(cipher->decrypt(at, entry, entry));
    }
  }
  EXPECT_EQ(image, plain);
}

}  // namespace
}  // namespace espsec::nvs
