// Certificate loading, the encodings a bundle stores, dates and printable names.
#include "certs/x509.hpp"

#include <gtest/gtest.h>

#include "test_util.hpp"

namespace espsec::certs {
namespace {

std::string text(const Bytes& b) { return std::string(b.begin(), b.end()); }

TEST(CertsX509, LoadsPemAndDerAndExposesTheBundleEncodings) {
  ESPSEC_REQUIRE_VECTORS();
  auto zulu = Certificate::from_pem(test::read_vector("crt_bundle/ca/zulu_ecp256.pem"));
  ASSERT_TRUE(zulu) << zulu.error().message;
  EXPECT_EQ(zulu->subject_text(), "CN=Zulu EC P-256 Root");
  EXPECT_EQ(zulu->issuer_text(), "CN=Zulu EC P-256 Root");
  EXPECT_TRUE(zulu->is_self_issued());
  EXPECT_EQ(zulu->subject_der().size(), 31u);
  EXPECT_EQ(zulu->public_key_der().size(), 91u);
  EXPECT_EQ(key_description(zulu->public_key_der()), "EC-secp256r1");
  EXPECT_EQ(format_utc(zulu->not_after()), "2046-11-18T19:16:04Z");
  // The bundle stores the subject and key exactly (README: first entry of x509_crt_bundle).
  const Bytes bundle = test::read_vector("crt_bundle/x509_crt_bundle");
  EXPECT_EQ(Bytes(bundle.begin() + 32, bundle.begin() + 32 + 31), zulu->subject_der());
  EXPECT_EQ(Bytes(bundle.begin() + 63, bundle.begin() + 63 + 91), zulu->public_key_der());

  auto charlie = Certificate::from_der(test::read_vector("crt_bundle/ca/charlie_ecp384.der"));
  ASSERT_TRUE(charlie);
  EXPECT_EQ(charlie->subject_text(), "CN=Charlie EC P-384 Root,O=espsec test vectors");
  EXPECT_EQ(key_description(charlie->public_key_der()), "EC-secp384r1");
  EXPECT_EQ(charlie->der(), test::read_vector("crt_bundle/ca/charlie_ecp384.der"));

  auto delta = Certificate::from_pem(test::read_vector("crt_bundle/ca/delta_rsa2048_utf8.pem"));
  ASSERT_TRUE(delta);
  EXPECT_EQ(delta->subject_text(), "CN=Delta RSA-2048 Root,O=\xC3\x9Cn\xC3\xAF" "c\xC3\xB6" "d\xC3\xA9 T\xC3\xAB" "st \xC3\x96rg");
  EXPECT_EQ(name_der_text(delta->subject_der()), delta->subject_text());
  EXPECT_EQ(key_description(delta->public_key_der()), "RSA-2048");
  auto pub = delta->public_key();
  ASSERT_TRUE(pub);
  EXPECT_EQ(pub->bits(), 2048);
}

TEST(CertsX509, LoadAllReadsEveryCertificateOfAPemFile) {
  ESPSEC_REQUIRE_VECTORS();
  auto two = Certificate::load_all(test::read_vector("crt_bundle/ca/echo_and_foxtrot_two_certs.pem"));
  ASSERT_TRUE(two);
  ASSERT_EQ(two->size(), 2u);
  EXPECT_EQ((*two)[0].subject_text(), "CN=Echo RSA-3072 Root,O=espsec test vectors,C=FI");
  EXPECT_EQ((*two)[1].subject_text(), "CN=Foxtrot EC P-256 Root,O=espsec test vectors,C=FI");
  auto chain = Certificate::load_all(test::read_vector("crt_bundle/leaf/chain_leaf_then_intermediate.pem"));
  ASSERT_TRUE(chain);
  ASSERT_EQ(chain->size(), 2u);
  EXPECT_FALSE((*chain)[0].same_as((*chain)[1]));
  EXPECT_TRUE((*chain)[0].same_as((*chain)[0]));
  auto der = Certificate::load_all(test::read_vector("crt_bundle/ca/charlie_ecp384.der"));
  ASSERT_TRUE(der);
  EXPECT_EQ(der->size(), 1u);
}

TEST(CertsX509, RejectsFilesThatAreNotCertificates) {
  ESPSEC_REQUIRE_VECTORS();
  EXPECT_EQ(Certificate::from_der(as_bytes("not a certificate")).error().code, "certs.parse");
  EXPECT_EQ(Certificate::from_der({}).error().code, "certs.parse");
  Bytes der = test::read_vector("crt_bundle/ca/charlie_ecp384.der");
  der.push_back(0);
  EXPECT_EQ(Certificate::from_der(der).error().code, "certs.trailing_data");
  der.resize(der.size() - 10);
  EXPECT_EQ(Certificate::from_der(der).error().code, "certs.parse");
  EXPECT_EQ(Certificate::from_pem(as_bytes("hello")).error().code, "certs.parse");
  // A private key is PEM but not a certificate.
  EXPECT_EQ(Certificate::from_pem(test::read_vector("crt_bundle/keys/zulu_ecp256.key")).error().code, "certs.parse");
  EXPECT_EQ(Certificate::load_all(test::read_vector("crt_bundle/keys/zulu_ecp256.key")).error().code,
            "certs.no_certificate");
  std::string broken = text(test::read_vector("crt_bundle/ca/zulu_ecp256.pem"));
  broken[100] = '*';
  EXPECT_EQ(Certificate::load_all(as_bytes(broken)).error().code, "certs.parse");
  EXPECT_EQ(key_description(as_bytes("junk")), "invalid");
  EXPECT_EQ(name_der_text(as_bytes("junk")), "<invalid name>");
}

TEST(CertsX509, ParsesAndFormatsUtcDates) {
  EXPECT_EQ(parse_utc("1970-01-01").value(), 0);
  EXPECT_EQ(parse_utc("2030-01-01").value(), 1893456000);
  EXPECT_EQ(parse_utc("2046-11-18T19:16:04Z").value(), 2426181364);
  EXPECT_EQ(format_utc(2426181364), "2046-11-18T19:16:04Z");
  EXPECT_EQ(parse_utc("2024-02-29").value(), 1709164800);
  for (const char* bad : {"", "2026", "2026-1-01", "2026-13-01", "2026-02-30", "2025-02-29", "2026-01-01T25:00:00Z",
                          "2026-01-01T10:00:00", "2026-01-01 10:00:00Z", "2026/01/01", "2026-01-01x", "+026-01-01"}) {
    auto r = parse_utc(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, "certs.date") << bad;
  }
}

}  // namespace
}  // namespace espsec::certs
