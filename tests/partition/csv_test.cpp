#include "partition/csv.hpp"

#include <gtest/gtest.h>

#include <map>

#include "crypto/hash.hpp"
#include "partition/gen_esp32part.hpp"
#include "test_util.hpp"

namespace espsec::partition {
namespace {

EnvLookup no_env() {
  return [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
}

EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

Result<std::vector<Row>> parse(std::string_view csv, const GenOptions& options = {}) {
  return parse_csv(csv, options, no_env());
}

std::vector<Row> parse_ok(std::string_view csv, const GenOptions& options = {}) {
  auto rows = parse(csv, options);
  EXPECT_TRUE(rows) << (rows ? "" : rows.error().message);
  return rows ? *rows : std::vector<Row>{};
}

Result<Conversion> convert_csv(std::string_view csv, const ConvertOptions& options = {}) {
  return convert(as_bytes(csv), options, no_env());
}

std::string md5_hex(ByteSpan data) { return to_hex(crypto::digest(crypto::HashAlg::kMd5, data)); }

// ESP-IDF's default tables (components/partition_table/*.csv, esp-idf master 102122904ade) and the
// MD5 of the 3072-byte binary gen_esp32part.py from that tree writes for each with default options
// (recorded once from the reference tool).
struct DefaultTable {
  const char* name;
  const char* csv;
  const char* md5;
};
const DefaultTable kDefaultTables[] = {
    {"partitions_singleapp.csv",
     "# Name,   Type, SubType, Offset,  Size, Flags\n"
     "# Note: if you have increased the bootloader size, make sure to update the offsets to avoid overlap\n"
     "nvs,      data, nvs,     ,        0x6000,\n"
     "phy_init, data, phy,     ,        0x1000,\n"
     "factory,  app,  factory, ,        1M,\n",
     "5d61d196adc3dba01928f264eb169be7"},
    {"partitions_singleapp_coredump.csv",
     "# Name,   Type, SubType, Offset,  Size\n"
     "nvs,      data, nvs,           ,  0x6000\n"
     "phy_init, data, phy,           ,  0x1000\n"
     "factory,  app,  factory,       ,  1M\n"
     "coredump, data, coredump,      ,  64K\n",
     "563ee3cc9c4fd2d4e40c6570d1b1e374"},
    {"partitions_singleapp_encr_nvs.csv",
     "nvs,      data, nvs,     ,        0x6000,\n"
     "phy_init, data, phy,     ,        0x1000,\n"
     "factory,  app,  factory, ,        1M,\n"
     "nvs_key,  data, nvs_keys,,        0x1000, encrypted\n",
     "2fb34864127f9a197f21dee18ec9dfd9"},
    {"partitions_singleapp_large.csv",
     "nvs,      data, nvs,     ,        0x6000,\n"
     "phy_init, data, phy,     ,        0x1000,\n"
     "factory,  app,  factory, ,        1500K,\n",
     "0df2c2c6687bac883c725683085a576b"},
    {"partitions_singleapp_large_coredump.csv",
     "nvs,      data, nvs,           ,  0x6000\n"
     "phy_init, data, phy,           ,  0x1000\n"
     "factory,  app,  factory,       ,  1500K\n"
     "coredump, data, coredump,      ,  64K\n",
     "e459a8441dc0b7868ee53e50804cfdbb"},
    {"partitions_singleapp_large_encr_nvs.csv",
     "nvs,      data, nvs,     ,        0x6000,\n"
     "phy_init, data, phy,     ,        0x1000,\n"
     "factory,  app,  factory, ,        1500K,\n"
     "nvs_key,  data, nvs_keys,,        0x1000, encrypted\n",
     "97300746abe53e279f1a373c9022955c"},
    {"partitions_singleapp_tee.csv",
     "tee,            app,   tee_0,       , 256K,\n"
     "secure_storage, data,  nvs,         , 64K,\n"
     "factory,        app,   factory,     , 1536K,\n"
     "nvs,            data,  nvs,         , 24K,\n"
     "phy_init,       data,  phy,         , 4K,\n",
     "c40b89d6bfe6d18a83f7dfce37894910"},
    {"partitions_two_ota.csv",
     "# Name,   Type, SubType, Offset,   Size, Flags\n"
     "nvs,      data, nvs,     ,        0x4000,\n"
     "otadata,  data, ota,     ,        0x2000,\n"
     "phy_init, data, phy,     ,        0x1000,\n"
     "factory,  app,  factory, ,        1M,\n"
     "ota_0,    app,  ota_0,   ,        1M,\n"
     "ota_1,    app,  ota_1,   ,        1M,\n",
     "9f94bf1e89f37d80f4310d5af19a6e59"},
    {"partitions_two_ota_coredump.csv",
     "nvs,      data, nvs,     ,         0x4000\n"
     "otadata,  data, ota,     ,         0x2000\n"
     "phy_init, data, phy,     ,         0x1000\n"
     "factory,  0,    0,       ,         1M\n"
     "coredump, data, coredump,,         64K\n"
     "ota_0,    0,    ota_0,   ,         1M\n"
     "ota_1,    0,    ota_1,   ,         1M\n",
     "edc1193f303b43c30741a2b8e99a15d6"},
    {"partitions_two_ota_encr_nvs.csv",
     "nvs,      data, nvs,     ,        0x4000,\n"
     "otadata,  data, ota,     ,        0x2000,\n"
     "phy_init, data, phy,     ,        0x1000,\n"
     "factory,  app,  factory, ,        1M,\n"
     "ota_0,    app,  ota_0,   ,        1M,\n"
     "ota_1,    app,  ota_1,   ,        1M,\n"
     "nvs_key,  data, nvs_keys,,        0x1000, encrypted\n",
     "bcf4037758281cb593a08d3fe9389252"},
    {"partitions_two_ota_large.csv",
     "nvs,      data, nvs,     ,        0x6000,\n"
     "otadata,  data, ota,     ,        0x2000,\n"
     "phy_init, data, phy,     ,        0x1000,\n"
     "ota_0,    app,  ota_0,   ,        1700K,\n"
     "ota_1,    app,  ota_1,   ,        1700K,\n",
     "f6dec7bfda2f3dee587657b4e8863c55"},
    {"partitions_two_ota_tee.csv",
     "tee_0,          app,   tee_0,       , 256K,\n"
     "tee_1,          app,   tee_1,       , 256K,\n"
     "tee_otadata,    data,  tee_ota,     , 8K,\n"
     "secure_storage, data,  nvs,         , 56K,\n"
     "ota_0,          app,   ota_0,       , 1536K,\n"
     "ota_1,          app,   ota_1,       , 1536K,\n"
     "otadata,        data,  ota,         , 8K,\n"
     "nvs,            data,  nvs,         , 24K,\n"
     "phy_init,       data,  phy,         , 4K,\n",
     "f4139c2a58028e173a303ba4c023198f"},
};

TEST(PartitionCsv, EspIdfDefaultTablesAreByteIdentical) {
  for (const auto& t : kDefaultTables) {
    auto c = convert_csv(t.csv);
    ASSERT_TRUE(c) << t.name << ": " << c.error().message;
    EXPECT_FALSE(c->input_was_binary);
    ASSERT_EQ(c->output.size(), kTableMaxLength) << t.name;
    EXPECT_EQ(md5_hex(c->output), t.md5) << t.name;
    // And back: binary -> CSV -> binary gives the same bytes.
    auto csv = convert(c->output, {}, no_env());
    ASSERT_TRUE(csv) << t.name;
    EXPECT_TRUE(csv->input_was_binary);
    auto again = convert(csv->output, {}, no_env());
    ASSERT_TRUE(again) << t.name;
    EXPECT_EQ(again->output, c->output) << t.name;
  }
}

TEST(PartitionCsv, TwoOtaLayout) {
  const auto rows = parse_ok(kDefaultTables[7].csv);
  ASSERT_EQ(rows.size(), 6u);
  EXPECT_EQ(rows[0].entry.offset, 0x9000u);
  EXPECT_EQ(rows[1].entry.offset, 0xd000u);
  EXPECT_EQ(rows[2].entry.offset, 0xf000u);
  EXPECT_EQ(rows[3].entry.offset, 0x10000u);  // apps align to 64 KiB
  EXPECT_EQ(rows[5].entry.offset, 0x210000u);
  EXPECT_EQ(rows[5].entry.subtype, 0x11);
  EXPECT_EQ(rows[0].line, 2);
}

TEST(PartitionCsv, Utf8LabelAndByteOrderMark) {
  // gen_esp32part test_gen_esp32part_host/partitions-utf8-bom.csv; its partitions.bin has this MD5.
  const std::string csv =
      "\xef\xbb\xbfnvs,      data, nvs,      0x9000,  24K,\n"
      "phy_\xd0\xb8\xd0\xbd\xd0\xb8\xd1\x82_, data, phy,      0xf000,  0x1000,\n"
      "factory,  app,  factory,  0x10000,  1M,\n";
  auto c = convert(as_bytes(csv), {}, no_env());
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(md5_hex(c->output), "4b137773c761aabdabbfbec182a1a85e");
  EXPECT_EQ(c->rows[0].entry.label, "nvs");
  EXPECT_EQ(c->rows[1].entry.label, "phy_\xd0\xb8\xd0\xbd\xd0\xb8\xd1\x82_");
}

TEST(PartitionCsv, Utf16WithByteOrderMark) {
  const std::string text = "nvs,data,nvs,,0x6000\n";
  Bytes le = {0xFF, 0xFE}, be = {0xFE, 0xFF};
  for (char ch : text) {
    le.push_back(static_cast<uint8_t>(ch));
    le.push_back(0);
    be.push_back(0);
    be.push_back(static_cast<uint8_t>(ch));
  }
  EXPECT_EQ(*decode_csv_text(le), text);
  EXPECT_EQ(*decode_csv_text(be), text);
  EXPECT_EQ(decode_csv_text(Bytes{0xFF, 0xFE, 0x41}).error().code, "partition_csv.encoding");
  EXPECT_EQ(decode_csv_text(Bytes{0xFF, 0xFE, 0x00, 0xD8, 0x41, 0x00}).error().code, "partition_csv.encoding");
  EXPECT_EQ(decode_csv_text(as_bytes("nvs,\xff")).error().code, "partition_csv.encoding");
}

TEST(PartitionCsv, DefaultOffsetsAndAlignment) {
  // gen_esp32part_tests.py test_default_offsets.
  const auto rows = parse_ok(
      "first, app, factory,, 1M\n"
      "second, data, 0x15,, 1M\n"
      "minidata, data, 0x40,, 32K\n"
      "otherapp, app, factory,, 1M\n");
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0].entry.offset, 0x10000u);
  EXPECT_EQ(rows[1].entry.offset, 0x110000u);
  EXPECT_EQ(rows[2].entry.offset, 0x210000u);
  EXPECT_EQ(rows[3].entry.offset, 0x220000u);
}

TEST(PartitionCsv, NegativeSizeMeansUpToAnOffset) {
  const auto rows = parse_ok(
      "first, app, factory, 0x10000, -2M\n"
      "second, data, 0x15,         ,  1M\n");
  EXPECT_EQ(rows[0].entry.size, 0x200000u - 0x10000u);
  EXPECT_EQ(rows[1].entry.offset, 0x200000u);
}

TEST(PartitionCsv, NumbersAndKeywords) {
  const auto rows = parse_ok(
      "a, DATA, NVS, , 1kk\n"
      "b, data, nvs, , 0b1_0000_0000_0000_0000\n"
      "c, 1, 2, , 0o100000\n"
      "d, 0x01, 0X02, , +0x_10000\n"
      "e, data, nvs, , 16384\n");
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_EQ(rows[0].entry.size, 0x100000u);
  EXPECT_EQ(rows[0].entry.type, type::kData);
  EXPECT_EQ(rows[0].entry.subtype, subtype::kNvs);
  EXPECT_EQ(rows[1].entry.size, 0x10000u);
  EXPECT_EQ(rows[2].entry.size, 0x8000u);
  EXPECT_EQ(rows[3].entry.size, 0x10000u);
  EXPECT_EQ(rows[4].entry.size, 0x4000u);
}

TEST(PartitionCsv, CommentsBlankLinesLineEndingsAndExtraFields) {
  const auto rows = parse_ok(
      "\r\n  # indented comment\r\nnvs,data,nvs,,0x6000\r\n\r\n"
      "phy,data,phy,,4K\rfac , app , factory ,  , 1m , , extra, fields\n\t\n");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].line, 3);
  EXPECT_EQ(rows[1].line, 5);
  EXPECT_EQ(rows[2].line, 6);
  EXPECT_EQ(rows[2].entry.label, "fac");
  EXPECT_EQ(rows[2].entry.size, 0x100000u);
}

