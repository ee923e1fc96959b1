#include "format/partition_table.hpp"

#include <gtest/gtest.h>

#include "crypto/hash.hpp"
#include "test_util.hpp"

namespace espsec::partition {
namespace {

using test::hex;

Entry make(std::string label, uint8_t t, uint8_t s, uint32_t offset, uint32_t size, uint32_t flags = 0) {
  return Entry{std::move(label), t, s, offset, size, flags};
}

// ESP-IDF partitions_two_ota.csv as gen_esp32part.py lays it out (offset 0x8000).
std::vector<Entry> two_ota() {
  return {make("nvs", 1, 2, 0x9000, 0x4000),      make("otadata", 1, 0, 0xd000, 0x2000),
          make("phy_init", 1, 1, 0xf000, 0x1000), make("factory", 0, 0, 0x10000, 0x100000),
          make("ota_0", 0, 0x10, 0x110000, 0x100000), make("ota_1", 0, 0x11, 0x210000, 0x100000)};
}

// gen_esp32part.py (esp-idf master 102122904ade) on partitions_two_ota.csv: the bytes before the
// 0xFF padding.
constexpr const char* kTwoOtaHex =
    "aa50010200900000004000006e76730000000000000000000000000000000000"
    "aa50010000d00000002000006f74616461746100000000000000000000000000"
    "aa50010100f00000001000007068795f696e6974000000000000000000000000"
    "aa5000000000010000001000666163746f727900000000000000000000000000"
    "aa50001000001100000010006f74615f30000000000000000000000000000000"
    "aa50001100002100000010006f74615f31000000000000000000000000000000"
    "ebebffffffffffffffffffffffffffffbf25822c0fa6d8641bd930251e06b4c4";

Bytes two_ota_binary() {
  auto b = serialize_table(two_ota(), true);
  EXPECT_TRUE(b);
  return *b;
}

TEST(PartitionEntry, SpecWorkedExample) {
  // Boot-chain fact sheet 5: `nvs, data, nvs, , 0x4000` placed at 0x9000.
  const auto bytes = encode_entry(make("nvs", type::kData, subtype::kNvs, 0x9000, 0x4000));
  EXPECT_EQ(to_hex(bytes), "aa500102" "00900000" "00400000" "6e767300" "000000000000000000000000" "00000000");
}

TEST(PartitionEntry, RoundTripAndFlags) {
  const Entry e = make("storage", 0x40, 0x07, 0x123000, 0x4000, kFlagEncrypted | kFlagReadonly);
  const auto bytes = encode_entry(e);
  auto back = decode_entry(bytes);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, e);
  EXPECT_TRUE(back->encrypted());
  EXPECT_TRUE(back->readonly());
  EXPECT_EQ(load_le32(bytes.data() + 28), 3u);
}

TEST(PartitionEntry, LabelOfSixteenBytesHasNoTerminatorAndLongerIsCut) {
  auto sixteen = encode_entry(make("exactly16chars__", 1, 0x81, 0x20000, 0x10000));
  EXPECT_EQ(std::string(sixteen.begin() + 12, sixteen.begin() + 28), "exactly16chars__");
  EXPECT_EQ(decode_entry(sixteen)->label, "exactly16chars__");
  auto longer = encode_entry(make("a_very_long_label_name", 1, 0x82, 0x20000, 0x10000));
  EXPECT_EQ(decode_entry(longer)->label, "a_very_long_labe");
}

TEST(PartitionEntry, DecodeRefusesWrongMagicAndLength) {
  auto bytes = encode_entry(make("x", 1, 2, 0x9000, 0x4000));
  bytes[1] = 0x51;
  EXPECT_EQ(decode_entry(bytes).error().code, "partition_table.magic");
  EXPECT_EQ(decode_entry(ByteSpan(bytes).first(31)).error().code, "partition_table.length");
}

TEST(PartitionEntry, OtaSlot) {
  EXPECT_EQ(make("a", 0, 0x10, 0, 0).ota_slot(), 0);
  EXPECT_EQ(make("a", 0, 0x1F, 0, 0).ota_slot(), 15);
  EXPECT_FALSE(make("a", 0, 0x20, 0, 0).ota_slot());
  EXPECT_FALSE(make("a", 1, 0x10, 0, 0).ota_slot());
}

TEST(PartitionKeywords, NamesFollowGenEsp32partOrder) {
  EXPECT_EQ(type_name(0), "app");
  EXPECT_EQ(type_name(2), "bootloader");
  EXPECT_EQ(type_name(0x40), "64");
  EXPECT_EQ(subtype_name(0, 0x00), "factory");
  EXPECT_EQ(subtype_name(0, 0x1A), "ota_10");
  EXPECT_EQ(subtype_name(0, 0x31), "tee_1");
  EXPECT_EQ(subtype_name(1, 0x00), "ota");
  EXPECT_EQ(subtype_name(1, 0x90), "tee_ota");
  EXPECT_EQ(subtype_name(3, 0x01), "ota");
  EXPECT_EQ(subtype_name(1, 0x40), "64");
  EXPECT_EQ(subtype_name(0x40, 0x00), "0");
  EXPECT_EQ(type_keywords().size(), 4u);
  EXPECT_TRUE(subtype_keywords(0x40).empty());
}

TEST(PartitionTableSerialize, MatchesGenEsp32partForTwoOta) {
  const Bytes bin = two_ota_binary();
  ASSERT_EQ(bin.size(), kTableMaxLength);
  const Bytes expected = hex(kTwoOtaHex);
  EXPECT_EQ(to_hex(ByteSpan(bin).first(expected.size())), kTwoOtaHex);
  for (size_t i = expected.size(); i < bin.size(); ++i) ASSERT_EQ(bin[i], 0xFF) << i;
}

TEST(PartitionTableSerialize, WithoutMd5) {
  auto bin = serialize_table(two_ota(), false);
  ASSERT_TRUE(bin);
  EXPECT_EQ(to_hex(ByteSpan(*bin).first(6 * 32)), std::string(kTwoOtaHex).substr(0, 6 * 64));
  EXPECT_EQ((*bin)[6 * 32], 0xFF);
}

TEST(PartitionTableSerialize, UpstreamBinaryEntryVector) {
  // gen_esp32part_tests.py test_binary_entry: `first, 0x30, 0xEE, 0x100400, 0x300000`.
  auto bin = serialize_table(std::vector{make("first", 0x30, 0xEE, 0x100400, 0x300000)}, true);
  ASSERT_TRUE(bin);
  EXPECT_EQ(to_hex(ByteSpan(*bin).subspan(32, 32)),
            "ebebffffffffffffffffffffffffffff" "43033f33408757516983" "9b4061b12726");
}

TEST(PartitionTableSerialize, EntryLimits) {
  std::vector<Entry> entries;
  for (uint32_t i = 0; i < 96; ++i) entries.push_back(make(fmt::format("p{}", i), 1, 0x40, 0x10000 + i * 0x1000, 0x1000));
  EXPECT_TRUE(serialize_table(std::span(entries).first(94), true));
  EXPECT_EQ(serialize_table(std::span(entries).first(95), true).error().code, "partition_table.too_long");
  EXPECT_TRUE(serialize_table(std::span(entries).first(95), false));
  EXPECT_EQ(serialize_table(entries, false).error().code, "partition_table.too_long");
}

// ---- Bootloader verification ----------------------------------------------------------------

TEST(PartitionTableVerify, AcceptsGeneratedTable) {
  auto table = verify_table(two_ota_binary(), 4 * 1024 * 1024);
  ASSERT_TRUE(table) << table.error().message;
  EXPECT_TRUE(table->has_md5);
  EXPECT_EQ(table->entries, two_ota());
  ASSERT_NE(table->find(type::kData, subtype::kDataOta), nullptr);
  EXPECT_EQ(table->find(type::kData, subtype::kDataOta)->offset, 0xd000u);
  EXPECT_EQ(table->find(type::kApp, subtype::kTest), nullptr);
  EXPECT_EQ(table->find_label("ota_1")->subtype, 0x11);
}

TEST(PartitionTableVerify, AcceptsTableWithoutMd5) {
  auto bin = serialize_table(two_ota(), false);
  auto table = verify_table(*bin, 4 * 1024 * 1024);
  ASSERT_TRUE(table);
  EXPECT_FALSE(table->has_md5);
  EXPECT_EQ(table->entries.size(), 6u);
}

TEST(PartitionTableVerify, TerminatorNeedsOnlyMagicTypeAndSubtype) {
  Bytes bin = two_ota_binary();
  bin[7 * 32 + 10] = 0x00;  // a byte after the terminator's first four
  EXPECT_TRUE(verify_table(bin, 4 * 1024 * 1024));
}

TEST(PartitionTableVerify, RefusesBadMagic) {
  Bytes bin = two_ota_binary();
  bin[2 * 32] = 0xAB;
  EXPECT_EQ(verify_table(bin, 4 * 1024 * 1024).error().code, "partition_table.magic");
  Bytes half_terminator = two_ota_binary();
  half_terminator[7 * 32 + 3] = 0x00;  // FF FF FF 00: not a terminator
  EXPECT_EQ(verify_table(half_terminator, 4 * 1024 * 1024).error().code, "partition_table.magic");
}

TEST(PartitionTableVerify, RefusesBadMd5) {
  Bytes bin = two_ota_binary();
  bin[3 * 32 + 8] ^= 0x01;  // factory size changed after the MD5 was computed
  auto r = verify_table(bin, 4 * 1024 * 1024);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "partition_table.md5");
  Bytes digest = two_ota_binary();
  digest[6 * 32 + 31] ^= 0x80;
  EXPECT_EQ(verify_table(digest, 4 * 1024 * 1024).error().code, "partition_table.md5");
}

