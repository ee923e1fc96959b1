// Synthetic ESP32-C3 images: well-formed, deterministic, verifiable by the boot chain, signable.
#include "format/synthetic_image.hpp"

#include <gtest/gtest.h>

#include "boot/image_verify.hpp"
#include "image_fixtures.hpp"

namespace espsec::image {
namespace {

using test::code_of;

AppImageSpec app_spec(uint64_t size, bool secure_pad = false) {
  AppImageSpec spec;
  spec.project_name = "factory-app";
  spec.version = "2.1.0";
  spec.secure_version = 3;
  spec.size = size;
  spec.secure_pad = secure_pad;
  return spec;
}

ChipState c3() {
  ChipState state;
  state.chip_id = 5;
  state.chip_revision = 4;
  return state;
}

boot::VerifyOptions app_options(uint64_t partition) {
  boot::VerifyOptions options;
  options.partition_size = partition;
  return options;
}

TEST(SyntheticApp, IsAValidC3AppOfTheRequestedSize) {
  for (uint64_t size : {kMinAppImageSize, uint64_t{0x100000}, uint64_t{0x123457}, kMaxAppImageSize}) {
    SCOPED_TRACE(size);
    auto bytes = make_app_image(app_spec(size));
    ASSERT_TRUE(bytes) << bytes.error().message;
    EXPECT_LE(bytes->size(), size);
    EXPECT_GT(bytes->size() + 16, size);
    auto verified = boot::verify_image(*bytes, c3(), app_options(size));
    ASSERT_TRUE(verified) << verified.error().message;
    EXPECT_EQ(verified->secure_version, 3u);
    const ImageInfo& info = verified->info;
    ASSERT_TRUE(info.app_desc);
    EXPECT_EQ(info.app_desc->project_name, "factory-app");
    EXPECT_EQ(info.app_desc->version, "2.1.0");
    EXPECT_EQ(info.app_desc->idf_ver, "v5.4.1");
    EXPECT_EQ(info.app_desc->mmu_page_size, 16);
    EXPECT_EQ(info.header.chip_id, 5);
    EXPECT_EQ(info.header.min_chip_rev_full, 3);
    EXPECT_EQ(info.header.max_chip_rev_full, 199);
  }
}

TEST(SyntheticApp, SegmentLayoutIsWhatEspIdfAndEsptoolProduce) {
  const Bytes bytes = *make_app_image(app_spec(0x100000));
  const ImageInfo info = *parse_image(bytes);
  ASSERT_GE(info.segments.size(), 4u);
  EXPECT_EQ(info.segments[0].load_addr, 0x3C000020u);
  EXPECT_EQ(info.segments[0].kind, SegmentKind::kMapped);
  size_t irom = 0;
  for (size_t i = 0; i < info.segments.size(); ++i)
    if (esp32c3().irom.contains(info.segments[i].load_addr)) irom = i;
  ASSERT_NE(irom, 0u);
  const Segment& s = info.segments[irom];
  EXPECT_EQ(s.data_offset % 0x10000, 0x20u);
  EXPECT_EQ(s.load_addr % 0x10000, 0x20u);
  // IROM page numbers start after the ones DROM uses (shared C3 MMU table).
  const uint64_t drom_last_page = (0x20 + info.segments[0].length - 1) / 0x10000;
  EXPECT_GT((s.load_addr - 0x42000000) / 0x10000, drom_last_page);
  // DRAM, then a slice of IRAM before IROM; the rest of IRAM after it.
  EXPECT_EQ(info.segments[1].load_addr, 0x3FC8B400u);
  EXPECT_EQ(info.segments[2].load_addr, 0x40380000u);
  ASSERT_GT(info.segments.size(), irom + 1);
  EXPECT_EQ(info.segments[irom + 1].kind, SegmentKind::kLoaded);
  EXPECT_GT(info.segments[irom + 1].load_addr, 0x40380000u);
}

TEST(SyntheticApp, SecurePaddingEndsTheHashOnA64KiBBoundary) {
  for (uint64_t size : {uint64_t{0x20000}, uint64_t{0x1FFFFF}, uint64_t{0x200000}}) {
    SCOPED_TRACE(size);
    const Bytes bytes = *make_app_image(app_spec(size, true));
    EXPECT_EQ(bytes.size(), size / 0x10000 * 0x10000);
    const ImageInfo info = *parse_image(bytes);
    EXPECT_EQ(info.image_length % 0x10000, 0u);
    EXPECT_EQ(info.segments.back().load_addr, 0u);
    EXPECT_TRUE(info.hash_ok());
  }
}

TEST(SyntheticApp, DeterministicFromTheSeed) {
  AppImageSpec spec = app_spec(0x40000);
  const Bytes a = *make_app_image(spec);
  EXPECT_EQ(*make_app_image(spec), a);
  spec.seed = 2;
  EXPECT_NE(*make_app_image(spec), a);
}

TEST(SyntheticApp, SurvivesEsptoolCompatibleSigning) {
  const Bytes app = *make_app_image(app_spec(0x30000, true));
  const Bytes signed_app = test::sign_image(app, test::rsa_key_a());
  EXPECT_EQ(signed_app.size(), app.size() + 0x1000);  // already 64 KiB aligned: no padding
  boot::VerifyOptions options = app_options(0x100000);
  options.secure_boot.emplace();
  options.secure_boot->key_digests[0] = test::key_digest_of(test::rsa_key_a());
  auto verified = boot::verify_image(signed_app, c3(), options);
  ASSERT_TRUE(verified) << verified.error().message;
  EXPECT_EQ(verified->length, signed_app.size());

  // Without secure padding espsecure pads with 0xFF to 4 KiB; the ECDSA signature covers it.
  const Bytes plain = *make_app_image(app_spec(0x30000));
  const Bytes ecdsa = test::sign_image(plain, test::ecdsa256_key());
  boot::VerifyOptions ec = app_options(0x100000);
  ec.secure_boot.emplace();
  ec.secure_boot->scheme = sbv2::Scheme::kEcdsaP256;
  ec.secure_boot->key_digests[1] = test::key_digest_of(test::ecdsa256_key());
  auto ok = boot::verify_image(ecdsa, c3(), ec);
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->signature->slot, 1u);
}

TEST(SyntheticApp, RefusesBadOptions) {
  AppImageSpec spec = app_spec(0x100000);
  spec.chip = "esp32c9";
  EXPECT_EQ(code_of(make_app_image(spec)), "image_new.chip");
  spec.chip = "esp32s3";
  EXPECT_EQ(code_of(make_app_image(spec)), "image_new.chip");
  spec = app_spec(kMinAppImageSize - 1);
  EXPECT_EQ(code_of(make_app_image(spec)), "image_new.size");
  spec = app_spec(kMaxAppImageSize + 1);
  EXPECT_EQ(code_of(make_app_image(spec)), "image_new.size");
  spec = app_spec(0x100000);
  spec.secure_version = 16;
  EXPECT_TRUE(make_app_image(spec));
  spec.secure_version = 17;
  EXPECT_EQ(code_of(make_app_image(spec)), "image_new.secure_version");
  spec = app_spec(0x100000);
  spec.version = std::string(31, '1');
  EXPECT_TRUE(make_app_image(spec));
  spec.version = std::string(32, '1');
  auto long_version = make_app_image(spec);
  ASSERT_FALSE(long_version);
  EXPECT_EQ(long_version.error().code, "image.app_desc_field");
  EXPECT_NE(long_version.error().message.find("version"), std::string::npos);
  spec = app_spec(0x100000);
  spec.project_name = std::string(40, 'p');
  EXPECT_EQ(code_of(make_app_image(spec)), "image.app_desc_field");
}

TEST(SyntheticBootloader, FitsBelowThePartitionTableWithASignatureSector) {
  BootloaderImageSpec spec;
  spec.version = 7;
  const Bytes bytes = *make_bootloader_image(spec);
  const ImageInfo info = *parse_image(bytes);
  EXPECT_LE(info.signed_total_length, 0x8000u);
  ASSERT_TRUE(info.bootloader_desc);
  EXPECT_EQ(info.bootloader_desc->version, 7u);
  EXPECT_EQ(info.bootloader_desc->idf_ver, "v5.4.1");
  EXPECT_FALSE(info.app_desc);
  for (const Segment& s : info.segments) EXPECT_EQ(s.kind, SegmentKind::kLoaded);
  boot::VerifyOptions options;
  options.role = Role::kBootloader;
  options.partition_size = 0x8000;
  EXPECT_TRUE(boot::verify_image(bytes, c3(), options));

  const crypto::PrivateKey* keys[] = {&test::rsa_key_a(), &test::rsa_key_b()};
  const Bytes signed_boot = test::sign_image(bytes, keys);
  EXPECT_LE(signed_boot.size(), 0x8000u);
  options.secure_boot.emplace();
  options.secure_boot->key_digests[2] = test::key_digest_of(test::rsa_key_b());
  auto verified = boot::verify_image(signed_boot, c3(), options);
  ASSERT_TRUE(verified) << verified.error().message;
  EXPECT_EQ(verified->signature->block, 1u);
  auto digests = boot::signature_key_digests(verified->info, signed_boot, sbv2::Scheme::kRsa3072);
  ASSERT_TRUE(digests);
  ASSERT_EQ(digests->size(), 2u);
  EXPECT_EQ((*digests)[0], test::key_digest_of(test::rsa_key_a()));

  spec.chip = "esp32";
  EXPECT_EQ(code_of(make_bootloader_image(spec)), "image_new.chip");
  spec = BootloaderImageSpec{};
  spec.idf_version = std::string(32, 'v');
  EXPECT_EQ(code_of(make_bootloader_image(spec)), "image.bootloader_desc_field");
}

}  // namespace
}  // namespace espsec::image