TEST(PartitionCsv, EmptySubtypeOfDataIsUndefined) {
  const auto rows = parse_ok("storage, data, , , 512k\nbl, 0x40, , , 4K\n");
  EXPECT_EQ(rows[0].entry.subtype, subtype::kUndefined);
  EXPECT_EQ(rows[1].entry.subtype, subtype::kUndefined);
}

TEST(PartitionCsv, Flags) {
  const auto rows = parse_ok("a, data, nvs, , 16K, encrypted\nb, data, nvs, , 16K, readonly:encrypted\nc, data, nvs, , 16K, ::\n");
  EXPECT_EQ(rows[0].entry.flags, kFlagEncrypted);
  EXPECT_EQ(rows[1].entry.flags, kFlagEncrypted | kFlagReadonly);
  EXPECT_EQ(rows[2].entry.flags, 0u);
}

TEST(PartitionCsv, EnvironmentVariables) {
  auto env = env_of({{"NVS_OFF", "0x9000"}, {"NVS_SIZE", "24K"}, {"FLAGS", "encrypted"}, {"ROW", "phy, data, phy"}});
  auto rows = parse_csv(
      "# $HOME is fine in a comment\n"
      "nvs, data, nvs, $NVS_OFF, ${NVS_SIZE}, $FLAGS\n"
      "$ROW, , 4K\n",
      {}, env);
  ASSERT_TRUE(rows) << rows.error().message;
  EXPECT_EQ((*rows)[0].entry.offset, 0x9000u);
  EXPECT_EQ((*rows)[0].entry.size, 0x6000u);
  EXPECT_TRUE((*rows)[0].entry.encrypted());
  EXPECT_EQ((*rows)[1].entry.label, "phy");
  // An unknown variable is left in place: a field error, or "unknown variable" at a line start.
  auto field = parse_csv("nvs, data, nvs, ${NOPE}, 16K\n", {}, env);
  EXPECT_EQ(field.error().message, "line 1: Invalid field value ${NOPE}");
  auto start = parse_csv("nvs, data, nvs, , 16K\n$NOPE_ROW, data, phy, , 4K\n", {}, env);
  EXPECT_EQ(start.error().code, "partition_csv.variable");
  EXPECT_EQ(start.error().message, "line 2: unknown variable 'NOPE_ROW'");
}

