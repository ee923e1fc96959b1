// The device's OTA agent against the real update server on loopback TLS: updates, pre-encrypted
// images, every refusal, and downloads that survive dropped connections.
#include "device/ota_agent.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "certs/builder.hpp"
#include "certs/x509.hpp"
#include "crypto/hash.hpp"
#include "device/chip_state.hpp"
#include "device/device_fixture.hpp"
#include "encimg/encrypt.hpp"
#include "format/image.hpp"
#include "image_fixtures.hpp"
#include "ota/manifest.hpp"
#include "ota/publish.hpp"
#include "ota/server.hpp"
#include "support/tcp_proxy.hpp"
#include "support/test_pki.hpp"
#include "test_util.hpp"

namespace espsec::device {
namespace {

class Now final : public Clock {
 public:
  int64_t unix_seconds() const override { return SystemClock().unix_seconds(); }
};

SecurityConfig secure_device() {
  SecurityConfig s = test::full_security(FlashEncryption::kRelease);
  return s;
}

class OtaAgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_ = test::make_ca("espsec OTA test CA");
    const auto files =
        test::write_pem_files(dir_.path(), "server", test::make_server_cert(*ca_, "localhost", {"localhost"}, {"127.0.0.1"}));
    cert_ = files.cert;
    key_ = files.key;
    auto store = ota::Store::open(dir_ / "store");
    ASSERT_TRUE(store);
    store_ = std::move(*store);
    ASSERT_TRUE(store_->put_product({"thermo", "esp32c3", true, {to_hex(test::key_digest_of(test::rsa_key_a()))}}));
    start_server(cert_, key_);
    c3_ = std::make_unique<test::VirtualC3>(secure_device());
    c3_->install(test::signed_bootloader(), test::signed_app("1.0.0", 1));
    const BootReport first = c3_->boot();
    ASSERT_EQ(first.status, BootStatus::kBooted);
  }

  void TearDown() override { stop_server(); }

  void start_server(const std::filesystem::path& cert, const std::filesystem::path& key) {
    stop_server();
    auto server = ota::Server::create(*store_, {cert, key, "127.0.0.1", 0, 16 * 1024, 8}, clock_, nullptr);
    ASSERT_TRUE(server) << server.error().message;
    server_ = std::move(*server);
    auto port = server_->bind();
    ASSERT_TRUE(port);
    port_ = *port;
    thread_ = std::thread([this] { server_->run(); });
  }

  void stop_server() {
    if (server_) server_->stop();
    if (thread_.joinable()) thread_.join();
    server_.reset();
  }

  std::string manifest_url(int port = 0, const std::string& channel = "stable") const {
    return fmt::format("https://127.0.0.1:{}/v1/products/thermo/channels/{}/manifest", port ? port : port_, channel);
  }

  std::shared_ptr<const certs::TrustAnchor> ca_anchor() const {
    return std::make_shared<const certs::TrustAnchor>(
        certs::TrustAnchor::ca(ca_->cert));
  }

  Result<UpdateReport> update(std::shared_ptr<const certs::TrustAnchor> anchor, int port = 0,
                              std::optional<encimg::DecryptionKey> key = std::nullopt,
                              const std::string& channel = "stable") {
    const std::string url = manifest_url(port, channel);
    auto transport = ota::connect_https(ota::parse_https_url(url).value(), std::move(anchor), clock_);
    EXPECT_TRUE(transport);
    auto device = c3_->attach();
    UpdateOptions options;
    options.url = url;
    options.decryption_key = std::move(key);
    return run_update(*device, **transport, options);
  }

  ota::Release publish(const Bytes& image, const std::string& channel = "stable",
                       std::optional<encimg::EncryptionKey> encrypt_for = std::nullopt) {
    crypto::DeterministicRng rng(3);
    auto r = ota::publish(*store_, {"thermo", channel, image, std::move(encrypt_for)}, rng, clock_);
    EXPECT_TRUE(r) << r.error().message;
    return *r;
  }

