#include "signing/verify.hpp"

#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "crypto/crc32.hpp"
#include "format/sbv2.hpp"
#include "signing/keys.hpp"
#include "signing/signing_test_util.hpp"
#include "test_util.hpp"

namespace espsec::signing {
namespace {

using espsec::test::read_vector;
using test::Log;

crypto::PublicKey key_from(const std::string& vector_path) {
  auto key = load_verification_key(read_vector(vector_path));
  EXPECT_TRUE(key) << vector_path << ": " << (key ? "" : key.error().message);
  return std::move(key).value();
}

void expect_outcome(const Bytes& image, const std::string& image_name, const std::string& key_path, bool success) {
  Log log;
  auto verified = verify_image(image, key_from(key_path), log.sink());
  EXPECT_EQ(verified.has_value(), success) << image_name << " with " << key_path;
  if (!success && !verified) {
    EXPECT_EQ(verified.error().message, "Checked all blocks. Signature could not be verified with the provided key.")
        << image_name << " with " << key_path;
  }
}

// README-secure section 1: the esptool signed bootloaders against every esptool key.
TEST(VerifyMatrix, EsptoolSignedImages) {
  ESPSEC_REQUIRE_VECTORS();
  struct Case { const char* image; std::vector<const char*> good, bad; } cases[] = {
      {"bootloader_signed_v2_rsa.bin",
       {"rsa_secure_boot_signing_key.pem", "rsa_secure_boot_signing_pubkey.pem"},
       {"rsa_secure_boot_signing_key2.pem", "rsa_secure_boot_signing_key3.pem", "rsa_secure_boot_signing_key4.pem",
        "rsa_secure_boot_signing_pubkey2.pem", "rsa_secure_boot_signing_pubkey4.pem"}},
      {"bootloader_signed_v2_ecdsa192.bin",
       {"ecdsa192_secure_boot_signing_key.pem", "ecdsa192_secure_boot_signing_pubkey.pem"},
       {"ecdsa192_secure_boot_signing_key2.pem", "ecdsa192_secure_boot_signing_key_v2.pem",
        "ecdsa192_secure_boot_signing_pubkey2.pem"}},
      {"bootloader_signed_v2_ecdsa256.bin",
       {"ecdsa256_secure_boot_signing_key.pem", "ecdsa256_secure_boot_signing_key_pkcs8.pem",
        "ecdsa256_secure_boot_signing_pubkey.pem"},
       {"ecdsa256_secure_boot_signing_key2.pem", "ecdsa256_secure_boot_signing_key_v2.pem",
        "ecdsa256_secure_boot_signing_pubkey2.pem"}},
      {"bootloader_signed_v2_ecdsa384.bin",
       {"ecdsa384_secure_boot_signing_key.pem", "ecdsa384_secure_boot_signing_pubkey.pem"},
       {"ecdsa384_secure_boot_signing_key2.pem", "ecdsa384_secure_boot_signing_pubkey2.pem"}},
      {"bootloader_multi_signed_v2.bin",
       {"rsa_secure_boot_signing_key.pem", "rsa_secure_boot_signing_key2.pem", "rsa_secure_boot_signing_key3.pem",
        "rsa_secure_boot_signing_pubkey.pem", "rsa_secure_boot_signing_pubkey2.pem"},
       {"rsa_secure_boot_signing_key4.pem", "rsa_secure_boot_signing_pubkey4.pem"}},
  };
  for (const auto& c : cases) {
    const Bytes image = read_vector(std::string("secure/esptool/") + c.image);
    for (const char* k : c.good) expect_outcome(image, c.image, std::string("secure/esptool/") + k, true);
    for (const char* k : c.bad) expect_outcome(image, c.image, std::string("secure/esptool/") + k, false);
  }
}

// README-secure section 3: every signed sector against the five generated keys, public and private.
TEST(VerifyMatrix, GeneratedSignedImages) {
  ESPSEC_REQUIRE_VECTORS();
  const Bytes app = read_vector("secure/sign/app_1MiB.bin");
  struct Case { const char* file; bool whole_image; std::set<std::string> good; } cases[] = {
      {"app_1MiB.rsa3072.sig4k.bin", false, {"rsa3072_a"}},
      {"app_1MiB.signed-rsa3072.bin", true, {"rsa3072_a"}},
      {"app_1MiB.ecdsa256.sig4k.bin", false, {"ecdsa256_a"}},
      {"app_1MiB.ecdsa384.sig4k.bin", false, {"ecdsa384_a"}},
      {"app_1MiB.rsa3072x2.sig4k.bin", false, {"rsa3072_a", "rsa3072_b"}},
      {"app_1MiB.rsa3072x3.sig4k.bin", false, {"rsa3072_a", "rsa3072_b", "rsa3072_c"}},
      // espsecure 5.1 examines only block 0 with an ECDSA key: ecdsa256_a fails although
      // block 1 is its valid signature.
      {"app_1MiB.mixed-rsa-then-ecdsa256.sig4k.bin", false, {"rsa3072_a"}},
      {"app_1MiB.rsa3072-append-b.sig4k.bin", false, {"rsa3072_a", "rsa3072_b"}},
      {"app_1MiB.rsa3072-append-bc.sig4k.bin", false, {"rsa3072_a", "rsa3072_b", "rsa3072_c"}},
      {"odd_10000.signed-ecdsa256.bin", true, {"ecdsa256_a"}},
      {"fixed_8KiB.signed-ecdsa256.bin", true, {"ecdsa256_a"}},
      {"fixed_8KiB.precalc-ecdsa256.bin", true, {"ecdsa256_a"}},
      {"fixed_8KiB.precalc-ecdsa384.bin", true, {"ecdsa384_a"}},
      {"fixed_8KiB.precalc-rsa3072.bin", true, {"rsa3072_a"}},
  };
  for (const auto& c : cases) {
    Bytes image = read_vector(std::string("secure/sign/") + c.file);
    if (!c.whole_image) {
      Bytes full = app;
      full.insert(full.end(), image.begin(), image.end());
      image = std::move(full);
    }
    for (const char* k : {"rsa3072_a", "rsa3072_b", "rsa3072_c", "ecdsa256_a", "ecdsa384_a"}) {
      const bool good = c.good.count(k) != 0;
      expect_outcome(image, c.file, std::string("secure/keys/") + k + ".pub.pem", good);
      expect_outcome(image, c.file, std::string("secure/keys/") + k + ".pem", good);
    }
  }
  const Bytes p192 = read_vector("secure/sign/fixed_8KiB.precalc-ecdsa192.bin");
  expect_outcome(p192, "precalc-ecdsa192", "secure/keys/ecdsa192_a.pub.pem", true);
  expect_outcome(p192, "precalc-ecdsa192", "secure/keys/ecdsa256_a.pub.pem", false);
}

TEST(VerifyMessages, ReportsEveryExaminedBlock) {
  ESPSEC_REQUIRE_VECTORS();
  Log log;
  auto ok = verify_image(read_vector("secure/sign/app_1MiB.signed-rsa3072.bin"), key_from("secure/keys/rsa3072_a.pub.pem"),
                         log.sink());
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, std::vector<size_t>{0});
  EXPECT_EQ(log.lines, (std::vector<std::string>{
                           "Signature block 0 is valid (RSA).",
                           "Signature block 0 verification successful using the supplied key (RSA).",
                           "Signature block 1 invalid. Skipping.", "Signature block 2 invalid. Skipping."}));
}

TEST(VerifyMessages, EcdsaKeyExaminesOnlyBlockZero) {
  ESPSEC_REQUIRE_VECTORS();
  Bytes image = read_vector("secure/sign/app_1MiB.bin");
  const Bytes sector = read_vector("secure/sign/app_1MiB.mixed-rsa-then-ecdsa256.sig4k.bin");
  image.insert(image.end(), sector.begin(), sector.end());
  Log log;
  auto r = verify_image(image, key_from("secure/keys/ecdsa256_a.pub.pem"), log.sink());
  ASSERT_FALSE(r);
  EXPECT_EQ(log.lines, (std::vector<std::string>{
                           "Signature block 0 is valid (RSA).",
                           "Signature block 0 is not signed by the supplied key. Checking the next block..."}));
}

// README-secure section 6, FIXED_PAYLOAD_BYTE100_FLIPPED: payload byte 100 xor 1.
TEST(VerifyMessages, DigestMismatchIsFatalWithEspsecureWording) {
  ESPSEC_REQUIRE_VECTORS();
  Bytes image = read_vector("secure/sign/fixed_8KiB.signed-ecdsa256.bin");
  image[100] ^= 1;
  Log log;
  auto r = verify_image(image, key_from("secure/keys/ecdsa256_a.pub.pem"), log.sink());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "signing.digest_mismatch");
  EXPECT_EQ(r.error().message,
            "Signature block image digest does not match the actual image digest "
            "b'\\x9b{\\x90\\xb4L&\\xf9\\x87#\\xe9\\x15\\xf1\\xd1\\x05\\x9d\\x0b\\xc3\\x1d\\xde%\\xfe_\\xbb\\xa5S\\xf7\\xdc=;"
            "\\xe4\\x8b\\x00'. Expected "
            "b'\\xdc@Ja?\\xed\\xae\\xb5@4QK\\xc6P_V\\xb93\\xca\\xa5%\\x02\\x99\\xba}\\tCw\\xa5\\x1c\\xaaF'.");
  EXPECT_EQ(log.lines, std::vector<std::string>{"Signature block 0 is valid (ECDSA)."});
}

