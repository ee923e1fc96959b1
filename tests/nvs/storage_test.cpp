#include "nvs/storage.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "chip/flash.hpp"
#include "crypto/random.hpp"

namespace espsec::nvs {
namespace {

struct Fixture {
  explicit Fixture(uint32_t pages = 3) : flash(pages * kPageSize) {}
  chip::MemoryFlash flash;
  std::unique_ptr<Storage> open(OpenOptions options = {}) {
    auto s = Storage::open(flash, 0, flash.size(), std::nullopt, options);
    EXPECT_TRUE(s) << s.error().message;
    return s ? std::move(*s) : nullptr;
  }
};

Handle rw(Storage& s, std::string_view ns = "app") {
  auto h = s.open_namespace(ns, OpenMode::kReadWrite);
  EXPECT_TRUE(h) << h.error().message;
  return std::move(*h);
}

// Counts program and erase calls, to prove that some calls write nothing.
class CountingFlash final : public chip::Flash {
 public:
  explicit CountingFlash(uint32_t size) : mem_(size) {}
  uint32_t size() const override { return mem_.size(); }
  Status read(uint32_t a, MutableByteSpan out) override { return mem_.read(a, out); }
  Status program(uint32_t a, ByteSpan d) override {
    ++writes;
    return mem_.program(a, d);
  }
  Status erase_sector(uint32_t a) override {
    ++writes;
    return mem_.erase_sector(a);
  }
  int writes = 0;