  // A release stored without the server's checks: what a compromised or careless server serves.
  void store_raw(const Bytes& served, const Bytes& image, const std::string& version, uint32_t secure_version,
                 bool encrypted = false, const std::string& channel = "stable") {
    ota::Release r;
    r.product = "thermo";
    r.channel = channel;
    r.version = version;
    r.secure_version = secure_version;
    r.project = "thermo";
    r.size = served.size();
    r.sha256 = to_hex(crypto::sha256(served));
    r.encrypted = encrypted;
    r.image_size = image.size();
    r.image_sha256 = to_hex(crypto::sha256(image));
    ASSERT_TRUE(store_->publish(r, served));
  }

  std::string last_report_reason() {
    auto reports = store_->reports(c3_->config.id);
    return reports && !reports->empty() ? reports->back().status + ": " + reports->back().reason : "";
  }

  // The otadata selection and ota_1 contents, to prove a refusal changed nothing.
  Bytes snapshot() const {
    const auto& m = c3_->memory.contents();
    Bytes out(m.begin() + test::kOtadata, m.begin() + test::kOtadata + 0x2000);
    return out;
  }

  void expect_refused(const Result<UpdateReport>& r, const std::string& code, const Bytes& before) {
    ASSERT_TRUE(r) << r.error().code << ": " << r.error().message;
    EXPECT_EQ(r->status, UpdateStatus::kRefused) << r->reason;
    EXPECT_EQ(r->code, code) << r->reason;
    EXPECT_EQ(snapshot(), before) << "a refused update must not touch otadata";
    const BootReport again = c3_->boot();
    ASSERT_EQ(again.status, BootStatus::kBooted);
    EXPECT_EQ(again.app->desc.version, "1.0.0");
  }

  test::TempDir dir_;
  std::optional<test::Issued> ca_;
  std::filesystem::path cert_, key_;
  Now clock_;
  std::unique_ptr<ota::Store> store_;
  std::unique_ptr<ota::Server> server_;
  std::thread thread_;
  int port_ = 0;
  std::unique_ptr<test::VirtualC3> c3_;
};

TEST_F(OtaAgentTest, UpdatesConfirmsAndRaisesTheSecureVersion) {
  const Bytes v2 = test::signed_app("2.0.0", 2);
  publish(v2);
  auto r = update(ca_anchor());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, UpdateStatus::kUpdated) << r->reason;
  EXPECT_EQ(r->connections, 1u);
  ASSERT_TRUE(r->boot && r->boot->app);
  EXPECT_EQ(r->boot->app->label, "ota_1");
  EXPECT_EQ(r->boot->app->ota_state, otadata::state::kValid);
  EXPECT_EQ(c3_->attach()->efuses().secure_version(), 2u);
  auto devices = store_->devices();
  ASSERT_TRUE(devices && devices->size() == 1);
  EXPECT_EQ((*devices)[0].last_status, "valid");
  // Nothing more to do once the channel's version runs.
  r = update(ca_anchor());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, UpdateStatus::kUpToDate);
}

TEST_F(OtaAgentTest, PreEncryptedImageIsDecryptedWhileStreaming) {
  auto device_key = crypto::PrivateKey::load(test::read_vector("encrypted_img/rsa3072_private.pem"));
  if (!device_key) GTEST_SKIP() << "interop vectors not found; the RSA test key comes from them";
  const Bytes v2 = test::signed_app("2.0.0", 2);
  publish(v2, "stable", encimg::EncryptionKey::from_public_key(device_key->public_key()).value());
  auto r = update(ca_anchor(), 0, encimg::DecryptionKey::from_private_key(*device_key).value());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, UpdateStatus::kUpdated) << r->reason;
  EXPECT_EQ(r->boot->app->desc.version, "2.0.0");
}

