// The update server on a real loopback TLS socket.
#include "ota/server.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <optional>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>
#include <openssl/ssl.h>

#include "crypto/hash.hpp"
#include "ota/manifest.hpp"
#include "support/test_pki.hpp"
#include "test_util.hpp"

namespace espsec::ota {
namespace {

using nlohmann::json;

class FixedClock final : public Clock {
 public:
  int64_t unix_seconds() const override { return 1795000000; }
};

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_ = test::make_ca("espsec test CA");
    const auto files =
        test::write_pem_files(dir_.path(), "server", test::make_server_cert(*ca_, "localhost", {"localhost"}, {"127.0.0.1"}));
    cert_ = files.cert;
    key_ = files.key;
    ca_path_ = dir_ / "ca.pem";
    test::write_bytes(ca_path_, as_bytes(test::pem_of(ca_->cert)));
    auto store = Store::open(dir_ / "root");
    ASSERT_TRUE(store) << store.error().message;
    store_ = std::move(*store);
    ServerOptions options{cert_, key_, "127.0.0.1", 0, 4096, 8};
    auto server = Server::create(*store_, options, clock_, [this](const std::string& line) {
      std::lock_guard lock(log_mutex_);
      log_.push_back(line);
    });
    ASSERT_TRUE(server) << server.error().message;
    server_ = std::move(*server);
    auto port = server_->bind();
    ASSERT_TRUE(port) << port.error().message;
    port_ = *port;
    thread_ = std::thread([this] { server_->run(); });
  }

  void TearDown() override {
    if (server_) server_->stop();
    if (thread_.joinable()) thread_.join();
  }

  std::unique_ptr<httplib::SSLClient> client() {
    auto c = std::make_unique<httplib::SSLClient>("127.0.0.1", port_);
    c->set_ca_cert_path(ca_path_.c_str());
    c->enable_server_certificate_verification(true);
    return c;
  }

  Release publish(const std::string& channel, const std::string& version, uint32_t secure_version, Bytes bytes) {
    Release r;
    r.product = "thermostat";
    r.channel = channel;
    r.version = version;
    r.secure_version = secure_version;
    r.project = "thermostat";
    r.size = bytes.size();
    r.sha256 = to_hex(crypto::sha256(bytes));
    r.image_size = bytes.size();
    r.image_sha256 = r.sha256;
    r.published_at = clock_.unix_seconds();
    EXPECT_TRUE(store_->publish(r, bytes));
    return r;
  }

  test::TempDir dir_;
  std::optional<test::Issued> ca_;
  std::filesystem::path cert_, key_, ca_path_;
  FixedClock clock_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
  int port_ = 0;
  std::mutex log_mutex_;
  std::vector<std::string> log_;
};

Bytes pattern(size_t n) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(i * 7 + (i >> 8));
  return b;
}

TEST_F(ServerTest, ManifestOfTheLatestReleaseParses) {
  auto c = client();
  auto none = c->Get("/v1/products/thermostat/channels/stable/manifest");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 404);
  publish("stable", "1.0.0", 1, pattern(5000));
  const Release r2 = publish("stable", "2.0.0", 2, pattern(7000));
  auto res = c->Get("/v1/products/thermostat/channels/stable/manifest");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  auto m = parse_manifest(res->body);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->release.version, "2.0.0");
  EXPECT_EQ(m->release.secure_version, 2u);
  EXPECT_EQ(m->release.sha256, r2.sha256);
  EXPECT_EQ(m->url, "/v1/images/" + r2.sha256 + ".bin");
}

TEST_F(ServerTest, ServesImagesWithRanges) {
  const Bytes bytes = pattern(200000);
  const Release r = publish("stable", "1.0.0", 1, bytes);
  auto c = client();
  auto whole = c->Get(image_url(r));
  ASSERT_TRUE(whole);
  ASSERT_EQ(whole->status, 200);
  EXPECT_EQ(Bytes(whole->body.begin(), whole->body.end()), bytes);
  auto part = c->Get(image_url(r), {{"Range", "bytes=100000-"}});
  ASSERT_TRUE(part);
  EXPECT_EQ(part->status, 206);
  EXPECT_EQ(Bytes(part->body.begin(), part->body.end()), Bytes(bytes.begin() + 100000, bytes.end()));
  auto slice = c->Get(image_url(r), {{"Range", "bytes=10-19"}});
  ASSERT_TRUE(slice);
  EXPECT_EQ(slice->status, 206);
  EXPECT_EQ(Bytes(slice->body.begin(), slice->body.end()), Bytes(bytes.begin() + 10, bytes.begin() + 20));
  auto clamped = c->Get(image_url(r), {{"Range", "bytes=199990-200000"}});
  ASSERT_TRUE(clamped);
  EXPECT_EQ(clamped->status, 206);
  EXPECT_EQ(clamped->body.size(), 10u) << "an end index at or past the length is clamped";
  auto suffix = c->Get(image_url(r), {{"Range", "bytes=-5"}});
  ASSERT_TRUE(suffix);
  EXPECT_EQ(suffix->status, 206);
  EXPECT_EQ(Bytes(suffix->body.begin(), suffix->body.end()), Bytes(bytes.end() - 5, bytes.end()));
  for (const char* bad : {"bytes=300000-", "bytes=200000-", "bytes=0-1,5-6"}) {
    auto res = c->Get(image_url(r), {{"Range", bad}});
    ASSERT_TRUE(res) << bad;
    EXPECT_EQ(res->status, 416) << bad;
    EXPECT_EQ(res->get_header_value("Content-Range"), "bytes */200000") << bad;
  }
}

