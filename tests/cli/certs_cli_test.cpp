// `espsec certs bundle|list|verify`: exit codes, messages and outputs.
#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "test_util.hpp"

namespace espsec {
namespace {

namespace fs = std::filesystem;
using test::run_cli;

std::string vec(const std::string& name) { return (test::vectors_dir() / "crt_bundle" / name).string(); }

void expect_error(const test::CliResult& r, const std::string& needle) {
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("espsec: error: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
}

TEST(CertsCli, BundleWritesX509CrtBundleInTheCurrentDirectory) {
  ESPSEC_REQUIRE_VECTORS();
  test::TempDir dir;
  auto r = run_cli({"certs", "bundle", "--input", vec("ca")}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(test::read_bytes(dir / "x509_crt_bundle"), test::read_vector("crt_bundle/x509_crt_bundle"));
  EXPECT_NE(r.err.find("Parsing certificates from"), std::string::npos);
  EXPECT_NE(r.err.find("Successfully added 7 certificates in total"), std::string::npos);
  EXPECT_TRUE(r.out.empty());
  // -q silences the status lines.
  r = run_cli({"certs", "bundle", "-q", "-i", vec("ca/zulu_ecp256.pem"), vec("ca/alpha_rsa2048.pem"), "-o", "two.bin"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.err.empty()) << r.err;
  EXPECT_EQ(test::read_bytes(dir / "two.bin").size(), 8u + 4 + 31 + 91 + 4 + 78 + 294);
}

TEST(CertsCli, DefaultBundlesByteForByte) {
  ESPSEC_REQUIRE_VECTORS();
  test::TempDir dir;
  auto full = run_cli({"certs", "bundle", "--input", vec("idf_default/cacrt_all.pem"), vec("idf_default/cacrt_local.pem"),
                       "-q", "--max-certs", "200", "-o", "full"}, dir.path());
  ASSERT_EQ(full.exit_code, 0) << full.err;
  EXPECT_EQ(test::read_bytes(dir / "full"), test::read_vector("crt_bundle/idf_default/full/x509_crt_bundle"));
  auto cmn = run_cli({"certs", "bundle", "--input", vec("idf_default/cacrt_all.pem"), vec("idf_default/cacrt_local.pem"),
                      "-q", "--max_certs", "200", "--filter", vec("idf_default/cmn_crt_authorities.csv"), "-o", "cmn"},
                     dir.path());
  ASSERT_EQ(cmn.exit_code, 0) << cmn.err;
  EXPECT_EQ(test::read_bytes(dir / "cmn"), test::read_vector("crt_bundle/idf_default/cmn/x509_crt_bundle"));
}

TEST(CertsCli, BundleRefusesBadInputs) {
  ESPSEC_REQUIRE_VECTORS();
  test::TempDir dir;
  expect_error(run_cli({"certs", "bundle", "-i", (dir / "nothing").string()}, dir.path()), "neither a file nor a folder");
  fs::create_directory(dir / "empty");
  expect_error(run_cli({"certs", "bundle", "-i", (dir / "empty").string()}, dir.path()), "No valid x509 certificates found");
  test::write_bytes(dir / "bad.pem", as_bytes("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"));
  expect_error(run_cli({"certs", "bundle", "-i", (dir / "bad.pem").string()}, dir.path()), "bad.pem");
  test::write_bytes(dir / "none.pem", as_bytes("no certificates here\n"));
  expect_error(run_cli({"certs", "bundle", "-i", (dir / "none.pem").string()}, dir.path()), "no certificates found");
  expect_error(run_cli({"certs", "bundle", "-i", vec("ca"), "--max-certs", "6"}, dir.path()), "7 certificates exceed");
  EXPECT_FALSE(fs::exists(dir / "x509_crt_bundle"));
  EXPECT_EQ(run_cli({"certs", "bundle"}, dir.path()).exit_code, 2);  // --input is required
  expect_error(run_cli({"certs", "bundle", "-i", vec("ca"), "--expires-before", "next year"}, dir.path()), "not a date");
}

TEST(CertsCli, BundleWarnsAboutExpiringRootsAndSilentDrops) {
  ESPSEC_REQUIRE_VECTORS();
  test::TempDir dir;
  auto r = run_cli({"certs", "bundle", "-q", "-i", vec("ca"), "--expires-before", "2046-11-19"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  size_t warnings = 0;
  for (size_t at = r.err.find("espsec: warning: "); at != std::string::npos; at = r.err.find("espsec: warning: ", at + 1))
    ++warnings;
  EXPECT_EQ(warnings, 7u) << r.err;
  EXPECT_NE(r.err.find("'CN=Zulu EC P-256 Root' (from "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("expires at 2046-11-18T19:16:04Z, before 2046-11-19T00:00:00Z"), std::string::npos) << r.err;
  r = run_cli({"certs", "bundle", "-q", "-i", vec("ca"), "--expires_before", "2040-01-01"}, dir.path());
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_TRUE(r.err.empty()) << r.err;

  const Bytes pem = test::read_vector("crt_bundle/ca/zulu_ecp256.pem");
  test::write_bytes(dir / "cut.pem", ByteSpan(pem).first(pem.size() - 1));
  test::write_bytes(dir / "ok.pem", pem);
  r = run_cli({"certs", "bundle", "-q", "-i", (dir / "cut.pem").string(), (dir / "ok.pem").string()}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("warning: "), std::string::npos);
  EXPECT_NE(r.err.find("cut.pem"), std::string::npos);
  EXPECT_EQ(test::read_bytes(dir / "x509_crt_bundle").size(), 4u + 4 + 31 + 91);
}

TEST(CertsCli, ListMatchesTheVectorListing) {
  ESPSEC_REQUIRE_VECTORS();
  auto r = run_cli({"certs", "list", vec("x509_crt_bundle")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::ifstream listing(test::vectors_dir() / "crt_bundle/x509_crt_bundle.listing.txt");
  std::string line;
  size_t rows = 0;
  while (std::getline(listing, line)) {
    if (line.empty() || line[0] == '#') continue;
    // Our line is the listing's without the notAfter column (the bundle has no dates).
    const std::string ours = line.substr(0, line.rfind(" | "));
    EXPECT_NE(r.out.find(ours + "\n"), std::string::npos) << ours << "\n" << r.out;
    ++rows;
  }
  EXPECT_EQ(rows, 7u);

  auto j = run_cli({"certs", "list", "--format", "json", vec("idf_default/cmn/x509_crt_bundle")});
  ASSERT_EQ(j.exit_code, 0) << j.err;
  const auto doc = nlohmann::json::parse(j.out);
  EXPECT_EQ(doc["count"], 35);
  EXPECT_EQ(doc["size"], 14455);
  EXPECT_EQ(doc["sorted"], true);
  EXPECT_EQ(doc["certificates"].size(), 35u);
  EXPECT_EQ(doc["certificates"][0]["subject"], "CN=Amazon Root CA 1,O=Amazon,C=US");
  EXPECT_EQ(doc["certificates"][0]["key"], "RSA-2048");
}

TEST(CertsCli, ListRefusesBrokenBundles) {
  ESPSEC_REQUIRE_VECTORS();
  test::TempDir dir;
  const Bytes good = test::read_vector("crt_bundle/x509_crt_bundle");
  test::write_bytes(dir / "short", ByteSpan(good).first(good.size() - 1));
  expect_error(run_cli({"certs", "list", (dir / "short").string()}), "runs past the end");
  Bytes bad_first = good;
  bad_first[0] = 0x1d;
  test::write_bytes(dir / "first", bad_first);
  expect_error(run_cli({"certs", "list", (dir / "first").string()}), "first offset");
  test::write_bytes(dir / "tiny", as_bytes("abc"));
  expect_error(run_cli({"certs", "list", (dir / "tiny").string()}), "3 bytes");
  expect_error(run_cli({"certs", "list", vec("x509_crt_bundle"), "--max-certs", "5"}), "limit is 5");
  expect_error(run_cli({"certs", "list", vec("x509_crt_bundle"), "--format", "xml"}), "text or json");
  expect_error(run_cli({"certs", "list", (dir / "missing").string()}), "missing");
  Bytes trailing = good;
  trailing.push_back(0);
  test::write_bytes(dir / "trailing", trailing);
  auto r = run_cli({"certs", "list", (dir / "trailing").string()});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.err.find("1 bytes follow the last certificate"), std::string::npos) << r.err;
}

TEST(CertsCli, VerifyChecksAServerChainAsTheDeviceWould) {
  ESPSEC_REQUIRE_VECTORS();
  auto ok = run_cli({"certs", "verify", vec("leaf/chain_leaf_then_intermediate.pem"), "--bundle", vec("x509_crt_bundle"),
                     "--hostname", "device.test", "--at", "2027-01-01"});
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.out.find("OK at 2027-01-01T00:00:00Z"), std::string::npos) << ok.out;
  EXPECT_NE(ok.out.find("issuer found in bundle entry 5"), std::string::npos) << ok.out;
  expect_error(run_cli({"certs", "verify", vec("leaf/leaf_untrusted_issuer.pem"), "--bundle", vec("x509_crt_bundle"), "--at",
                        "2027-01-01"}),
               "no certificate in the bundle is the issuer");
  expect_error(run_cli({"certs", "verify", vec("leaf/leaf_forged_alpha_name.pem"), "--bundle", vec("x509_crt_bundle"), "--at",
                        "2027-01-01"}),
               "does not verify");
  expect_error(run_cli({"certs", "verify", vec("leaf/leaf_by_alpha_rsa2048.pem"), "--bundle", vec("x509_crt_bundle"), "--at",
                        "2050-01-01"}),
               "expired at 2036-11-20T19:16:19Z");
  expect_error(run_cli({"certs", "verify", vec("leaf/leaf_by_alpha_rsa2048.pem"), "--bundle", vec("x509_crt_bundle"),
                        "--hostname", "evil.test", "--at", "2027-01-01"}),
               "not valid for host 'evil.test'");
  EXPECT_EQ(run_cli({"certs", "verify", vec("leaf/leaf_by_alpha_rsa2048.pem"), "--ca", vec("ca/alpha_rsa2048.pem"), "--at",
                     "2027-01-01"}).exit_code, 0);
  EXPECT_EQ(run_cli({"certs", "verify", vec("leaf/leaf_by_alpha_rsa2048.pem"), "--pin", vec("leaf/leaf_by_alpha_rsa2048.pem"),
                     "--at", "2027-01-01"}).exit_code, 0);
  expect_error(run_cli({"certs", "verify", vec("leaf/leaf_by_alpha_rsa2048.pem"), "--pin", vec("leaf/leaf_forged_alpha_name.pem"),
                        "--at", "2027-01-01"}),
               "not the pinned certificate");
  expect_error(run_cli({"certs", "verify", vec("leaf/leaf_by_alpha_rsa2048.pem")}), "exactly one of");
  expect_error(run_cli({"certs", "verify", vec("leaf/leaf_by_alpha_rsa2048.pem"), "--ca", vec("ca/alpha_rsa2048.pem"), "--pin",
                        vec("ca/alpha_rsa2048.pem")}),
               "exactly one of");
  expect_error(run_cli({"certs", "verify", vec("keys/zulu_ecp256.key"), "--bundle", vec("x509_crt_bundle")}),
               "no CERTIFICATE block");
  expect_error(run_cli({"certs", "verify", vec("leaf/leaf_by_alpha_rsa2048.pem"), "--bundle", vec("ca/alpha_rsa2048.pem")}),
               "alpha_rsa2048.pem");
}

}  // namespace
}  // namespace espsec