TEST(PartitionTableVerify, RefusesSecondMd5Entry) {
  Bytes bin = two_ota_binary();
  // A second MD5 entry holding the MD5 of everything before it.
  const Bytes md5 = crypto::digest(crypto::HashAlg::kMd5, ByteSpan(bin).first(7 * 32));
  std::fill(bin.begin() + 7 * 32, bin.begin() + 7 * 32 + 16, 0xFF);
  bin[7 * 32] = bin[7 * 32 + 1] = 0xEB;
  std::copy(md5.begin(), md5.end(), bin.begin() + 7 * 32 + 16);
  EXPECT_EQ(verify_table(bin, 4 * 1024 * 1024).error().code, "partition_table.md5_duplicate");
}

TEST(PartitionTableVerify, RefusesEntryBeyondFlash) {
  // ota_0 ends at 0x210000: fine in 4 MiB, not in 2 MiB.
  auto r = verify_table(two_ota_binary(), 2 * 1024 * 1024);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "partition_table.bounds");
  EXPECT_NE(r.error().message.find("partition 4 ('ota_0')"), std::string::npos) << r.error().message;
  // offset + size wrapping past 2^32 must not pass the check.
  auto wrap = serialize_table(std::vector{make("w", 1, 0x40, 0x10000, 0xFFFFF000)}, true);
  EXPECT_EQ(verify_table(*wrap, 4 * 1024 * 1024).error().code, "partition_table.bounds");
  auto past = serialize_table(std::vector{make("p", 1, 0x40, 0x400001, 0)}, true);
  EXPECT_EQ(verify_table(*past, 4 * 1024 * 1024).error().code, "partition_table.bounds");
  auto exact = serialize_table(std::vector{make("e", 1, 0x40, 0x3F0000, 0x10000)}, true);
  EXPECT_TRUE(verify_table(*exact, 4 * 1024 * 1024));
}

