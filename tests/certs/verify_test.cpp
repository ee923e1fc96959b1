// Server chain verification: every case of crt_bundle/verify_expectations.txt, CA and pinned
// anchors, and run-time certificates (fixed clock) for dates, hostnames, chains and policy.
#include "certs/verify.hpp"

#include <gtest/gtest.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <fstream>

#include "cert_factory.hpp"
#include "certs/builder.hpp"
#include "test_util.hpp"

namespace espsec::certs {
namespace {

constexpr int64_t kNow = 1798761600;   // 2027-01-01, inside every vector certificate's validity
constexpr int64_t k2020 = 1577836800;
constexpr int64_t k2040 = 2208988800;
constexpr int64_t kDay = 86400;

Certificate vector_cert(const std::string& path) {
  auto all = Certificate::load_all(test::read_vector("crt_bundle/" + path));
  EXPECT_TRUE(all) << path;
  return all->front();
}

std::vector<Certificate> vector_chain(const std::string& path) {
  return Certificate::load_all(test::read_vector("crt_bundle/" + path)).value();
}

TrustAnchor vector_bundle(const std::string& path = "x509_crt_bundle") {
  return TrustAnchor::bundle(test::read_vector("crt_bundle/" + path)).value();
}

VerifyOptions at(int64_t now, std::string host = "device.test") { return VerifyOptions{now, std::move(host)}; }

using Chain = std::vector<Certificate>;

std::string code_of(const Result<Verification>& r) { return r ? "OK" : r.error().code; }

TrustAnchor bundle_of(std::initializer_list<const Certificate*> roots) {
  std::vector<BundleEntry> entries;
  for (const Certificate* c : roots) entries.push_back({c->subject_der(), c->public_key_der()});
  sort_entries(entries);
  return TrustAnchor::bundle(serialize_bundle(entries).value()).value();
}

// Every line of verify_expectations.txt, against the custom bundle, then against the default
// bundles where every leaf must fail for lack of an issuer.
TEST(CertsVerify, VerifyExpectationsOfTheVectors) {
  ESPSEC_REQUIRE_VECTORS();
  const TrustAnchor bundle = vector_bundle();
  const TrustAnchor full = vector_bundle("idf_default/full/x509_crt_bundle");
  const TrustAnchor cmn = vector_bundle("idf_default/cmn/x509_crt_bundle");
  std::ifstream in(test::vectors_dir() / "crt_bundle/verify_expectations.txt");
  std::string line;
  size_t cases = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const size_t bar1 = line.find(" | "), bar2 = line.find(" | ", bar1 + 3);
    ASSERT_NE(bar2, std::string::npos) << line;
    const std::string file = line.substr(0, bar1);
    const std::string expected = line.substr(bar1 + 3, bar2 - bar1 - 3);
    const auto result = verify_pem_chain(bundle, test::read_vector("crt_bundle/" + file), at(kNow));
    if (expected == "OK") EXPECT_TRUE(result) << file << ": " << result.error().message;
    else if (expected == "FAIL (no issuer match)") EXPECT_EQ(code_of(result), "certs.verify_no_issuer") << file;
    else if (expected == "FAIL (signature mismatch)") EXPECT_EQ(code_of(result), "certs.verify_signature") << file;
    else ADD_FAILURE() << "unknown expectation: " << line;
    for (const TrustAnchor* other : {&full, &cmn})
      EXPECT_EQ(code_of(verify_pem_chain(*other, test::read_vector("crt_bundle/" + file), at(kNow))),
                "certs.verify_no_issuer")
          << file;
    ++cases;
  }
  EXPECT_EQ(cases, 9u);
}

TEST(CertsVerify, ReportsTheBundleEntryThatVouched) {
  ESPSEC_REQUIRE_VECTORS();
  auto zulu = verify_pem_chain(vector_bundle(), test::read_vector("crt_bundle/leaf/leaf_by_zulu_ecp256.pem"), at(kNow));
  ASSERT_TRUE(zulu);
  ASSERT_EQ(zulu->chain.size(), 1u);
  EXPECT_EQ(zulu->chain[0].bundle_entry, 0u);
  EXPECT_EQ(zulu->chain[0].subject, "CN=device.test");
  auto chain = verify_pem_chain(vector_bundle(), test::read_vector("crt_bundle/leaf/chain_leaf_then_intermediate.pem"), at(kNow));
  ASSERT_TRUE(chain);
  ASSERT_EQ(chain->chain.size(), 2u);
  EXPECT_FALSE(chain->chain[0].bundle_entry);
  EXPECT_EQ(chain->chain[1].bundle_entry, 5u);
  EXPECT_EQ(chain->chain[1].subject, "CN=Alpha Issuing CA 1,O=espsec test vectors,C=US");
}

TEST(CertsVerify, SingleCaAnchor) {
  ESPSEC_REQUIRE_VECTORS();
  struct Case { const char* leaf; const char* ca; size_t ca_index; } ok[] = {
      {"leaf/leaf_by_alpha_rsa2048.pem", "ca/alpha_rsa2048.pem", 0},
      {"leaf/leaf_by_bravo_rsa4096_sha384.pem", "ca/bravo_rsa4096.pem", 0},
      {"leaf/leaf_by_charlie_ecp384_sha384.pem", "ca/charlie_ecp384.der", 0},
      {"leaf/leaf_by_delta_utf8.pem", "ca/delta_rsa2048_utf8.pem", 0},
      {"leaf/leaf_by_foxtrot_ecp256.pem", "ca/echo_and_foxtrot_two_certs.pem", 1},
      {"leaf/leaf_by_zulu_ecp256.pem", "ca/zulu_ecp256.pem", 0},
      {"leaf/chain_leaf_then_intermediate.pem", "ca/alpha_rsa2048.pem", 0},
  };
  for (const auto& c : ok) {
    const TrustAnchor anchor = TrustAnchor::ca(vector_chain(c.ca)[c.ca_index]);
    auto r = verify_pem_chain(anchor, test::read_vector(std::string("crt_bundle/") + c.leaf), at(kNow));
    EXPECT_TRUE(r) << c.leaf << ": " << r.error().message;
  }
  const TrustAnchor alpha = TrustAnchor::ca(vector_cert("ca/alpha_rsa2048.pem"));
  const TrustAnchor impostor = TrustAnchor::ca(vector_cert("other/impostor_alpha_same_name.pem"));
  auto leaf = [](const char* f) { return vector_chain(std::string("leaf/") + f); };
  EXPECT_EQ(code_of(verify_chain(alpha, leaf("leaf_forged_alpha_name.pem"), at(kNow))), "certs.verify_untrusted");
  EXPECT_EQ(code_of(verify_chain(alpha, leaf("leaf_untrusted_issuer.pem"), at(kNow))), "certs.verify_untrusted");
  EXPECT_EQ(code_of(verify_chain(alpha, leaf("leaf_by_zulu_ecp256.pem"), at(kNow))), "certs.verify_untrusted");
  EXPECT_EQ(code_of(verify_chain(impostor, leaf("leaf_by_alpha_rsa2048.pem"), at(kNow))), "certs.verify_untrusted");
  EXPECT_TRUE(verify_chain(impostor, leaf("leaf_forged_alpha_name.pem"), at(kNow)));
  // The leaf alone, without the intermediate the server should have sent.
  EXPECT_EQ(code_of(verify_chain(alpha, Chain{leaf("chain_leaf_then_intermediate.pem").front()}, at(kNow))),
            "certs.verify_untrusted");
  // The CA's own dates count: the Alpha root ends in 2046.
  EXPECT_EQ(code_of(verify_chain(alpha, leaf("leaf_by_alpha_rsa2048.pem"), at(kNow + 30 * 365 * kDay))),
            "certs.verify_expired");
}

// A root with the same subject as a trusted one but another key, smuggled into a bundle: the
// device's lookup finds one entry by name and only its key counts.
TEST(CertsVerify, ImpostorRootInTheBundle) {
  ESPSEC_REQUIRE_VECTORS();
  const Certificate impostor = vector_cert("other/impostor_alpha_same_name.pem");
  const Certificate zulu = vector_cert("ca/zulu_ecp256.pem");
  const TrustAnchor bundle = bundle_of({&impostor, &zulu});
  EXPECT_EQ(code_of(verify_chain(bundle, vector_chain("leaf/leaf_by_alpha_rsa2048.pem"), at(kNow))),
            "certs.verify_signature");
  EXPECT_TRUE(verify_chain(bundle, vector_chain("leaf/leaf_forged_alpha_name.pem"), at(kNow)));
}

TEST(CertsVerify, PinnedLeaf) {
  ESPSEC_REQUIRE_VECTORS();
  const TrustAnchor pin = TrustAnchor::pinned(vector_cert("leaf/leaf_by_alpha_rsa2048.pem"));
  EXPECT_TRUE(verify_chain(pin, vector_chain("leaf/leaf_by_alpha_rsa2048.pem"), at(kNow)));
  // Same subject, issuer name and host, different certificate.
  EXPECT_EQ(code_of(verify_chain(pin, vector_chain("leaf/leaf_forged_alpha_name.pem"), at(kNow))),
            "certs.verify_not_pinned");
  EXPECT_EQ(code_of(verify_chain(pin, vector_chain("leaf/leaf_by_alpha_rsa2048.pem"), at(k2040 + 365 * 10 * kDay))),
            "certs.verify_expired");
  EXPECT_EQ(code_of(verify_chain(pin, vector_chain("leaf/leaf_by_alpha_rsa2048.pem"), at(kNow - 365 * kDay))),
            "certs.verify_not_yet_valid");
  EXPECT_EQ(code_of(verify_chain(pin, vector_chain("leaf/leaf_by_alpha_rsa2048.pem"), at(kNow, "evil.test"))),
            "certs.verify_hostname");
}

TEST(CertsVerify, EmptyChainAndBadPem) {
  ESPSEC_REQUIRE_VECTORS();
  EXPECT_EQ(code_of(verify_chain(vector_bundle(), Chain{}, at(kNow))), "certs.verify_empty_chain");
  EXPECT_EQ(code_of(verify_pem_chain(vector_bundle(), as_bytes("hello"), at(kNow))), "certs.parse");
  EXPECT_EQ(code_of(verify_pem_chain(vector_bundle(), test::read_vector("crt_bundle/keys/zulu_ecp256.key"), at(kNow))),
            "certs.no_certificate");
}

// Run-time PKI: root -> intermediate -> leaf, valid 2020..2040 unless a test says otherwise.
class CertsVerifyPki : public ::testing::Test {
 protected:
  test::Issued make_leaf(test::CertSpec spec, const test::Issued* issuer = nullptr) {
    if (spec.not_before == 0) spec.not_before = k2020;
    if (spec.not_after == 0) spec.not_after = k2040;
    if (spec.dns.empty() && spec.ips.empty() && spec.cn == "device.test") spec.dns = {"device.test"};
    spec.serial = 100 + serial_++;
    return test::issue(spec, test::p256_key(), issuer ? issuer : &inter);
  }
  TrustAnchor bundle() const { return bundle_of({&root.cert}); }
  std::string check(const std::vector<Certificate>& chain, const std::string& host = "device.test",
                    int64_t now = kNow) const {
    return code_of(verify_chain(bundle(), chain, at(now, host)));
  }

