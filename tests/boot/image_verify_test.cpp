// The boot chain's image verification: esptool/espsecure-made signed images, every reason a
// signature is refused, first-boot key digest collection and anti-rollback.
#include "boot/image_verify.hpp"

#include <gtest/gtest.h>

#include "crypto/crc32.hpp"
#include "crypto/pkey.hpp"
#include "image_fixtures.hpp"
#include "test_util.hpp"

namespace espsec::boot {
namespace {

using test::code_of;

crypto::Sha256Digest digest_from_file(const std::string& relative) {
  const Bytes raw = test::read_vector(relative);
  crypto::Sha256Digest out{};
  std::copy_n(raw.begin(), out.size(), out.begin());
  return out;
}

crypto::Sha256Digest digest_of_vector_key(const std::string& relative) {
  auto key = crypto::PublicKey::load(test::read_vector(relative));
  EXPECT_TRUE(key);
  return *sbv2::key_digest(*key);
}

image::ChipState chip_state(uint16_t id, uint16_t revision) {
  image::ChipState state;
  state.chip_id = id;
  state.chip_revision = revision;
  state.efuse_block_revision = 1;
  return state;
}
image::ChipState esp32_state() { return chip_state(0, 300); }
image::ChipState c3_state() { return chip_state(5, 4); }

SecureBootConfig config_with(sbv2::Scheme scheme, std::initializer_list<crypto::Sha256Digest> digests) {
  SecureBootConfig config;
  config.scheme = scheme;
  size_t slot = 0;
  for (const auto& d : digests) config.key_digests[slot++] = d;
  return config;
}

VerifyOptions plain_options(image::Role role, uint64_t partition) {
  VerifyOptions options;
  options.role = role;
  options.partition_size = partition;
  return options;
}

VerifyOptions signed_options(image::Role role, uint64_t partition, SecureBootConfig config) {
  VerifyOptions options = plain_options(role, partition);
  options.secure_boot = std::move(config);
  return options;
}

// ---------------------------------------------------------------------------------------------
// Images made by esptool / espsecure

TEST(BootVerifyVectors, SignedEsp32BootloadersVerifyWithTheirKeyDigest) {
  ESPSEC_REQUIRE_VECTORS();
  struct Case {
    const char* image;
    const char* pubkey;
    sbv2::Scheme scheme;
  } cases[] = {
      {"bootloader_signed_v2_rsa.bin", "rsa_secure_boot_signing_pubkey.pem", sbv2::Scheme::kRsa3072},
      {"bootloader_signed_v2_ecdsa192.bin", "ecdsa192_secure_boot_signing_pubkey.pem", sbv2::Scheme::kEcdsaP192},
      {"bootloader_signed_v2_ecdsa256.bin", "ecdsa256_secure_boot_signing_pubkey.pem", sbv2::Scheme::kEcdsaP256},
      {"bootloader_signed_v2_ecdsa384.bin", "ecdsa384_secure_boot_signing_pubkey.pem", sbv2::Scheme::kEcdsaP384},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.image);
    const Bytes bytes = test::read_vector(std::string("secure/esptool/") + c.image);
    const auto digest = digest_of_vector_key(std::string("secure/esptool/") + c.pubkey);
    auto ok = verify_image(bytes, esp32_state(),
                           signed_options(image::Role::kBootloader, bytes.size(), config_with(c.scheme, {digest})));
    ASSERT_TRUE(ok) << ok.error().message;
    ASSERT_TRUE(ok->signature);
    EXPECT_EQ(ok->signature->block, 0u);
    EXPECT_EQ(ok->length, 0x9000u);
  }
  // The RSA key digest file espsecure wrote is what eFuse would hold.
  EXPECT_EQ(digest_from_file("secure/esptool/rsa_public_key_digest.bin"),
            digest_of_vector_key("secure/esptool/rsa_secure_boot_signing_pubkey.pem"));
}

TEST(BootVerifyVectors, MultiSignedBootloaderPicksTheTrustedBlock) {
  ESPSEC_REQUIRE_VECTORS();
  const Bytes bytes = test::read_vector("secure/esptool/bootloader_multi_signed_v2.bin");
  const auto key1 = digest_of_vector_key("secure/esptool/rsa_secure_boot_signing_pubkey.pem");
  const auto key2 = digest_of_vector_key("secure/esptool/rsa_secure_boot_signing_pubkey2.pem");
  const auto key4 = digest_of_vector_key("secure/esptool/rsa_secure_boot_signing_pubkey4.pem");
  const auto opts = [&](SecureBootConfig c) { return signed_options(image::Role::kBootloader, bytes.size(), c); };

  SecureBootConfig only_key2;
  only_key2.key_digests[2] = key2;
  auto ok = verify_image(bytes, esp32_state(), opts(only_key2));
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->signature->block, 1u);
  EXPECT_EQ(ok->signature->slot, 2u);