TEST_F(ServerTest, RefusesTraversalAndMalformedNames) {
  auto c = client();
  for (const char* path : {"/v1/images/..%2f..%2fota.sqlite.bin", "/v1/images/../ota.sqlite.bin",
                           "/v1/images/ABCDEF.bin", "/v1/products/..%2fx/channels/stable/manifest",
                           "/v1/products/.hidden/channels/stable/manifest", "/etc/passwd", "/v1/../ota.sqlite"}) {
    auto res = c->Get(path);
    ASSERT_TRUE(res) << path;
    EXPECT_TRUE(res->status == 400 || res->status == 404) << path << " -> " << res->status;
    EXPECT_EQ(res->body.find("SQLite"), std::string::npos) << path;
  }
}

TEST_F(ServerTest, CheckInAndReportsAreStored) {
  publish("stable", "2.0.0", 2, pattern(3000));
  auto c = client();
  auto res = c->Post("/v1/devices/dev-1/checkin",
                     json{{"product", "thermostat"}, {"channel", "stable"}, {"version", "1.0.0"}, {"secure_version", 1}}.dump(),
                     "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  const auto body = json::parse(res->body);
  EXPECT_TRUE(body["update"].get<bool>());
  EXPECT_EQ(body["manifest"]["version"], "2.0.0");
  res = c->Post("/v1/devices/dev-1/report", json{{"status", "failed"}, {"version", "2.0.0"}, {"reason", "GCM tag"}}.dump(),
                "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  auto devices = store_->devices();
  ASSERT_TRUE(devices);
  ASSERT_EQ(devices->size(), 1u);
  EXPECT_EQ((*devices)[0].last_status, "failed");
  EXPECT_EQ((*devices)[0].last_reason, "GCM tag");
  auto listed = c->Get("/v1/devices");
  ASSERT_TRUE(listed);
  EXPECT_EQ(json::parse(listed->body)[0]["id"], "dev-1");
}

TEST_F(ServerTest, RejectsBadBodiesAndOversizedRequests) {
  auto c = client();
  auto res = c->Post("/v1/devices/dev-1/report", "{not json", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  res = c->Post("/v1/devices/dev-1/report", json{{"status", "hacked"}}.dump(), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  res = c->Post("/v1/devices/dev-1/checkin", std::string(100000, 'x'), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 413);
}

TEST_F(ServerTest, RefusesTlsOlderThan12AndLogsEachRequest) {
  auto c = client();
  SSL_CTX_set_max_proto_version(c->ssl_context(), TLS1_1_VERSION);
  auto res = c->Get("/v1/devices");
  EXPECT_FALSE(res);
  auto ok = client()->Get("/v1/devices");
  ASSERT_TRUE(ok);
  std::lock_guard lock(log_mutex_);
  ASSERT_FALSE(log_.empty());
  EXPECT_NE(log_.back().find("GET /v1/devices 200"), std::string::npos) << log_.back();
}

TEST_F(ServerTest, UntrustedClientsCannotConnect) {
  httplib::SSLClient c("127.0.0.1", port_);
  c.enable_server_certificate_verification(true);  // default system roots do not know our CA
  auto res = c.Get("/v1/devices");
  EXPECT_FALSE(res);
}

// Many devices checking in and downloading at once: every request must succeed.
TEST_F(ServerTest, ConcurrentDevicesSeeZeroErrors) {
  const Bytes bytes = pattern(256 * 1024);
  const Release r = publish("stable", "2.0.0", 2, bytes);
  const int devices = 24, rounds = 4;
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int d = 0; d < devices; ++d) {
    threads.emplace_back([&, d] {
      auto c = client();
      for (int i = 0; i < rounds; ++i) {
        auto res = c->Post(fmt::format("/v1/devices/dev-{}/checkin", d),
                           json{{"product", "thermostat"}, {"channel", "stable"}, {"version", "1.0.0"}, {"secure_version", 1}}.dump(),
                           "application/json");
        if (!res || res->status != 200) ++errors;
        const size_t from = static_cast<size_t>(d * 1000 + i);
        auto img = c->Get(image_url(r), {{"Range", fmt::format("bytes={}-", from)}});
        if (!img || img->status != 206 || img->body.size() != bytes.size() - from ||
            std::memcmp(img->body.data(), bytes.data() + from, img->body.size()) != 0)
          ++errors;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  auto all = store_->devices();
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), static_cast<size_t>(devices));
}

TEST(Manifest, RejectsMalformedDocuments) {
  EXPECT_EQ(parse_manifest("[]").error().code, "ota.manifest_json");
  EXPECT_EQ(parse_manifest("{\"product\": 1}").error().code, "ota.manifest_field");
  Release r;
  r.product = "p";
  r.channel = "c";
  r.version = "1";
  r.project = "p";
  r.sha256 = std::string(64, 'a');
  r.image_sha256 = std::string(64, 'b');
  auto j = to_json(r);
  EXPECT_TRUE(parse_manifest(j.dump()));
  j["sha256"] = "../../etc";
  EXPECT_FALSE(parse_manifest(j.dump()));
  j = to_json(r);
  j["product"] = "../x";
  EXPECT_FALSE(parse_manifest(j.dump()));
  j = to_json(r);
  j["version"] = std::string(40, 'v');
  EXPECT_FALSE(parse_manifest(j.dump()));
}

}  // namespace
}  // namespace espsec::ota