 private:
  chip::MemoryFlash mem_;
};

TEST(NvsStorage, EveryScalarTypeRoundTripsAtItsLimits) {
  Fixture f;
  auto s = f.open();
  Handle h = rw(*s);
  ASSERT_TRUE(h.set<uint8_t>("u8", 255));
  ASSERT_TRUE(h.set<int8_t>("i8", -128));
  ASSERT_TRUE(h.set<uint16_t>("u16", 65535));
  ASSERT_TRUE(h.set<int16_t>("i16", -32768));
  ASSERT_TRUE(h.set<uint32_t>("u32", 0xFFFFFFFF));
  ASSERT_TRUE(h.set<int32_t>("i32", std::numeric_limits<int32_t>::min()));
  ASSERT_TRUE(h.set<uint64_t>("u64", std::numeric_limits<uint64_t>::max()));
  ASSERT_TRUE(h.set<int64_t>("i64", std::numeric_limits<int64_t>::min()));
  ASSERT_TRUE(h.set<float>("f", 1.5f));
  ASSERT_TRUE(h.set<double>("d", -2.25));
  s.reset();
  s = f.open();
  Handle r = rw(*s);
  EXPECT_EQ(r.get<uint8_t>("u8").value(), 255);
  EXPECT_EQ(r.get<int8_t>("i8").value(), -128);
  EXPECT_EQ(r.get<uint16_t>("u16").value(), 65535);
  EXPECT_EQ(r.get<int16_t>("i16").value(), -32768);
  EXPECT_EQ(r.get<uint32_t>("u32").value(), 0xFFFFFFFFu);
  EXPECT_EQ(r.get<int32_t>("i32").value(), std::numeric_limits<int32_t>::min());
  EXPECT_EQ(r.get<uint64_t>("u64").value(), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(r.get<int64_t>("i64").value(), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(r.get<float>("f").value(), 1.5f);
  EXPECT_EQ(r.get<double>("d").value(), -2.25);
  EXPECT_EQ(r.set<float>("nan", std::nanf("")).error().code, "nvs.invalid_value");
}

TEST(NvsStorage, ReadingWithAnotherTypeReportsNotFoundAsTheDeviceDoes) {
  Fixture f;
  auto s = f.open();
  Handle h = rw(*s);
  ASSERT_TRUE(h.set<uint16_t>("k", 5));
  const auto r = h.get<uint8_t>("k");
  EXPECT_EQ(r.error().code, "nvs.not_found");
  EXPECT_EQ(esp_err_of(r.error()), 0x1102);
  EXPECT_EQ(h.find_key("k").value(), ItemType::kU16);
}

TEST(NvsStorage, StringsKeepTheirBytesAndRespectTheDeviceLimit) {
  Fixture f;
  auto s = f.open();
  Handle h = rw(*s);
  ASSERT_TRUE(h.set_string("empty", ""));
  ASSERT_TRUE(h.set_string("utf8", "h\xC3\xA9llo"));
  const std::string longest(kChunkMaxSize - 1, 'x');
  ASSERT_TRUE(h.set_string("longest", longest));
  EXPECT_EQ(h.get_string("empty").value(), "");
  EXPECT_EQ(h.get_string("utf8").value(), "h\xC3\xA9llo");
  EXPECT_EQ(h.get_string("longest").value(), longest);
  EXPECT_EQ(h.get_size(ItemType::kString, "utf8").value(), 7u);
  EXPECT_EQ(h.set_string("toolong", std::string(kChunkMaxSize, 'x')).error().code, "nvs.value_too_long");
  EXPECT_EQ(h.set_string("nul", std::string_view("a\0b", 3)).error().code, "nvs.invalid_value");
}

TEST(NvsStorage, BlobsSpanPagesAndAreBoundedByThePartition) {
  Fixture f(6);
  auto s = f.open();
  Handle h = rw(*s);
  Bytes big(9000);
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<uint8_t>(i * 31);
  ASSERT_TRUE(h.set_blob("big", big));
  ASSERT_TRUE(h.set_blob("empty", {}));
  EXPECT_EQ(h.get_blob("big").value(), big);
  EXPECT_TRUE(h.get_blob("empty").value().empty());
  EXPECT_EQ(h.get_size(ItemType::kBlob, "big").value(), 9000u);
  big[4500] ^= 1;
  ASSERT_TRUE(h.set_blob("big", big)) << "rewrite toggles the chunk version";
  s.reset();
  s = f.open();
  Handle r = rw(*s);
  EXPECT_EQ(r.get_blob("big").value(), big);
  EXPECT_EQ(r.find_key("big").value(), ItemType::kBlobData);
  // At most (pages - 1) x 4000 bytes.
  EXPECT_EQ(r.set_blob("huge", Bytes(5 * kChunkMaxSize + 1)).error().code, "nvs.value_too_long");
}

TEST(NvsStorage, SettingAnotherTypeReplacesTheOldValue) {
  Fixture f;
  auto s = f.open();
  Handle h = rw(*s);
  ASSERT_TRUE(h.set<uint8_t>("k", 1));
  ASSERT_TRUE(h.set_string("k", "now a string"));
  EXPECT_EQ(h.get<uint8_t>("k").error().code, "nvs.not_found");
  ASSERT_TRUE(h.set_blob("k", Bytes{1, 2, 3}));
  EXPECT_EQ(h.get_string("k").error().code, "nvs.not_found");
  ASSERT_TRUE(h.set<uint32_t>("k", 9));
  EXPECT_EQ(h.get_blob("k").error().code, "nvs.not_found");
  EXPECT_EQ(h.get<uint32_t>("k").value(), 9u);
  auto listed = s->entries("app");
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 1u);
}

TEST(NvsStorage, WritingTheSameValueAgainWritesNothing) {
  CountingFlash flash(3 * kPageSize);
  auto s = Storage::open(flash, 0, flash.size(), std::nullopt);
  ASSERT_TRUE(s);
  Handle h = rw(**s);
  ASSERT_TRUE(h.set<uint32_t>("n", 1));
  ASSERT_TRUE(h.set_string("s", "same"));
  ASSERT_TRUE(h.set_blob("b", Bytes(100, 7)));
  const int before = flash.writes;
  ASSERT_TRUE(h.set<uint32_t>("n", 1));
  ASSERT_TRUE(h.set_string("s", "same"));
  ASSERT_TRUE(h.set_blob("b", Bytes(100, 7)));
  ASSERT_TRUE(h.commit());
  EXPECT_EQ(flash.writes, before);
}

TEST(NvsStorage, EraseRemovesKeysAndNamespacesKeepTheirIndex) {
  Fixture f;
  auto s = f.open();
  Handle a = rw(*s, "a");
  Handle b = rw(*s, "b");
  EXPECT_EQ(a.namespace_index(), 1);
  EXPECT_EQ(b.namespace_index(), 2);
  ASSERT_TRUE(a.set<uint8_t>("x", 1));
  ASSERT_TRUE(a.set_blob("y", Bytes(50, 1)));
  ASSERT_TRUE(b.set<uint8_t>("x", 2));
  ASSERT_TRUE(a.erase_key("x"));
  EXPECT_EQ(a.erase_key("x").error().code, "nvs.not_found");
  EXPECT_EQ(a.get<uint8_t>("x").error().code, "nvs.not_found");
  EXPECT_EQ(b.get<uint8_t>("x").value(), 2);
  ASSERT_TRUE(a.erase_all());
  EXPECT_EQ(a.get_blob("y").error().code, "nvs.not_found");
  EXPECT_EQ(a.used_entry_count().value(), 0u);
  EXPECT_EQ(b.used_entry_count().value(), 1u);
  s.reset();
  s = f.open();
  EXPECT_EQ(rw(*s, "a").namespace_index(), 1) << "an emptied namespace keeps its index";
  EXPECT_EQ(rw(*s, "c").namespace_index(), 3);
  const std::vector<std::pair<uint8_t, std::string>> want = {{1, "a"}, {2, "b"}, {3, "c"}};
  EXPECT_EQ(s->namespaces(), want);
  EXPECT_EQ(s->page_count(), 3u);
}

TEST(NvsStorage, NamespaceLimitsAreEnforced) {
  Fixture f(8);
  auto s = f.open();
  EXPECT_EQ(s->open_namespace("missing", OpenMode::kReadOnly).error().code, "nvs.not_found");
  EXPECT_EQ(s->open_namespace("sixteen_chars_ab", OpenMode::kReadWrite).error().code, "nvs.key_too_long");
  EXPECT_EQ(s->open_namespace("", OpenMode::kReadWrite).error().code, "nvs.invalid_name");
  for (int i = 0; i < 254; ++i) ASSERT_TRUE(s->open_namespace(fmt::format("ns{}", i), OpenMode::kReadWrite));
  const auto full = s->open_namespace("one_more", OpenMode::kReadWrite);
  EXPECT_EQ(full.error().code, "nvs.not_enough_space");
  EXPECT_EQ(s->stats()->namespace_count, 254u);
}

TEST(NvsStorage, ReadOnlyModesRefuseWritesAndNeverTouchFlash) {
  Fixture f;
  {
    auto s = f.open();
    ASSERT_TRUE(rw(*s).set<uint8_t>("k", 1));
  }
  const Bytes before = f.flash.contents();
  auto s = f.open(OpenOptions{.read_only = true});
  EXPECT_TRUE(s->read_only());
  EXPECT_EQ(s->open_namespace("app", OpenMode::kReadWrite).error().code, "nvs.read_only");
  auto h = s->open_namespace("app", OpenMode::kReadOnly);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->get<uint8_t>("k").value(), 1);
  EXPECT_EQ(h->set<uint8_t>("k", 2).error().code, "nvs.read_only");
  EXPECT_EQ(h->erase_key("k").error().code, "nvs.read_only");
  EXPECT_EQ(f.flash.contents(), before);

  auto s2 = f.open();
  auto ro = s2->open_namespace("app", OpenMode::kReadOnly);
  ASSERT_TRUE(ro);
  EXPECT_EQ(ro->set<uint8_t>("k", 2).error().code, "nvs.read_only");
}

TEST(NvsStorage, PartitionGeometryIsChecked) {
  chip::MemoryFlash flash(4 * kPageSize);
  EXPECT_EQ(Storage::open(flash, 0, 2 * kPageSize, std::nullopt).error().code, "nvs.partition_size");
  EXPECT_EQ(Storage::open(flash, 0, 3 * kPageSize + 1, std::nullopt).error().code, "nvs.partition_size");
  EXPECT_EQ(Storage::open(flash, 100, 3 * kPageSize, std::nullopt).error().code, "flash.unaligned");
  EXPECT_EQ(Storage::open(flash, 2 * kPageSize, 3 * kPageSize, std::nullopt).error().code, "flash.out_of_range");
  EXPECT_TRUE(Storage::open(flash, 0, kPageSize, std::nullopt, OpenOptions{.read_only = true}));
  auto offset = Storage::open(flash, kPageSize, 3 * kPageSize, std::nullopt);
  ASSERT_TRUE(offset);
  ASSERT_TRUE(rw(**offset).set<uint8_t>("k", 1));
  EXPECT_EQ(flash.contents()[0], 0xFF) << "nothing may land before the partition";
}

TEST(NvsStorage, StatisticsFollowNvsGetStats) {
  Fixture f;
  auto s = f.open();
  auto st = s->stats();
  ASSERT_TRUE(st);
  EXPECT_EQ(st->total_entries, 378u);
  EXPECT_EQ(st->used_entries, 0u);
  EXPECT_EQ(st->free_entries, 378u);
  EXPECT_EQ(st->available_entries, 252u);
  Handle h = rw(*s);
  ASSERT_TRUE(h.set_string("s", std::string(40, 'x')));  // span 3, plus the namespace entry
  st = s->stats();
  EXPECT_EQ(st->used_entries, 4u);
  EXPECT_EQ(st->free_entries, 374u);
  EXPECT_EQ(st->namespace_count, 1u);
  ASSERT_TRUE(h.erase_key("s"));
  EXPECT_EQ(s->stats()->used_entries, 1u);
  EXPECT_GT(s->memory_bytes(), 0u);
}

TEST(NvsStorage, IterationListsEachItemOnceInPageOrder) {
  Fixture f(4);
  auto s = f.open();
  Handle a = rw(*s, "a");
  Handle b = rw(*s, "b");
  ASSERT_TRUE(a.set<uint8_t>("n", 1));
  ASSERT_TRUE(b.set_string("s", "x"));
  ASSERT_TRUE(a.set_blob("blob", Bytes(5000, 1)));
  auto all = s->entries();
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].key, "n");
  EXPECT_EQ((*all)[1].ns, "b");
  EXPECT_EQ((*all)[2].type, ItemType::kBlobData);
  EXPECT_EQ(s->entries("a")->size(), 2u);
  EXPECT_EQ(s->entries(std::nullopt, ItemType::kString)->size(), 1u);
  EXPECT_EQ(s->entries("a", ItemType::kU8)->size(), 1u);
  EXPECT_TRUE(s->entries("nope")->empty());
}