  SecureBootConfig revoked = config_with(sbv2::Scheme::kRsa3072, {key1});
  revoked.revoked[0] = true;
  EXPECT_EQ(code_of(verify_image(bytes, esp32_state(), opts(revoked))), "secure_boot.key_revoked");
  revoked.key_digests[1] = key2;  // a second, live slot rescues it
  ok = verify_image(bytes, esp32_state(), opts(revoked));
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->signature->slot, 1u);

  EXPECT_EQ(code_of(verify_image(bytes, esp32_state(), opts(config_with(sbv2::Scheme::kRsa3072, {key4})))),
            "secure_boot.key_not_burned");
  // An ECDSA device sees no valid block in an RSA-signed image.
  EXPECT_EQ(code_of(verify_image(bytes, esp32_state(), opts(config_with(sbv2::Scheme::kEcdsaP256, {key1})))),
            "secure_boot.no_valid_block");
}

TEST(BootVerifyVectors, UnsignedImagesVerifyWithoutSecureBoot) {
  ESPSEC_REQUIRE_VECTORS();
  const Bytes boot = test::read_vector("secure/esptool/bootloader.bin");
  auto b = verify_image(boot, esp32_state(), plain_options(image::Role::kBootloader, 0x7000));
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_EQ(b->length, boot.size());

  const Bytes app = test::read_vector("secure/esptool/hello-world-signed.bin");
  auto a = verify_image(app, esp32_state(), plain_options(image::Role::kApp, 0x100000));
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->length, 0x2FFB0u);
  EXPECT_EQ(a->secure_version, 0u);
  // A C3 refuses the ESP32 image.
  EXPECT_EQ(code_of(verify_image(app, c3_state(), plain_options(image::Role::kApp, 0x100000))),
            "image.chip_id");
}

TEST(BootVerifyVectors, RandomImageWithAValidSignatureIsStillRefused) {
  ESPSEC_REQUIRE_VECTORS();
  // sign/app_1MiB is random bytes behind a C3 header, correctly signed with rsa3072_a.
  const Bytes bytes = test::read_vector("secure/sign/app_1MiB.signed-rsa3072.bin");
  const auto key = digest_from_file("secure/keys/rsa3072_a.digest.bin");
  const auto config = config_with(sbv2::Scheme::kRsa3072, {key});
  auto result = verify_image(bytes, c3_state(), signed_options(image::Role::kApp, 0x200000, config));
  EXPECT_EQ(code_of(result), "image.segment_length");
  // The signature itself is good: the sector verifies over the digest of the first MiB.
  const auto digest = crypto::sha256(ByteSpan(bytes).first(0x100000));
  auto match = verify_signature_sector(ByteSpan(bytes).subspan(0x100000), digest, config);
  ASSERT_TRUE(match) << match.error().message;
  EXPECT_EQ(match->block, 0u);
}

