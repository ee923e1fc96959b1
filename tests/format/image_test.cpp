// The app/bootloader image format: parsing real images made by esptool, round trips in both
// directions, every rejected field, the loader's checks and esptool's segment layout.
#include "format/image.hpp"

#include <gtest/gtest.h>

#include "crypto/hash.hpp"
#include "image_fixtures.hpp"
#include "test_util.hpp"

namespace espsec::image {
namespace {

using test::code_of;

using test::hex;

ImageInfo parsed(ByteSpan bytes) {
  auto info = parse_image(bytes);
  EXPECT_TRUE(info) << info.error().message;
  return info ? *info : ImageInfo{};
}

std::string error_code(ByteSpan bytes) {
  auto info = parse_image(bytes);
  return info ? "ok" : info.error().code;
}

// ---------------------------------------------------------------------------------------------
// Header

TEST(ImageHeader, ParsesTheFactSheetExampleAndSerializesItBack) {
  // esptool test/images/bootloader_esp32c3.bin (boot-chain fact sheet 1.2).
  const Bytes raw = hex("e904021000003c40ee0000000500000000000000000000" "01");
  auto h = parse_header(raw);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->segment_count, 4);
  EXPECT_EQ(h->spi_mode, 2);
  EXPECT_EQ(h->spi_speed, 0);
  EXPECT_EQ(h->spi_size, 1);
  EXPECT_EQ(h->entry_addr, 0x403C0000u);
  EXPECT_EQ(h->wp_pin, 0xEE);
  EXPECT_EQ(h->chip_id, 5);
  EXPECT_TRUE(h->has_hash());
  const auto back = serialize_header(*h);
  EXPECT_EQ(Bytes(back.begin(), back.end()), raw);
}

TEST(ImageHeader, UnalignedRevisionFieldsRoundTrip) {
  Header h = test::c3_header();
  h.min_chip_rev_full = 0x0102;
  h.max_chip_rev_full = 0x0304;
  h.spi_pin_drv = {0x21, 0x43, 0x65};
  h.reserved = {1, 2, 3, 4};
  const auto raw = serialize_header(h);
  EXPECT_EQ(raw[15], 0x02);
  EXPECT_EQ(raw[16], 0x01);
  EXPECT_EQ(raw[17], 0x04);
  EXPECT_EQ(raw[18], 0x03);
  auto back = parse_header(raw);
  ASSERT_TRUE(back);
  EXPECT_EQ(serialize_header(*back), raw);
}

TEST(ImageHeader, RejectsEmptyShortAndBadMagic) {
  EXPECT_EQ(code_of(parse_header({})), "image.truncated");
  EXPECT_EQ(code_of(parse_header(hex("e90400"))), "image.truncated");
  EXPECT_EQ(code_of(parse_header(hex("e80400"))), "image.magic");
  Bytes ff(24, 0xFF);
  EXPECT_EQ(code_of(parse_header(ff)), "image.magic");
}

// ---------------------------------------------------------------------------------------------
// Descriptors

TEST(ImageDesc, AppDescriptorRoundTripsAtItsOffsets) {
  AppDesc d = test::demo_app_desc(7);
  d.min_efuse_blk_rev_full = 3;
  d.app_elf_sha256[0] = 0xAB;
  auto raw = serialize_app_desc(d);
  ASSERT_TRUE(raw);
  ASSERT_EQ(raw->size(), kAppDescSize);
  EXPECT_EQ(to_hex(ByteSpan(*raw).first(8)), "3254cdab07000000");
  EXPECT_EQ((*raw)[16], '1');   // version
  EXPECT_EQ((*raw)[48], 'd');   // project_name
  EXPECT_EQ((*raw)[144], 0xAB); // app_elf_sha256
  EXPECT_EQ((*raw)[176], 3);    // min_efuse_blk_rev_full
  EXPECT_EQ((*raw)[180], 16);   // mmu_page_size
  auto back = parse_app_desc(*raw);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->secure_version, 7u);
  EXPECT_EQ(back->version, "1.0");
  EXPECT_EQ(back->project_name, "demo");
  EXPECT_EQ(back->date, "Jan  1 2025");
  EXPECT_EQ(back->idf_ver, "v5.4.1");
  EXPECT_EQ(back->max_efuse_blk_rev_full, 199);
  EXPECT_EQ(*serialize_app_desc(*back), *raw);
}

