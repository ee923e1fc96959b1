// gen_crt_bundle behaviour: byte-identical bundles from the vectors' inputs, its PEM, CSV and
// filter rules, and every input it refuses.
#include "certs/builder.hpp"

#include <gtest/gtest.h>

#include "test_util.hpp"

namespace espsec::certs {
namespace {

namespace fs = std::filesystem;

std::string text_of(const Bytes& b) { return std::string(b.begin(), b.end()); }

Result<Bytes> bundle_of(const std::vector<fs::path>& inputs, std::optional<fs::path> filter = std::nullopt) {
  BundleCollector collector(std::move(filter));
  for (const auto& p : inputs) ESPSEC_TRY(collector.add(p));
  return build_bundle(collector.certificates());
}

TEST(CertsBuilder, CustomRootsGiveTheVectorByteForByte) {
  ESPSEC_REQUIRE_VECTORS();
  const fs::path ca = test::vectors_dir() / "crt_bundle/ca";
  const Bytes expected = test::read_vector("crt_bundle/x509_crt_bundle");
  auto from_dir = bundle_of({ca});
  ASSERT_TRUE(from_dir) << from_dir.error().message;
  EXPECT_EQ(*from_dir, expected);
  // Input order is irrelevant: the bundle is sorted by subject.
  auto from_files = bundle_of({ca / "zulu_ecp256.pem", ca / "echo_and_foxtrot_two_certs.pem", ca / "delta_rsa2048_utf8.pem",
                               ca / "charlie_ecp384.der", ca / "bravo_rsa4096.pem", ca / "alpha_rsa2048.pem"});
  ASSERT_TRUE(from_files);
  EXPECT_EQ(*from_files, expected);
}

TEST(CertsBuilder, DefaultBundlesByteForByte) {
  ESPSEC_REQUIRE_VECTORS();
  const fs::path dir = test::vectors_dir() / "crt_bundle/idf_default";
  auto full = bundle_of({dir / "cacrt_all.pem", dir / "cacrt_local.pem"});
  ASSERT_TRUE(full) << full.error().message;
  EXPECT_EQ(full->size(), 57077u);
  EXPECT_EQ(*full, test::read_vector("crt_bundle/idf_default/full/x509_crt_bundle"));

  BundleCollector collector(dir / "cmn_crt_authorities.csv");
  ASSERT_TRUE(collector.add(dir / "cacrt_all.pem"));
  EXPECT_EQ(collector.certificates().size(), 33u);
  ASSERT_TRUE(collector.add(dir / "cacrt_local.pem"));
  EXPECT_TRUE(collector.warnings().empty());
  auto cmn = build_bundle(collector.certificates());
  ASSERT_TRUE(cmn);
  EXPECT_EQ(cmn->size(), 14455u);
  EXPECT_EQ(*cmn, test::read_vector("crt_bundle/idf_default/cmn/x509_crt_bundle"));
}

TEST(CertsBuilder, PemBlocksFollowGenCrtBundleLineRules) {
  ESPSEC_REQUIRE_VECTORS();
  const std::string pem = text_of(test::read_vector("crt_bundle/ca/zulu_ecp256.pem"));
  EXPECT_EQ(extract_pem_blocks(pem).blocks.size(), 1u);
  EXPECT_FALSE(extract_pem_blocks(pem).unterminated_line);
  // CRLF becomes LF in Python's text mode.
  std::string crlf;
  for (char c : pem) {
    if (c == '\n') crlf += '\r';
    crlf += c;
  }
  EXPECT_EQ(extract_pem_blocks(normalize_newlines(crlf)).blocks, extract_pem_blocks(pem).blocks);
  // The END line without its newline: the certificate is dropped.
  std::string cut = "junk\n";
  cut.append(pem, 0, pem.size() - 1);
  const PemBlocks dropped = extract_pem_blocks(cut);
  EXPECT_TRUE(dropped.blocks.empty());
  EXPECT_EQ(dropped.unterminated_line, 2u);
  // BEGIN and END must match exactly.
  const size_t eol = pem.find('\n');
  std::string spaced = pem.substr(0, eol);
  spaced += ' ';
  spaced += pem.substr(eol);
  EXPECT_TRUE(extract_pem_blocks(spaced).blocks.empty());
  // Two certificates, text between them ignored.
  EXPECT_EQ(extract_pem_blocks(pem + "comment\n" + pem).blocks.size(), 2u);
  // A block is the certificate lines plus an extra newline.
  EXPECT_EQ(extract_pem_blocks(pem).blocks[0], pem + "\n");
}

TEST(CertsBuilder, SplitsLinesAsPythonDoes) {
  const auto lines = split_lines("a\nb\r\nc\rd\x0c" "e\xC2\x85" "f\xE2\x80\xA8g");
  ASSERT_EQ(lines.size(), 7u);
  EXPECT_EQ(lines[1], "b\r\n");
  EXPECT_EQ(lines[4], "e\xC2\x85");
  EXPECT_EQ(lines[6], "g");
  EXPECT_EQ(normalize_newlines("a\r\nb\rc\n"), "a\nb\nc\n");
}

TEST(CertsBuilder, ValidatesUtf8Strictly) {
  EXPECT_TRUE(is_valid_utf8(as_bytes("plain ascii")));
  EXPECT_TRUE(is_valid_utf8(as_bytes("\xC3\x9C\xE2\x82\xAC\xF0\x9F\x98\x80")));
  for (std::string_view bad : {"\xC0\x80", "\xE0\x80\x80", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xC3", "\x80", "\xFF"})
    EXPECT_FALSE(is_valid_utf8(as_bytes(bad))) << to_hex(as_bytes(bad));
}

TEST(CertsBuilder, ParsesTheFilterCsv) {
  auto names = parse_filter_csv("Owner,Name\nA,Root 1\n\"B, Inc.\",\"Root \"\"2\"\"\"\nC,Root 3,extra\n");
  ASSERT_TRUE(names) << names.error().message;
  EXPECT_EQ(*names, (std::set<std::string>{"Root 1", "Root \"2\"", "Root 3"}));
  EXPECT_EQ(parse_filter_csv("Owner,Name").value().size(), 0u);
  EXPECT_EQ(parse_filter_csv("Owner,Name\nA,\"multi\nline\"\n").value(), (std::set<std::string>{"multi\nline"}));
  EXPECT_EQ(parse_filter_csv("").error().code, "certs.filter_empty");
  auto short_row = parse_filter_csv("Owner,Name\nA,Root 1\nonly-one\n");
  ASSERT_FALSE(short_row);
  EXPECT_EQ(short_row.error().code, "certs.filter_row");
  EXPECT_NE(short_row.error().message.find("line 3"), std::string::npos);
  EXPECT_EQ(parse_filter_csv("Owner,Name\n\nA,B\n").error().code, "certs.filter_row");
  EXPECT_EQ(parse_filter_csv("Owner,Name\nA,\"open\n").error().code, "certs.filter_quote");
}

TEST(CertsBuilder, SelectsNamedCertificatesOfCacrtAll) {
  ESPSEC_REQUIRE_VECTORS();
  const std::string pem = text_of(test::read_vector("crt_bundle/ca/zulu_ecp256.pem"));
  const std::string all = "## header\n\nFirst Root\n==========\n" + pem + "\nSecond Root\n===\n" + pem +
                          "\nNo underline\n" + pem + "\n";
  const std::string one = select_named_certificates(all, {"Second Root"});
  EXPECT_EQ(one, "===\n" + pem);
  EXPECT_EQ(extract_pem_blocks(select_named_certificates(all, {"First Root", "Second Root"})).blocks.size(), 2u);
  EXPECT_TRUE(select_named_certificates(all, {"No underline"}).empty());
  EXPECT_TRUE(select_named_certificates(all, {}).empty());
}

TEST(CertsBuilder, RejectsBadInputs) {
  ESPSEC_REQUIRE_VECTORS();
  test::TempDir dir;
  // Neither file nor folder.
  BundleCollector c1;
  EXPECT_EQ(c1.add(dir / "missing").error().code, "certs.input");
  // A folder without .pem/.der files.
  fs::create_directory(dir / "empty");
  test::write_bytes(dir / "empty/readme.txt", as_bytes("hello"));
  auto empty = c1.add(dir / "empty");
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code, "certs.empty_dir");
  // A .pem whose block is not a certificate.
  std::string pem = text_of(test::read_vector("crt_bundle/ca/zulu_ecp256.pem"));
  pem[200] = pem[200] == 'A' ? 'B' : 'A';
  pem.replace(60, 4, "!!!!");
  test::write_bytes(dir / "bad.pem", as_bytes(pem));
  BundleCollector c2;
  auto bad = c2.add(dir / "bad.pem");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, "certs.parse");
  EXPECT_NE(bad.error().message.find("bad.pem"), std::string::npos);
  // A .der that is not a certificate.
  test::write_bytes(dir / "bad.der", as_bytes("not DER"));
  EXPECT_EQ(BundleCollector().add(dir / "bad.der").error().code, "certs.parse");
  // Not UTF-8.
  test::write_bytes(dir / "latin1.pem", as_bytes("caf\xE9\n"));
  EXPECT_EQ(BundleCollector().add(dir / "latin1.pem").error().code, "certs.not_utf8");
  // A key file named .pem holds no certificate: only a note, as upstream.
  test::write_bytes(dir / "key.pem", test::read_vector("crt_bundle/keys/zulu_ecp256.key"));
  BundleCollector c3;
  ASSERT_TRUE(c3.add(dir / "key.pem"));
  EXPECT_TRUE(c3.certificates().empty());
  EXPECT_EQ(c3.notes().back(), "No certificate found");
  EXPECT_EQ(build_bundle(c3.certificates()).error().code, "certs.empty_bundle");
}

TEST(CertsBuilder, WarnsAboutWhatUpstreamDoesSilently) {
  ESPSEC_REQUIRE_VECTORS();
  test::TempDir dir;
  const std::string pem = text_of(test::read_vector("crt_bundle/ca/zulu_ecp256.pem"));
  test::write_bytes(dir / "cut.pem", as_bytes(pem.substr(0, pem.size() - 1)));
  test::write_bytes(dir / "root.crt", as_bytes(pem));
  BundleCollector c(dir / "unused.csv");
  ASSERT_TRUE(c.add(dir / "cut.pem"));
  ASSERT_TRUE(c.add(dir / "root.crt"));
  EXPECT_TRUE(c.certificates().empty());
  const auto w = c.warnings();
  ASSERT_EQ(w.size(), 3u);
  EXPECT_NE(w[0].find("line 1"), std::string::npos);
  EXPECT_NE(w[1].find("root.crt"), std::string::npos);
  EXPECT_NE(w[2].find("cacrt_all.pem"), std::string::npos);
}

TEST(CertsBuilder, FilterErrorsNameTheCsv) {
  ESPSEC_REQUIRE_VECTORS();
  test::TempDir dir;
  test::write_bytes(dir / "filter.csv", as_bytes("Owner,Name\nbroken\n"));
  test::write_bytes(dir / "cacrt_all.pem", test::read_vector("crt_bundle/idf_default/cacrt_all.pem"));
  BundleCollector c(dir / "filter.csv");
  auto r = c.add(dir / "cacrt_all.pem");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "certs.filter_row");
  EXPECT_NE(r.error().message.find("filter.csv"), std::string::npos);
}

TEST(CertsBuilder, EnforcesTheCertificateLimit) {
  ESPSEC_REQUIRE_VECTORS();
  BundleCollector c;
  ASSERT_TRUE(c.add(test::vectors_dir() / "crt_bundle/ca"));
  EXPECT_EQ(build_bundle(c.certificates(), 6).error().code, "certs.too_many");
  EXPECT_TRUE(build_bundle(c.certificates(), 7));
}

TEST(CertsBuilder, ReportsRootsExpiringBeforeEndOfSupport) {
  ESPSEC_REQUIRE_VECTORS();
  BundleCollector c;
  ASSERT_TRUE(c.add(test::vectors_dir() / "crt_bundle/ca"));
  EXPECT_TRUE(expiring_before(c.certificates(), parse_utc("2046-11-18").value()).empty());
  // Five roots end at 19:16:04, two at 19:16:19 (x509_crt_bundle.listing.txt).
  EXPECT_EQ(expiring_before(c.certificates(), parse_utc("2046-11-18T19:16:10Z").value()).size(), 5u);
  EXPECT_EQ(expiring_before(c.certificates(), parse_utc("2046-11-19").value()).size(), 7u);

  BundleCollector mozilla;
  ASSERT_TRUE(mozilla.add(test::vectors_dir() / "crt_bundle/idf_default/cacrt_all.pem"));
  const auto soon = expiring_before(mozilla.certificates(), parse_utc("2027-01-01").value());
  bool entrust = false;
  for (const auto& e : soon) entrust |= e.subject.find("CN=Entrust Root Certification Authority,") == 0;
  EXPECT_TRUE(entrust);  // notAfter 2026-11-27
  EXPECT_LT(soon.size(), mozilla.certificates().size());
}

}  // namespace
}  // namespace espsec::certs