TEST(NvsStorage, FullPartitionRefusesWritesButStaysUsable) {
  Fixture f;
  auto s = f.open();
  Handle h = rw(*s);
  Status last;
  int i = 0;
  for (; i < 1000 && last; ++i) last = h.set<uint32_t>(fmt::format("k{}", i), i);
  ASSERT_FALSE(last);
  EXPECT_EQ(last.error().code, "nvs.not_enough_space");
  EXPECT_EQ(h.get<uint32_t>("k0").value(), 0u);
  ASSERT_TRUE(h.erase_key("k0"));
  ASSERT_TRUE(h.erase_key("k1"));
  EXPECT_TRUE(h.set<uint32_t>("again", 1));
  s.reset();
  s = f.open();
  EXPECT_EQ(rw(*s).get<uint32_t>("again").value(), 1u);
}

TEST(NvsStorage, PurgeModeZeroesErasedEntries) {
  Fixture f;
  auto s = f.open();
  auto h = s->open_namespace("app", OpenMode::kReadWritePurge);
  ASSERT_TRUE(h);
  ASSERT_TRUE(h->set_string("secret", "hunter2hunter2"));
  ASSERT_TRUE(h->erase_key("secret"));
  const Bytes& c = f.flash.contents();
  EXPECT_EQ(std::search(c.begin(), c.end(), std::begin("hunter2"), std::end("hunter2") - 1), c.end());

  Handle plain = rw(*s, "plain");
  ASSERT_TRUE(plain.set_string("secret", "opensesame"));
  ASSERT_TRUE(plain.erase_key("secret"));
  EXPECT_NE(std::search(c.begin(), c.end(), std::begin("opensesame"), std::end("opensesame") - 1), c.end());
  ASSERT_TRUE(plain.purge_all());
  EXPECT_EQ(std::search(c.begin(), c.end(), std::begin("opensesame"), std::end("opensesame") - 1), c.end());
}