  // Members initialise in this order.
  test::Issued root = test::issue(test::CertSpec().named("Test Root").valid(k2020, k2040).as_ca().serial_number(1),
                                  test::p256_key(), nullptr);
  test::Issued inter = test::issue(
      test::CertSpec().named("Test Issuing CA").valid(k2020, k2040).as_ca().serial_number(2), test::p256_key(), &root);
  int serial_ = 0;
  test::Issued leaf = make_leaf(test::CertSpec());
};

TEST_F(CertsVerifyPki, GoodChainWithBundleAndWithCa) {
  EXPECT_EQ(check(Chain{leaf.cert, inter.cert}), "OK");
  EXPECT_TRUE(verify_chain(TrustAnchor::ca(root.cert), Chain{leaf.cert, inter.cert}, at(kNow)));
  // The server may also send the root; the bundle vouches for the self-signed top.
  auto r = verify_chain(bundle(), Chain{leaf.cert, inter.cert, root.cert}, at(kNow));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->chain.size(), 3u);
  EXPECT_EQ(r->chain[2].bundle_entry, 0u);
  // The trusted CA sent as the server certificate itself.
  EXPECT_TRUE(verify_chain(TrustAnchor::ca(root.cert), Chain{root.cert}, at(kNow, "")));
}

TEST_F(CertsVerifyPki, ExpiredAndNotYetValidCertificatesFail) {
  const auto expired = make_leaf(test::CertSpec().valid(k2020, kNow - kDay));
  const auto future = make_leaf(test::CertSpec().valid(kNow + kDay, k2040));
  EXPECT_EQ(check(Chain{expired.cert, inter.cert}), "certs.verify_expired");
  EXPECT_EQ(check(Chain{future.cert, inter.cert}), "certs.verify_not_yet_valid");
  EXPECT_EQ(code_of(verify_chain(TrustAnchor::ca(root.cert), Chain{expired.cert, inter.cert}, at(kNow))),
            "certs.verify_expired");
  // The validity window is inclusive at both ends.
  EXPECT_EQ(check(Chain{expired.cert, inter.cert}, "device.test", kNow - kDay), "OK");
  EXPECT_EQ(check(Chain{future.cert, inter.cert}, "device.test", kNow + kDay), "OK");
  // An expired intermediate at the top: the bundle never clears a date problem.
  const auto old_inter = test::issue(test::CertSpec().named("Old CA").valid(k2020, kNow - 1).as_ca().serial_number(9),
                                     test::p256_key(), &root);
  const auto under_old = make_leaf(test::CertSpec(), &old_inter);
  EXPECT_EQ(check(Chain{under_old.cert, old_inter.cert}), "certs.verify_expired");
  // An expired leaf signed directly by the bundle root.
  const auto direct = make_leaf(test::CertSpec().valid(k2020, kNow - kDay), &root);
  auto r = verify_chain(bundle(), Chain{direct.cert}, at(kNow));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "certs.verify_expired");
  EXPECT_NE(r.error().message.find("EXPIRED|NOT_TRUSTED"), std::string::npos) << r.error().message;
}