TEST(VerifyMessages, DigestMismatchAbortsBeforeALaterBlockCouldVerify) {
  ESPSEC_REQUIRE_VECTORS();
  Bytes image = read_vector("secure/esptool/bootloader_multi_signed_v2.bin");
  // Block 0 claims another digest (CRC fixed, so the block stays valid); block 1 is key2's.
  uint8_t* block0 = image.data() + image.size() - sbv2::kSectorSize;
  block0[4] ^= 0xFF;
  store_le32(block0 + sbv2::kCrcOffset, crypto::crc32_le(0, ByteSpan(block0, sbv2::kCrcOffset)));
  Log log;
  auto r = verify_image(image, key_from("secure/esptool/rsa_secure_boot_signing_pubkey2.pem"), log.sink());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "signing.digest_mismatch");
  EXPECT_EQ(log.lines.size(), 1u);
}

TEST(VerifyMessages, CorruptedBlocksAreSkippedOrRejected) {
  ESPSEC_REQUIRE_VECTORS();
  const Bytes good = read_vector("secure/sign/fixed_8KiB.signed-ecdsa256.bin");
  const size_t block0 = good.size() - sbv2::kSectorSize;
  const auto key = key_from("secure/keys/ecdsa256_a.pub.pem");

  // r byte flipped, CRC stale: the block is treated as absent.
  Bytes stale = good;
  stale[block0 + 101] ^= 1;
  Log log;
  auto r = verify_image(stale, key, log.sink());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "Checked all blocks. Signature could not be verified with the provided key.");
  EXPECT_EQ(log.lines, std::vector<std::string>{"Signature block 0 invalid. Skipping."});

  // CRC recomputed: the block is valid, the signature check fails.
  Bytes fixed = stale;
  store_le32(fixed.data() + block0 + sbv2::kCrcOffset,
             crypto::crc32_le(0, ByteSpan(fixed).subspan(block0, sbv2::kCrcOffset)));
  log.lines.clear();
  EXPECT_FALSE(verify_image(fixed, key, log.sink()));
  EXPECT_EQ(log.lines, (std::vector<std::string>{
                           "Signature block 0 is valid (ECDSA).",
                           "Signature block 0 is not signed by the supplied key. Checking the next block..."}));

  // Bad magic (CRC then stale as well).
  Bytes magic = good;
  magic[block0] = 0xE6;
  log.lines.clear();
  EXPECT_FALSE(verify_image(magic, key, log.sink()));
  EXPECT_EQ(log.lines, std::vector<std::string>{"Signature block 0 invalid. Skipping."});
}