TEST(ImageDesc, AppDescriptorRejections) {
  Bytes raw = *serialize_app_desc(test::demo_app_desc());
  EXPECT_EQ(code_of(parse_app_desc(ByteSpan(raw).first(255))), "image.app_desc_size");
  raw[0] ^= 1;
  EXPECT_EQ(code_of(parse_app_desc(raw)), "image.app_desc_magic");
  AppDesc d = test::demo_app_desc();
  d.version = std::string(31, 'v');
  EXPECT_TRUE(serialize_app_desc(d));
  d.version = std::string(32, 'v');
  EXPECT_EQ(code_of(serialize_app_desc(d)), "image.app_desc_field");
}

TEST(ImageDesc, BootloaderDescriptorRoundTripsAndRejects) {
  BootloaderDesc d;
  d.secure_version = 2;
  d.version = 0x01020304;
  d.idf_ver = "v5.4.1";
  d.date_time = "Jan  1 2025 00:00:00";
  auto raw = serialize_bootloader_desc(d);
  ASSERT_TRUE(raw);
  ASSERT_EQ(raw->size(), kBootloaderDescSize);
  EXPECT_EQ(to_hex(ByteSpan(*raw).first(8)), "5000000204030201");
  auto back = parse_bootloader_desc(*raw);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->version, 0x01020304u);
  EXPECT_EQ(back->date_time, d.date_time);
  EXPECT_EQ(*serialize_bootloader_desc(*back), *raw);
  EXPECT_EQ(code_of(parse_bootloader_desc(ByteSpan(*raw).first(79))), "image.bootloader_desc_size");
  (*raw)[0] = 0x51;
  EXPECT_EQ(code_of(parse_bootloader_desc(*raw)), "image.bootloader_desc_magic");
  d.date_time = std::string(24, 'x');
  EXPECT_EQ(code_of(serialize_bootloader_desc(d)), "image.bootloader_desc_field");
}

// ---------------------------------------------------------------------------------------------
// Real images

TEST(ImageVectors, Esp32BootloaderLayoutChecksumAndHash) {
  ESPSEC_REQUIRE_VECTORS();
  // The esptool fixture is an ESP32 (chip id 0) bootloader.
  const Bytes bytes = test::read_vector("secure/esptool/bootloader.bin");
  const ImageInfo info = parsed(bytes);
  ASSERT_NE(info.chip, nullptr);
  EXPECT_EQ(info.chip->name, "esp32");
  ASSERT_EQ(info.segments.size(), 4u);
  EXPECT_EQ(info.segments[2].load_addr, 0x40078000u);
  EXPECT_EQ(info.segments[2].header_offset, 0x17DCu);
  EXPECT_EQ(info.segments[2].data_offset, 0x17E4u);
  EXPECT_EQ(info.segments[2].kind, SegmentKind::kLoaded);
  EXPECT_EQ(info.segments_end, 0x5494u);
  EXPECT_EQ(info.checksum_offset, 0x549Fu);
  EXPECT_EQ(info.checksum_stored, 0xDB);
  EXPECT_TRUE(info.checksum_ok());
  EXPECT_TRUE(info.hash_ok());
  EXPECT_EQ(info.image_length, bytes.size());
  EXPECT_EQ(info.signed_length, 0x6000u);
  EXPECT_FALSE(info.signed_digest);  // the file stops before the 4 KiB boundary
  EXPECT_FALSE(info.has_signature_sector);
  EXPECT_FALSE(info.app_desc);
  EXPECT_FALSE(info.bootloader_desc);  // segment 0 is 4 bytes: a bootloader older than the descriptor
}