TEST(PartitionCsv, BootloaderAndTableRowsTakeTheOptions) {
  // gen_esp32part_tests.py test_bootloader_and_part_table_partitions.
  const char* csv =
      "bootloader,       bootloader,       primary, N/A, N/A\n"
      "partition_table,  partition_table,  primary, N/A, N/A\n"
      "FactoryApp,       app,              factory, ,    1M\n"
      "OtaBTLDR,         bootloader,       ota,     ,    N/A\n"
      "OtaPrtTable,      partition_table,  ota,     ,    N/A\n"
      "RecoveryBTLDR,    bootloader,       recovery, N/A, N/A\n";
  ConvertOptions o;
  o.gen.primary_bootloader_offset = 0x1000;
  o.gen.recovery_bootloader_offset = 0x200000;
  o.gen.table_offset = 0x9000;
  auto c = convert_csv(csv, o);
  ASSERT_TRUE(c) << c.error().message;
  const auto& r = c->rows;
  EXPECT_EQ(r[0].entry.offset, 0x1000u);
  EXPECT_EQ(r[0].entry.size, 0x8000u);
  EXPECT_EQ(r[1].entry.offset, 0x9000u);
  EXPECT_EQ(r[1].entry.size, 0x1000u);
  EXPECT_EQ(r[2].entry.offset, 0x10000u);
  EXPECT_EQ(r[3].entry.offset, 0x110000u);
  EXPECT_EQ(r[3].entry.size, 0x8000u);
  EXPECT_EQ(r[4].entry.offset, 0x118000u);
  EXPECT_EQ(r[5].entry.offset, 0x200000u);
  // Reference: gen_esp32part.py --primary-bootloader-offset 0x1000 --recovery-bootloader-offset
  // 0x200000 --offset 0x9000 on the same CSV.
  EXPECT_EQ(md5_hex(c->output), "aa155d72d2d7e96bcd0b2d15a4bbfbf9");

  auto missing = parse(csv);
  EXPECT_EQ(missing.error().code, "partition_csv.bootloader_offset");
  EXPECT_EQ(missing.error().message,
            "line 1: Primary bootloader offset is not defined. Please use --primary-bootloader-offset");
  GenOptions only_primary;
  only_primary.primary_bootloader_offset = 0x0;
  EXPECT_EQ(parse(csv, only_primary).error().message,
            "line 6: Recovery bootloader offset is not defined. Please use --recovery-bootloader-offset");
  GenOptions above;
  above.primary_bootloader_offset = 0x8000;
  EXPECT_EQ(check_options(above).error().message,
            "Unsupported configuration. Primary bootloader must be below partition table. Check "
            "--primary-bootloader-offset=0x8000 and --offset=0x8000");
}