TEST_F(OtaAgentTest, EciesImageDecryptedWithTheHmacUpEfuseKey) {
  // The product's firmware derives its ECIES key from an eFuse key with purpose HMAC_UP, burned
  // read-protected at the factory before the first boot (which locks RD_DIS): only the chip's
  // HMAC engine sees it.
  crypto::DeterministicRng rng(21);
  const SecretBytes hmac_key = rng.secret(32);
  c3_ = std::make_unique<test::VirtualC3>(secure_device());
  c3_->install(test::signed_bootloader(), test::signed_app("1.0.0", 1));
  {
    auto device = c3_->attach();
    auto batch = device->efuses().begin_batch();
    auto block = batch.write_key_to_unused_block(efuse::KeyPurpose::kHmacUp, hmac_key);
    ASSERT_TRUE(block) << block.error().message;
    ASSERT_TRUE(batch.commit());
    EXPECT_FALSE(device->efuses().block_readable(*block));
  }
  ASSERT_EQ(c3_->boot().status, BootStatus::kBooted);
  const auto device_key = encimg::derive_ecies_device_key(hmac_key).value();
  publish(test::signed_app("2.0.0", 2), "stable",
          encimg::EncryptionKey::from_public_key(device_key.public_key()).value());
  auto device = c3_->attach();
  DeviceConfig config = device->config();
  config.ota = OtaConfig{manifest_url(), "ca", "unused", "efuse-hmac"};
  auto key = firmware_decryption_key(*device, config);
  ASSERT_TRUE(key) << key.error().message;
  ASSERT_TRUE(key->has_value());
  device.reset();
  auto r = update(ca_anchor(), 0, std::move(**key));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, UpdateStatus::kUpdated) << r->reason;
}

TEST_F(OtaAgentTest, NewAppThatCannotReachTheServerRollsBack) {
  publish(test::signed_app("2.0.0", 2));
  const std::string url = manifest_url();
  auto transport = ota::connect_https(ota::parse_https_url(url).value(), ca_anchor(), clock_).value();
  // The server goes away right after the download: the new app cannot confirm itself.
  class CutAfterInstall final : public ota::Transport {
   public:
    explicit CutAfterInstall(ota::Transport& inner) : inner_(inner) {}
    Result<Response> get(const std::string& p, std::optional<uint64_t> r, const std::function<bool(ByteSpan)>& s) override {
      return inner_.get(p, r, s);
    }
    Result<std::string> post_json(const std::string& p, const std::string& body) override {
      if (installed_ && p.ends_with("/checkin")) return fail("ota.transport", "network down");
      if (body.find("\"installed\"") != std::string::npos) installed_ = true;
      return inner_.post_json(p, body);
    }

   private:
    ota::Transport& inner_;
    bool installed_ = false;
  } flaky(*transport);
  auto device = c3_->attach();
  auto r = run_update(*device, flaky, UpdateOptions{url, std::nullopt, 16});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, UpdateStatus::kPendingConfirm);
  EXPECT_EQ(c3_->attach()->efuses().secure_version(), 1u) << "not raised before the app is confirmed";
  const BootReport next = c3_->boot();
  ASSERT_EQ(next.status, BootStatus::kBooted);
  EXPECT_EQ(next.app->desc.version, "1.0.0") << "the unconfirmed update rolled back";
}

// ---- Refusals: nothing switched, the reason reaches the server ----------------------------------