TEST(BootVerifyVectors, SignatureSectorsFromEspsecureVerifyAgainstKeyDigests) {
  ESPSEC_REQUIRE_VECTORS();
  const Bytes app = test::read_vector("secure/sign/app_1MiB.bin");
  const auto sha256 = crypto::sha256(app);
  const Bytes sha384 = crypto::digest(crypto::HashAlg::kSha384, app);
  const auto a = digest_from_file("secure/keys/rsa3072_a.digest.bin");
  const auto b = digest_from_file("secure/keys/rsa3072_b.digest.bin");
  const auto c = digest_from_file("secure/keys/rsa3072_c.digest.bin");
  const auto e256 = digest_from_file("secure/keys/ecdsa256_a.digest.bin");
  const auto e384 = digest_from_file("secure/keys/ecdsa384_a.digest.bin");
  auto check = [&](const char* sector, ByteSpan digest, const SecureBootConfig& config, std::string want, size_t block) {
    SCOPED_TRACE(sector);
    auto r = verify_signature_sector(test::read_vector(std::string("secure/sign/") + sector), digest, config);
    EXPECT_EQ(code_of(r), want) << (r ? "" : r.error().message);
    if (r) {
      EXPECT_EQ(r->block, block);
    }
  };
  using S = sbv2::Scheme;
  check("app_1MiB.rsa3072x3.sig4k.bin", sha256, config_with(S::kRsa3072, {c}), "ok", 2);
  check("app_1MiB.rsa3072x2.sig4k.bin", sha256, config_with(S::kRsa3072, {c}), "secure_boot.key_not_burned", 0);
  check("app_1MiB.rsa3072-append-bc.sig4k.bin", sha256, config_with(S::kRsa3072, {b}), "ok", 1);
  check("app_1MiB.ecdsa256.sig4k.bin", sha256, config_with(S::kEcdsaP256, {e256}), "ok", 0);
  check("app_1MiB.ecdsa384.sig4k.bin", sha384, config_with(S::kEcdsaP384, {e384}), "ok", 0);
  // Unlike espsecure verify-signature, the device reads every block: block 1 is the ECDSA one.
  check("app_1MiB.mixed-rsa-then-ecdsa256.sig4k.bin", sha256, config_with(S::kEcdsaP256, {e256}), "ok", 1);
  check("app_1MiB.mixed-rsa-then-ecdsa256.sig4k.bin", sha256, config_with(S::kRsa3072, {a}), "ok", 0);
  // A digest of some other data.
  const auto other = crypto::sha256(as_bytes("other"));
  check("app_1MiB.rsa3072.sig4k.bin", other, config_with(S::kRsa3072, {a}), "secure_boot.digest_mismatch", 0);
}

// ---------------------------------------------------------------------------------------------
// Tamper: sign an image, flip a byte in each region, check the reason.

class BootTamper : public ::testing::Test {
 protected:
  void SetUp() override {
    unsigned_image_ = test::small_app(1);
    signed_image_ = test::sign_image(unsigned_image_, test::rsa_key_a());
    config_ = config_with(sbv2::Scheme::kRsa3072, {test::key_digest_of(test::rsa_key_a())});
    ASSERT_EQ(signed_image_.size(), 0x2000u);
  }
  Result<VerifiedImage> verify(ByteSpan bytes) const {
    return verify_image(bytes, c3_state(), signed_options(image::Role::kApp, 0x10000, config_));
  }
  std::string flipped(size_t offset, uint8_t mask = 0x01) const {
    Bytes copy = signed_image_;
    copy[offset] ^= mask;
    return code_of(verify(copy));
  }
  // Flips a byte of block 0 and recomputes the block CRC, so the field's own check decides.
  std::string flipped_with_crc(size_t block_offset) const {
    Bytes copy = signed_image_;
    uint8_t* block = copy.data() + kSector;
    block[block_offset] ^= 0x01;
    store_le32(block + sbv2::kCrcOffset, crypto::crc32_le(0, ByteSpan(block, sbv2::kCrcOffset)));
    return code_of(verify(copy));
  }
  static constexpr size_t kSector = 0x1000;
  Bytes unsigned_image_, signed_image_;
  SecureBootConfig config_;
};

TEST_F(BootTamper, UntouchedImageVerifies) {
  auto ok = verify(signed_image_);
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->signature->block, 0u);
  EXPECT_EQ(ok->signature->slot, 0u);
  EXPECT_EQ(ok->length, 0x2000u);
  EXPECT_EQ(ok->secure_version, 1u);
}