TEST(PartitionCsv, ParseErrorsNameTheLine) {
  struct Case {
    const char* csv;
    const char* code;
    const char* message;
  } cases[] = {
      {"# c\nx,\n", "partition_csv.type_empty", "line 2: Field 'type' can't be left empty."},
      {"x, app, , , 1M\n", "partition_csv.subtype_empty", "line 1: App partition cannot have an empty subtype"},
      {"x, data, nvs, , \n", "partition_csv.size_empty", "line 1: Size field can't be empty"},
      {"x, data, nvs, , 0x4000, encrypted:bogus\n", "partition_csv.flag",
       "line 1: CSV flag column contains unknown flag 'bogus'"},
      {"x, data, nvs, , 0x4000, encrypted : readonly\n", "partition_csv.flag",
       "line 1: CSV flag column contains unknown flag 'encrypted '"},
      {"x, bogus, nvs, , 0x4000\n", "partition_csv.keyword",
       "line 1: Value 'bogus' is not valid. Known keywords: bootloader, partition_table, app, data"},
      {"x, data, fook, , 16k\n", "partition_csv.keyword",
       "line 1: Value 'foo' is not valid. Known keywords: ota, phy, nvs, coredump, nvs_keys, efuse, undefined, "
       "esphttpd, fat, spiffs, littlefs, tee_ota"},
      {"x, 0x40, nvs, , 0x4000\n", "partition_csv.value", "line 1: Invalid field value nvs"},
      {"x, data, nvs, , 010\n", "partition_csv.value", "line 1: Invalid field value 010"},
      {"x, data, nvs, , abck\n", "partition_csv.value", "line 1: Invalid field value abc"},
      {"x, data, nvs, , 0x\n", "partition_csv.value", "line 1: Invalid field value 0x"},
      {"x, data, nvs, , 1__0\n", "partition_csv.value", "line 1: Invalid field value 1__0"},
      {"x, data, nvs, , 10_\n", "partition_csv.value", "line 1: Invalid field value 10_"},
      {"x, 0x100, 0, , 4K\n", "partition_csv.range", "line 1: type 256 does not fit in one byte (0..255)"},
      {"x, data, -1, , 4K\n", "partition_csv.range", "line 1: subtype -1 does not fit in one byte (0..255)"},
      {"x, data, nvs, , 99999999999999999999\n", "partition_csv.range", "line 1: value 99999999999999999999 is out of range"},
      {"x, data, nvs, , 0x100000000\n", "partition_csv.range",
       "line 1: size 0x100000000 is not a 32-bit size (a negative size must name an end beyond the offset)"},
      {"x, data, nvs, , -0x1000\n", "partition_csv.range",
       "line 1: size 0x-8000 is not a 32-bit size (a negative size must name an end beyond the offset)"},
      {"x, data, nvs, 0xfffff000, 0x2000\ny, data, nvs, , 0x1000\n", "partition_csv.range",
       "line 2: offset 0x100001000 does not fit in 32 bits"},
  };
  for (const auto& c : cases) {
    auto r = parse(c.csv);
    ASSERT_FALSE(r) << c.csv;
    EXPECT_EQ(r.error().code, c.code) << c.csv;
    EXPECT_EQ(r.error().message, c.message) << c.csv;
  }
}