TEST(PartitionTableVerify, RefusesMissingTerminator) {
  // 96 entries fill every slot: no room for the end marker.
  Bytes bin;
  for (uint32_t i = 0; i < 96; ++i) {
    auto e = encode_entry(make("p", 1, 0x40, 0x10000 + i * 0x1000, 0x1000));
    bin.insert(bin.end(), e.begin(), e.end());
  }
  EXPECT_EQ(verify_table(bin, 4 * 1024 * 1024).error().code, "partition_table.no_terminator");
  // A slot read past the data counts as missing too.
  EXPECT_EQ(verify_table(ByteSpan(two_ota_binary()).first(7 * 32), 4 * 1024 * 1024).error().code,
            "partition_table.no_terminator");
}

TEST(PartitionTableVerify, RefusesErasedTable) {
  const Bytes erased(kTableMaxLength, 0xFF);
  EXPECT_EQ(verify_table(erased, 4 * 1024 * 1024).error().code, "partition_table.empty");
  Bytes zeros(kTableMaxLength, 0x00);
  EXPECT_EQ(verify_table(zeros, 4 * 1024 * 1024).error().code, "partition_table.magic");
}

// ---- gen_esp32part's reading of a binary --------------------------------------------------

TEST(PartitionTableFile, ReadsGeneratedTable) {
  auto t = parse_table_file(two_ota_binary(), true);
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->has_md5);
  EXPECT_EQ(t->entries, two_ota());
}

