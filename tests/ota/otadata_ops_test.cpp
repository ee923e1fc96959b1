#include "ota/otadata_ops.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <numeric>
#include <set>

#include "chip/encrypted_flash.hpp"
#include "chip/flash_window.hpp"
#include "test_util.hpp"

namespace espsec::ota {
namespace {

using otadata::Entry;
namespace st = otadata::state;

const AppLayout kTwoOta = AppLayout::contiguous(2, /*factory=*/true);
const AppLayout kTwoOtaNoFactory = AppLayout::contiguous(2, /*factory=*/false);
const Config kRollback{.rollback = true, .anti_rollback = false};
const Config kPlain{};
const Config kAntiRollback{.rollback = true, .anti_rollback = true};

const Pair kErased = {Entry{}, Entry{}};

SlotPredicate all_slots() {
  return [](AppSlot) { return true; };
}
SlotPredicate only(std::set<std::string> names) {
  return [names = std::move(names)](AppSlot s) { return names.count(to_string(s)) > 0; };
}
SlotPredicate none() {
  return [](AppSlot) { return false; };
}

// The slot the bootloader tries first (rollback and anti-rollback off: no writes). Without a
// factory app, "start at factory" and "start at ota_0" are the same walk.
AppSlot selected(const Pair& pair, const AppLayout& layout = kTwoOta) {
  const auto candidates = boot_candidates(select_boot(pair, layout, kPlain, all_slots()).start, layout);
  return candidates.empty() ? AppSlot::factory() : candidates.front();
}

Pair apply_to(const Pair& pair, const WritePlan& plan) {
  Pair out = pair;
  for (const auto& w : plan) out[static_cast<size_t>(w.sector)] = w.entry.value_or(Entry{});
  return out;
}

TEST(OtaLayout, FromPartitionTable) {
  partition::Table t;
  t.entries = {{"nvs", 1, 2, 0x9000, 0x4000, 0},        {"otadata", 1, 0, 0xd000, 0x2000, 0},
               {"factory", 0, 0, 0x10000, 0x100000, 0},  {"ota_0", 0, 0x10, 0x110000, 0x100000, 0},
               {"ota_2", 0, 0x12, 0x210000, 0x100000, 0}, {"test", 0, 0x20, 0x310000, 0x10000, 0},
               {"tee", 0, 0x30, 0x320000, 0x10000, 0}};
  const AppLayout l = AppLayout::from_table(t);
  EXPECT_TRUE(l.has_factory);
  EXPECT_TRUE(l.has_test);
  EXPECT_TRUE(l.ota_present[0]);
  EXPECT_FALSE(l.ota_present[1]);
  EXPECT_TRUE(l.ota_present[2]);
  EXPECT_EQ(l.app_side_ota_count(), 1u);    // ota_0 only: ota_1 is missing
  EXPECT_EQ(l.bootloader_ota_count(), 2u);  // every ota_N entry
  EXPECT_EQ(to_string(AppSlot::ota_slot(3)), "ota_3");
}

// ---- App side -------------------------------------------------------------------------------

TEST(OtaBootPartition, DefaultsAndActiveEntry) {
  EXPECT_EQ(boot_partition(kErased, kTwoOta), AppSlot::factory());
  EXPECT_EQ(boot_partition(kErased, kTwoOtaNoFactory), AppSlot::ota_slot(0));
  EXPECT_EQ(boot_partition(kErased, AppLayout::contiguous(0, false, true)), AppSlot::test());
  EXPECT_FALSE(boot_partition(kErased, AppLayout{}));
  EXPECT_EQ(boot_partition({Entry::make(2, st::kValid), Entry{}}, kTwoOta), AppSlot::ota_slot(1));
  EXPECT_EQ(boot_partition({Entry::make(2, st::kValid), Entry::make(3, st::kNew)}, kTwoOta), AppSlot::ota_slot(0));
  Entry bad = Entry::make(3, st::kNew);
  bad.crc = 0;
  EXPECT_EQ(boot_partition({Entry::make(2, st::kValid), bad}, kTwoOta), AppSlot::ota_slot(1));
  EXPECT_EQ(boot_partition({bad, Entry{}}, kTwoOta), AppSlot::factory());  // "ota data invalid"
}

TEST(OtaSetBootPartition, FirstSelectionGoesToSectorZero) {
  auto plan = plan_set_boot_partition(kErased, AppSlot::ota_slot(1), kTwoOta, kRollback);
  ASSERT_TRUE(plan);
  ASSERT_EQ(plan->size(), 1u);
  EXPECT_EQ((*plan)[0], (SectorWrite{0, Entry::make(2, st::kNew)}));
  auto plain = plan_set_boot_partition(kErased, AppSlot::ota_slot(0), kTwoOta, kPlain);
  EXPECT_EQ((*plain)[0], (SectorWrite{0, Entry::make(1, st::kUndefined)}));
}

TEST(OtaSetBootPartition, SwitchWritesTheOtherSectorWithTheNextSequence) {
  const Pair pair = {Entry::make(1, st::kValid), Entry{}};
  auto plan = plan_set_boot_partition(pair, AppSlot::ota_slot(1), kTwoOta, kRollback);
  ASSERT_TRUE(plan);
  EXPECT_EQ(*plan, (WritePlan{{1, Entry::make(2, st::kNew)}}));
  // The entry keeps the target sector's label bytes, as IDF rewrites the struct it read.
  Pair labelled = {Entry::make(2, st::kValid), Entry::make(1, st::kValid)};
  labelled[0].seq_label[0] = 0x11;
  labelled[1].seq_label[0] = 0x22;
  auto back = plan_set_boot_partition(labelled, AppSlot::ota_slot(0), kTwoOta, kPlain);
  ASSERT_EQ(back->size(), 1u);
  EXPECT_EQ((*back)[0].sector, 1);
  EXPECT_EQ((*back)[0].entry->ota_seq, 3u);
  EXPECT_EQ((*back)[0].entry->seq_label[0], 0x22);
  EXPECT_EQ((*back)[0].entry->ota_state, st::kUndefined);
  EXPECT_EQ(selected(apply_to(labelled, *back)), AppSlot::ota_slot(0));
}

TEST(OtaSetBootPartition, SameSlotRewritesInPlaceWhenARollbackTargetExists) {
  const Pair pair = {Entry::make(1, st::kValid), Entry::make(2, st::kValid)};  // active: 1 -> ota_1
  auto plan = plan_set_boot_partition(pair, AppSlot::ota_slot(1), kTwoOta, kRollback);
  EXPECT_EQ(*plan, (WritePlan{{1, Entry::make(2, st::kNew)}}));
  // Identical bytes: nothing to write.
  const Pair already = {Entry::make(1, st::kValid), Entry::make(2, st::kUndefined)};
  EXPECT_TRUE(plan_set_boot_partition(already, AppSlot::ota_slot(1), kTwoOta, kPlain)->empty());
}

TEST(OtaSetBootPartition, SameSlotWithoutRollbackTargetAdvancesTheSequence) {
  const Pair pair = {Entry::make(1, st::kValid), Entry::make(2, st::kInvalid)};  // active: 0 -> ota_0
  auto plan = plan_set_boot_partition(pair, AppSlot::ota_slot(0), kTwoOta, kRollback);
  ASSERT_TRUE(plan);
  EXPECT_EQ(*plan, (WritePlan{{1, Entry::make(3, st::kNew)}}));
  EXPECT_EQ(selected(apply_to(pair, *plan)), AppSlot::ota_slot(0));
}

TEST(OtaSetBootPartition, FactoryErasesBothSectors) {
  const Pair pair = {Entry::make(1, st::kValid), Entry::make(2, st::kValid)};
  auto plan = plan_set_boot_partition(pair, AppSlot::factory(), kTwoOta, kRollback);
  EXPECT_EQ(*plan, (WritePlan{{0, std::nullopt}, {1, std::nullopt}}));
  EXPECT_EQ(selected(apply_to(pair, *plan)), AppSlot::factory());
}

TEST(OtaSetBootPartition, Rejections) {
  EXPECT_EQ(plan_set_boot_partition(kErased, AppSlot::test(), kTwoOta, kPlain).error().code, "ota.invalid_target");
  EXPECT_EQ(plan_set_boot_partition(kErased, AppSlot::ota_slot(2), kTwoOta, kPlain).error().code,
            "ota.invalid_target");
  EXPECT_EQ(plan_set_boot_partition(kErased, AppSlot::factory(), kTwoOtaNoFactory, kPlain).error().code,
            "ota.invalid_target");
  // ota_2 after a gap is not reachable from the app side (esp_ota_get_app_partition_count).
  AppLayout gap = AppLayout::contiguous(1, true);
  gap.ota_present[2] = true;
  gap.ota_entries = 2;
  EXPECT_EQ(plan_set_boot_partition(kErased, AppSlot::ota_slot(2), gap, kPlain).error().code, "ota.invalid_target");
  const Pair worn = {Entry::make(0xFFFFFFFE, st::kValid), Entry{}};
  EXPECT_EQ(plan_set_boot_partition(worn, AppSlot::ota_slot(0), kTwoOta, kPlain).error().code,
            "otadata.seq_exhausted");
}

TEST(OtaMarkValid, SetsValidOnceAndRefusesFactory) {
  const Pair pair = {Entry::make(1, st::kValid), Entry::make(2, st::kPendingVerify)};
  EXPECT_EQ(*plan_mark_app_valid(pair, kTwoOta), (WritePlan{{1, Entry::make(2, st::kValid)}}));
  EXPECT_TRUE(plan_mark_app_valid(apply_to(pair, *plan_mark_app_valid(pair, kTwoOta)), kTwoOta)->empty());
  auto factory = plan_mark_app_valid(kErased, kTwoOta);
  EXPECT_EQ(factory.error().code, "ota.running_factory");
  EXPECT_EQ(plan_mark_app_valid(pair, AppLayout::contiguous(0, true)).error().code, "ota.running_factory");
}

TEST(OtaMarkInvalid, OnlyWhenARollbackIsPossible) {
  const Pair pair = {Entry::make(1, st::kValid), Entry::make(2, st::kPendingVerify)};  // running ota_1
  auto ok = plan_mark_app_invalid(pair, kTwoOta, kRollback, only({"ota_0"}));
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, (WritePlan{{1, Entry::make(2, st::kInvalid)}}));
  EXPECT_EQ(selected(apply_to(pair, *ok)), AppSlot::ota_slot(0));
  // ota_0 does not verify: nothing to roll back to.
  auto failed = plan_mark_app_invalid(pair, kTwoOta, kRollback, only({"factory"}));
  EXPECT_EQ(failed.error().code, "ota.rollback_failed");
  // The other entry is not valid: a verifiable factory app is the target (not with anti-rollback).
  const Pair lone = {Entry{}, Entry::make(2, st::kPendingVerify)};
  EXPECT_TRUE(plan_mark_app_invalid(lone, kTwoOta, kRollback, only({"factory"})));
  EXPECT_EQ(plan_mark_app_invalid(lone, kTwoOta, kAntiRollback, only({"factory"})).error().code,
            "ota.rollback_failed");
  EXPECT_EQ(plan_mark_app_invalid(kErased, kTwoOta, kRollback, all_slots()).error().code, "ota.running_factory");
}

TEST(OtaQueries, SlotStateLastInvalidAndInvalidateInactive) {
  Pair pair = {Entry::make(1, st::kValid), Entry::make(2, st::kAborted)};
  EXPECT_EQ(*slot_state(pair, 0, kTwoOta), st::kValid);
  EXPECT_EQ(*slot_state(pair, 1, kTwoOta), st::kAborted);
  EXPECT_EQ(slot_state(kErased, 0, kTwoOta).error().code, "ota.not_found");
  EXPECT_EQ(slot_state(pair, 16, kTwoOta).error().code, "ota.invalid_target");
  EXPECT_EQ(last_invalid_slot(pair, kTwoOta), AppSlot::ota_slot(1));
  const Pair two_invalid = {Entry::make(3, st::kInvalid), Entry::make(2, st::kAborted)};
  EXPECT_EQ(last_invalid_slot(two_invalid, kTwoOta), AppSlot::ota_slot(1));  // the smaller sequence
  EXPECT_FALSE(last_invalid_slot(kErased, kTwoOta));

  // esp_ota_begin while running ota_0 (entry 1, seq 3): the inactive entry selects ota_1.
  const Pair running0 = {Entry::make(2, st::kValid), Entry::make(3, st::kValid)};
  EXPECT_EQ(*plan_invalidate_inactive(running0, kTwoOta, AppSlot::ota_slot(0)), (WritePlan{{0, std::nullopt}}));
  EXPECT_TRUE(plan_invalidate_inactive(running0, kTwoOta, AppSlot::ota_slot(1))->empty());
  EXPECT_TRUE(plan_invalidate_inactive(kErased, kTwoOta, AppSlot::factory())->empty());
}

// ---- Bootloader side ------------------------------------------------------------------------

TEST(BootSelect, NoOtadataPartitionMeansFactory) {
  const Selection s = select_boot(std::nullopt, kTwoOta, kRollback, all_slots());
  EXPECT_EQ(s.start, AppSlot::factory());
  EXPECT_TRUE(s.writes.empty());
}

TEST(BootSelect, BlankOtadata) {
  Selection s = select_boot(kErased, kTwoOta, kRollback, all_slots());
  EXPECT_EQ(s.start, AppSlot::factory());
  EXPECT_EQ(s.log, std::vector<std::string>{"Defaulting to factory image"});
  EXPECT_FALSE(s.initial_contents);
  s = select_boot(kErased, kTwoOtaNoFactory, kRollback, all_slots());
  EXPECT_EQ(s.start, AppSlot::ota_slot(0));
  EXPECT_TRUE(s.initial_contents);
  EXPECT_EQ(s.log, std::vector<std::string>{"No factory image, trying OTA 0"});
}

TEST(BootSelect, OneSectorCorruptedUsesTheOther) {
  Entry bad_crc = Entry::make(3, st::kValid);
  bad_crc.crc ^= 0x10;
  EXPECT_EQ(selected({bad_crc, Entry::make(2, st::kValid)}), AppSlot::ota_slot(1));
  EXPECT_EQ(selected({Entry::make(1, st::kValid), bad_crc}), AppSlot::ota_slot(0));
  EXPECT_EQ(selected({Entry{}, Entry::make(2, st::kValid)}), AppSlot::ota_slot(1));
  EXPECT_EQ(selected({Entry::make(4, st::kInvalid), Entry::make(1, st::kValid)}), AppSlot::ota_slot(0));
  EXPECT_EQ(selected({Entry::make(4, st::kAborted), Entry::make(1, st::kUndefined)}), AppSlot::ota_slot(0));
}

TEST(BootSelect, BothSectorsBad) {
  Entry a = Entry::make(3, st::kValid), b = Entry::make(4, st::kValid);
  a.crc = 0;
  b.crc = 1;
  Selection s = select_boot(Pair{a, b}, kTwoOta, kPlain, all_slots());
  EXPECT_EQ(s.start, AppSlot::factory());
  EXPECT_EQ(s.log, std::vector<std::string>{"ota data partition invalid, falling back to factory"});
  s = select_boot(Pair{a, b}, kTwoOtaNoFactory, kPlain, all_slots());
  EXPECT_EQ(s.log, std::vector<std::string>{"ota data partition invalid and no factory, will try all partitions"});
  EXPECT_EQ(s.start, AppSlot::factory());
  EXPECT_FALSE(s.initial_contents);  // marked_invalid() is false for both: not the "empty" path
  // Marked invalid and CRC-bad: the blank path, with initial contents remembered.
  Entry c = Entry::make(3, st::kInvalid);
  c.crc = 0;
  s = select_boot(Pair{c, Entry{}}, kTwoOtaNoFactory, kPlain, all_slots());
  EXPECT_EQ(s.start, AppSlot::ota_slot(0));
  EXPECT_TRUE(s.initial_contents);
}

TEST(BootSelect, RollbackFixUpsAndPendingVerify) {
  // ota_1 was booted once as NEW and never confirmed.
  const Pair pair = {Entry::make(1, st::kValid), Entry::make(2, st::kPendingVerify)};
  Selection s = select_boot(pair, kTwoOta, kRollback, all_slots());
  EXPECT_EQ(s.start, AppSlot::ota_slot(0));
  EXPECT_EQ(s.writes, (WritePlan{{1, Entry::make(2, st::kAborted)}}));
  // Without rollback support PENDING_VERIFY is just a valid state.
  EXPECT_EQ(select_boot(pair, kTwoOta, kPlain, all_slots()).start, AppSlot::ota_slot(1));

  const Pair fresh = {Entry::make(1, st::kValid), Entry::make(2, st::kNew)};
  s = select_boot(fresh, kTwoOta, kRollback, all_slots());
  EXPECT_EQ(s.start, AppSlot::ota_slot(1));
  EXPECT_EQ(s.writes, (WritePlan{{1, Entry::make(2, st::kPendingVerify)}}));
  // The fix-up keeps whatever CRC was stored (the bootloader does not recompute it).
  Entry odd = Entry::make(2, st::kPendingVerify);
  odd.crc = 0x1234;
  s = select_boot(Pair{Entry{}, odd}, kTwoOta, kRollback, all_slots());
  ASSERT_EQ(s.writes.size(), 1u);
  EXPECT_EQ(s.writes[0].entry->crc, 0x1234u);
  EXPECT_EQ(s.writes[0].entry->ota_state, st::kAborted);
}

TEST(BootSelect, AntiRollbackFiltersAndRaises) {
  const Pair pair = {Entry::make(1, st::kValid), Entry::make(2, st::kValid)};
  // ota_1's app has a secure_version below the eFuse: its entry is not considered.
  Selection s = select_boot(pair, kTwoOtaNoFactory, kAntiRollback, only({"ota_0"}));
  EXPECT_EQ(s.start, AppSlot::ota_slot(0));
  EXPECT_EQ(s.raise_secure_version, AppSlot::ota_slot(0));
  s = select_boot(pair, kTwoOtaNoFactory, kAntiRollback, all_slots());
  EXPECT_EQ(s.start, AppSlot::ota_slot(1));
  // NEW/PENDING entries never raise the eFuse.
  s = select_boot(Pair{Entry::make(1, st::kValid), Entry::make(2, st::kNew)}, kTwoOtaNoFactory, kAntiRollback,
                  all_slots());
  EXPECT_FALSE(s.raise_secure_version);
  s = select_boot(kErased, kTwoOtaNoFactory, kAntiRollback, all_slots());
  EXPECT_TRUE(s.initial_contents);
  EXPECT_EQ(s.start, AppSlot::factory());
  EXPECT_EQ(s.log.back(), "otadata[0..1] in initial state");
}

TEST(BootCandidates, DownToFactoryThenUpThenTest) {
  const AppLayout four = AppLayout::contiguous(4, true, true);
  auto names = [](const std::vector<AppSlot>& v) {
    std::vector<std::string> out;
    for (auto s : v) out.push_back(to_string(s));
    return out;
  };
  EXPECT_EQ(names(boot_candidates(AppSlot::ota_slot(2), four)),
            (std::vector<std::string>{"ota_2", "ota_1", "ota_0", "factory", "ota_3", "test"}));
  EXPECT_EQ(names(boot_candidates(AppSlot::factory(), four)),
            (std::vector<std::string>{"factory", "ota_0", "ota_1", "ota_2", "ota_3", "test"}));
  EXPECT_EQ(names(boot_candidates(AppSlot::test(), four)), (std::vector<std::string>{"test"}));
  EXPECT_TRUE(boot_candidates(AppSlot::test(), kTwoOta).empty());
  // ota_0 and ota_2: the bootloader counts two slots and looks at indexes 0 and 1 only.
  AppLayout gap;
  gap.ota_present[0] = gap.ota_present[2] = true;
  gap.ota_entries = 2;
  EXPECT_EQ(names(boot_candidates(AppSlot::ota_slot(1), gap)), (std::vector<std::string>{"ota_0"}));
}

TEST(BootDecide, FallsBackAndRecordsInitialContents) {
  BootDecision d = decide_boot(kErased, kTwoOtaNoFactory, kRollback, only({"ota_1"}), all_slots());
  EXPECT_EQ(d.boot, AppSlot::ota_slot(1));
  EXPECT_EQ(d.writes, (WritePlan{{0, Entry::make(2, st::kValid)}}));
  EXPECT_EQ(d.log, (std::vector<std::string>{"No factory image, trying OTA 0", "OTA app partition slot 0 is not bootable",
                                             "Set actual ota_seq=2 in otadata[0]"}));
  d = decide_boot(kErased, kTwoOtaNoFactory, kAntiRollback, only({"ota_0"}), all_slots());
  EXPECT_EQ(d.raise_secure_version, AppSlot::ota_slot(0));

  d = decide_boot(Pair{Entry::make(2, st::kValid), Entry{}}, kTwoOta, kPlain, only({"factory"}), all_slots());
  EXPECT_EQ(d.boot, AppSlot::factory());
  EXPECT_TRUE(d.writes.empty());

  d = decide_boot(kErased, AppLayout::contiguous(1, true, true), kPlain, only({"test"}), all_slots());
  EXPECT_EQ(d.boot, AppSlot::test());
  EXPECT_EQ(d.log.back(), "Falling back to test app as only bootable partition");

  d = decide_boot(kErased, kTwoOta, kPlain, none(), all_slots());
  EXPECT_FALSE(d.boot);
  EXPECT_EQ(d.log.back(), "No bootable app partitions in the partition table");
}

// ---- On flash: the rollback state machine end to end ---------------------------------------

struct Device {
  chip::MemoryFlash flash{64 * chip::kSectorSize};
  chip::FlashWindow otadata = *chip::FlashWindow::make(flash, 0xd000, 0x2000);
};

TEST(OtadataFlash, RollbackStateMachine) {
  Device dev;
  auto boot = [&](const SlotPredicate& bootable) {
    auto d = bootloader_select(&dev.otadata, kTwoOta, kRollback, bootable, all_slots());
    EXPECT_TRUE(d);
    return d ? d->boot : std::nullopt;
  };
  EXPECT_EQ(boot(all_slots()), AppSlot::factory());
  // Factory downloads into ota_0 and selects it.
  ASSERT_TRUE(set_boot_partition(dev.otadata, AppSlot::ota_slot(0), kTwoOta, kRollback));
  EXPECT_EQ(*read_otadata(dev.otadata), (Pair{Entry::make(1, st::kNew), Entry{}}));
  EXPECT_EQ(boot(all_slots()), AppSlot::ota_slot(0));
  EXPECT_EQ(*slot_state(*read_otadata(dev.otadata), 0, kTwoOta), st::kPendingVerify);
  ASSERT_TRUE(mark_app_valid_cancel_rollback(dev.otadata, kTwoOta));
  EXPECT_EQ(*slot_state(*read_otadata(dev.otadata), 0, kTwoOta), st::kValid);
  // ota_0 downloads into ota_1 (esp_ota_begin invalidates nothing: the inactive sector is blank).
  ASSERT_TRUE(invalidate_inactive_slot(dev.otadata, kTwoOta, AppSlot::ota_slot(0)));
  ASSERT_TRUE(set_boot_partition(dev.otadata, AppSlot::ota_slot(1), kTwoOta, kRollback));
  EXPECT_EQ(boot(all_slots()), AppSlot::ota_slot(1));
  // The new app resets before confirming: the next boot aborts it and goes back to ota_0.
  EXPECT_EQ(boot(all_slots()), AppSlot::ota_slot(0));
  EXPECT_EQ(*read_otadata(dev.otadata), (Pair{Entry::make(1, st::kValid), Entry::make(2, st::kAborted)}));
  EXPECT_EQ(last_invalid_slot(*read_otadata(dev.otadata), kTwoOta), AppSlot::ota_slot(1));
  // Try again; this time the app rejects itself.
  ASSERT_TRUE(set_boot_partition(dev.otadata, AppSlot::ota_slot(1), kTwoOta, kRollback));
  EXPECT_EQ(boot(all_slots()), AppSlot::ota_slot(1));
  ASSERT_TRUE(mark_app_invalid_rollback(dev.otadata, kTwoOta, kRollback, all_slots()));
  EXPECT_EQ(boot(all_slots()), AppSlot::ota_slot(0));
  // Back to factory.
  ASSERT_TRUE(set_boot_partition(dev.otadata, AppSlot::factory(), kTwoOta, kRollback));
  EXPECT_EQ(*read_otadata(dev.otadata), kErased);
  EXPECT_EQ(boot(all_slots()), AppSlot::factory());
  EXPECT_EQ(mark_app_valid_cancel_rollback(dev.otadata, kTwoOta).error().code, "ota.running_factory");
}

TEST(OtadataFlash, WrongPartitionSizeAndNoOtadata) {
  chip::MemoryFlash flash(16 * chip::kSectorSize);
  auto small = chip::FlashWindow::make(flash, 0x1000, 0x1000);
  EXPECT_EQ(read_otadata(*small).error().code, "otadata.partition_size");
  auto d = bootloader_select(nullptr, kTwoOta, kRollback, all_slots(), all_slots());
  ASSERT_TRUE(d);
  EXPECT_EQ(d->boot, AppSlot::factory());
}

TEST(OtadataFlash, EncryptedOtadata) {
  chip::MemoryFlash raw(64 * chip::kSectorSize);
  Bytes key(32);
  std::iota(key.begin(), key.end(), uint8_t{0x30});
  chip::EncryptedFlash view(raw, *flashcrypt::FlashXts::from_key_file_bytes(SecretBytes::copy_of(key)));
  auto otadata = *chip::FlashWindow::make(view, 0xd000, 0x2000);
  // Erased sectors read as noise through the engine: no valid entry, factory boots.
  auto d = bootloader_select(&otadata, kTwoOta, kRollback, all_slots(), all_slots());
  EXPECT_EQ(d->boot, AppSlot::factory());
  ASSERT_TRUE(set_boot_partition(otadata, AppSlot::ota_slot(1), kTwoOta, kRollback));
  const auto plain = otadata::encode(read_otadata(otadata)->at(0));
  EXPECT_EQ(read_otadata(otadata)->at(0).ota_seq, 2u);
  EXPECT_FALSE(std::equal(plain.begin(), plain.end(), raw.contents().begin() + 0xd000));  // stored encrypted
  d = bootloader_select(&otadata, kTwoOta, kRollback, all_slots(), all_slots());
  EXPECT_EQ(d->boot, AppSlot::ota_slot(1));
  EXPECT_EQ(read_otadata(otadata)->at(0).ota_state, st::kPendingVerify);
}

// ---- Power loss ------------------------------------------------------------------------------

// Cuts power after every operation of `op` (plain and torn) and returns the pairs left behind.
std::vector<Pair> states_after_cuts(chip::Flash& base_otadata_window, const Bytes& image, chip::MemoryFlash& flash,
                                    const std::function<Status(chip::Flash&)>& op) {
  std::vector<Pair> out;
  for (const bool torn : {false, true}) {
    for (uint64_t cut = 0;; ++cut) {
      flash.contents() = image;
      chip::FaultInjectingFlash faulty(flash);
      faulty.cut_power_after(cut, torn);
      auto window = *chip::FlashWindow::make(faulty, 0xd000, 0x2000);
      const Status s = op(window);
      out.push_back(*read_otadata(base_otadata_window));
      if (s) break;
      EXPECT_EQ(s.error().code, "flash.power_lost");
    }
  }
  return out;
}

// Every reachable pair of entries for the sweep: erased, or {seq, state, good/bad CRC}.
std::vector<Entry> entry_universe(bool exhaustive) {
  std::vector<uint32_t> seqs = exhaustive ? std::vector<uint32_t>{0, 1, 2, 3, 4, 5, 6, 0x7FFFFFFF, 0xFFFFFFFE}
                                          : std::vector<uint32_t>{1, 2, 5};
  std::vector<uint32_t> states =
      exhaustive ? std::vector<uint32_t>{st::kNew, st::kPendingVerify, st::kValid, st::kInvalid, st::kAborted,
                                         st::kUndefined, 7}
                 : std::vector<uint32_t>{st::kNew, st::kValid, st::kInvalid, st::kUndefined};
  std::vector<Entry> out = {Entry{}};
  for (uint32_t seq : seqs)
    for (uint32_t s : states)
      for (const bool good_crc : {true, false}) {
        Entry e = Entry::make(seq, s);
        if (!good_crc) e.crc ^= 0x00010000;
        out.push_back(e);
      }
  return out;
}

bool exhaustive_run() {
  const char* v = std::getenv("ESPSEC_EXHAUSTIVE");
  return v && std::string(v) == "1";
}

// esp_ota_set_boot_partition interrupted at any flash operation, from any otadata state, for
// every target: the bootloader then selects the slot it selected before or the new one. The
// one exception is IDF's in-place rewrite (the active entry already selects the target and the
// other entry is a valid rollback target): a cut between its erase and program selects that
// rollback target. Never does a cut leave no valid entry where there was one.
// CI runs a representative set of states (~2*10^4 scenarios); ESPSEC_EXHAUSTIVE=1 runs every
// combination of 9 sequence numbers (wrap-around and exhaustion included), 7 states, good/bad
// CRC and erased sectors, over 8 layouts and both rollback settings (~8*10^6 scenarios, ~5 s).
TEST(OtadataPowerLoss, SetBootPartitionAtEveryOperation) {
  const bool exhaustive = exhaustive_run();
  const auto universe = entry_universe(exhaustive);
  std::vector<AppLayout> layouts = {kTwoOta, AppLayout::contiguous(3, false)};
  if (exhaustive)
    for (uint32_t slots : {1u, 4u, 16u})
      for (const bool factory : {false, true}) layouts.push_back(AppLayout::contiguous(slots, factory));
  size_t scenarios = 0;
  for (const auto& layout : layouts) {
    for (const auto& e0 : universe) {
      for (const auto& e1 : universe) {
        const Pair before = {e0, e1};
        const AppSlot old_sel = selected(before, layout);
        const bool had_valid = otadata::active_entry(before).has_value();
        for (uint32_t run = 0; run < layout.app_side_ota_count() * (exhaustive ? 2 : 1); ++run) {
          const auto target = static_cast<uint8_t>(run % layout.app_side_ota_count());
          // Both rollback configurations for every target when exhaustive, alternating otherwise.
          const Config& config = (exhaustive ? run / layout.app_side_ota_count() : target) % 2 ? kRollback : kPlain;
          auto plan = plan_set_boot_partition(before, AppSlot::ota_slot(target), layout, config);
          if (!plan) continue;  // refused (sequence exhausted): nothing is written
          const auto active = otadata::active_entry(before);
          const bool in_place = active && !plan->empty() && (*plan)[0].sector == *active;
          std::set<std::string> allowed = {to_string(old_sel), to_string(AppSlot::ota_slot(target))};
          if (in_place)
            allowed.insert(to_string(selected({before[1 - *active], before[1 - *active]}, layout)));
          // Cut after 0, 1, 2 operations (a plan is one erase and one program), plain and torn.
          for (uint64_t cut = 0; cut <= 2 * plan->size(); ++cut) {
            for (const bool torn : {false, true}) {
              ++scenarios;
              chip::MemoryFlash flash(0x2000);
              ASSERT_TRUE(apply_plan(flash, {{0, before[0]}, {1, before[1]}}));
              chip::FaultInjectingFlash faulty(flash);
              faulty.cut_power_after(cut, torn);
              (void)set_boot_partition(faulty, AppSlot::ota_slot(target), layout, config);
              const Pair after = *read_otadata(flash);
              const AppSlot now = selected(after, layout);
              ASSERT_TRUE(allowed.count(to_string(now)))
                  << "cut " << cut << (torn ? " torn" : "") << ", target ota_" << int(target) << ": selects "
                  << to_string(now) << "; before: " << to_hex(otadata::encode(before[0])) << " / "
                  << to_hex(otadata::encode(before[1])) << "; after: " << to_hex(otadata::encode(after[0])) << " / "
                  << to_hex(otadata::encode(after[1]));
              if (had_valid) {
                ASSERT_TRUE(otadata::active_entry(after).has_value()) << "cut " << cut;
              }
              if (cut == 2 * plan->size()) {
                ASSERT_EQ(now, AppSlot::ota_slot(target));
              }
            }
          }
        }
      }
    }
  }
  RecordProperty("scenarios", static_cast<int>(scenarios));
  EXPECT_GT(scenarios, 1000u);
}

TEST(OtadataPowerLoss, EncryptedSetBootPartition) {
  chip::MemoryFlash raw(64 * chip::kSectorSize);
  Bytes key(64);
  std::iota(key.begin(), key.end(), uint8_t{0x40});
  auto xts = [&] { return *flashcrypt::FlashXts::from_key_file_bytes(SecretBytes::copy_of(key)); };
  {
    chip::EncryptedFlash view(raw, xts());
    auto w = *chip::FlashWindow::make(view, 0xd000, 0x2000);
    ASSERT_TRUE(set_boot_partition(w, AppSlot::ota_slot(0), kTwoOta, kRollback));
    ASSERT_TRUE(mark_app_valid_cancel_rollback(w, kTwoOta));
  }
  const Bytes image = raw.contents();
  for (const bool torn : {false, true}) {
    for (uint64_t cut = 0; cut <= 2; ++cut) {
      raw.contents() = image;
      chip::FaultInjectingFlash faulty(raw);
      faulty.cut_power_after(cut, torn);
      chip::EncryptedFlash view(faulty, xts());
      auto w = *chip::FlashWindow::make(view, 0xd000, 0x2000);
      const Status s = set_boot_partition(w, AppSlot::ota_slot(1), kTwoOta, kRollback);
      chip::EncryptedFlash after_view(raw, xts());
      auto after = *chip::FlashWindow::make(after_view, 0xd000, 0x2000);
      const AppSlot now = selected(*read_otadata(after));
      if (cut < 2) {
        EXPECT_FALSE(s);
        EXPECT_EQ(now, AppSlot::ota_slot(0)) << "cut " << cut << (torn ? " torn" : "");
      } else {
        EXPECT_TRUE(s);
        EXPECT_EQ(now, AppSlot::ota_slot(1));
      }
    }
  }
}

// What IDF's in-place rewrites do under power loss, pinned down: a cut between erase and program
// loses the active entry, and the bootloader falls back to the other one.
TEST(OtadataPowerLoss, InPlaceRewritesFallBackToTheOtherEntry) {
  chip::MemoryFlash flash(64 * chip::kSectorSize);
  auto window = *chip::FlashWindow::make(flash, 0xd000, 0x2000);
  ASSERT_TRUE(apply_plan(window, {{0, Entry::make(1, st::kValid)}, {1, Entry::make(2, st::kPendingVerify)}}));
  const Bytes image = flash.contents();

  // mark_app_valid on ota_1: cut after the erase -> ota_0 (the rollback target).
  auto valid_states = states_after_cuts(window, image, flash, [](chip::Flash& w) {
    return mark_app_valid_cancel_rollback(w, kTwoOta);
  });
  std::set<std::string> seen;
  for (const auto& p : valid_states) seen.insert(to_string(selected(p)));
  EXPECT_EQ(seen, (std::set<std::string>{"ota_0", "ota_1"}));
  EXPECT_EQ(valid_states.back()[1].ota_state, st::kValid);

  // The bootloader's PENDING_VERIFY -> ABORTED fix-up: whatever the cut, ota_1 is not retried.
  auto abort_states = states_after_cuts(window, image, flash, [](chip::Flash& w) -> Status {
    auto d = bootloader_select(&w, kTwoOta, kRollback, all_slots(), all_slots());
    if (!d) return std::unexpected(d.error());
    return {};
  });
  for (const auto& p : abort_states) {
    const auto d = decide_boot(p, kTwoOta, kRollback, all_slots(), all_slots());
    EXPECT_EQ(d.boot, AppSlot::ota_slot(0));
  }
}

}  // namespace
}  // namespace espsec::ota