TEST_F(OtaAgentTest, ServerNotInTheBundleExpiredOrWrongHost) {
  publish(test::signed_app("2.0.0", 2));
  const Bytes before = snapshot();
  // A bundle that holds another root only.
  const auto other = test::make_ca("some other root");
  std::vector<certs::CollectedCertificate> roots{{other.cert, "other"}};
  auto bundle = certs::build_bundle(roots);
  ASSERT_TRUE(bundle);
  auto anchor = certs::TrustAnchor::bundle(*bundle);
  ASSERT_TRUE(anchor);
  expect_refused(update(std::make_shared<const certs::TrustAnchor>(std::move(*anchor))), "certs.verify_no_issuer", before);

  const auto expired = test::write_pem_files(
      dir_.path(), "expired", test::make_server_cert(*ca_, "localhost", {"localhost"}, {"127.0.0.1"}, -10 * 86400, -86400));
  start_server(expired.cert, expired.key);
  expect_refused(update(ca_anchor()), "certs.verify_expired", before);

  const auto wrong_host = test::write_pem_files(
      dir_.path(), "wrong_host", test::make_server_cert(*ca_, "ota.example.com", {"ota.example.com"}, {}));
  start_server(wrong_host.cert, wrong_host.key);
  expect_refused(update(ca_anchor()), "certs.verify_hostname", before);
}

TEST_F(OtaAgentTest, TamperedImageOnTheServer) {
  const ota::Release r = publish(test::signed_app("2.0.0", 2));
  Bytes served = test::read_bytes(store_->image_path(r.sha256));
  served[5000] ^= 1;
  test::write_bytes(store_->image_path(r.sha256), served);
  const Bytes before = snapshot();
  expect_refused(update(ca_anchor()), "ota.digest", before);
  EXPECT_NE(last_report_reason().find("failed: the download's SHA-256 differs"), std::string::npos)
      << last_report_reason();
}

TEST_F(OtaAgentTest, UnsignedOrSignedByAnUnknownKey) {
  const Bytes before = snapshot();
  const Bytes unsigned_app = test::plain_app("2.0.0", 2);
  store_raw(unsigned_app, unsigned_app, "2.0.0", 2);
  expect_refused(update(ca_anchor()), "secure_boot.no_valid_block", before);
  const Bytes other_key = test::sign_image(test::plain_app("2.0.1", 2), test::rsa_key_b());
  store_raw(other_key, other_key, "2.0.1", 2);
  expect_refused(update(ca_anchor()), "secure_boot.key_not_burned", before);
  EXPECT_NE(last_report_reason().find("failed:"), std::string::npos);
}

TEST_F(OtaAgentTest, RevokedKeyIsRefused) {
  // A device trusting keys A and B; A is revoked after provisioning.
  c3_ = std::make_unique<test::VirtualC3>(secure_device());
  const crypto::PrivateKey* both[] = {&test::rsa_key_a(), &test::rsa_key_b()};
  c3_->install(test::sign_image(test::plain_bootloader(), both), test::sign_image(test::plain_app("1.0.0", 1), both));
  ASSERT_EQ(c3_->boot().status, BootStatus::kBooted);
  c3_->burn("SECURE_BOOT_KEY_REVOKE0", 1);
  const Bytes before = snapshot();
  const Bytes by_a = test::signed_app("2.0.0", 2);
  store_raw(by_a, by_a, "2.0.0", 2);
  expect_refused(update(ca_anchor()), "secure_boot.key_revoked", before);
}

TEST_F(OtaAgentTest, LowerSecureVersionWrongChipOrTooLargeAreRefusedBeforeWriting) {
  // A device whose running app has secure_version 3 (and the eFuse with it).
  c3_ = std::make_unique<test::VirtualC3>(secure_device());
  c3_->install(test::signed_bootloader(), test::signed_app("1.0.0", 3));
  ASSERT_EQ(c3_->boot().status, BootStatus::kBooted);
  ASSERT_EQ(c3_->attach()->efuses().secure_version(), 3u);
  const auto ota1 = [&] {
    const auto& m = c3_->memory.contents();
    return Bytes(m.begin() + test::kOta1, m.begin() + test::kOta1 + 0x1000);
  };
  const Bytes before = snapshot();
  const Bytes ota1_before = ota1();
  const Bytes old = test::signed_app("2.0.0", 2);
  store_raw(old, old, "2.0.0", 2);
  expect_refused(update(ca_anchor()), "ota.secure_version", before);
  EXPECT_EQ(ota1(), ota1_before) << "refused before the first flash write";

  Bytes s3 = test::plain_app("3.0.0", 4);
  s3[12] = 0x09;  // ESP32-S3
  s3 = test::sign_image(s3, test::rsa_key_a());
  store_raw(s3, s3, "3.0.0", 4);
  expect_refused(update(ca_anchor()), "ota.wrong_chip", before);
  EXPECT_EQ(ota1(), ota1_before);

  const Bytes huge = test::signed_app("4.0.0", 4, 0x200000);
  store_raw(huge, huge, "4.0.0", 4);
  expect_refused(update(ca_anchor()), "ota.too_large", before);
  EXPECT_EQ(ota1(), ota1_before);
}