TEST_F(CertsVerifyPki, HostnameRules) {
  EXPECT_EQ(check(Chain{leaf.cert, inter.cert}, "other.test"), "certs.verify_hostname");
  EXPECT_EQ(check(Chain{leaf.cert, inter.cert}, "DEVICE.TEST"), "OK");
  EXPECT_EQ(check(Chain{leaf.cert, inter.cert}, ""), "OK");  // not checked when no host is given
  const auto wildcard = make_leaf(test::CertSpec().named("wild").dns_names({"*.example.com"}));
  EXPECT_EQ(check(Chain{wildcard.cert, inter.cert}, "a.example.com"), "OK");
  EXPECT_EQ(check(Chain{wildcard.cert, inter.cert}, "a.b.example.com"), "certs.verify_hostname");
  EXPECT_EQ(check(Chain{wildcard.cert, inter.cert}, "example.com"), "certs.verify_hostname");
  // Without subjectAltName the CN is the name; with one, the CN no longer counts.
  const auto cn_only = make_leaf(test::CertSpec().named("cn.example.com"));
  EXPECT_EQ(check(Chain{cn_only.cert, inter.cert}, "cn.example.com"), "OK");
  const auto cn_and_san = make_leaf(test::CertSpec().named("cn.example.com").dns_names({"san.example.com"}));
  EXPECT_EQ(check(Chain{cn_and_san.cert, inter.cert}, "san.example.com"), "OK");
  EXPECT_EQ(check(Chain{cn_and_san.cert, inter.cert}, "cn.example.com"), "certs.verify_hostname");
  const auto ip = make_leaf(test::CertSpec().named("ip").ip_addresses({"192.0.2.7"}));
  EXPECT_EQ(check(Chain{ip.cert, inter.cert}, "192.0.2.7"), "OK");
  EXPECT_EQ(check(Chain{ip.cert, inter.cert}, "192.0.2.8"), "certs.verify_hostname");
}

