// The x509 bundle codec: the vectors' layout, round trip, every loading check of the device and
// the device's issuer lookup.
#include "certs/bundle.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "certs/x509.hpp"
#include "crypto/random.hpp"
#include "test_util.hpp"

namespace espsec::certs {
namespace {

using test::hex;

std::vector<BundleEntry> sample_entries() {
  return {{hex("3003310141"), hex("aabbcc")}, {hex("300431024142"), hex("dd")}, {hex("30053103414243"), hex("eeff")}};
}

Bytes sample_bundle() { return serialize_bundle(sample_entries()).value(); }

std::vector<std::string> split(const std::string& line, char sep) {
  std::vector<std::string> out;
  std::stringstream in(line);
  std::string part;
  while (std::getline(in, part, sep)) {
    const size_t a = part.find_first_not_of(' '), b = part.find_last_not_of(' ');
    out.push_back(a == std::string::npos ? "" : part.substr(a, b - a + 1));
  }
  return out;
}

TEST(CertsBundle, SerializesTheOffsetTableAndEntries) {
  const Bytes b = sample_bundle();
  // 3 offsets, then 4 + 5 + 3, 4 + 6 + 1, 4 + 7 + 2 bytes.
  ASSERT_EQ(b.size(), 12u + 12 + 11 + 13);
  EXPECT_EQ(to_hex(ByteSpan(b).first(12)), "0c000000" "18000000" "23000000");
  EXPECT_EQ(to_hex(ByteSpan(b).subspan(12, 4)), "05000300");
  EXPECT_EQ(serialize_bundle({}).value(), Bytes{});
}

TEST(CertsBundle, RoundTrips) {
  auto parsed = parse_bundle(sample_bundle());
  ASSERT_TRUE(parsed) << parsed.error().message;
  ASSERT_EQ(parsed->entries.size(), 3u);
  EXPECT_TRUE(parsed->sorted);
  EXPECT_EQ(parsed->trailing_bytes, 0u);
  std::vector<BundleEntry> again;
  for (const auto& e : parsed->entries) again.push_back(e.entry);
  EXPECT_EQ(serialize_bundle(again).value(), sample_bundle());
  EXPECT_EQ(parsed->entries[1].offset, 0x18u);
  EXPECT_EQ(parsed->entries[2].entry.public_key, hex("eeff"));
}

TEST(CertsBundle, SortsLikeGenCrtBundle) {
  std::vector<BundleEntry> e = {{hex("3005"), hex("01")}, {hex("30"), hex("02")}, {hex("3004ff"), hex("03")},
                                {hex("3005"), hex("04")}, {hex("3004"), hex("05")}};
  sort_entries(e);
  // Unsigned bytes, a proper prefix first, equal subjects in input order.
  EXPECT_EQ(e[0].public_key, hex("02"));
  EXPECT_EQ(e[1].public_key, hex("05"));
  EXPECT_EQ(e[2].public_key, hex("03"));
  EXPECT_EQ(e[3].public_key, hex("01"));
  EXPECT_EQ(e[4].public_key, hex("04"));
}

TEST(CertsBundle, RejectsFieldsTooLongForTheFormat) {
  std::vector<BundleEntry> e = {{Bytes(65536, 0x30), hex("00")}};
  EXPECT_EQ(serialize_bundle(e).error().code, "certs.bundle_field");
  e = {{hex("30"), Bytes(65536, 0)}};
  EXPECT_EQ(serialize_bundle(e).error().code, "certs.bundle_field");
  e = {{Bytes(65535, 0x30), Bytes(65535, 0)}};
  EXPECT_TRUE(serialize_bundle(e));
}

// x509_crt_bundle.listing.txt: index, offset, lengths, key type and subject of each entry.
TEST(CertsBundle, VectorMatchesItsListing) {
  ESPSEC_REQUIRE_VECTORS();
  auto parsed = parse_bundle(test::read_vector("crt_bundle/x509_crt_bundle"));
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_TRUE(parsed->sorted);
  EXPECT_EQ(parsed->trailing_bytes, 0u);
  std::ifstream listing(test::vectors_dir() / "crt_bundle/x509_crt_bundle.listing.txt");
  std::string line;
  size_t rows = 0;
  while (std::getline(listing, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto f = split(line, '|');
    ASSERT_EQ(f.size(), 7u) << line;
    const size_t i = std::stoul(f[0]);
    ASSERT_LT(i, parsed->entries.size());
    const auto& e = parsed->entries[i];
    EXPECT_EQ(std::to_string(e.offset), f[1]) << line;
    EXPECT_EQ(std::to_string(e.entry.subject.size()), f[2]) << line;
    EXPECT_EQ(std::to_string(e.entry.public_key.size()), f[3]) << line;
    EXPECT_EQ(key_description(e.entry.public_key), f[4]) << line;
    EXPECT_EQ(name_der_text(e.entry.subject), f[5]) << line;
    ++rows;
  }
  EXPECT_EQ(rows, parsed->entries.size());
  EXPECT_EQ(rows, 7u);
}

TEST(CertsBundle, DefaultBundlesParse) {
  ESPSEC_REQUIRE_VECTORS();
  auto full = parse_bundle(test::read_vector("crt_bundle/idf_default/full/x509_crt_bundle"));
  ASSERT_TRUE(full) << full.error().message;
  EXPECT_EQ(full->entries.size(), 123u);
  EXPECT_TRUE(full->sorted);
  auto cmn = parse_bundle(test::read_vector("crt_bundle/idf_default/cmn/x509_crt_bundle"));
  ASSERT_TRUE(cmn);
  EXPECT_EQ(cmn->entries.size(), 35u);
  EXPECT_TRUE(cmn->sorted);
  // Every key stored parses.
  for (const auto& e : full->entries) EXPECT_NE(key_description(e.entry.public_key), "invalid");
  // The device limit applies.
  EXPECT_EQ(parse_bundle(test::read_vector("crt_bundle/idf_default/full/x509_crt_bundle"), 122).error().code,
            "certs.bundle_count");
}

TEST(CertsBundle, RejectsTooSmall) {
  const Bytes b = sample_bundle();
  for (size_t n = 0; n <= 8; ++n) EXPECT_EQ(parse_bundle(ByteSpan(b).first(n)).error().code, "certs.bundle_too_small") << n;
}

TEST(CertsBundle, RejectsBadFirstOffset) {
  for (uint32_t first : {0u, 2u, 13u, 47u, 48u, 1000u, 0xFFFFFFFCu}) {
    Bytes b = sample_bundle();
    store_le32(b.data(), first);
    auto r = parse_bundle(b);
    ASSERT_FALSE(r) << first;
    EXPECT_EQ(r.error().code, "certs.bundle_first_offset") << first;
  }
}

TEST(CertsBundle, RejectsMoreCertificatesThanTheLimit) {
  EXPECT_EQ(parse_bundle(sample_bundle(), 2).error().code, "certs.bundle_count");
  EXPECT_TRUE(parse_bundle(sample_bundle(), 3));
}

TEST(CertsBundle, RejectsOffsetsThatDoNotFollowTheEntries) {
  for (size_t k : {1u, 2u}) {
    for (int delta : {-1, 1, 4}) {
      Bytes b = sample_bundle();
      store_le32(b.data() + 4 * k, static_cast<uint32_t>(static_cast<int64_t>(load_le32(b.data() + 4 * k)) + delta));
      auto r = parse_bundle(b);
      ASSERT_FALSE(r) << k << " " << delta;
      EXPECT_EQ(r.error().code, "certs.bundle_offset") << k << " " << delta;
    }
  }
}

TEST(CertsBundle, RejectsLengthFieldsRunningPastTheEnd) {
  // A name length in the middle entry that swallows the rest.
  Bytes b = sample_bundle();
  store_le16(b.data() + 0x18, 0x7FFF);
  EXPECT_EQ(parse_bundle(b).error().code, "certs.bundle_offset");
  // The last entry's key length too long.
  b = sample_bundle();
  store_le16(b.data() + 0x23 + 2, 3);
  EXPECT_EQ(parse_bundle(b).error().code, "certs.bundle_truncated");
  b = sample_bundle();
  store_le16(b.data() + 0x23, 0xFFFF);
  store_le16(b.data() + 0x23 + 2, 0xFFFF);
  EXPECT_EQ(parse_bundle(b).error().code, "certs.bundle_truncated");
}

TEST(CertsBundle, EveryTruncationIsRejected) {
  ESPSEC_REQUIRE_VECTORS();
  const Bytes b = test::read_vector("crt_bundle/x509_crt_bundle");
  for (size_t n = 0; n < b.size(); ++n) EXPECT_FALSE(parse_bundle(ByteSpan(b).first(n))) << n;
}

TEST(CertsBundle, TrailingBytesAreToleratedAndReported) {
  Bytes b = sample_bundle();
  b.push_back(0);
  b.push_back(0);
  auto r = parse_bundle(b);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->trailing_bytes, 2u);
}

TEST(CertsBundle, RecognisesTheLegacyFormat) {
  ESPSEC_REQUIRE_VECTORS();
  auto current = parse_bundle(test::read_vector("crt_bundle/x509_crt_bundle"));
  ASSERT_TRUE(current);
  // u16 BE count, then u16 BE lengths per entry: what older ESP-IDF releases wrote.
  Bytes legacy = {0x00, static_cast<uint8_t>(current->entries.size())};
  for (const auto& e : current->entries) {
    legacy.push_back(static_cast<uint8_t>(e.entry.subject.size() >> 8));
    legacy.push_back(static_cast<uint8_t>(e.entry.subject.size()));
    legacy.push_back(static_cast<uint8_t>(e.entry.public_key.size() >> 8));
    legacy.push_back(static_cast<uint8_t>(e.entry.public_key.size()));
    legacy.insert(legacy.end(), e.entry.subject.begin(), e.entry.subject.end());
    legacy.insert(legacy.end(), e.entry.public_key.begin(), e.entry.public_key.end());
  }
  auto r = parse_bundle(legacy);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "certs.bundle_legacy");
  EXPECT_NE(r.error().message.find("legacy"), std::string::npos);
}

TEST(CertsBundle, RandomCorruptionNeverCrashes) {
  ESPSEC_REQUIRE_VECTORS();
  const Bytes good = test::read_vector("crt_bundle/x509_crt_bundle");
  crypto::DeterministicRng rng(5);
  for (int round = 0; round < 3000; ++round) {
    Bytes b = good;
    Bytes pick = rng.bytes(6);
    const size_t at = load_le32(pick.data()) % b.size();
    b[at] ^= static_cast<uint8_t>(pick[4] | 1);
    auto r = parse_bundle(b);
    if (r) {
      // Whatever loads stays inside the buffer and consistent.
      for (const auto& e : r->entries) EXPECT_LE(e.offset + 4 + e.entry.subject.size() + e.entry.public_key.size(), b.size());
    }
  }
}

TEST(CertsBundle, FindIssuerIsTheDevicesBinarySearch) {
  ESPSEC_REQUIRE_VECTORS();
  auto parsed = parse_bundle(test::read_vector("crt_bundle/x509_crt_bundle"));
  ASSERT_TRUE(parsed);
  for (size_t i = 0; i < parsed->entries.size(); ++i)
    EXPECT_EQ(find_issuer(*parsed, parsed->entries[i].entry.subject), i);
  auto untrusted = Certificate::from_pem(test::read_vector("crt_bundle/other/untrusted_root.pem"));
  ASSERT_TRUE(untrusted);
  EXPECT_FALSE(find_issuer(*parsed, untrusted->subject_der()));
  EXPECT_FALSE(find_issuer(*parsed, {}));
  // An unsorted bundle loads, but the search misses entries, as on the device.
  std::vector<BundleEntry> entries;
  for (const auto& e : parsed->entries) entries.push_back(e.entry);
  std::reverse(entries.begin(), entries.end());
  auto reversed = parse_bundle(serialize_bundle(entries).value());
  ASSERT_TRUE(reversed);
  EXPECT_FALSE(reversed->sorted);
  size_t found = 0;
  for (const auto& e : entries) found += find_issuer(*reversed, e.subject).has_value();
  EXPECT_LT(found, entries.size());
}

}  // namespace
}  // namespace espsec::certs