TEST(PartitionCsv, PlacementOverlapErrors) {
  auto first = parse(
      "nvs,      data, nvs,     0x0000,  0x6000,\n"
      "phy_init, data, phy,     ,        0x1000,\n");
  EXPECT_EQ(first.error().code, "partition_csv.overlap");
  EXPECT_EQ(first.error().message,
            "CSV Error at line 1: Partitions overlap. Partition sets offset 0x0. But partition table occupies the "
            "whole sector 0x8000. Use a free offset 0x9000 or higher.");
  auto later = parse("x, data, nvs, , 0x4000\ny, app, factory, 0x10000, 1M\nz, data, nvs, 0x9000, 0x4000\n");
  EXPECT_EQ(later.error().message,
            "CSV Error at line 3: Partitions overlap. Partition sets offset 0x9000. Previous partition ends 0x110000");
  auto negative = parse("x, data, nvs, -0x1000, 16K\n");
  EXPECT_EQ(negative.error().message,
            "CSV Error at line 1: Partitions overlap. Partition sets offset 0x-1000. But partition table occupies "
            "the whole sector 0x8000. Use a free offset 0x9000 or higher.");
}

Status check(std::string_view csv, const GenOptions& options = {}, std::vector<std::string>* warnings = nullptr) {
  auto rows = parse(csv, options);
  EXPECT_TRUE(rows) << csv;
  if (!rows) return std::unexpected(rows.error());
  return validate(*rows, options, warnings);
}