TEST_F(CertsVerifyPki, ChainStructure) {
  // A "parent" that is not a CA cannot sign: the leaf stays at the top and its issuer is not in the bundle.
  const auto not_ca = test::issue(test::CertSpec().named("Not A CA").valid(k2020, k2040).serial_number(20),
                                  test::p256_key(), &root);
  const auto under_not_ca = make_leaf(test::CertSpec(), &not_ca);
  EXPECT_EQ(check(Chain{under_not_ca.cert, not_ca.cert}), "certs.verify_no_issuer");
  // A leaf whose signature does not verify under the intermediate it names.
  const auto other_inter = test::issue(test::CertSpec().named("Test Issuing CA").valid(k2020, k2040).as_ca().serial_number(21),
                                       test::p256_key(), &root);
  const auto forged = make_leaf(test::CertSpec(), &other_inter);
  EXPECT_EQ(check(Chain{forged.cert, inter.cert}), "certs.verify_no_issuer");
  EXPECT_EQ(code_of(verify_chain(TrustAnchor::ca(root.cert), Chain{forged.cert, inter.cert}, at(kNow))),
            "certs.verify_untrusted");
  // pathlen:0 on an intermediate forbids another intermediate below it.
  const auto inter0 = test::issue(test::CertSpec().named("Pathlen Zero CA").valid(k2020, k2040).as_ca(0).serial_number(22),
                                  test::p256_key(), &root);
  const auto inter_below = test::issue(test::CertSpec().named("Too Deep CA").valid(k2020, k2040).as_ca().serial_number(23),
                                       test::p256_key(), &inter0);
  const auto deep_leaf = make_leaf(test::CertSpec(), &inter_below);
  EXPECT_EQ(check(Chain{deep_leaf.cert, inter_below.cert, inter0.cert}), "certs.verify_no_issuer");
  const auto shallow_leaf = make_leaf(test::CertSpec(), &inter0);
  EXPECT_EQ(check(Chain{shallow_leaf.cert, inter0.cert}), "OK");
  // pathlen of a trusted CA counts in CA mode; the bundle keeps no extensions, so not there.
  const auto root0 = test::issue(test::CertSpec().named("Root Pathlen Zero").valid(k2020, k2040).as_ca(0).serial_number(24),
                                 test::p256_key(), nullptr);
  const auto inter_r0 = test::issue(test::CertSpec().named("Under Root0").valid(k2020, k2040).as_ca().serial_number(25),
                                    test::p256_key(), &root0);
  const auto leaf_r0 = make_leaf(test::CertSpec(), &inter_r0);
  EXPECT_EQ(code_of(verify_chain(TrustAnchor::ca(root0.cert), Chain{leaf_r0.cert, inter_r0.cert}, at(kNow))),
            "certs.verify_untrusted");
  EXPECT_TRUE(verify_chain(bundle_of({&root0.cert}), Chain{leaf_r0.cert, inter_r0.cert}, at(kNow)));
}