TEST(ImageVectors, HelloWorldAppDescriptorAndMappedSegments) {
  ESPSEC_REQUIRE_VECTORS();
  const Bytes bytes = test::read_vector("secure/esptool/hello-world-signed.bin");
  const ImageInfo info = parsed(bytes);
  ASSERT_EQ(info.segments.size(), 7u);
  EXPECT_EQ(info.segments[0].kind, SegmentKind::kMapped);
  EXPECT_EQ(info.segments[4].kind, SegmentKind::kPadding);
  EXPECT_EQ(info.segments[5].kind, SegmentKind::kMapped);
  EXPECT_EQ(info.segments[5].data_offset % 0x10000, info.segments[5].load_addr % 0x10000);
  EXPECT_TRUE(info.checksum_ok());
  EXPECT_TRUE(info.hash_ok());
  ASSERT_TRUE(info.app_desc);
  EXPECT_EQ(info.app_desc->project_name, "hello-world");
  EXPECT_EQ(info.app_desc->version, "v3.3-beta3-21-g0706bd0d1-dirty");
  EXPECT_EQ(info.app_desc->time, "14:43:38");
  EXPECT_EQ(info.image_length, 0x2FFB0u);
  // Secure Boot v1 signature (not a v2 sector) fills the rest up to the 64 KiB boundary.
  EXPECT_EQ(info.signed_length, bytes.size());
  EXPECT_FALSE(info.has_signature_sector);
}

TEST(ImageVectors, SignedBootloaderDigestIsWhatTheSignatureBlocksHold) {
  ESPSEC_REQUIRE_VECTORS();
  for (const char* name : {"bootloader_signed_v2_rsa.bin", "bootloader_signed_v2_ecdsa256.bin",
                           "bootloader_multi_signed_v2.bin"}) {
    SCOPED_TRACE(name);
    const Bytes bytes = test::read_vector(std::string("secure/esptool/") + name);
    const ImageInfo info = parsed(bytes);
    EXPECT_EQ(info.image_length, 0x7710u);
    EXPECT_EQ(info.signed_length, 0x8000u);
    EXPECT_EQ(info.signed_total_length, bytes.size());
    EXPECT_TRUE(info.has_signature_sector);
    ASSERT_TRUE(info.signed_digest);
    EXPECT_EQ(*info.signed_digest, crypto::sha256(ByteSpan(bytes).first(0x8000)));
    // Block 0's image digest (offset 4) is the digest of the signed region.
    EXPECT_EQ(to_hex(ByteSpan(bytes).subspan(0x8000 + 4, 32)), to_hex(*info.signed_digest));
  }
}

TEST(ImageVectors, RandomBytesBehindAHeaderAreRejectedCleanly) {
  ESPSEC_REQUIRE_VECTORS();
  const Bytes bytes = test::read_vector("secure/sign/app_1MiB.bin");
  auto info = parse_image(bytes);
  ASSERT_FALSE(info);
  EXPECT_EQ(info.error().code, "image.segment_length");
  EXPECT_NE(info.error().message.find("segment 0"), std::string::npos);
}

TEST(ImageVectors, BuildOfParsedRealImagesGivesTheSameBytes) {
  ESPSEC_REQUIRE_VECTORS();
  for (const char* name : {"esptool/bootloader.bin", "esptool/hello-world-signed.bin",
                           "esptool/bootloader_unsigned_v2.bin", "esptool/bootloader_signed_v2_ecdsa384.bin"}) {
    SCOPED_TRACE(name);
    const Bytes bytes = test::read_vector(std::string("secure/") + name);
    const ImageInfo info = parsed(bytes);
    auto rebuilt = build_image(info.header, copy_segments(info, bytes));
    ASSERT_TRUE(rebuilt) << rebuilt.error().message;
    EXPECT_EQ(*rebuilt, Bytes(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(info.image_length)));
  }
}

TEST(ImageVectors, EsptoolLayoutOfHelloWorldIsReproduced) {
  ESPSEC_REQUIRE_VECTORS();
  // Segments 0..5 of the esptool-made ESP32 image; the arranger gets the ELF-like pieces
  // (both mapped segments and the RAM segments) and must insert segment 4 (zero padding) itself.
  const Bytes bytes = test::read_vector("secure/esptool/hello-world-signed.bin");
  const ImageInfo info = parsed(bytes);
  const auto original = copy_segments(info, bytes);
  std::vector<SegmentData> input{original[5], original[3], original[0], original[2], original[1]};
  auto arranged = arrange_segments(*chip_by_id(0), input, {});
  ASSERT_TRUE(arranged) << arranged.error().message;
  ASSERT_EQ(arranged->size(), 6u);
  for (size_t i = 0; i < 6; ++i) {
    EXPECT_EQ((*arranged)[i].load_addr, original[i].load_addr) << i;
    EXPECT_EQ((*arranged)[i].data, original[i].data) << i;
  }
}