TEST(PartitionCsvValidate, AcceptsDefaults) {
  for (const auto& t : kDefaultTables) EXPECT_TRUE(check(t.csv)) << t.name;
}

TEST(PartitionCsvValidate, Rejections) {
  struct Case {
    const char* csv;
    const char* code;
    const char* message;
  } cases[] = {
      {"app,app, factory, 96K, 1M\n", "partition_table.offset_align",
       "line 1: Partition app invalid: Offset 0x18000 is not aligned to 0x10000"},
      {"nvs, data, nvs, 0x9420, 0x6000,\n", "partition_table.offset_align",
       "line 1: Partition nvs invalid: Offset 0x9420 is not aligned to 0x1000"},
      {"ota_0,  app, ota_0, ,  0x101000\nota_1,  app, ota_1, ,  0x100800\n", "partition_table.size_align",
       "line 2: Partition ota_1 invalid: Size 0x100800 is not aligned to 0x1000"},
      {"otadata, data, ota, , 0x2000, readonly\n", "partition_table.readonly",
       "line 1: Partition otadata invalid: 'otadata' partition of type 1 and subtype 0 is always read-write and "
       "cannot be read-only"},
      {"cd, data, coredump, , 64K, readonly\n", "partition_table.readonly",
       "line 1: Partition cd invalid: 'cd' partition of type 1 and subtype 3 is always read-write and cannot be "
       "read-only"},
      {"nvs, data, nvs, , 0x2000\n", "partition_table.nvs_size",
       "line 1: Partition nvs invalid: 'nvs' partition of type 1 and subtype 2 of this size (0x2000) must be flagged "
       "as 'readonly' (the size of read/write NVS has to be at least 0x3000)"},
      {"first, app, factory, 0x100000, 1M\nfirst, app, ota_0,  0x200000, 1M\n", "partition_table.duplicate_name",
       "line 2: Partition names must be unique ('first' is used more than once)"},
      {"x, data, nvs, 0x20000, 0x4000\ny, data, phy, 0x10000, 0x1000\n", "partition_csv.overlap",
       "CSV Error at line 2: Partitions overlap. Partition sets offset 0x10000. Previous partition ends 0x24000"},
      {"nvs, data, nvs, , 0x4000\notadata, data, ota, , 0x2000\notadata2, data, ota, , 0x2000\n",
       "partition_table.otadata_multiple",
       "line 3: Found multiple otadata partitions. Only one partition can be defined with type=\"data\"(1) and "
       "subtype=\"ota\"(0)."},
      {"nvs, data, nvs, , 0x4000\notadata, data, ota, , 0x3000\n", "partition_table.otadata_size",
       "line 2: otadata partition must have size = 0x2000"},
      {"t, data, tee_ota, , 8K\nt2, data, 0x90, , 8K\n", "partition_table.otadata_multiple",
       "line 2: Found multiple TEE otadata partitions. Only one partition can be defined with type=\"data\"(1) and "
       "subtype=\"tee_ota\"(0x90)."},
      {"t, data, tee_ota, , 12K\n", "partition_table.otadata_size", "line 1: TEE otadata partition must have size = 0x2000"},
  };
  for (const auto& c : cases) {
    auto rows = parse(c.csv);
    Status s = rows ? validate(*rows, {}, nullptr) : Status(std::unexpected(rows.error()));
    ASSERT_FALSE(s) << c.csv;
    EXPECT_EQ(s.error().code, c.code) << c.csv;
    EXPECT_EQ(s.error().message, c.message) << c.csv;
  }
  EXPECT_TRUE(check("nvs, data, nvs, , 0x2000, readonly\n"));
}