TEST(PartitionTableFile, UpstreamLongerBinaryTable) {
  // gen_esp32part_tests.py LONGER_BINARY_TABLE (three entries, MD5, end marker).
  Bytes bin = hex(
      "aa5000000000010000001000666163746f727900000000000000000000000000"
      "aa50012000001100000200006461746100000000000000000000000000000000"
      "aa50100000001500001000007365636f6e640000000000000000000000000000"
      "ebebfffffffffffffffffffffffffffff9bd061b45686f86571a2cd52a1da65b");
  bin.resize(bin.size() + 32, 0xFF);
  auto t = parse_table_file(bin, true);
  ASSERT_TRUE(t) << t.error().message;
  ASSERT_EQ(t->entries.size(), 3u);
  EXPECT_EQ(t->entries[2].type, 0x10);
  EXPECT_EQ(t->entries[2].label, "second");
  auto again = serialize_table(t->entries, true);
  EXPECT_EQ(Bytes(again->begin(), again->begin() + static_cast<long>(bin.size())), bin);
}

TEST(PartitionTableFile, Rejections) {
  const Bytes good = two_ota_binary();
  EXPECT_EQ(parse_table_file(ByteSpan(good).first(6 * 32 + 10), true).error().code, "partition_table.length");
  EXPECT_EQ(parse_table_file(ByteSpan(good).first(7 * 32), true).error().code, "partition_table.no_terminator");
  Bytes md5 = good;
  md5[6 * 32 + 20] ^= 1;
  auto bad = parse_table_file(md5, true);
  EXPECT_EQ(bad.error().code, "partition_table.md5");
  EXPECT_NE(bad.error().message.find("MD5 checksums don't match"), std::string::npos);
  // Without MD5 checking the MD5 slot is just a bad entry.
  EXPECT_EQ(parse_table_file(good, false).error().code, "partition_table.magic");
  Bytes magic = good;
  magic[32] = 0x12;
  EXPECT_EQ(parse_table_file(magic, true).error().code, "partition_table.magic");
  auto no_md5 = serialize_table(two_ota(), false);
  (*no_md5)[12] = 0xC3;  // a UTF-8 lead byte without its continuation
  (*no_md5)[13] = 0x28;
  EXPECT_EQ(parse_table_file(*no_md5, false).error().code, "partition_table.label_utf8");
}

TEST(PartitionTableFile, UnknownFlagsWarnAndAreDropped) {
  auto bin = serialize_table(std::vector{make("x", 1, 0x40, 0x10000, 0x1000, 0x0D)}, false);
  std::vector<std::string> warnings;
  auto t = parse_table_file(*bin, false, &warnings);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->entries[0].flags, kFlagEncrypted);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0], "WARNING: Partition definition had unknown flag(s) 0x0000000c. Newer binary format?");
}

TEST(PartitionTableFile, EmptyTableIsJustTheEndMarker) {
  auto t = parse_table_file(Bytes(kTableMaxLength, 0xFF), true);
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->entries.empty());
}

TEST(Utf8, Validation) {
  EXPECT_TRUE(is_valid_utf8("phy_\xd0\xb8\xd0\xbd\xd0\xb8\xd1\x82_"));
  EXPECT_TRUE(is_valid_utf8("\xf0\x9f\x98\x80"));
  EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));          // overlong
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(is_valid_utf8("\xe2\x82"));          // truncated
  EXPECT_FALSE(is_valid_utf8("\xff"));
}

}  // namespace
}  // namespace espsec::partition