// ---------------------------------------------------------------------------------------------
// Round trip and layout arithmetic

TEST(ImageRoundTrip, ParseOfBuildGivesTheHeaderAndSegmentsBack) {
  const Header header = test::c3_header();
  const auto segments = test::small_app_segments(3);
  const Bytes bytes = *build_image(header, segments);
  const ImageInfo info = parsed(bytes);
  EXPECT_EQ(serialize_header(info.header), serialize_header([&] {
              Header h = header;
              h.segment_count = 3;
              return h;
            }()));
  const auto back = copy_segments(info, bytes);
  ASSERT_EQ(back.size(), segments.size());
  for (size_t i = 0; i < back.size(); ++i) {
    EXPECT_EQ(back[i].load_addr, segments[i].load_addr);
    EXPECT_EQ(back[i].data, segments[i].data);
  }
  ASSERT_TRUE(info.app_desc);
  EXPECT_EQ(info.app_desc->secure_version, 3u);
  EXPECT_EQ(info.segments[0].kind, SegmentKind::kMapped);
  EXPECT_EQ(info.segments[1].kind, SegmentKind::kLoaded);
}

TEST(ImageRoundTrip, LengthArithmeticChecksumPlacementAndHash) {
  const Bytes bytes = test::small_app();
  const ImageInfo info = parsed(bytes);
  // 24 + (8 + 0x300) + (8 + 0x104) + (8 + 0x300) = 0x734; 11 zero bytes, then the checksum.
  EXPECT_EQ(info.segments_end, 0x734u);
  EXPECT_EQ(info.checksum_offset, 0x73Fu);
  for (size_t i = 0x734; i < 0x73F; ++i) EXPECT_EQ(bytes[i], 0) << i;
  EXPECT_EQ(info.hashed_length, 0x740u);
  EXPECT_EQ(info.image_length, 0x760u);
  EXPECT_EQ(bytes.size(), 0x760u);
  EXPECT_EQ(info.signed_length, 0x1000u);
  EXPECT_EQ(info.signed_total_length, 0x2000u);
  EXPECT_EQ(*info.hash_stored, crypto::sha256(ByteSpan(bytes).first(0x740)));
  uint8_t checksum = 0xEF;
  for (const auto& s : test::small_app_segments())
    for (uint8_t b : s.data) checksum ^= b;
  EXPECT_EQ(info.checksum_computed, checksum);
  EXPECT_TRUE(info.checksum_ok());
  EXPECT_TRUE(info.hash_ok());
}

TEST(ImageRoundTrip, ImageWithoutHashEndsAtTheChecksum) {
  Header h = test::c3_header();
  h.hash_appended = 0;
  const Bytes bytes = *build_image(h, test::small_app_segments());
  const ImageInfo info = parsed(bytes);
  EXPECT_EQ(bytes.size(), 0x740u);
  EXPECT_EQ(info.image_length, 0x740u);
  EXPECT_FALSE(info.hash_stored);
  EXPECT_TRUE(check_hash(info));
}

TEST(ImageRoundTrip, SignedDigestCoversHashAndPaddingInOnePass) {
  Bytes bytes = test::small_app();
  bytes.resize(0x1000, 0xFF);
  const ImageInfo info = parsed(bytes);
  ASSERT_TRUE(info.signed_digest);
  EXPECT_EQ(*info.signed_digest, crypto::sha256(bytes));
  EXPECT_TRUE(info.hash_ok());
  EXPECT_FALSE(info.has_signature_sector);
}

TEST(ImageRoundTrip, ZeroSegmentImage) {
  const Bytes bytes = *build_image(test::c3_header(), {});
  const ImageInfo info = parsed(bytes);
  EXPECT_TRUE(info.segments.empty());
  EXPECT_EQ(info.checksum_offset, 0x1Fu);
  EXPECT_EQ(info.checksum_stored, 0xEF);
  EXPECT_FALSE(info.app_desc);
}

// ---------------------------------------------------------------------------------------------
// Rejections

