#include "nvs/format.hpp"

#include <gtest/gtest.h>

#include "test_util.hpp"

namespace espsec::nvs {
namespace {

using espsec::test::hex;

TEST(NvsFormat, PageHeaderMatchesTheWorkedExampleAndRoundTrips) {
  // storage-and-ota.md 1.2: page 0 of nvs_plain.bin, FULL, seq 0, version 2.
  const Bytes raw = hex("fcffffff" "00000000" "fe" + std::string(38, 'f') + "842dbab9");
  ASSERT_EQ(raw.size(), 32u);
  const PageHeader h = PageHeader::parse(raw);
  EXPECT_EQ(h.state_raw, static_cast<uint32_t>(PageState::kFull));
  EXPECT_EQ(h.seq, 0u);
  EXPECT_EQ(h.version, kVersion2);
  EXPECT_EQ(h.crc, 0xB9BA2D84u);
  EXPECT_TRUE(h.crc_ok());
  const auto out = h.serialize();
  EXPECT_EQ(Bytes(out.begin(), out.end()), raw);
  const auto made = PageHeader::make(PageState::kFull, 0, kVersion2).serialize();
  EXPECT_EQ(Bytes(made.begin(), made.end()), raw);
  EXPECT_EQ(PageHeader::make(PageState::kActive, 3, kVersion2).crc, 0xE1A484ACu);
}

TEST(NvsFormat, PageHeaderCrcCoversSeqVersionAndReservedButNotState) {
  auto bytes = PageHeader::make(PageState::kActive, 7, kVersion2).serialize();
  bytes[0] = 0xFC;  // programming the state keeps the CRC valid
  EXPECT_TRUE(PageHeader::parse(bytes).crc_ok());
  for (size_t at : {4u, 8u, 9u, 27u}) {
    auto bad = bytes;
    bad[at] ^= 0x01;
    EXPECT_FALSE(PageHeader::parse(bad).crc_ok()) << "byte " << at;
  }
}

TEST(NvsFormat, EntryStateBitmapUsesTwoBitsPerEntryInLittleEndianWords) {
  EntryStateTable t;
  EXPECT_EQ(t.get(0), EntryState::kEmpty);
  t.set(0, EntryState::kWritten);
  t.set(1, EntryState::kWritten);
  t.set(2, EntryState::kWritten);
  EXPECT_EQ(t.bytes()[0], 0xEA);
  t.set(1, EntryState::kErased);
  EXPECT_EQ(t.bytes()[0], 0xE2);
  t.set(17, EntryState::kWritten);
  EXPECT_EQ(EntryStateTable::word_index(17), 1u);
  EXPECT_EQ(t.word(1), 0xFFFFFFFBu);
  t.set(125, EntryState::kIllegal);
  EXPECT_EQ(t.get(125), EntryState::kIllegal);
  EXPECT_EQ(t.bytes()[31] >> 4, 0xF) << "entries 126/127 do not exist and stay 11";
  EXPECT_EQ(EntryStateTable::parse(t.bytes()).bytes(), t.bytes());
}

TEST(NvsFormat, EntriesMatchTheWorkedExamplesAndRoundTrip) {
  // storage-and-ota.md 1.4, from nvs_plain.bin page 0.
  const Bytes ns = hex("000101ff0612ebfd6e735f6f6e650000000000000000000001ffffffffffffff");
  const Item nsi = Item::parse(ns);
  EXPECT_EQ(nsi.key_view(), "ns_one");
  EXPECT_EQ(nsi.crc, 0xFDEB1206u);
  EXPECT_TRUE(nsi.consistent(0));
  const auto round = nsi.serialize();
  EXPECT_EQ(Bytes(round.begin(), round.end()), ns);

  Item made = Item::make(0, ItemType::kU8, 1, "ns_one");
  made.data[0] = 1;
  made.seal();
  const auto made_bytes = made.serialize();
  EXPECT_EQ(Bytes(made_bytes.begin(), made_bytes.end()), ns);

  Item str = Item::make(1, ItemType::kString, 2, "str_short");
  str.set_var(6, data_crc(as_bytes(std::string_view("hello\0", 6))));
  str.seal();
  EXPECT_EQ(str.crc, 0x92751D22u);
  EXPECT_EQ(str.var_crc(), 0x98D28762u);

  Item idx = Item::make(1, ItemType::kBlobIndex, 1, "big_blob");
  idx.set_blob_index(9000, 4, 0);
  idx.seal();
  EXPECT_EQ(idx.crc, 0x11BF2691u);
  EXPECT_EQ(idx.blob_size(), 9000u);
  EXPECT_EQ(idx.blob_chunk_count(), 4);
  EXPECT_EQ(idx.blob_chunk_start(), 0);
}

TEST(NvsFormat, KeysAreTruncatedAtFifteenBytesAndComparedThatWay) {
  const Item item = Item::make(1, ItemType::kU8, 1, "0123456789abcdefXYZ");
  EXPECT_EQ(item.key_view(), "0123456789abcde");
  EXPECT_EQ(item.key[15], 0);
  EXPECT_TRUE(item.key_equals("0123456789abcde"));
  EXPECT_FALSE(item.key_equals("0123456789abcd"));
}

TEST(NvsFormat, HeaderChecksRejectEachInconsistentField) {
  auto sealed = [](Item i) {
    i.seal();
    return i;
  };
  Item good = Item::make(1, ItemType::kU32, 1, "k");
  EXPECT_FALSE(sealed(good).check_header(0));

  Item crc = sealed(good);
  crc.crc ^= 1;
  EXPECT_EQ(crc.check_header(0), HeaderFault::kCrc);

  Item type = good;
  type.type_raw = 0x33;
  EXPECT_EQ(sealed(type).check_header(0), HeaderFault::kUnknownType);

  Item span = good;
  span.span = 2;
  EXPECT_EQ(sealed(span).check_header(0), HeaderFault::kSpan);

  Item idx = Item::make(1, ItemType::kBlobIndex, 1, "b", 0);
  idx.set_blob_index(10, 1, 0);
  EXPECT_EQ(sealed(idx).check_header(0), HeaderFault::kChunkIndex);
  Item big = Item::make(1, ItemType::kBlobIndex, 1, "b");
  big.set_blob_index(kMaxBlobIndexSize + 1, 1, 0);
  EXPECT_EQ(sealed(big).check_header(0), HeaderFault::kSize);

  Item chunk = Item::make(1, ItemType::kBlobData, 2, "b", kChunkAny);
  chunk.set_var(10, 0);
  EXPECT_EQ(sealed(chunk).check_header(0), HeaderFault::kChunkIndex);

  Item str = Item::make(1, ItemType::kString, 3, "s");
  str.set_var(40, 0);
  EXPECT_FALSE(sealed(str).check_header(0));
  EXPECT_FALSE(sealed(str).check_header(123));
  EXPECT_EQ(sealed(str).check_header(124), HeaderFault::kSize) << "40 bytes do not fit after entry 124";
  Item wrong_span = str;
  wrong_span.span = 4;
  EXPECT_EQ(sealed(wrong_span).check_header(0), HeaderFault::kSpan);
  Item huge = Item::make(1, ItemType::kString, 126, "s");
  huge.set_var(4000, 0);
  EXPECT_FALSE(sealed(huge).check_header(0));
  EXPECT_EQ(sealed(huge).check_header(1), HeaderFault::kSize);
}

TEST(NvsFormat, PrimitivesAreSignExtendedFromTheirWidth) {
  Item i8 = Item::make(1, ItemType::kI8, 1, "k");
  i8.data[0] = 0x80;
  EXPECT_EQ(static_cast<int64_t>(i8.primitive_bits()), -128);
  Item u16 = Item::make(1, ItemType::kU16, 1, "k");
  u16.data[0] = 0xFF;
  u16.data[1] = 0xFF;
  EXPECT_EQ(u16.primitive_bits(), 0xFFFFu);
  EXPECT_EQ(primitive_width(ItemType::kI64), 8u);
  EXPECT_EQ(primitive_width(ItemType::kString), 0u);
}

TEST(NvsFormat, HashAndDataCrcFollowTheNvsCrc) {
  EXPECT_EQ(data_crc(as_bytes(std::string_view("123456789"))), 0xD202D277u);
  EXPECT_EQ(data_crc({}), 0xFFFFFFFFu);
  EXPECT_EQ(item_hash24(Item::make(1, ItemType::kU32, 1, "alpha")),
            item_hash24(Item::make(1, ItemType::kI8, 1, "alpha")))
      << "the type is not part of the hash";
  EXPECT_NE(item_hash24(Item::make(1, ItemType::kU32, 1, "alpha")),
            item_hash24(Item::make(2, ItemType::kU32, 1, "alpha")));
}

TEST(NvsFormat, KeyRulesNameTheProblem) {
  EXPECT_TRUE(check_key("a"));
  EXPECT_TRUE(check_key("key15_chars_abc"));
  EXPECT_EQ(check_key("").error().code, "nvs.invalid_name");
  EXPECT_EQ(check_key(std::string_view("a\0b", 3)).error().code, "nvs.invalid_name");
  const auto long_key = check_key("sixteen_chars_ab");
  EXPECT_EQ(long_key.error().code, "nvs.key_too_long");
  EXPECT_NE(long_key.error().message.find("sixteen_chars_ab"), std::string::npos);
}

TEST(NvsFormat, TypeCodesAndNames) {
  EXPECT_EQ(item_type_name(ItemType::kBlobData), "blob_data");
  EXPECT_EQ(item_type_name(ItemType::kI64), "i64");
  EXPECT_FALSE(is_known_type(0xFF));
  EXPECT_FALSE(is_known_type(0x33));
  EXPECT_TRUE(is_known_type(0x24));
  EXPECT_TRUE(is_erased(Bytes(4, 0xFF)));
  EXPECT_FALSE(is_erased(Bytes{0xFF, 0xFE}));
}

}  // namespace
}  // namespace espsec::nvs
