#include "format/otadata.hpp"

#include <gtest/gtest.h>

#include "test_util.hpp"

namespace espsec::otadata {
namespace {

TEST(Otadata, CrcIsOverTheSequenceNumberWithTheRomConvention) {
  // Boot-chain fact sheet 6 (verified with the otatool.py formula).
  EXPECT_EQ(seq_crc(1), 0x4743989Au);
  EXPECT_EQ(seq_crc(2), 0x55F63774u);
  EXPECT_EQ(seq_crc(3), 0xED4A5011u);
  EXPECT_EQ(seq_crc(4), 0x709D68A8u);
  EXPECT_NE(seq_crc(1), 0x99F8B879u);  // the zip CRC-32 of LE32(1) is not it
}

TEST(Otadata, WorkedExamples) {
  EXPECT_EQ(to_hex(encode(Entry::make(1, state::kNew))),
            "01000000" "ffffffffffffffffffffffffffffffffffffffff" "00000000" "9a984347");
  EXPECT_EQ(to_hex(encode(Entry::make(2, state::kNew))),
            "02000000" "ffffffffffffffffffffffffffffffffffffffff" "00000000" "7437f655");
}

TEST(Otadata, CodecRoundTripKeepsEveryByte) {
  Bytes raw(32);
  for (size_t i = 0; i < raw.size(); ++i) raw[i] = static_cast<uint8_t>(i * 13 + 1);
  auto e = decode(raw);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->ota_seq, load_le32(raw.data()));
  EXPECT_EQ(e->ota_state, load_le32(raw.data() + 24));
  EXPECT_EQ(e->crc, load_le32(raw.data() + 28));
  const auto back = encode(*e);
  EXPECT_EQ(Bytes(back.begin(), back.end()), raw);
  EXPECT_EQ(decode(ByteSpan(raw).first(31)).error().code, "otadata.length");
}

TEST(Otadata, ErasedEntryIsEmptyAndInvalid) {
  auto e = decode(Bytes(32, 0xFF));
  ASSERT_TRUE(e);
  EXPECT_EQ(*e, Entry{});
  EXPECT_TRUE(e->marked_invalid());
  EXPECT_FALSE(e->valid());
  EXPECT_TRUE(e->blank_or_corrupt());
}

TEST(Otadata, Validity) {
  EXPECT_TRUE(Entry::make(5, state::kNew).valid());
  EXPECT_TRUE(Entry::make(5, state::kPendingVerify).valid());
  EXPECT_TRUE(Entry::make(5, state::kValid).valid());
  EXPECT_TRUE(Entry::make(5, state::kUndefined).valid());
  EXPECT_TRUE(Entry::make(5, 7).valid());  // unknown states are not rejected by IDF
  EXPECT_FALSE(Entry::make(5, state::kInvalid).valid());
  EXPECT_FALSE(Entry::make(5, state::kAborted).valid());
  Entry bad_crc = Entry::make(5, state::kValid);
  bad_crc.crc ^= 1;
  EXPECT_FALSE(bad_crc.valid());
  EXPECT_FALSE(bad_crc.marked_invalid());  // the "invalid" test does not look at the CRC
  EXPECT_TRUE(bad_crc.blank_or_corrupt());
  EXPECT_FALSE(Entry::make(5, state::kInvalid).blank_or_corrupt());
}

TEST(Otadata, WithSeqRecomputesTheCrcWithStateDoesNot) {
  Entry e = Entry::make(1, state::kNew);
  e.seq_label[3] = 0x42;
  const Entry moved = e.with_seq(9);
  EXPECT_EQ(moved.crc, seq_crc(9));
  EXPECT_EQ(moved.seq_label[3], 0x42);
  Entry broken = e;
  broken.crc = 0;
  EXPECT_EQ(broken.with_state(state::kAborted).crc, 0u);
}

TEST(Otadata, SelectionRules) {
  const Pair both = {Entry::make(3, state::kValid), Entry::make(4, state::kValid)};
  EXPECT_EQ(active_entry(both), 1);
  EXPECT_EQ(select(both, {true, true}, false), 0);
  const Pair tie = {Entry::make(4, state::kValid), Entry::make(4, state::kNew)};
  EXPECT_EQ(active_entry(tie), 0);
  const Pair one = {Entry::make(9, state::kInvalid), Entry::make(4, state::kValid)};
  EXPECT_EQ(active_entry(one), 1);
  const Pair none = {Entry{}, Entry::make(4, state::kAborted)};
  EXPECT_FALSE(active_entry(none));
  EXPECT_EQ(select(none, {false, true}, true), 1);
}

TEST(Otadata, SlotMapping) {
  EXPECT_EQ(slot_of(1, 2), 0u);
  EXPECT_EQ(slot_of(2, 2), 1u);
  EXPECT_EQ(slot_of(3, 2), 0u);
  EXPECT_EQ(slot_of(7, 3), 0u);
  EXPECT_EQ(slot_of(0, 2), 1u);  // (0 - 1) wraps to 0xFFFFFFFF, as in IDF
  EXPECT_EQ(slot_of(0, 3), 0u);
}

TEST(Otadata, NextSequenceForASlot) {
  // Storage-and-ota fact sheet 5.2: two slots, 1 -> 2, 2 -> 3, 5 -> 6.
  EXPECT_EQ(*seq_for_slot(1, 1, 2), 2u);
  EXPECT_EQ(*seq_for_slot(2, 0, 2), 3u);
  EXPECT_EQ(*seq_for_slot(5, 1, 2), 6u);
  EXPECT_EQ(*seq_for_slot(4, 7, 8), 8u);   // esp_ota_ops.c comment: ota_4 running, switch to ota_7
  EXPECT_EQ(*seq_for_slot(0, 2, 3), 3u);  // IDF would give 0, which selects slot 0 of 3
  EXPECT_EQ(*seq_for_slot(0, 1, 2), 2u);
  EXPECT_EQ(*seq_for_slot(10, 2, 3), 12u);
  EXPECT_EQ(*seq_for_slot(0xFFFFFFF0, 0, 2), 0xFFFFFFF1u);
  EXPECT_EQ(seq_for_slot(0xFFFFFFFE, 0, 2).error().code, "otadata.seq_exhausted");
  EXPECT_EQ(seq_for_slot(1, 2, 2).error().code, "otadata.slot");
  EXPECT_EQ(seq_for_slot(1, 0, 0).error().code, "otadata.slot");
}

TEST(Otadata, StateNames) {
  EXPECT_EQ(state_name(state::kPendingVerify), "PENDING_VERIFY");
  EXPECT_EQ(state_name(state::kUndefined), "UNDEFINED");
  EXPECT_EQ(state_name(9), "0x00000009");
}

}  // namespace
}  // namespace espsec::otadata