TEST(ImageReject, EveryTruncationIsAnErrorNamingItsRegion) {
  const Bytes bytes = test::small_app();
  const ImageInfo info = parsed(bytes);
  for (size_t length = 0; length < bytes.size(); ++length) {
    const std::string code = error_code(ByteSpan(bytes).first(length));
    std::string want = "image.truncated";
    for (const Segment& s : info.segments)
      if (length >= s.header_offset && length < s.data_offset) want = "image.segment_header";
    EXPECT_EQ(code, want) << "length " << length;
  }
  EXPECT_EQ(error_code(bytes), "ok");
}

TEST(ImageReject, SegmentCountAboveSixteen) {
  std::vector<SegmentData> segments(16, SegmentData{0x3FC8B400, Bytes(4, 0)});
  Bytes bytes = *build_image(test::c3_header(), segments);
  EXPECT_EQ(error_code(bytes), "ok");
  bytes[1] = 17;
  EXPECT_EQ(error_code(bytes), "image.segment_count");
  segments.push_back(segments.back());
  EXPECT_EQ(code_of(build_image(test::c3_header(), segments)), "image.segment_count");
}

TEST(ImageReject, SegmentLengthNotAMultipleOfFour) {
  Bytes bytes = test::small_app();
  store_le32(bytes.data() + 24 + 4, 0x2FE);
  EXPECT_EQ(error_code(bytes), "image.segment_length");
  EXPECT_EQ(code_of(build_image(test::c3_header(), std::vector<SegmentData>{{0x3FC8B400, Bytes(6, 0)}})),
            "image.segment_length");
}

TEST(ImageReject, HugeSegmentLengthsNeitherOverflowNorPass) {
  Bytes bytes = test::small_app();
  for (uint32_t length : {0xFFFFFFFCu, 0x1000000u}) {
    store_le32(bytes.data() + 24 + 4, length);
    EXPECT_EQ(error_code(bytes), "image.segment_length") << length;
  }
  store_le32(bytes.data() + 24 + 4, 0xFFFFFC);  // below the limit, beyond the file
  EXPECT_EQ(error_code(bytes), "image.truncated");
}

TEST(ImageReject, BadMagic) {
  Bytes bytes = test::small_app();
  bytes[0] = 0xEA;
  EXPECT_EQ(error_code(bytes), "image.magic");
}

// ---------------------------------------------------------------------------------------------
// Loader checks

ChipState c3_state() {
  ChipState state;
  state.chip_id = 5;
  state.chip_revision = 4;
  state.efuse_block_revision = 1;
  return state;
}

LayoutOptions secure_pad(bool hash_appended = true) {
  LayoutOptions options;
  options.secure_pad_v2 = true;
  options.hash_appended = hash_appended;
  return options;
}

TEST(ImageChecks, ChipIdAndRevisionBounds) {
  Header h = test::c3_header();
  EXPECT_TRUE(check_chip(h, c3_state(), Role::kApp));
  ChipState s3 = c3_state();
  s3.chip_id = 9;
  auto wrong = check_chip(h, s3, Role::kApp);
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, "image.chip_id");
  EXPECT_NE(wrong.error().message.find("ESP32-S3"), std::string::npos);

  ChipState old_chip = c3_state();
  old_chip.chip_revision = 2;
  EXPECT_EQ(code_of(check_chip(h, old_chip, Role::kApp)), "image.chip_revision_min");
  EXPECT_EQ(code_of(check_chip(h, old_chip, Role::kBootloader)), "image.chip_revision_min");

  ChipState new_chip = c3_state();
  new_chip.chip_revision = 200;
  EXPECT_EQ(code_of(check_chip(h, new_chip, Role::kApp)), "image.chip_revision_max");
  EXPECT_TRUE(check_chip(h, new_chip, Role::kBootloader));  // bootloaders skip the maximum
  new_chip.disable_wafer_version_major = true;
  EXPECT_TRUE(check_chip(h, new_chip, Role::kApp));
  h.max_chip_rev_full = 0xFFFF;  // "not set"
  new_chip.disable_wafer_version_major = false;
  EXPECT_TRUE(check_chip(h, new_chip, Role::kApp));
}