// The overload for an already parsed image reaches the same verdict as parsing inside, for the
// untouched image and a flipped byte in every region whose parse succeeds.
TEST_F(BootTamper, PreParsedImageGivesTheSameVerdict) {
  const VerifyOptions options = signed_options(image::Role::kApp, 0x10000, config_);
  auto both = [&](const Bytes& bytes) {
    auto info = image::parse_image(bytes);
    if (!info) return std::string("unparsed");
    const auto parsed = verify_image(std::move(*info), bytes, c3_state(), options);
    EXPECT_EQ(code_of(parsed), code_of(verify(bytes)));
    if (parsed) {
      EXPECT_EQ(parsed->length, verify(bytes)->length);
    }
    return code_of(parsed);
  };
  EXPECT_EQ(both(signed_image_), "ok");
  size_t checked = 0;
  for (size_t offset = 0; offset < signed_image_.size(); offset += 61) {
    Bytes copy = signed_image_;
    copy[offset] ^= 0x01;
    checked += both(copy) != "unparsed";
  }
  EXPECT_GT(checked, 100u);
  image::ChipState other = c3_state();
  other.chip_id = 0x77;
  EXPECT_EQ(code_of(verify_image(*image::parse_image(signed_image_), signed_image_, other, options)),
            "image.chip_unknown");
}

TEST_F(BootTamper, ImageHeaderFields) {
  EXPECT_EQ(flipped(0), "image.magic");
  EXPECT_EQ(flipped(1, 0x10), "image.segment_count");
  EXPECT_EQ(flipped(12), "image.chip_id");
  EXPECT_EQ(flipped(15, 0x80), "image.chip_revision_min");
  // Fields no load check reads are covered by the signed digest.
  for (size_t offset : {2u, 3u, 4u, 8u, 9u, 19u, 23u}) EXPECT_EQ(flipped(offset), "secure_boot.digest_mismatch") << offset;
}

TEST_F(BootTamper, SegmentHeaders) {
  const size_t seg1 = 24 + 8 + 0x300;
  EXPECT_EQ(flipped(24 + 4, 0x02), "image.segment_length");          // length not a multiple of 4
  EXPECT_EQ(flipped(24 + 7, 0x01), "image.segment_length");          // length beyond 16 MiB
  EXPECT_EQ(flipped(24, 0x40), "image.segment_alignment");           // DROM address off its page offset
  EXPECT_EQ(flipped(seg1, 0x04), "secure_boot.digest_mismatch");     // RAM load address
  EXPECT_EQ(flipped(seg1 + 6, 0x01), "image.truncated");             // length past the data
}

TEST_F(BootTamper, SegmentData) {
  EXPECT_EQ(flipped(0x20), "image.app_desc_magic");
  EXPECT_EQ(flipped(0x20 + 4), "image.checksum");  // secure_version
  EXPECT_EQ(flipped(0x200), "image.checksum");
  EXPECT_EQ(flipped(0x700), "image.checksum");
}

TEST_F(BootTamper, ChecksumPaddingHashAndSectorPadding) {
  EXPECT_EQ(flipped(0x73F), "image.checksum");
  // Zero padding before the checksum is outside the checksum but inside the signed digest.
  EXPECT_EQ(flipped(0x734), "secure_boot.digest_mismatch");
  EXPECT_EQ(flipped(0x73E), "secure_boot.digest_mismatch");
  // With Secure Boot the simple hash is not compared; the signed digest covers it.
  EXPECT_EQ(flipped(0x740), "secure_boot.digest_mismatch");
  EXPECT_EQ(flipped(0x75F), "secure_boot.digest_mismatch");
  // 0xFF padding up to the 4 KiB boundary is signed too.
  EXPECT_EQ(flipped(0x760), "secure_boot.digest_mismatch");
  EXPECT_EQ(flipped(0xFFF), "secure_boot.digest_mismatch");
}

TEST_F(BootTamper, FailureMessageTellsCorruptionFromABadSignature) {
  Bytes copy = signed_image_;
  copy[0x760] ^= 1;  // padding: simple hash still fine
  auto r = verify(copy);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("image valid, signature bad"), std::string::npos) << r.error().message;
  copy = signed_image_;
  copy[0x734] ^= 1;  // inside the simply-hashed range
  r = verify(copy);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("image corrupted on flash"), std::string::npos) << r.error().message;
}

TEST_F(BootTamper, SignatureBlockFieldsWithoutCrcFix) {
  // Any change in the CRC-covered bytes makes the block invalid.
  for (size_t offset : {0u, 1u, 2u, 4u, 36u, 500u, 812u, 1195u, 1196u, 1199u})
    EXPECT_EQ(flipped(kSector + offset), "secure_boot.no_valid_block") << offset;
}