TEST_F(CertsVerifyPki, TooLongChainsAreRefused) {
  std::vector<test::Issued> cas{inter};
  for (int i = 0; i < 9; ++i)
    cas.push_back(test::issue(test::CertSpec().named("Level " + std::to_string(i)).valid(k2020, k2040).as_ca().serial_number(30 + i),
                              test::p256_key(), &cas.back()));
  const auto bottom = make_leaf(test::CertSpec(), &cas.back());
  std::vector<Certificate> chain{bottom.cert};
  for (auto it = cas.rbegin(); it != cas.rend(); ++it) chain.push_back(it->cert);
  EXPECT_EQ(check(chain), "certs.verify_chain_too_long");
  // Eight intermediates are still fine.
  std::vector<Certificate> shorter{make_leaf(test::CertSpec(), &cas[7]).cert};
  for (int i = 7; i >= 0; --i) shorter.push_back(cas[static_cast<size_t>(i)].cert);
  EXPECT_EQ(check(shorter), "OK");
}

TEST_F(CertsVerifyPki, DevicePolicyOnKeysHashesAndUsage) {
  const auto client_only = make_leaf(test::CertSpec().ext_key_usage("clientAuth"));
  EXPECT_EQ(check(Chain{client_only.cert, inter.cert}), "certs.verify_key_usage");
  const auto no_eku = make_leaf(test::CertSpec().ext_key_usage(""));
  EXPECT_EQ(check(Chain{no_eku.cert, inter.cert}), "OK");
  const auto rsa1024 = test::issue(test::CertSpec().valid(k2020, k2040).dns_names({"device.test"}).serial_number(50),
                                   crypto::PrivateKey::generate_rsa(1024).value(), &inter);
  EXPECT_EQ(check(Chain{rsa1024.cert, inter.cert}), "certs.verify_weak_key");
  const auto sha1 = make_leaf(test::CertSpec().hash("SHA1"));
  EXPECT_EQ(check(Chain{sha1.cert, inter.cert}), "certs.verify_weak_hash");
  // ESP-IDF ignores a weak hash on the certificate the bundle vouches for.
  const auto sha1_direct = make_leaf(test::CertSpec().hash("SHA1"), &root);
  EXPECT_EQ(check(Chain{sha1_direct.cert}), "OK");
}

