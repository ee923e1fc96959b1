#include "nvs/inspect.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "chip/flash.hpp"
#include "nvs/nvs_test_util.hpp"
#include "nvs/storage.hpp"
#include "test_util.hpp"

namespace espsec::nvs {
namespace {

using espsec::test::read_vector;
using espsec::test::vectors_dir;

Inspection inspect_vector(const std::string& name, const Keys* keys = nullptr) {
  auto in = inspect_partition(read_vector("nvs/" + name), keys);
  EXPECT_TRUE(in) << name << ": " << in.error().message;
  return in ? std::move(*in) : Inspection{};
}

bool mentions(const Inspection& in, std::string_view text, Finding::Severity sev = Finding::Severity::kError) {
  return std::any_of(in.findings.begin(), in.findings.end(), [&](const Finding& f) {
    return f.severity == sev && f.message.find(text) != std::string::npos;
  });
}

TEST(NvsInspect, CleanVectorsHaveNoErrors) {
  ESPSEC_REQUIRE_VECTORS();
  for (const char* name :
       {"nvs_plain.bin", "nvs_v1.bin", "nvs_ext_encodings.bin", "nvs_device_written.bin",
        "quirks/nvs_quirk_ns_reentry.bin", "quirks/nvs_hash_collision.bin",
        "power_loss/pl01_u8_written_unmarked.recovered.bin", "power_loss/pl02_u8_duplicate.recovered.bin",
        "power_loss/pl03_str_header_only.recovered.bin", "power_loss/pl04_blob_chunks_no_index.recovered.bin",
        "power_loss/pl05_blob_two_indexes.recovered.bin", "power_loss/pl06_blob_old_chunks_half_erased.recovered.bin",
        "power_loss/pl07_gc_victim_freeing.recovered.bin", "power_loss/pl08_gc_items_copied.recovered.bin"}) {
    const Inspection in = inspect_vector(name);
    EXPECT_FALSE(in.has_errors()) << name << "\n" << findings_text(in);
  }
}

TEST(NvsInspect, EncryptedVectorsAreCleanWithTheirKeysAndBrokenWithout) {
  ESPSEC_REQUIRE_VECTORS();
  const auto keys = Keys::parse_partition(read_vector("nvs/keys/nvs_keys.bin"));
  const auto hmac = Keys::derive_from_hmac_key(SecretBytes::copy_of(read_vector("nvs/keys/hmac_key.bin")));
  EXPECT_FALSE(inspect_vector("nvs_encrypted.bin", &*keys).has_errors());
  EXPECT_FALSE(inspect_vector("nvs_device_written_encrypted.bin", &*keys).has_errors());
  EXPECT_FALSE(inspect_vector("nvs_encrypted_hmac.bin", &*hmac).has_errors());
  const Inspection without = inspect_vector("nvs_encrypted.bin");
  EXPECT_TRUE(mentions(without, "entry CRC mismatch"));
}

TEST(NvsInspect, TornVectorsReportWhatAReaderMustRepair) {
  ESPSEC_REQUIRE_VECTORS();
  EXPECT_TRUE(mentions(inspect_vector("power_loss/pl02_u8_duplicate.bin"), "duplicate item"));
  EXPECT_TRUE(mentions(inspect_vector("power_loss/pl03_str_header_only.bin"), "data entries are not all written",
                       Finding::Severity::kWarning));
  EXPECT_TRUE(mentions(inspect_vector("power_loss/pl04_blob_chunks_no_index.bin"), "has no blob index"));
  EXPECT_TRUE(mentions(inspect_vector("power_loss/pl05_blob_two_indexes.bin"), "duplicate item"));
  EXPECT_TRUE(mentions(inspect_vector("power_loss/pl06_blob_old_chunks_half_erased.bin"), "has no blob index"));
  EXPECT_TRUE(mentions(inspect_vector("power_loss/pl08_gc_items_copied.bin"), "duplicate item"));
  const Inspection pl01 = inspect_vector("power_loss/pl01_u8_written_unmarked.bin");
  EXPECT_FALSE(pl01.has_errors());
  EXPECT_TRUE(mentions(pl01, "marked empty", Finding::Severity::kWarning));
  const Inspection pl07 = inspect_vector("power_loss/pl07_gc_victim_freeing.bin");
  EXPECT_FALSE(pl07.has_errors());
  EXPECT_TRUE(mentions(pl07, "FREEING", Finding::Severity::kWarning));
}

Bytes small_partition() {
  chip::MemoryFlash flash(3 * kPageSize);
  auto s = Storage::open(flash, 0, flash.size(), std::nullopt);
  auto h = (*s)->open_namespace("app", OpenMode::kReadWrite);
  EXPECT_TRUE(h->set<uint32_t>("n", 42));
  EXPECT_TRUE(h->set_string("s", "text"));
  return flash.contents();
}

TEST(NvsInspect, EachKindOfDamageIsReported) {
  struct Case {
    size_t offset;
    uint8_t value;
    const char* finding;
  } cases[] = {
      {4, 0x55, "page header CRC mismatch"},
      {64 + 32 + 24, 0x00, "entry CRC mismatch"},
      {64 + 3 * 32, 0x00, "data CRC mismatch"},
      {32, 0x55, "entry state is illegal"},
      {kPageSize + 100, 0x00, "the page header is erased but the page holds data"},
  };
  for (const auto& c : cases) {
    Bytes image = small_partition();
    image[c.offset] = c.value;
    auto in = inspect_partition(image, nullptr);
    ASSERT_TRUE(in);
    EXPECT_TRUE(mentions(*in, c.finding)) << c.finding << "\n" << findings_text(*in);
  }
  Bytes image = small_partition();
  Item bad = Item::parse(ByteSpan(image).subspan(64 + 32, 32));
  bad.type_raw = 0x33;
  bad.seal();
  const auto raw = bad.serialize();
  std::copy(raw.begin(), raw.end(), image.begin() + 64 + 32);
  EXPECT_TRUE(mentions(*inspect_partition(image, nullptr), "unknown item type"));

  for (uint32_t p = 1; p < 3; ++p) {
    const auto h = PageHeader::make(PageState::kFull, p + 5, kVersion2).serialize();
    std::copy(h.begin(), h.end(), image.begin() + p * kPageSize);
  }
  EXPECT_TRUE(mentions(*inspect_partition(image, nullptr), "no free (erased) page"));
  EXPECT_EQ(inspect_partition(Bytes(100), nullptr).error().code, "inspect.size");
}

TEST(NvsInspect, JsonDumpCarriesEveryValueOfTheVector) {
  ESPSEC_REQUIRE_VECTORS();
  const Inspection in = inspect_vector("nvs_plain.bin");
  const auto doc = nlohmann::json::parse(dump_json(in, "nvs_plain.bin"));
  std::map<std::pair<std::string, std::string>, nlohmann::json> values;
  for (const auto& page : doc["pages"])
    for (const auto& e : page["entries"])
      if (e["state"] == "written" && !e["namespace"].is_null() && e["type"] != "blob_data")
        values[{e["namespace"], e["key"]}] = e["value"];
  for (const auto& want : test::read_expected(vectors_dir() / "nvs/nvs_plain.expected.jsonl")) {
    const auto it = values.find({want.ns, want.key});
    ASSERT_NE(it, values.end()) << want.key;
    if (want.kind == "int") {
      if (want.type == 8) {
        EXPECT_EQ(it->second.get<uint64_t>(), static_cast<uint64_t>(want.int_value)) << want.key;
      } else {
        EXPECT_EQ(it->second.get<int64_t>(), want.int_value) << want.key;
      }
    } else if (want.kind == "string") {
      EXPECT_EQ(to_hex(as_bytes(it->second.get<std::string>() + std::string(1, '\0'))), want.hex) << want.key;
    } else {
      EXPECT_TRUE(it->second.contains("size")) << "v2 blobs show their index";
    }
  }
  EXPECT_TRUE(doc["findings"].empty());
  EXPECT_EQ(doc["namespaces"]["1"], "ns_one");
}

TEST(NvsInspect, TextDumpShowsPagesEntriesAndValues) {
  ESPSEC_REQUIRE_VECTORS();
  const std::string text = dump_text(inspect_vector("nvs_plain.bin"), "nvs_plain.bin");
  EXPECT_NE(text.find("page 0 @0x00000: full, seq 0, version 0xfe, header CRC ok"), std::string::npos) << text;
  EXPECT_NE(text.find("ns_one       u8         u8_max = 255  (CRC ok, span 1)"), std::string::npos) << text;
  EXPECT_NE(text.find("str_short = \"hello\""), std::string::npos);
  EXPECT_NE(text.find("big_blob = 9000 bytes in 4 chunks"), std::string::npos);
  EXPECT_NE(text.find("page 5 @0x05000: erased"), std::string::npos);
  EXPECT_NE(text.find("no problems found"), std::string::npos);
}

}  // namespace
}  // namespace espsec::nvs