TEST_F(BootTamper, SignatureBlockFieldsWithCrcFixed) {
  EXPECT_EQ(flipped_with_crc(0), "secure_boot.no_valid_block");     // magic
  EXPECT_EQ(flipped_with_crc(1), "secure_boot.no_valid_block");     // version 2 -> 3: not this scheme
  EXPECT_EQ(flipped_with_crc(4), "secure_boot.digest_mismatch");    // image digest
  EXPECT_EQ(flipped_with_crc(36), "secure_boot.key_not_burned");    // modulus
  EXPECT_EQ(flipped_with_crc(808), "secure_boot.key_not_burned");   // m'
  EXPECT_EQ(flipped_with_crc(812), "secure_boot.signature_invalid");
  EXPECT_EQ(flipped_with_crc(1195), "secure_boot.signature_invalid");
}

TEST_F(BootTamper, BytesTheChipDoesNotReadAreIgnored) {
  // ESP-IDF validate_signature_block (secure_boot_signatures_*.c) checks the CRC over bytes
  // 0..1195 (CRC_SIGN_BLOCK_LEN) only; nothing reads the block padding 1200..1215, nor the
  // sector after the three blocks (+3648..4095).
  for (size_t offset : {1200u, 1215u}) EXPECT_EQ(flipped(kSector + offset, 0xFF), "ok") << offset;
  for (size_t offset : {3648u, 4000u, 4095u}) EXPECT_EQ(flipped(kSector + offset, 0xFF), "ok") << offset;
}

TEST_F(BootTamper, UnusedBlockSlotsAndOtherBlocks) {
  // A garbage second block does not stop a valid first one.
  EXPECT_EQ(flipped(kSector + 1216 + 10, 0x5A), "ok");
  // A valid first block by an unknown key, the trusted signature in block 1.
  const crypto::PrivateKey* keys[] = {&test::rsa_key_b(), &test::rsa_key_a()};
  const Bytes two = test::sign_image(unsigned_image_, keys);
  auto ok = verify(two);
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->signature->block, 1u);
}

TEST_F(BootTamper, ReasonsWithoutSecureBoot) {
  // The same image, checked as the plain (unsigned) loader does.
  auto plain = [&](size_t offset) {
    Bytes copy = unsigned_image_;
    copy[offset] ^= 1;
    return code_of(verify_image(copy, c3_state(), plain_options(image::Role::kApp, 0x10000)));
  };
  EXPECT_EQ(plain(0), "image.magic");
  EXPECT_EQ(plain(4), "image.hash");      // entry address: only the hash covers it
  EXPECT_EQ(plain(0x100), "image.checksum");
  EXPECT_EQ(plain(0x735), "image.hash");  // checksum padding
  EXPECT_EQ(plain(0x73F), "image.checksum");
  EXPECT_EQ(plain(0x741), "image.hash");
  // ESP-IDF does not check a bootloader's simple hash without Secure Boot.
  Bytes copy = unsigned_image_;
  copy[0x741] ^= 1;
  EXPECT_TRUE(verify_image(copy, c3_state(), plain_options(image::Role::kBootloader, 0x8000)));
}

TEST_F(BootTamper, EcdsaImageTamperReasons) {
  const Bytes image = test::sign_image(unsigned_image_, test::ecdsa256_key());
  const auto config = config_with(sbv2::Scheme::kEcdsaP256, {test::key_digest_of(test::ecdsa256_key())});
  auto run = [&](ByteSpan bytes) {
    return code_of(verify_image(bytes, c3_state(), signed_options(image::Role::kApp, 0x10000, config)));
  };
  EXPECT_EQ(run(image), "ok");
  auto with_crc = [&](size_t offset) {
    Bytes copy = image;
    uint8_t* block = copy.data() + 0x1000;
    block[offset] ^= 1;
    store_le32(block + sbv2::kCrcOffset, crypto::crc32_le(0, ByteSpan(block, sbv2::kCrcOffset)));
    return run(copy);
  };
  EXPECT_EQ(with_crc(36), "secure_boot.no_valid_block");   // curve id 2 -> 3 does not fit SHA-256
  EXPECT_EQ(with_crc(40), "secure_boot.key_not_burned");   // public point
  EXPECT_EQ(with_crc(101), "secure_boot.signature_invalid");
  EXPECT_EQ(with_crc(500), "ok");                          // reserved zero bytes: CRC-covered, unread
  // An RSA device refuses the ECDSA block outright.
  auto rsa = config_with(sbv2::Scheme::kRsa3072, {test::key_digest_of(test::ecdsa256_key())});
  EXPECT_EQ(code_of(verify_image(image, c3_state(), signed_options(image::Role::kApp, 0x10000, rsa))),
            "secure_boot.no_valid_block");
}