TEST(NvsStorage, EncryptedPartitionsHideValuesAndNeedTheirKeys) {
  crypto::DeterministicRng rng(7);
  auto keys = Keys::generate(rng);
  ASSERT_TRUE(keys);
  chip::MemoryFlash flash(3 * kPageSize);
  {
    auto s = Storage::open(flash, 0, flash.size(), keys->clone());
    ASSERT_TRUE(s);
    ASSERT_TRUE(rw(**s).set_string("wifi", "plaintext-password"));
  }
  const Bytes& c = flash.contents();
  EXPECT_EQ(std::search(c.begin(), c.end(), std::begin("plaintext"), std::end("plaintext") - 1), c.end());
  auto s = Storage::open(flash, 0, flash.size(), keys->clone());
  ASSERT_TRUE(s);
  EXPECT_EQ(rw(**s).get_string("wifi").value(), "plaintext-password");

  auto other = Keys::generate(rng);
  auto wrong = Storage::open(flash, 0, flash.size(), std::move(*other), OpenOptions{.read_only = true});
  ASSERT_TRUE(wrong);
  EXPECT_FALSE((*wrong)->open_namespace("app", OpenMode::kReadOnly)) << "nothing decrypts under another key";
  EXPECT_FALSE((*wrong)->recovery_log().empty());
}