// The verifier inside a real TLS handshake (memory BIOs, no network), as the OTA client uses it.
class FixedClock final : public Clock {
 public:
  explicit FixedClock(int64_t t) : t_(t) {}
  int64_t unix_seconds() const override { return t_; }

 private:
  int64_t t_;
};

struct Handshake {
  bool client_ok = false;
  long verify_result = -1;
};

Handshake tls_handshake(ServerVerifier& verifier, const std::vector<Certificate>& server_chain,
                        const crypto::PrivateKey& server_key) {
  SSL_CTX* sctx = SSL_CTX_new(TLS_server_method());
  SSL_CTX* cctx = SSL_CTX_new(TLS_client_method());
  EXPECT_EQ(SSL_CTX_use_certificate(sctx, server_chain.front().native()), 1);
  for (size_t i = 1; i < server_chain.size(); ++i) SSL_CTX_add1_chain_cert(sctx, server_chain[i].native());
  EXPECT_EQ(SSL_CTX_use_PrivateKey(sctx, server_key.native()), 1);
  verifier.install(cctx);
  SSL* server = SSL_new(sctx);
  SSL* client = SSL_new(cctx);
  BIO* cbio = nullptr;
  BIO* sbio = nullptr;
  BIO_new_bio_pair(&cbio, 0, &sbio, 0);
  SSL_set_bio(client, cbio, cbio);
  SSL_set_bio(server, sbio, sbio);
  SSL_set_connect_state(client);
  SSL_set_accept_state(server);
  Handshake h;
  for (int round = 0; round < 50; ++round) {
    const int c = SSL_do_handshake(client);
    const int s = SSL_do_handshake(server);
    if (c == 1 && s == 1) {
      h.client_ok = true;
      break;
    }
    const int ce = c == 1 ? SSL_ERROR_NONE : SSL_get_error(client, c);
    const int se = s == 1 ? SSL_ERROR_NONE : SSL_get_error(server, s);
    const auto stuck = [](int e) { return e != SSL_ERROR_NONE && e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE; };
    if (stuck(ce) || stuck(se)) break;
  }
  h.verify_result = SSL_get_verify_result(client);
  ERR_clear_error();
  SSL_free(client);
  SSL_free(server);
  SSL_CTX_free(cctx);
  SSL_CTX_free(sctx);
  return h;
}

