// espsec ota publish / status and espsec device ota from the command line.
#include <gtest/gtest.h>

#include "device/device_fixture.hpp"
#include "image_fixtures.hpp"
#include "test_util.hpp"

namespace espsec {
namespace {

using test::run_cli;

class OtaCli : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto pub = test::rsa_key_a().public_key().to_pem();
    test::write_bytes(dir_ / "key.pub.pem", pub);
    test::write_bytes(dir_ / "v2.bin", test::signed_app("2.0.0", 2));
    test::write_bytes(dir_ / "v1.bin", test::signed_app("1.0.0", 1));
    test::write_bytes(dir_ / "other.bin", test::sign_image(test::plain_app("3.0.0", 3), test::rsa_key_b()));
    test::write_bytes(dir_ / "unsigned.bin", test::plain_app("3.0.1", 3));
    ASSERT_EQ(run_cli({"ota", "product", "--root", root(), "thermo", "--secure-boot-key", file("key.pub.pem")}).exit_code, 0);
  }
  std::string root() const { return (dir_ / "store").string(); }
  std::string file(const std::string& name) const { return (dir_ / name).string(); }
  test::TempDir dir_;
};

TEST_F(OtaCli, PublishChecksSignatureChipAndDowngrade) {
  auto r = run_cli({"ota", "publish", "--root", root(), "--product", "thermo", file("v2.bin")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Published thermostat 2.0.0 (secure_version 2) on thermo/stable"), std::string::npos) << r.out;
  r = run_cli({"ota", "publish", "--root", root(), "--product", "thermo", file("v1.bin")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("below the channel's current 2"), std::string::npos) << r.err;
  r = run_cli({"ota", "publish", "--root", root(), "--product", "thermo", file("other.bin")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("does not verify with the product's keys"), std::string::npos) << r.err;
  r = run_cli({"ota", "publish", "--root", root(), "--product", "thermo", file("unsigned.bin")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("not signed"), std::string::npos) << r.err;
  r = run_cli({"ota", "publish", "--root", root(), "--product", "nope", file("v2.bin")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("no product 'nope'"), std::string::npos) << r.err;
  r = run_cli({"ota", "publish", "--root", root(), "--product", "thermo", file("key.pub.pem")});
  EXPECT_EQ(r.exit_code, 2);
  r = run_cli({"ota", "status", "--root", root(), "--format", "json"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "[]\n");
}

TEST_F(OtaCli, DeviceOtaArgumentErrors) {
  ASSERT_EQ(run_cli({"device", "create", file("dev")}).exit_code, 0);
  auto r = run_cli({"device", "ota", file("dev"), "--url", "http://127.0.0.1:1/v1/products/p/channels/c/manifest",
                    "--ca", file("key.pub.pem")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("https://"), std::string::npos) << r.err;
  r = run_cli({"device", "ota", file("dev"), "--url", "https://127.0.0.1:1/v1/products/p/channels/c/manifest"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("exactly one of --bundle, --ca or --pin"), std::string::npos) << r.err;
  r = run_cli({"device", "ota", file("dev"), "--url", "https://127.0.0.1:1/v1/products/p/channels/c/manifest", "--ca",
               file("key.pub.pem")});
  EXPECT_EQ(r.exit_code, 2) << "a public key is not a CA certificate";
  r = run_cli({"device", "ota", file("dev"), "--url", "https://127.0.0.1:1/elsewhere", "--ca", file("key.pub.pem")});
  EXPECT_EQ(r.exit_code, 2);
}

}  // namespace
}  // namespace espsec