TEST(NvsStorage, AFailedFlashOperationPoisonsTheStorageUntilReopened) {
  chip::MemoryFlash mem(3 * kPageSize);
  chip::FaultInjectingFlash flash(mem);
  auto s = Storage::open(flash, 0, flash.size(), std::nullopt);
  ASSERT_TRUE(s);
  Handle h = rw(**s);
  flash.cut_power_after(flash.operations() + 1);
  EXPECT_EQ(h.set_string("k", "value").error().code, "flash.power_lost");
  EXPECT_EQ(h.get<uint8_t>("other").error().code, "nvs.invalid_state");
  EXPECT_EQ((*s)->stats().error().code, "nvs.invalid_state");
}

TEST(NvsStorage, ErrorCodesMapToEspIdfValues) {
  EXPECT_EQ(esp_err_of(Error{"nvs.not_found", ""}), 0x1102);
  EXPECT_EQ(esp_err_of(Error{"nvs.not_enough_space", ""}), 0x1105);
  EXPECT_EQ(esp_err_of(Error{"nvs.key_too_long", ""}), 0x1109);
  EXPECT_EQ(esp_err_of(Error{"nvs.no_free_pages", ""}), 0x110D);
  EXPECT_EQ(esp_err_of(Error{"nvs.value_too_long", ""}), 0x110E);
  EXPECT_EQ(esp_err_of(Error{"nvs.new_version_found", ""}), 0x1110);
  EXPECT_EQ(esp_err_of(Error{"flash.power_lost", ""}), -1);
}

}  // namespace
}  // namespace espsec::nvs