TEST(ImageChecks, EfuseBlockRevisionBounds) {
  ChipState chip = c3_state();
  EXPECT_TRUE(check_efuse_block_revision(0, 199, chip));
  EXPECT_EQ(code_of(check_efuse_block_revision(2, 199, chip)), "image.efuse_block_revision_min");
  EXPECT_EQ(code_of(check_efuse_block_revision(0, 0xFFFF, chip)), "ok");
  chip.efuse_block_revision = 200;
  EXPECT_EQ(code_of(check_efuse_block_revision(0, 199, chip)), "image.efuse_block_revision_max");
  chip.disable_blk_version_major = true;
  EXPECT_TRUE(check_efuse_block_revision(0, 199, chip));
}

TEST(ImageChecks, AppSegmentZeroMustHoldTheDescriptor) {
  std::vector<SegmentData> segments{{0x3C000020, Bytes(0xFC, 0)}, {0x3FC8B400, Bytes(4, 0)}};
  const Bytes bytes = *build_image(test::c3_header(), segments);
  const ImageInfo info = parsed(bytes);
  EXPECT_EQ(code_of(check_segments(info, esp32c3(), Role::kApp)), "image.segment0_length");
  EXPECT_TRUE(check_segments(info, esp32c3(), Role::kBootloader));
  EXPECT_EQ(code_of(require_app_desc(info)), "image.segment0_length");
}

TEST(ImageChecks, BadAppDescriptorMagic) {
  auto segments = test::small_app_segments();
  segments[0].data[0] ^= 0xFF;
  const Bytes bytes = *build_image(test::c3_header(), segments);
  const ImageInfo info = parsed(bytes);
  EXPECT_FALSE(info.app_desc);
  EXPECT_EQ(code_of(require_app_desc(info)), "image.app_desc_magic");
  // The C3's page is fixed: its loader does not need the descriptor for the layout.
  EXPECT_TRUE(check_segments(info, esp32c3(), Role::kApp));
  // Chips with a configurable MMU page do (esp_image_format.c verify_segment_header).
  EXPECT_EQ(code_of(check_segments(info, *chip_by_name("esp32c6"), Role::kApp)), "image.app_desc_magic");
}

TEST(ImageChecks, MappedSegmentsMustMatchTheMmuPage) {
  auto segments = test::small_app_segments();
  segments[0].load_addr = 0x3C000040;  // data sits at file offset 0x20
  const Bytes bytes = *build_image(test::c3_header(), segments);
  const ImageInfo info = parsed(bytes);
  auto status = check_segments(info, esp32c3(), Role::kApp);
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, "image.segment_alignment");
  EXPECT_NE(status.error().message.find("segment 0"), std::string::npos);
}

TEST(ImageChecks, ConfigurableMmuPageComesFromTheDescriptor) {
  auto segments = test::small_app_segments();
  const ImageInfo info = parsed(*build_image(test::c3_header(), segments));
  const Chip& c6 = *chip_by_name("esp32c6");
  EXPECT_EQ(mmu_page_size(info, c6, Role::kApp), 0x10000u);  // log2 16
  segments[0].data[180] = 13;                                  // 8 KiB
  EXPECT_EQ(mmu_page_size(parsed(*build_image(test::c3_header(), segments)), c6, Role::kApp), 0x2000u);
  EXPECT_EQ(mmu_page_size(parsed(*build_image(test::c3_header(), segments)), esp32c3(), Role::kApp), 0x10000u);
  segments[0].data[180] = 12;  // 4 KiB: out of range, the default applies
  EXPECT_EQ(mmu_page_size(parsed(*build_image(test::c3_header(), segments)), c6, Role::kApp), 0x10000u);
}

TEST(ImageChecks, ChecksumMismatch) {
  Bytes bytes = test::small_app();
  bytes[0x73F] ^= 0x01;
  const ImageInfo info = parsed(bytes);
  auto status = check_checksum(info);
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, "image.checksum");
}

TEST(ImageChecks, HashMismatch) {
  Bytes bytes = test::small_app();
  bytes[0x750] ^= 0x01;
  const ImageInfo info = parsed(bytes);
  EXPECT_TRUE(check_checksum(info));
  EXPECT_EQ(code_of(check_hash(info)), "image.hash");
}