TEST(CertsVerifyTls, BundleVerifierInsideAnOpenSslHandshake) {
  ESPSEC_REQUIRE_VECTORS();
  const auto anchor = std::make_shared<const TrustAnchor>(vector_bundle());
  const FixedClock clock(kNow);
  const auto key = [](const char* name) {
    return crypto::PrivateKey::load(test::read_vector(std::string("crt_bundle/keys/") + name)).value();
  };
  {
    ServerVerifier v(anchor, clock, "device.test");
    const Handshake h = tls_handshake(v, vector_chain("leaf/leaf_by_alpha_rsa2048.pem"), key("leaf_by_alpha_rsa2048.key"));
    EXPECT_TRUE(h.client_ok);
    EXPECT_EQ(h.verify_result, X509_V_OK);
    ASSERT_TRUE(v.last_verification());
    EXPECT_EQ(v.last_verification()->chain[0].bundle_entry, 5u);
  }
  {
    ServerVerifier v(anchor, clock, "device.test");
    const Handshake h = tls_handshake(v, vector_chain("leaf/chain_leaf_then_intermediate.pem"), key("leaf_via_intermediate.key"));
    EXPECT_TRUE(h.client_ok);
    ASSERT_TRUE(v.last_verification());
    EXPECT_EQ(v.last_verification()->chain.size(), 2u);
  }
  {
    ServerVerifier v(anchor, clock, "device.test");
    const Handshake h = tls_handshake(v, vector_chain("leaf/leaf_untrusted_issuer.pem"), key("leaf_untrusted_issuer.key"));
    EXPECT_FALSE(h.client_ok);
    EXPECT_EQ(h.verify_result, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
    ASSERT_TRUE(v.last_error());
    EXPECT_EQ(v.last_error()->code, "certs.verify_no_issuer");
  }
  {
    ServerVerifier v(anchor, clock, "device.test");
    const Handshake h = tls_handshake(v, vector_chain("leaf/leaf_forged_alpha_name.pem"), key("leaf_forged_alpha_name.key"));
    EXPECT_FALSE(h.client_ok);
    EXPECT_EQ(h.verify_result, X509_V_ERR_CERT_SIGNATURE_FAILURE);
    EXPECT_EQ(v.last_error()->code, "certs.verify_signature");
  }
  {
    ServerVerifier v(anchor, clock, "ota.example.com");
    const Handshake h = tls_handshake(v, vector_chain("leaf/leaf_by_zulu_ecp256.pem"), key("leaf_by_zulu_ecp256.key"));
    EXPECT_FALSE(h.client_ok);
    EXPECT_EQ(h.verify_result, X509_V_ERR_HOSTNAME_MISMATCH);
    EXPECT_EQ(v.last_error()->code, "certs.verify_hostname");
  }
  {
    const FixedClock late(k2040 + 3650 * kDay);
    ServerVerifier v(anchor, late, "device.test");
    const Handshake h = tls_handshake(v, vector_chain("leaf/leaf_by_zulu_ecp256.pem"), key("leaf_by_zulu_ecp256.key"));
    EXPECT_FALSE(h.client_ok);
    EXPECT_EQ(h.verify_result, X509_V_ERR_CERT_HAS_EXPIRED);
  }
}

TEST(CertsVerifyTls, CaAndPinnedAnchorsInsideAHandshake) {
  ESPSEC_REQUIRE_VECTORS();
  const FixedClock clock(kNow);
  const auto key = crypto::PrivateKey::load(test::read_vector("crt_bundle/keys/leaf_by_alpha_rsa2048.key")).value();
  const auto chain = vector_chain("leaf/leaf_by_alpha_rsa2048.pem");
  ServerVerifier ca(std::make_shared<const TrustAnchor>(TrustAnchor::ca(vector_cert("ca/alpha_rsa2048.pem"))), clock,
                    "device.test");
  EXPECT_TRUE(tls_handshake(ca, chain, key).client_ok);
  ServerVerifier pinned(std::make_shared<const TrustAnchor>(TrustAnchor::pinned(chain.front())), clock, "device.test");
  EXPECT_TRUE(tls_handshake(pinned, chain, key).client_ok);
  ServerVerifier wrong_pin(std::make_shared<const TrustAnchor>(TrustAnchor::pinned(vector_cert("leaf/leaf_forged_alpha_name.pem"))),
                           clock, "device.test");
  const Handshake h = tls_handshake(wrong_pin, chain, key);
  EXPECT_FALSE(h.client_ok);
  EXPECT_EQ(h.verify_result, X509_V_ERR_CERT_REJECTED);
  EXPECT_EQ(wrong_pin.last_error()->code, "certs.verify_not_pinned");
}

}  // namespace
}  // namespace espsec::certs