// ---------------------------------------------------------------------------------------------
// Other verification paths

TEST(BootVerify, NoTrustedKeysAndMissingSector) {
  const Bytes image = test::small_app();
  SecureBootConfig empty;
  Bytes padded = image;
  padded.resize(0x2000, 0xFF);
  EXPECT_EQ(code_of(verify_image(padded, c3_state(), signed_options(image::Role::kApp, 0x10000, empty))),
            "secure_boot.no_trusted_keys");
  const auto config = config_with(sbv2::Scheme::kRsa3072, {test::key_digest_of(test::rsa_key_a())});
  EXPECT_EQ(code_of(verify_image(image, c3_state(), signed_options(image::Role::kApp, 0x10000, config))),
            "image.truncated");
  EXPECT_EQ(code_of(verify_signature_sector(ByteSpan(padded).first(100), crypto::sha256(image), config)),
            "secure_boot.sector_size");
  // All slots erased: no valid block.
  auto none = verify_image(padded, c3_state(), signed_options(image::Role::kApp, 0x10000, config));
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, "secure_boot.no_valid_block");
  EXPECT_NE(none.error().message.find("block 0: absent"), std::string::npos) << none.error().message;
}

TEST(BootVerify, PartitionTooSmallForTheSignatureSector) {
  const Bytes image = test::sign_image(test::small_app(), test::rsa_key_a());
  const auto config = config_with(sbv2::Scheme::kRsa3072, {test::key_digest_of(test::rsa_key_a())});
  EXPECT_EQ(code_of(verify_image(image, c3_state(), signed_options(image::Role::kApp, 0x1FFF, config))),
            "image.partition_size");
  // Unsigned, the same bytes only need the image itself.
  EXPECT_TRUE(verify_image(image, c3_state(), plain_options(image::Role::kApp, 0x760)));
  EXPECT_EQ(code_of(verify_image(image, c3_state(), plain_options(image::Role::kApp, 0x75F))),
            "image.partition_size");
}

TEST(BootVerify, AppChecksInLoaderOrder) {
  auto segments = test::small_app_segments();
  store_le16(segments[0].data.data() + 176, 5);  // min eFuse block revision v0.5
  Bytes image = *image::build_image(test::c3_header(), segments);
  const VerifyOptions opts = plain_options(image::Role::kApp, 0x10000);
  EXPECT_EQ(code_of(verify_image(image, c3_state(), opts)), "image.efuse_block_revision_min");
  image::ChipState newer = c3_state();
  newer.efuse_block_revision = 5;
  EXPECT_TRUE(verify_image(image, newer, opts));

  segments = test::small_app_segments();
  segments[0].data[0] = 0;  // app descriptor magic
  image = *image::build_image(test::c3_header(), segments);
  EXPECT_EQ(code_of(verify_image(image, c3_state(), opts)), "image.app_desc_magic");
  VerifyOptions lax = opts;
  lax.require_app_desc = false;
  auto ok = verify_image(image, c3_state(), lax);
  ASSERT_TRUE(ok);
  EXPECT_FALSE(ok->secure_version);

  image::ChipState unknown = c3_state();
  unknown.chip_id = 0x77;
  EXPECT_EQ(code_of(verify_image(image, unknown, opts)), "image.chip_unknown");
}