TEST(PartitionCsvValidate, OverlapAndBelowTableAfterPlacement) {
  // Rows placed in order can only collide when sorted by offset with explicit offsets.
  std::vector<Row> rows = parse_ok("a, data, nvs, 0x10000, 0x4000\nb, data, nvs, 0x20000, 0x4000\n");
  rows[1].entry.offset = 0x12000;
  auto s = validate(rows, {});
  EXPECT_EQ(s.error().code, "partition_table.overlap");
  EXPECT_EQ(s.error().message, "line 2: Partition at 0x12000 overlaps 0x10000-0x13fff");
  rows[1].entry.offset = 0x8000;
  EXPECT_EQ(validate(rows, {}).error().message, "line 2: Partition offset 0x8000 is below 0x9000");
}

TEST(PartitionCsvValidate, SecureBootSizeRules) {
  GenOptions v1;
  v1.secure = SecureBootCheck::kV1;
  const char* csv = "ota_0,  app, ota_0, ,  0x101000\n";
  EXPECT_EQ(check(csv, v1).error().message, "line 1: Partition ota_0 invalid: Size 0x101000 is not aligned to 0x10000");
  GenOptions v2;
  v2.secure = SecureBootCheck::kV2;
  EXPECT_TRUE(check(csv, v2));
}

TEST(PartitionCsvValidate, Warnings) {
  std::vector<std::string> w;
  ASSERT_TRUE(check("app, 1, 2, 64K, 16K\nota_0, app, ota_1, , 1M\n", {}, &w));
  ASSERT_EQ(w.size(), 2u);
  EXPECT_EQ(w[0],
            "WARNING: Partition has name 'app' which is a partition type, but does not match this partition's type "
            "(0x1). Mistake in partition table?");
  EXPECT_EQ(w[1],
            "WARNING: Partition has name 'ota_0' which is a partition subtype, but this partition has non-matching "
            "type 0x0 and subtype 0x11. Mistake in partition table?");
  std::vector<std::string> dup;
  ASSERT_FALSE(check("b, data, nvs, , 16K\na, data, nvs, , 16K\nb, data, phy, , 4K\n", {}, &dup));
  ASSERT_EQ(dup.size(), 3u);
  EXPECT_EQ(dup[0], "A list of partitions that have the same name:");
  EXPECT_EQ(dup[1], "b,data,nvs,0x9000,16K,");
  EXPECT_EQ(dup[2], "b,data,phy,0x11000,4K,");
}

TEST(PartitionCsvValidate, FlashSize) {
  const auto rows = parse_ok(kDefaultTables[7].csv);  // ends at 0x310000
  EXPECT_TRUE(check_fits_flash(rows, 4 * 1024 * 1024));
  auto s = check_fits_flash(rows, 2 * 1024 * 1024);
  EXPECT_EQ(s.error().code, "partition_table.flash_size");
  EXPECT_EQ(s.error().message,
            "Partitions tables occupies 3.1MB of flash (3211264 bytes) which does not fit in configured flash size "
            "2MB. Change the flash size in menuconfig under the 'Serial Flasher Config' menu.");
  EXPECT_TRUE(check_fits_flash({}, 1024 * 1024));
  EXPECT_EQ(*parse_flash_size("16MB"), 16u * 1024 * 1024);
  EXPECT_EQ(parse_flash_size("3MB").error().code, "partition_csv.flash_size");
}

