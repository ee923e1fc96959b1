// The deliberate departures from ESP-IDF's load-time recovery, each shown twice: the engine
// keeps the data, and ESP-IDF's own rule, applied to the same torn image, picks the item it
// would erase. (The 24-bit hash collision is covered by NvsHashCollision with the vector.)
#include <gtest/gtest.h>

#include "chip/flash.hpp"
#include "nvs/page.hpp"
#include "nvs/storage.hpp"

namespace espsec::nvs {
namespace {

constexpr uint32_t kSize = 3 * kPageSize;

Handle open_ns(Storage& s) {
  auto h = s.open_namespace("app", OpenMode::kReadWrite);
  EXPECT_TRUE(h) << h.error().message;
  return std::move(*h);
}

// Runs `second` against a partition prepared by `first`, cut after each flash operation in
// turn; `check` sees every torn image (and the cut number). Returns the number of cuts.
template <class First, class Second, class Check>
int for_each_cut(First first, Second second, Check check) {
  int cuts = 0;
  for (uint64_t cut = 0;; ++cut) {
    chip::MemoryFlash mem(kSize);
    chip::FaultInjectingFlash flash(mem);
    {
      auto s = Storage::open(flash, 0, kSize, std::nullopt);
      EXPECT_TRUE(s);
      Handle h = open_ns(**s);
      first(h);
      flash.cut_power_after(flash.operations() + cut);
      if (second(h)) return cuts;  // completed: no cut point left
    }
    ++cuts;
    check(mem, cut);
  }
}

// ESP-IDF checks the newest item of the active page for an older copy searching "any chunk":
// after a blob rewrite is cut between its new chunk and its new index, that search finds the
// committed old chunk on the same page and erases it, and with it the whole old blob.
TEST(NvsRecoveryFix, BlobRewriteCutBeforeItsIndexKeepsTheOldBlob) {
  const Bytes old_value(100, 0xA1);
  const Bytes new_value(100, 0xB2);
  int naive_would_erase = 0;
  const int cuts = for_each_cut(
      [&](Handle& h) { ASSERT_TRUE(h.set_blob("b", old_value)); },
      [&](Handle& h) { return static_cast<bool>(h.set_blob("b", new_value)); },
      [&](chip::MemoryFlash& mem, uint64_t cut) {
        {
          // ESP-IDF's rule on the torn image: the newest item on the active page and the
          // item an any-chunk search for its key returns.
          chip::MemoryFlash copy(mem.contents());
          PartitionIo io(copy, std::nullopt);
          RecoveryLog log;
          Page page;
          ASSERT_TRUE(page.load(io, 0, log));
          size_t index = 0, last = kInvalidEntry;
          Item item;
          while (page.find_item(ItemQuery{}, index, item).value_or(Outcome::kNotFound) == Outcome::kOk) {
            last = index;
            index += item.span;
          }
          ASSERT_NE(last, kInvalidEntry);
          ASSERT_TRUE(page.find_item(ItemQuery{}, last, item));
          if (item.type() == ItemType::kBlobData) {
            size_t found = 0;
            Item hit;
            const auto o = page.find_item(ItemQuery{1, ItemType::kBlobData, "b"}, found, hit);
            if (o && *o == Outcome::kOk && found < last && hit.chunk != item.chunk) ++naive_would_erase;
          }
        }
        auto s = Storage::open(mem, 0, kSize, std::nullopt);
        ASSERT_TRUE(s) << s.error().message;
        auto v = open_ns(**s).get_blob("b");
        ASSERT_TRUE(v) << "cut " << cut << ": the blob must survive, got " << v.error().message;
        EXPECT_TRUE(*v == old_value || *v == new_value) << "cut " << cut;
      });
  EXPECT_GT(cuts, 5);
  EXPECT_GE(naive_would_erase, 1) << "no cut point exercised the defect";
}

// ESP-IDF looks for the older copy of an interrupted update with the same type only: an
// overwrite that changed the type (u8 -> u32) and was cut before the old value was erased
// left the key with two live values.
TEST(NvsRecoveryFix, TypeChangingOverwriteCutLeavesOneValue) {
  int naive_would_keep_both = 0;
  const int cuts = for_each_cut(
      [&](Handle& h) {
        ASSERT_TRUE(h.set<uint8_t>("k", 7));
        // Fill the first page so the new value lands on the next one.
        for (int i = 0; i < 124; ++i) ASSERT_TRUE(h.set<uint32_t>(fmt::format("f{}", i), 1));
      },
      [&](Handle& h) { return static_cast<bool>(h.set<uint32_t>("k", 0x12345678)); },
      [&](chip::MemoryFlash& mem, uint64_t cut) {
        {
          chip::MemoryFlash copy(mem.contents());
          PartitionIo io(copy, std::nullopt);
          RecoveryLog log;
          Page first, second;
          ASSERT_TRUE(first.load(io, 0, log));
          ASSERT_TRUE(second.load(io, 1, log));
          size_t a = 0, b = 0;
          Item ia, ib;
          const bool old_there =
              first.find_item(ItemQuery{1, ItemType::kAny, "k"}, a, ia).value_or(Outcome::kNotFound) == Outcome::kOk;
          const bool new_there =
              second.find_item(ItemQuery{1, ItemType::kU32, "k"}, b, ib).value_or(Outcome::kNotFound) == Outcome::kOk;
          a = 0;
          const bool same_type_found =
              first.find_item(ItemQuery{1, ItemType::kU32, "k"}, a, ia).value_or(Outcome::kNotFound) == Outcome::kOk;
          if (old_there && new_there && !same_type_found) ++naive_would_keep_both;
        }
        auto s = Storage::open(mem, 0, kSize, std::nullopt);
        ASSERT_TRUE(s) << s.error().message;
        Handle h = open_ns(**s);
        const auto u8 = h.get<uint8_t>("k");
        const auto u32 = h.get<uint32_t>("k");
        EXPECT_NE(u8.has_value(), u32.has_value()) << "cut " << cut << ": exactly one value must remain";
        if (u8) {
          EXPECT_EQ(*u8, 7);
        }
        if (u32) {
          EXPECT_EQ(*u32, 0x12345678u);
        }
      });
  EXPECT_GT(cuts, 2);
  EXPECT_GE(naive_would_keep_both, 1) << "no cut point exercised the defect";
}

}  // namespace
}  // namespace espsec::nvs