TEST(VerifyInput, SizeMustBeANonZeroMultipleOf4096) {
  for (size_t size : {0u, 100u, 4095u, 4097u, 10000u}) {
    Log log;
    auto r = verify_image(Bytes(size, 0xFF), crypto::PrivateKey::generate_ec(crypto::Curve::kP256)->public_key(),
                          log.sink());
    ASSERT_FALSE(r) << size;
    EXPECT_EQ(r.error().code, "signing.image_size");
    EXPECT_EQ(r.error().message, "Invalid datafile. Data size should be non-zero & a multiple of 4096.");
    auto info = signature_info(Bytes(size, 0xFF), log.sink());
    ASSERT_FALSE(info);
    EXPECT_EQ(info.error().code, "signing.image_size");
  }
}

TEST(SignatureInfo, PrintsKeyDigestOfEachBlock) {
  ESPSEC_REQUIRE_VECTORS();
  Log log;
  auto info = signature_info(read_vector("secure/esptool/bootloader_multi_signed_v2.bin"), log.sink());
  ASSERT_TRUE(info);
  ASSERT_EQ(info->blocks.size(), 3u);
  EXPECT_FALSE(info->corrupt_block);
  EXPECT_EQ(to_hex(info->blocks[0].key_digest), "cb2791a371b0c0322bf7370478ba0962224cab1cf2287879e429673e7da84463");
  EXPECT_EQ(to_hex(info->blocks[1].key_digest), "901a7409238d52d4cbf96f563fb3f4296dabd66a33f53b15eecd8cb3e7ec45d3");
  EXPECT_EQ(to_hex(info->blocks[2].key_digest), "27919392d68bab79286a26759143a5b1d599efcebd754e5703b5dd23b5e3dd3b");
  EXPECT_EQ(log.lines[1],
            "Public key digest for block 0: cb 27 91 a3 71 b0 c0 32 2b f7 37 04 78 ba 09 62 22 4c ab 1c f2 28 78 79 e4 "
            "29 67 3e 7d a8 44 63");

  // P-384 and P-192 key fields sit at other offsets.
  for (const char* name : {"ecdsa384_a", "ecdsa192_a"}) {
    const std::string scheme = std::string(name).substr(0, 8);
    auto one = signature_info(read_vector("secure/sign/fixed_8KiB.precalc-" + scheme + ".bin"), log.sink());
    ASSERT_TRUE(one);
    ASSERT_EQ(one->blocks.size(), 1u);
    EXPECT_EQ(Bytes(one->blocks[0].key_digest.begin(), one->blocks[0].key_digest.end()),
              read_vector(std::string("secure/keys/") + name + ".digest.bin"));
  }
}