TEST(BootFirstBoot, CollectsDigestsOfEveryValidBlockInOrder) {
  ESPSEC_REQUIRE_VECTORS();
  const Bytes bytes = test::read_vector("secure/esptool/bootloader_multi_signed_v2.bin");
  const auto info = *image::parse_image(bytes);
  auto digests = signature_key_digests(info, bytes, sbv2::Scheme::kRsa3072);
  ASSERT_TRUE(digests) << digests.error().message;
  ASSERT_EQ(digests->size(), 3u);
  EXPECT_EQ(to_hex((*digests)[0]), "cb2791a371b0c0322bf7370478ba0962224cab1cf2287879e429673e7da84463");
  EXPECT_EQ(to_hex((*digests)[1]), "901a7409238d52d4cbf96f563fb3f4296dabd66a33f53b15eecd8cb3e7ec45d3");
  EXPECT_EQ(to_hex((*digests)[2]), "27919392d68bab79286a26759143a5b1d599efcebd754e5703b5dd23b5e3dd3b");

  // Scanning stops at the first invalid block: a broken block 1 hides block 2.
  Bytes broken = bytes;
  broken[0x8000 + 1216 + 1100] ^= 1;
  digests = signature_key_digests(info, broken, sbv2::Scheme::kRsa3072);
  ASSERT_TRUE(digests);
  EXPECT_EQ(digests->size(), 1u);

  const Bytes p384 = test::read_vector("secure/esptool/bootloader_signed_v2_ecdsa384.bin");
  digests = signature_key_digests(*image::parse_image(p384), p384, sbv2::Scheme::kEcdsaP384);
  ASSERT_TRUE(digests);
  ASSERT_EQ(digests->size(), 1u);
  EXPECT_EQ(to_hex((*digests)[0]), "fc9c01f2e8bc394d199b74b1cdf5060c10acc6cc385905877c5571c53009bc98");
}

TEST(BootFirstBoot, ABlockThatDoesNotVerifyAbortsAndUnsignedGivesNothing) {
  const Bytes image = test::sign_image(test::small_app(), test::rsa_key_a());
  const auto info = *image::parse_image(image);
  auto digests = signature_key_digests(info, image, sbv2::Scheme::kRsa3072);
  ASSERT_TRUE(digests);
  ASSERT_EQ(digests->size(), 1u);
  EXPECT_EQ((*digests)[0], test::key_digest_of(test::rsa_key_a()));

  Bytes bad = image;
  uint8_t* block = bad.data() + 0x1000;
  block[900] ^= 1;  // signature, CRC fixed
  store_le32(block + sbv2::kCrcOffset, crypto::crc32_le(0, ByteSpan(block, sbv2::kCrcOffset)));
  EXPECT_EQ(code_of(signature_key_digests(info, bad, sbv2::Scheme::kRsa3072)), "secure_boot.first_boot_signature");
  // Configured for another scheme: the block cannot verify either.
  EXPECT_EQ(code_of(signature_key_digests(info, image, sbv2::Scheme::kEcdsaP256)), "secure_boot.first_boot_signature");

  Bytes erased = test::small_app();
  erased.resize(0x2000, 0xFF);
  digests = signature_key_digests(*image::parse_image(erased), erased, sbv2::Scheme::kRsa3072);
  ASSERT_TRUE(digests);
  EXPECT_TRUE(digests->empty());
  const Bytes bare = test::small_app();
  EXPECT_EQ(code_of(signature_key_digests(*image::parse_image(bare), bare, sbv2::Scheme::kRsa3072)),
            "image.truncated");
}

TEST(BootAntiRollback, SecureVersionFromTheImageAndTheEfuse) {
  const auto info = *image::parse_image(test::small_app(5));
  EXPECT_EQ(*app_secure_version(info), 5u);
  EXPECT_EQ(efuse_secure_version(0), 0u);
  EXPECT_EQ(efuse_secure_version(0b111), 3u);
  EXPECT_EQ(efuse_secure_version(0xFFFF), 16u);
  EXPECT_EQ(efuse_secure_version(0xFFFFFFFF), 16u);  // only the 16-bit field counts
  EXPECT_EQ(efuse_secure_version(0xFF, 4), 4u);
  EXPECT_TRUE(check_secure_version(5, 5));
  EXPECT_TRUE(check_secure_version(6, 5));
  EXPECT_EQ(code_of(check_secure_version(4, 5)), "anti_rollback.secure_version");

  auto segments = test::small_app_segments();
  segments[0].data[1] ^= 1;
  const auto no_desc = *image::parse_image(*image::build_image(test::c3_header(), segments));
  EXPECT_EQ(code_of(app_secure_version(no_desc)), "image.app_desc_magic");
}

}  // namespace
}  // namespace espsec::boot
