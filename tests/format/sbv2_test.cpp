#include "format/sbv2.hpp"

#include <gtest/gtest.h>

#include "crypto/crc32.hpp"
#include "test_util.hpp"

namespace espsec::sbv2 {
namespace {

// Key digests that espsecure digest-sbv2-public-key gives (vectors/README-secure.md section 1-2).
TEST(Sbv2KeyDigest, MatchesEspsecureForEveryScheme) {
  ESPSEC_REQUIRE_VECTORS();
  struct Case { const char* key; const char* digest_hex; } cases[] = {
      {"secure/esptool/rsa_secure_boot_signing_pubkey.pem", "cb2791a371b0c0322bf7370478ba0962224cab1cf2287879e429673e7da84463"},
      {"secure/esptool/rsa_secure_boot_signing_pubkey2.pem", "901a7409238d52d4cbf96f563fb3f4296dabd66a33f53b15eecd8cb3e7ec45d3"},
      {"secure/esptool/ecdsa192_secure_boot_signing_pubkey.pem", "1060f30bc482db11c470db5734f1f91b792c21ff1f0a3234544156d4f98d3311"},
      {"secure/esptool/ecdsa256_secure_boot_signing_pubkey.pem", "f35cc5dbdde67f94a7bbcb5723371ba91822193582308f84cb95b4531219056d"},
      {"secure/esptool/ecdsa384_secure_boot_signing_pubkey.pem", "fc9c01f2e8bc394d199b74b1cdf5060c10acc6cc385905877c5571c53009bc98"},
      {"secure/esptool/ecdsa384_secure_boot_signing_pubkey2.pem", "33359a939871a30dd4c6dd6ae6e2bbad40781f650b9408b0072c7f7e028f1288"},
  };
  for (const auto& c : cases) {
    auto key = crypto::PublicKey::load(test::read_vector(c.key));
    ASSERT_TRUE(key) << c.key;
    auto digest = key_digest(*key);
    ASSERT_TRUE(digest) << c.key;
    EXPECT_EQ(to_hex(*digest), c.digest_hex) << c.key;
  }
  for (const char* name : {"rsa3072_a", "rsa3072_b", "rsa3072_c", "ecdsa192_a", "ecdsa256_a", "ecdsa384_a"}) {
    auto key = crypto::PublicKey::load(test::read_vector(std::string("secure/keys/") + name + ".pub.pem"));
    ASSERT_TRUE(key);
    auto digest = key_digest(*key);
    ASSERT_TRUE(digest);
    EXPECT_EQ(Bytes(digest->begin(), digest->end()), test::read_vector(std::string("secure/keys/") + name + ".digest.bin"))
        << name;
  }
}

TEST(Sbv2Block, EsptoolSignedBootloadersParseAndVerify) {
  ESPSEC_REQUIRE_VECTORS();
  struct Case { const char* file; Scheme scheme; } cases[] = {
      {"secure/esptool/bootloader_signed_v2_rsa.bin", Scheme::kRsa3072},
      {"secure/esptool/bootloader_signed_v2_ecdsa192.bin", Scheme::kEcdsaP192},
      {"secure/esptool/bootloader_signed_v2_ecdsa256.bin", Scheme::kEcdsaP256},
      {"secure/esptool/bootloader_signed_v2_ecdsa384.bin", Scheme::kEcdsaP384},
  };
  for (const auto& c : cases) {
    const Bytes image = test::read_vector(c.file);
    const ByteSpan sector = ByteSpan(image).last(kSectorSize);
    auto slots = parse_sector(sector);
    ASSERT_TRUE(slots[0].block) << c.file << ": " << slots[0].problem->message;
    EXPECT_EQ(slots[0].block->scheme, c.scheme);
    EXPECT_TRUE(slots[1].erased);
    EXPECT_TRUE(slots[2].erased);
    const Bytes data(image.begin(), image.end() - kSectorSize);
    EXPECT_EQ(slots[0].block->image_digest, crypto::digest(image_digest_alg(c.scheme), data));
    EXPECT_TRUE(signature_verifies(*slots[0].block)) << c.file;
    // Re-serializing the parsed block reproduces it byte for byte.
    auto again = serialize_block(*slots[0].block);
    ASSERT_TRUE(again);
    EXPECT_EQ(*again, Bytes(sector.begin(), sector.begin() + kBlockSize)) << c.file;
  }
}

TEST(Sbv2Block, RebuildsDeterministicPartsOfEspsecureBlocks) {
  ESPSEC_REQUIRE_VECTORS();
  // Block 0 bytes 0..811 of the RSA sector depend only on key and data.
  const Bytes sector = test::read_vector("secure/sign/app_1MiB.rsa3072.sig4k.bin");
  auto key = crypto::PublicKey::load(test::read_vector("secure/keys/rsa3072_a.pub.pem"));
  ASSERT_TRUE(key);
  auto field = key_field(*key);
  ASSERT_TRUE(field);
  EXPECT_EQ(*field, Bytes(sector.begin() + 36, sector.begin() + 812));
}

TEST(Sbv2Block, EachRejectedFieldHasItsOwnCode) {
  ESPSEC_REQUIRE_VECTORS();
  const Bytes image = test::read_vector("secure/esptool/bootloader_signed_v2_ecdsa256.bin");
  const Bytes good(image.end() - kSectorSize, image.end() - kSectorSize + kBlockSize);
  auto with_crc = [](Bytes b) {
    store_le32(b.data() + kCrcOffset, crypto::crc32_le(0, ByteSpan(b).first(kCrcOffset)));
    return b;
  };
  Bytes bad_magic = good;
  bad_magic[0] = 0xE8;
  EXPECT_EQ(parse_block(with_crc(bad_magic)).error().code, "sbv2.block_magic");
  Bytes bad_crc = good;
  bad_crc[200] ^= 1;
  EXPECT_EQ(parse_block(bad_crc).error().code, "sbv2.block_crc");
  Bytes bad_version = good;
  bad_version[1] = 4;
  EXPECT_EQ(parse_block(with_crc(bad_version)).error().code, "sbv2.block_version");
  Bytes bad_sha = good;
  bad_sha[2] = 7;
  EXPECT_EQ(parse_block(with_crc(bad_sha)).error().code, "sbv2.block_sha_type");
  Bytes bad_curve = good;
  bad_curve[36] = 3;
  EXPECT_EQ(parse_block(with_crc(bad_curve)).error().code, "sbv2.block_curve");
  EXPECT_EQ(parse_block(ByteSpan(good).first(100)).error().code, "sbv2.block_size");
  Bytes bad_sig = good;
  bad_sig[101] ^= 1;
  auto parsed = parse_block(with_crc(bad_sig));
  ASSERT_TRUE(parsed);
  EXPECT_FALSE(signature_verifies(*parsed));
}

TEST(Sbv2Block, RejectsKeysSecureBootCannotUse) {
  auto rsa2048 = crypto::PrivateKey::generate_rsa(2048);
  ASSERT_TRUE(rsa2048);
  EXPECT_EQ(key_field(rsa2048->public_key()).error().code, "sbv2.key_size");
  auto x = crypto::PrivateKey::generate_x25519();
  ASSERT_TRUE(x);
  EXPECT_EQ(key_field(x->public_key()).error().code, "sbv2.key_type");
}

TEST(Sbv2Sector, SerializeLimitsAndPadding) {
  const Bytes block(kBlockSize, 0x11);
  auto sector = serialize_sector(std::vector<Bytes>{block});
  ASSERT_TRUE(sector);
  EXPECT_EQ(sector->size(), kSectorSize);
  EXPECT_EQ((*sector)[kBlockSize], 0xFF);
  EXPECT_EQ(serialize_sector(std::vector<Bytes>(4, block)).error().code, "sbv2.too_many_blocks");
}

}  // namespace
}  // namespace espsec::sbv2