TEST(PartitionCsvOutput, PrintsAsGenEsp32part) {
  std::vector<Entry> entries = {
      {"first", 0x30, 0xEE, 0x100000, 0x300000, 0},
      {"third", 0x40, 7, 0x500000, 0x1000, kFlagEncrypted | kFlagReadonly},
      {"bl", 2, 0, 0x1000, 0x7000, 0},
      {"odd", 1, 0x81, 0x20000, 0x1234, kFlagReadonly},
      {"zero", 1, 6, 0x30000, 0, 0},
  };
  EXPECT_EQ(to_csv(entries),
            "# ESP-IDF Partition Table\n"
            "# Name, Type, SubType, Offset, Size, Flags\n"
            "first,48,238,0x100000,3M,\n"
            "third,64,7,0x500000,4K,encrypted:readonly\n"
            "bl,bootloader,primary,0x1000,28K,\n"
            "odd,data,fat,0x20000,0x1234,readonly\n"
            "zero,data,undefined,0x30000,0M,\n");
}

TEST(PartitionConvert, MessagesInGenEsp32partOrder) {
  auto c = convert_csv("app, 1, 2, 64K, 16K\n");
  ASSERT_TRUE(c);
  ASSERT_EQ(c->messages.size(), 3u);
  EXPECT_EQ(c->messages[0].text, "Parsing CSV input...");
  EXPECT_TRUE(c->messages[0].status);
  EXPECT_EQ(c->messages[1].text, "Verifying table...");
  EXPECT_FALSE(c->messages[2].status);

  ConvertOptions no_verify;
  no_verify.verify = false;
  auto unchecked = convert_csv("nvs, data, nvs, 0x9420, 0x6000\n", no_verify);
  ASSERT_TRUE(unchecked);
  EXPECT_EQ(unchecked->messages.size(), 1u);
  std::vector<Message> before_failure;
  auto failed = convert(as_bytes("nvs, data, nvs, 0x9420, 0x6000\n"), {}, no_env(), &before_failure);
  ASSERT_FALSE(failed);
  ASSERT_EQ(before_failure.size(), 2u);
  EXPECT_EQ(before_failure[1].text, "Verifying table...");
}

TEST(PartitionConvert, BinaryInputIsVerifiedToo) {
  auto bin = serialize_table(std::vector<Entry>{{"low", 1, 2, 0x4000, 0x4000, 0}}, true);
  auto r = convert(*bin, {}, no_env());
  EXPECT_EQ(r.error().message, "Partition offset 0x4000 is below 0x9000");
  ConvertOptions o;
  o.verify = false;
  auto csv = convert(*bin, o, no_env());
  ASSERT_TRUE(csv);
  EXPECT_EQ(as_chars(csv->output),
            "# ESP-IDF Partition Table\n# Name, Type, SubType, Offset, Size, Flags\nlow,data,nvs,0x4000,16K,\n");
}

TEST(PartitionConvert, DisableMd5) {
  ConvertOptions o;
  o.md5 = false;
  auto c = convert_csv(kDefaultTables[7].csv, o);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->output[6 * 32], 0xFF);
  auto back = convert(c->output, o, no_env());
  ASSERT_TRUE(back);
  // A table with an MD5 entry read with --disable-md5sum: the MD5 slot is not an entry.
  auto with_md5 = convert_csv(kDefaultTables[7].csv);
  EXPECT_EQ(convert(with_md5->output, o, no_env()).error().code, "partition_table.magic");
}

TEST(PartitionConvert, TooManyEntries) {
  std::string csv;
  for (int i = 0; i < 95; ++i) csv += fmt::format("p{}, data, 0x40, , 4K\n", i);
  EXPECT_EQ(convert_csv(csv).error().code, "partition_table.too_long");
  ConvertOptions o;
  o.md5 = false;
  EXPECT_TRUE(convert_csv(csv, o));
}

TEST(PartitionConvert, OptionParsing) {
  EXPECT_EQ(*parse_offset_option("0x9000", "--offset"), 0x9000u);
  EXPECT_EQ(*parse_offset_option("36864", "--offset"), 0x9000u);
  EXPECT_EQ(parse_offset_option("0x1_0000_0000", "--offset").error().code, "partition_csv.option_value");
  EXPECT_EQ(parse_offset_option("nine", "--offset").error().message,
            "--offset: 'nine' is not an offset (a number such as 0x8000)");
  EXPECT_TRUE(looks_binary(Bytes{0xAA, 0x50}));
  EXPECT_FALSE(looks_binary(Bytes{0xAA}));
}

}  // namespace
}  // namespace espsec::partition
