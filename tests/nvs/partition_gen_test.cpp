#include "nvs/partition_gen.hpp"

#include <gtest/gtest.h>

#include "chip/flash.hpp"
#include "core/file_io.hpp"
#include "nvs/nvs_test_util.hpp"
#include "nvs/storage.hpp"
#include "test_util.hpp"

namespace espsec::nvs {
namespace {

using espsec::test::read_vector;
using espsec::test::vectors_dir;
using test::first_difference;

// `file` rows resolve against the vectors' nvs/ folder, as the tool run from there did.
FileLoader from_dir(const std::filesystem::path& dir) {
  return [dir](const std::string& path) { return read_file(dir / path); };
}

Result<GeneratedPartition> generate_vector(const std::string& csv, uint32_t size, int version = 2,
                                           const Keys* keys = nullptr) {
  const auto dir = vectors_dir() / "nvs";
  const Bytes text = read_vector("nvs/" + csv);
  ESPSEC_ASSIGN_OR_RETURN(auto rows, parse_csv(as_chars(text), csv));
  const CsvInput input{csv, std::move(rows)};
  return generate_partition(std::span(&input, 1), GenerateOptions{size, version}, from_dir(dir), keys);
}

Keys vector_keys() { return std::move(*Keys::parse_partition(read_vector("nvs/keys/nvs_keys.bin"))); }

TEST(NvsGenerate, InputCsvGivesTheToolsImageByteForByte) {
  ESPSEC_REQUIRE_VECTORS();
  auto out = generate_vector("input.csv", 0x6000);
  ASSERT_TRUE(out) << out.error().message;
  const Bytes want = read_vector("nvs/nvs_plain.bin");
  EXPECT_TRUE(out->image == want) << first_difference(out->image, want);
  EXPECT_FALSE(out->read_only);
}

TEST(NvsGenerate, EncryptedWithTheKeysFileGivesTheToolsImage) {
  ESPSEC_REQUIRE_VECTORS();
  const Keys keys = vector_keys();
  auto out = generate_vector("input.csv", 0x6000, 2, &keys);
  ASSERT_TRUE(out) << out.error().message;
  const Bytes want = read_vector("nvs/nvs_encrypted.bin");
  EXPECT_TRUE(out->image == want) << first_difference(out->image, want);
}

TEST(NvsGenerate, EncryptedWithHmacDerivedKeysGivesTheToolsImage) {
  ESPSEC_REQUIRE_VECTORS();
  auto keys = Keys::derive_from_hmac_key(SecretBytes::copy_of(read_vector("nvs/keys/hmac_key.bin")));
  ASSERT_TRUE(keys);
  auto out = generate_vector("input.csv", 0x6000, 2, &*keys);
  ASSERT_TRUE(out) << out.error().message;
  const Bytes want = read_vector("nvs/nvs_encrypted_hmac.bin");
  EXPECT_TRUE(out->image == want) << first_difference(out->image, want);
}

TEST(NvsGenerate, VersionOneGivesTheToolsImage) {
  ESPSEC_REQUIRE_VECTORS();
  auto out = generate_vector("v1_input.csv", 0x3000, 1);
  ASSERT_TRUE(out) << out.error().message;
  const Bytes want = read_vector("nvs/nvs_v1.bin");
  EXPECT_TRUE(out->image == want) << first_difference(out->image, want);
}

TEST(NvsGenerate, FillEncodingsAndWifiSideEffectsGiveTheToolsImage) {
  ESPSEC_REQUIRE_VECTORS();
  auto out = generate_vector("ext_encodings.csv", 0x3000);
  ASSERT_TRUE(out) << out.error().message;
  const Bytes want = read_vector("nvs/nvs_ext_encodings.bin");
  EXPECT_TRUE(out->image == want) << first_difference(out->image, want);
}

// nvs_partition_gen 0.2.0 stores rows after a re-entered namespace in the most recently
// created one (c lands in second_ns). The rows belong to the namespace they follow.
TEST(NvsGenerate, RowsAfterARenteredNamespaceGoToThatNamespace) {
  ESPSEC_REQUIRE_VECTORS();
  auto out = generate_vector("quirks/quirk_ns_reentry.csv", 0x3000);
  ASSERT_TRUE(out) << out.error().message;
  const Bytes tool = read_vector("nvs/quirks/nvs_quirk_ns_reentry.bin");
  // Only entry 4 of page 0 ("c") differs: namespace index 1 instead of 2, and its CRC.
  ASSERT_EQ(out->image.size(), tool.size());
  for (size_t i = 0; i < tool.size(); ++i) {
    if (i >= 64 + 4 * 32 && i < 64 + 5 * 32) continue;
    ASSERT_EQ(out->image[i], tool[i]) << "offset " << i;
  }
  EXPECT_EQ(out->image[64 + 4 * 32], 1);
  EXPECT_EQ(tool[64 + 4 * 32], 2);
  chip::MemoryFlash flash(out->image);
  auto s = Storage::open(flash, 0, flash.size(), std::nullopt);
  ASSERT_TRUE(s);
  EXPECT_EQ((*s)->open_namespace("first_ns", OpenMode::kReadOnly)->get<uint8_t>("c").value(), 3);
  EXPECT_EQ((*s)->open_namespace("second_ns", OpenMode::kReadOnly)->get<uint8_t>("c").error().code, "nvs.not_found");
}

TEST(NvsGenerate, DecryptRestoresThePlainImages) {
  ESPSEC_REQUIRE_VECTORS();
  const Keys keys = vector_keys();
  auto plain = decrypt_image(read_vector("nvs/nvs_encrypted.bin"), keys);
  ASSERT_TRUE(plain) << plain.error().message;
  EXPECT_EQ(*plain, read_vector("nvs/nvs_plain.bin"));
  auto device = decrypt_image(read_vector("nvs/nvs_device_written_encrypted.bin"), keys);
  ASSERT_TRUE(device);
  EXPECT_EQ(*device, read_vector("nvs/nvs_device_written.bin"));
  auto hmac = Keys::derive_from_hmac_key(SecretBytes::copy_of(read_vector("nvs/keys/hmac_key.bin")));
  auto from_hmac = decrypt_image(read_vector("nvs/nvs_encrypted_hmac.bin"), *hmac);
  ASSERT_TRUE(from_hmac);
  EXPECT_EQ(*from_hmac, read_vector("nvs/nvs_plain.bin"));
  EXPECT_EQ(decrypt_image(Bytes(100, 0xFF), keys).error().code, "gen.image_size");
}

// ---- Rows and encodings (no vectors needed) ----

Result<GeneratedPartition> gen_text(std::string_view csv, uint32_t size = 0x3000, int version = 2,
                                    FileLoader loader = nullptr) {
  ESPSEC_ASSIGN_OR_RETURN(auto rows, parse_csv(csv, "t.csv"));
  const CsvInput input{"t.csv", std::move(rows)};
  if (!loader) loader = [](const std::string& p) -> Result<Bytes> { return fail("io.missing", "{}: no such file", p); };
  return generate_partition(std::span(&input, 1), GenerateOptions{size, version}, loader);
}

Error gen_error(std::string_view csv, uint32_t size = 0x3000) {
  auto r = gen_text(csv, size);
  EXPECT_FALSE(r) << csv;
  return r ? Error{} : r.error();
}

TEST(NvsGenerate, EachBadRowIsReportedWithItsLine) {
  const std::string head = "key,type,encoding,value\nns,namespace,,\n";
  struct Case {
    std::string body;
    const char* code;
    const char* text;
  } cases[] = {
      {"k,data,u7,1\n", "gen.encoding", "t.csv:3: unsupported encoding 'u7'"},
      {"k,data,U8,1\n", "gen.encoding", "t.csv:3: encoding 'U8' must be written in lower case"},
      {"k,blob,u8,1\n", "gen.type", "t.csv:3: unknown type 'blob'"},
      {"k,data,u8,256\n", "gen.range", "t.csv:3: 256 is out of range for u8 (0..255)"},
      {"k,data,i8,-129\n", "gen.range", "t.csv:3: -129 is out of range for i8 (-128..127)"},
      {"k,data,u64,18446744073709551616\n", "gen.range", "t.csv:3: 18446744073709551616 is out of range"},
      {"k,data,u32,0x10\n", "gen.int", "t.csv:3: '0x10' is not a decimal integer"},
      {"k,data,u32,\n", "gen.int", "t.csv:3: '' is not a decimal integer"},
      {"k,file,binary,missing.bin\n", "io.missing", "t.csv:3: missing.bin: no such file"},
      {"sixteen_chars_ab,data,u8,1\n", "nvs.key_too_long", "t.csv:3: key 'sixteen_chars_ab' is 16 bytes"},
      {",data,u8,1\n", "nvs.invalid_name", "t.csv:3: key is empty"},
      {"k,data,hex2bin,abc\n", "gen.hex", "t.csv:3: hex2bin value has an odd number of digits"},
      {"k,data,hex2bin,zz\n", "gen.hex", "t.csv:3: hex2bin value contains 'z'"},
      {"k,data,base64,QQ=\n", "gen.base64", "t.csv:3: invalid base64: incorrect padding"},
      {"k,data,u8,1\nk,data,u8,2\n", "gen.duplicate", "t.csv:4: key 'k' is already set in this namespace on line 3"},
      {"k,data,u8\n", "gen.missing", "t.csv:3: row 'k' has no encoding or value field"},
      {"k,data,blob_fill(2;0x00),abc\n", "gen.fill", "t.csv:3: the value is 3 bytes, longer than the 2"},
      {"k,data,blob_fill(2;00),a\n", "gen.encoding", "t.csv:3: 'blob_fill(2;00)' is not of the form"},
      {"k,data,string," + std::string(4000, 'x') + "\n", "gen.too_long", "t.csv:3: string 'k' is 4001 bytes"},
  };
  for (const auto& c : cases) {
    const Error e = gen_error(head + c.body);
    EXPECT_EQ(e.code, c.code) << c.body;
    EXPECT_NE(e.message.find(c.text), std::string::npos) << e.message;
  }
  const Error before = gen_error("key,type,encoding,value\nk,data,u8,1\n");
  EXPECT_EQ(before.code, "gen.no_namespace");
  EXPECT_NE(before.message.find("t.csv:2:"), std::string::npos);
}

TEST(NvsGenerate, TooManyNamespacesAndTooLittleSpaceAreReported) {
  std::string csv = "key,type,encoding,value\n";
  for (int i = 0; i < 255; ++i) csv += fmt::format("n{},namespace,,\n", i);
  const Error many = gen_error(csv, 0x10000);
  EXPECT_EQ(many.code, "gen.namespaces");
  EXPECT_NE(many.message.find("t.csv:256:"), std::string::npos);

  std::string big = "key,type,encoding,value\nns,namespace,,\n";
  for (int i = 0; i < 300; ++i) big += fmt::format("k{},data,u32,{}\n", i, i);
  const Error small = gen_error(big, 0x3000);
  EXPECT_EQ(small.code, "gen.size");
  EXPECT_NE(small.message.find("t.csv:254:"), std::string::npos) << small.message;
}

TEST(NvsGenerate, IntegersFollowPythonInt) {
  auto out = gen_text("key,type,encoding,value\nns,namespace,,\na,data,i32, -12 \nb,data,u32,1_000\nc,data,u8,+007\n");
  ASSERT_TRUE(out) << out.error().message;
  chip::MemoryFlash flash(out->image);
  auto s = Storage::open(flash, 0, flash.size(), std::nullopt);
  auto h = (*s)->open_namespace("ns", OpenMode::kReadOnly);
  EXPECT_EQ(h->get<int32_t>("a").value(), -12);
  EXPECT_EQ(h->get<uint32_t>("b").value(), 1000u);
  EXPECT_EQ(h->get<uint8_t>("c").value(), 7);
  EXPECT_EQ(gen_error("key,type,encoding,value\nns,namespace,,\na,data,u8,1__0\n").code, "gen.int");
}

TEST(NvsGenerate, LongestStringsGetAPageOfTheirOwn) {
  // 3999 characters + NUL = 4000 bytes: 126 entries, a whole page.
  auto out = gen_text("key,type,encoding,value\nns,namespace,,\nbig,data,string," + std::string(3999, 's') +
                      "\nafter,data,u8,1\n", 0x4000);
  ASSERT_TRUE(out) << out.error().message;
  chip::MemoryFlash flash(out->image);
  auto s = Storage::open(flash, 0, flash.size(), std::nullopt);
  ASSERT_TRUE(s);
  auto h = (*s)->open_namespace("ns", OpenMode::kReadOnly);
  EXPECT_EQ(h->get_string("big").value(), std::string(3999, 's'));
  EXPECT_EQ(h->get<uint8_t>("after").value(), 1);
}

TEST(NvsGenerate, ReadOnlySizesKeepOnlyTheUsedPages) {
  auto out = gen_text("key,type,encoding,value\nns,namespace,,\na,data,u8,1\n", 0x2000);
  ASSERT_TRUE(out);
  EXPECT_TRUE(out->read_only);
  EXPECT_EQ(out->image.size(), 0x1000u);
}

TEST(NvsGenerate, PartitionSizeSyntaxAndRules) {
  EXPECT_EQ(parse_partition_size("0x6000").value(), 0x6000u);
  EXPECT_EQ(parse_partition_size("24576").value(), 0x6000u);
  EXPECT_EQ(parse_partition_size("0x1001").error().code, "gen.size_multiple");
  EXPECT_EQ(parse_partition_size("0").error().code, "gen.size_small");
  EXPECT_EQ(parse_partition_size("12k").error().code, "gen.size_syntax");
  EXPECT_EQ(parse_partition_size("0x100000000").error().code, "gen.size_large");
}

TEST(NvsGenerate, Base64FollowsPythonsLenientDecoder) {
  EXPECT_EQ(to_hex(decode_base64("SGVsbG8gTlZTIQ==").value()), to_hex(as_bytes(std::string_view("Hello NVS!"))));
  EXPECT_EQ(to_hex(decode_base64("SGVs\nbG8=").value()), to_hex(as_bytes(std::string_view("Hello"))));
  EXPECT_EQ(to_hex(decode_base64("QQ==ignored").value()), "41");
  EXPECT_EQ(to_hex(decode_base64("Q*Q=!=").value()), "41") << "characters outside the alphabet are skipped";
  EXPECT_EQ(decode_base64("").value().size(), 0u);
  EXPECT_EQ(decode_base64("Q").error().code, "gen.base64");
  EXPECT_EQ(decode_base64("QUJD=Q").error().code, "gen.base64") << "QUJDQ: one character too many";
}

}  // namespace
}  // namespace espsec::nvs
