// Opening and reading damaged partitions: the engine skips what is damaged, reports it in the
// recovery log, and keeps everything else.
#include <gtest/gtest.h>

#include "chip/flash.hpp"
#include "nvs/storage.hpp"

namespace espsec::nvs {
namespace {

constexpr uint32_t kSize = 4 * kPageSize;

// A partition with keys on two pages: page 0 holds the namespace, "a", "s" (a string) and
// filler; page 1 holds "b".
Bytes two_page_partition() {
  chip::MemoryFlash flash(kSize);
  auto s = Storage::open(flash, 0, kSize, std::nullopt);
  EXPECT_TRUE(s);
  auto h = (*s)->open_namespace("app", OpenMode::kReadWrite);
  EXPECT_TRUE(h);
  EXPECT_TRUE(h->set<uint32_t>("a", 1));
  EXPECT_TRUE(h->set_string("s", "some string value"));
  for (int i = 0; i < 122; ++i) EXPECT_TRUE(h->set<uint8_t>(fmt::format("f{}", i), 0));
  EXPECT_TRUE(h->set<uint32_t>("b", 2));
  return flash.contents();
}

bool has_event(const Storage& s, RecoveryEvent::Kind kind, uint32_t page) {
  for (const auto& e : s.recovery_log())
    if (e.kind == kind && e.page == page) return true;
  return false;
}

TEST(NvsCorruption, BadPageHeaderCrcLosesThatPageOnly) {
  Bytes image = two_page_partition();
  image[4] ^= 0x01;  // page 0 sequence number: header CRC no longer matches
  chip::MemoryFlash flash(image);
  auto s = Storage::open(flash, 0, kSize, std::nullopt, OpenOptions{.read_only = true});
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_TRUE(has_event(**s, RecoveryEvent::Kind::kCorruptPage, 0));
  // The namespace definition lived on page 0, so its items are unreachable by name.
  EXPECT_FALSE((*s)->open_namespace("app", OpenMode::kReadOnly));
}

TEST(NvsCorruption, BadEntryCrcSkipsThatItem) {
  Bytes image = two_page_partition();
  image[64 + 32 + 24] ^= 0x01;  // page 0 entry 1 ("a") value byte
  chip::MemoryFlash flash(image);
  auto s = Storage::open(flash, 0, kSize, std::nullopt);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_TRUE(has_event(**s, RecoveryEvent::Kind::kBadEntry, 0));
  EXPECT_EQ(recovery_kind_name((*s)->recovery_log().front().kind), "bad-entry");
  EXPECT_EQ((*s)->recovery_log().front().detail, "entry CRC mismatch");
  auto h = (*s)->open_namespace("app", OpenMode::kReadWrite);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->get<uint32_t>("a").error().code, "nvs.not_found");
  EXPECT_EQ(h->get<uint32_t>("b").value(), 2u);
  EXPECT_EQ(h->get_string("s").value(), "some string value");
  EXPECT_TRUE(h->set<uint32_t>("a", 3)) << "the partition stays writable";
}

TEST(NvsCorruption, BadDataCrcDropsTheStringWhenRead) {
  Bytes image = two_page_partition();
  image[64 + 3 * 32] ^= 0x01;  // first data byte of "s" (header at entry 2)
  chip::MemoryFlash flash(image);
  auto s = Storage::open(flash, 0, kSize, std::nullopt);
  ASSERT_TRUE(s) << s.error().message;
  auto h = (*s)->open_namespace("app", OpenMode::kReadWrite);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->get_string("s").error().code, "nvs.not_found");
  EXPECT_TRUE(has_event(**s, RecoveryEvent::Kind::kBadData, 0));
  EXPECT_EQ(h->get<uint32_t>("a").value(), 1u);
}

TEST(NvsCorruption, ANewerFormatVersionIsRefused) {
  Bytes image = two_page_partition();
  auto header = PageHeader::parse(ByteSpan(image).first(32));
  header.version = 0xFD;
  header.crc = header.computed_crc();
  const auto raw = header.serialize();
  std::copy(raw.begin(), raw.end(), image.begin());
  chip::MemoryFlash flash(image);
  const auto s = Storage::open(flash, 0, kSize, std::nullopt);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, "nvs.new_version_found");
  EXPECT_EQ(esp_err_of(s.error()), 0x1110);
}

TEST(NvsCorruption, APartitionWithoutAFreePageOpensOnlyReadOnly) {
  Bytes image = two_page_partition();
  for (uint32_t page = 2; page < 4; ++page) {
    const auto raw = PageHeader::make(PageState::kFull, 10 + page, kVersion2).serialize();
    std::copy(raw.begin(), raw.end(), image.begin() + page * kPageSize);
  }
  chip::MemoryFlash flash(image);
  const auto rw = Storage::open(flash, 0, kSize, std::nullopt);
  ASSERT_FALSE(rw);
  EXPECT_EQ(rw.error().code, "nvs.no_free_pages");
  auto ro = Storage::open(flash, 0, kSize, std::nullopt, OpenOptions{.read_only = true});
  ASSERT_TRUE(ro) << ro.error().message;
  EXPECT_EQ((*ro)->open_namespace("app", OpenMode::kReadOnly)->get<uint32_t>("b").value(), 2u);
}

}  // namespace
}  // namespace espsec::nvs