TEST_F(OtaAgentTest, CorruptedOrTruncatedPreEncryptedImage) {
  auto device_key = crypto::PrivateKey::load(test::read_vector("encrypted_img/rsa3072_private.pem"));
  if (!device_key) GTEST_SKIP() << "interop vectors not found; the RSA test key comes from them";
  const auto enc_key = encimg::EncryptionKey::from_public_key(device_key->public_key()).value();
  const Bytes v2 = test::signed_app("2.0.0", 2);
  crypto::DeterministicRng rng(9);
  Bytes encrypted = encimg::encrypt_image(v2, enc_key, rng).value();
  Bytes corrupted = encrypted;
  corrupted[corrupted.size() - 1] ^= 1;  // the server's digest matches: only the GCM tag can tell
  store_raw(corrupted, v2, "2.0.0", 2, true);
  const Bytes before = snapshot();
  auto key = [&] { return encimg::DecryptionKey::from_private_key(*device_key).value(); };
  expect_refused(update(ca_anchor(), 0, key()), "encimg.tag", before);
  const Bytes truncated(encrypted.begin(), encrypted.end() - 1000);
  store_raw(truncated, v2, "2.0.1", 2, true);
  expect_refused(update(ca_anchor(), 0, key()), "encimg.body_truncated", before);
}

// ---- Dropped connections --------------------------------------------------------------------------

// Each plan: server-to-device byte counts after which successive connections are cut. The first
// connection also carries the TLS handshake, the check-in and the manifest (a few KiB), so the
// cuts land inside the image download; later cuts hit resumed connections, one of them during its
// TLS handshake.
class OtaResumeTest : public OtaAgentTest, public ::testing::WithParamInterface<std::vector<uint64_t>> {};

TEST_P(OtaResumeTest, DownloadResumesAndTheResultIsIdentical) {
  const Bytes v2 = test::signed_app("2.0.0", 2, 0x30000);
  publish(v2);
  test::TcpProxy flaky(port_);
  flaky.drop_after(GetParam());
  auto r = update(ca_anchor(), flaky.port());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, UpdateStatus::kUpdated) << r->reason;
  EXPECT_GE(r->connections, 2u);
  auto device = c3_->attach();
  auto view = CacheView::open(*device).value();
  EXPECT_EQ(view.flash().read_bytes(test::kOta1, static_cast<uint32_t>(v2.size())).value(), v2)
      << "the resumed download must write exactly the published image";
}

INSTANTIATE_TEST_SUITE_P(DroppedConnections, OtaResumeTest,
                         ::testing::Values(std::vector<uint64_t>{20000}, std::vector<uint64_t>{45000},
                                           std::vector<uint64_t>{80000}, std::vector<uint64_t>{120000},
                                           std::vector<uint64_t>{160000}, std::vector<uint64_t>{190000},
                                           std::vector<uint64_t>{30000, 30000, 30000},
                                           std::vector<uint64_t>{60000, 500},
                                           std::vector<uint64_t>{25000, 4097, 70000}));

}  // namespace
}  // namespace espsec::device