TEST(ImageChecks, ImageLargerThanThePartition) {
  const ImageInfo info = parsed(test::small_app());
  EXPECT_TRUE(check_fits(info, 0x760, false));
  EXPECT_EQ(code_of(check_fits(info, 0x75F, false)), "image.partition_size");
  EXPECT_TRUE(check_fits(info, 0x2000, true));
  EXPECT_EQ(code_of(check_fits(info, 0x1FFF, true)), "image.partition_size");
}

// ---------------------------------------------------------------------------------------------
// esptool layout

TEST(ImageLayout, MappedSegmentsLandOnTheirPageOffsetsWithRamAsFiller) {
  std::vector<SegmentData> input{{0x42010020, Bytes(0x1000, 0x11)},
                                 {0x3C000020, Bytes(0x8000, 0x22)},
                                 {0x3FC8B400, Bytes(0x3000, 0x33)},
                                 {0x40380000, Bytes(0x9002, 0x44)}};  // padded to 4 like esptool
  auto arranged = arrange_segments(esp32c3(), input, {});
  ASSERT_TRUE(arranged) << arranged.error().message;
  const Bytes bytes = *build_image(test::c3_header(), *arranged);
  const ImageInfo info = parsed(bytes);
  EXPECT_TRUE(check_segments(info, esp32c3(), Role::kApp));
  EXPECT_EQ(info.segments[0].load_addr, 0x3C000020u);
  size_t irom = 0, iram_bytes = 0;
  for (size_t i = 0; i < info.segments.size(); ++i) {
    if (info.segments[i].load_addr == 0x42010020) irom = i;
    if (info.segments[i].load_addr >= 0x40380000 && info.segments[i].load_addr < 0x40390000)
      iram_bytes += info.segments[i].length;
  }
  EXPECT_EQ(info.segments[irom].data_offset % 0x10000, 0x20u);
  EXPECT_EQ(iram_bytes, 0x9004u);
  // DRAM and a slice of IRAM fill the gap; the rest of IRAM follows IROM.
  EXPECT_EQ(info.segments[1].load_addr, 0x3FC8B400u);
  EXPECT_EQ(info.segments[2].load_addr, 0x40380000u);
  EXPECT_GT(info.segments.size(), irom + 1);
}

TEST(ImageLayout, SecurePaddingEndsTheHashOnA64KiBBoundary) {
  for (size_t extra : {0u, 4u, 0x1000u, 0xFFC0u}) {
    SCOPED_TRACE(extra);
    std::vector<SegmentData> input{{0x3C000020, Bytes(0x300 + extra, 0x22)}, {0x3FC8B400, Bytes(0x104, 0x33)}};
    auto arranged = arrange_segments(esp32c3(), input, secure_pad());
    ASSERT_TRUE(arranged);
    EXPECT_EQ(arranged->back().load_addr, 0u);
    const Bytes bytes = *build_image(test::c3_header(), *arranged);
    EXPECT_EQ(bytes.size() % 0x10000, 0u);
    EXPECT_TRUE(parsed(bytes).hash_ok());
  }
}

TEST(ImageLayout, Rejections) {
  std::vector<SegmentData> same_page{{0x3C000020, Bytes(4, 0)}, {0x3C008000, Bytes(4, 0)}};
  EXPECT_EQ(code_of(arrange_segments(esp32c3(), same_page, {})), "image.layout_same_page");
  EXPECT_EQ(code_of(arrange_segments(esp32c3(), {}, secure_pad(false))),
            "image.layout_pad");
}

TEST(ImageChips, TableLookups) {
  EXPECT_EQ(chip_by_name("esp32c3"), &esp32c3());
  EXPECT_EQ(chip_by_id(5)->display, "ESP32-C3");
  EXPECT_EQ(chip_by_id(0x1234), nullptr);
  EXPECT_EQ(chip_by_name("esp8266"), nullptr);
  EXPECT_TRUE(esp32c3().is_mapped(0x42000020));
  EXPECT_TRUE(esp32c3().is_mapped(0x3C7FFFFC));
  EXPECT_FALSE(esp32c3().is_mapped(0x3C800000));
  EXPECT_EQ(memory_types(esp32c3(), 0x3FC8B400), "DRAM, BYTE_ACCESSIBLE");
  EXPECT_STREQ(spi_mode_name(2), "DIO");
  EXPECT_STREQ(flash_size_name(2), "4MB");
}

}  // namespace
}  // namespace espsec::image