TEST(SignatureInfo, StopsAtTheFirstInvalidSlotAndSaysWhetherItIsDamaged) {
  ESPSEC_REQUIRE_VECTORS();
  Log log;
  auto erased = signature_info(read_vector("secure/sign/fixed_8KiB.signed-ecdsa256.bin"), log.sink());
  ASSERT_TRUE(erased);
  EXPECT_EQ(erased->blocks.size(), 1u);
  EXPECT_FALSE(erased->corrupt_block);
  EXPECT_EQ(log.lines.back(), "Signature block 1 absent/invalid. Skipping checking next blocks...");

  Bytes bad_crc = read_vector("secure/esptool/bootloader_signed_v2_rsa.bin");
  bad_crc[bad_crc.size() - sbv2::kSectorSize + sbv2::kCrcOffset] ^= 1;
  auto damaged = signature_info(bad_crc, log.sink());
  ASSERT_TRUE(damaged);
  EXPECT_TRUE(damaged->blocks.empty());
  ASSERT_TRUE(damaged->corrupt_block);
  EXPECT_EQ(*damaged->corrupt_block, 0u);
  EXPECT_TRUE(damaged->corrupt_reason.starts_with("CRC mismatch")) << damaged->corrupt_reason;

  auto not_signed = signature_info(read_vector("secure/esptool/hello-world-signed.bin"), log.sink());
  ASSERT_TRUE(not_signed);
  EXPECT_TRUE(not_signed->blocks.empty());
  EXPECT_TRUE(not_signed->corrupt_reason.starts_with("bad magic")) << not_signed->corrupt_reason;

  Bytes wrong_digest = read_vector("secure/sign/fixed_8KiB.signed-ecdsa256.bin");
  wrong_digest[0] ^= 1;
  auto mismatch = signature_info(wrong_digest, log.sink());
  ASSERT_FALSE(mismatch);
  EXPECT_EQ(mismatch.error().message, "Digest in signature block 0 doesn't match the image digest.");
}

TEST(PythonBytesRepr, MatchesPythonQuotingAndEscapes) {
  EXPECT_EQ(python_bytes_repr(as_bytes("abc")), "b'abc'");
  EXPECT_EQ(python_bytes_repr(as_bytes("it's")), "b\"it's\"");
  EXPECT_EQ(python_bytes_repr(as_bytes("'\"")), "b'\\'\"'");
  EXPECT_EQ(python_bytes_repr(as_bytes("a\\b\t\n\r")), "b'a\\\\b\\t\\n\\r'");
  const uint8_t raw[] = {0x00, 0x1f, 0x7f, 0x80, 0xff, 0x20, 0x7e};
  EXPECT_EQ(python_bytes_repr(raw), "b'\\x00\\x1f\\x7f\\x80\\xff ~'");
}

}  // namespace
}  // namespace espsec::signing
