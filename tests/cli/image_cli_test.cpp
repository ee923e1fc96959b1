// `espsec image info` and `espsec image new` run as a user would: output, exit codes and the
// one-line error for every bad input.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "image_fixtures.hpp"
#include "test_util.hpp"

namespace espsec {
namespace {

using test::run_cli;
namespace fs = std::filesystem;

std::string vector_path(const std::string& relative) { return (test::vectors_dir() / relative).string(); }

bool one_line(const std::string& text) {
  return !text.empty() && text.back() == '\n' && std::count(text.begin(), text.end(), '\n') == 1;
}

void expect_refused(const test::CliResult& r, const std::string& fragment) {
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(one_line(r.err)) << r.err;
  EXPECT_NE(r.err.find(fragment), std::string::npos) << r.err;
}

TEST(ImageInfoCli, TextDescribesASignedBootloader) {
  ESPSEC_REQUIRE_VECTORS();
  const auto r = run_cli({"image", "info", vector_path("secure/esptool/bootloader_multi_signed_v2.bin")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* line : {"Chip ID: 0 (ESP32)", "Segments: 4", "Flash mode: DIO", "Checksum: 0xfc (valid)",
                           "Validation hash: ae743beed340fd6ae6715299ec5d48b8282ef1f118707deb2a88fcf61c0816ef (valid)",
                           "Image length: 0x7710 (30480 bytes)", "Padding after the image: 2288 bytes (all 0xFF)",
                           "Secure Boot v2 Signature Sector at 0x8000",
                           "Block 2: RSA-3072, key digest 27919392d68bab79286a26759143a5b1d599efcebd754e5703b5dd23b5e3dd3b, "
                           "image digest matches the image, signature verifies"})
    EXPECT_NE(r.out.find(line), std::string::npos) << line << "\n" << r.out;
}

TEST(ImageInfoCli, JsonForScripts) {
  ESPSEC_REQUIRE_VECTORS();
  const std::string path = vector_path("secure/esptool/hello-world-signed.bin");
  const auto r = run_cli({"image", "info", "--format", "json", path});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["file"], path);
  EXPECT_EQ(j["file_size"], 196608);
  EXPECT_EQ(j["chip"]["id"], 0);
  EXPECT_EQ(j["chip"]["name"], "esp32");
  EXPECT_EQ(j["header"]["segment_count"], 7);
  EXPECT_EQ(j["header"]["entry_addr"], 0x40080C54);
  EXPECT_EQ(j["header"]["spi_mode_name"], "DIO");
  ASSERT_EQ(j["segments"].size(), 7u);
  EXPECT_EQ(j["segments"][5]["kind"], "map");
  EXPECT_EQ(j["segments"][5]["load_addr"], 0x400D0018);
  EXPECT_EQ(j["segments"][5]["header_offset"], 0x10010);
  EXPECT_EQ(j["segments"][5]["data_offset"], 0x10018);
  EXPECT_EQ(j["segments"][4]["kind"], "padding");
  EXPECT_EQ(j["checksum"]["valid"], true);
  EXPECT_EQ(j["checksum"]["stored"], 0x30);
  EXPECT_EQ(j["hash"]["valid"], true);
  EXPECT_EQ(j["layout"]["image_length"], 0x2FFB0);
  EXPECT_EQ(j["layout"]["signed_length"], 0x30000);
  EXPECT_EQ(j["layout"]["padding_length"], 80);
  EXPECT_EQ(j["layout"]["padding_erased"], false);
  EXPECT_EQ(j["app_desc"]["project_name"], "hello-world");
  EXPECT_EQ(j["app_desc"]["secure_version"], 0);
  EXPECT_TRUE(j["bootloader_desc"].is_null());
  EXPECT_TRUE(j["signature_sector"].is_null());

  const auto signed_json =
      run_cli({"image", "info", "--format=json", vector_path("secure/esptool/bootloader_signed_v2_ecdsa256.bin")});
  ASSERT_EQ(signed_json.exit_code, 0);
  const auto s = nlohmann::json::parse(signed_json.out);
  EXPECT_EQ(s["signature_sector"]["offset"], 0x8000);
  const auto& block = s["signature_sector"]["blocks"][0];
  EXPECT_EQ(block["state"], "valid");
  EXPECT_EQ(block["scheme"], "ECDSA P-256");
  EXPECT_EQ(block["key_digest"], "f35cc5dbdde67f94a7bbcb5723371ba91822193582308f84cb95b4531219056d");
  EXPECT_EQ(block["digest_matches_image"], true);
  EXPECT_EQ(block["signature_verifies"], true);
  EXPECT_EQ(s["signature_sector"]["blocks"][1]["state"], "absent");
}

TEST(ImageInfoCli, ReportsABrokenSignatureBlockAndABadChecksumWithoutFailing) {
  test::TempDir dir;
  Bytes image = test::sign_image(test::small_app(), test::rsa_key_a());
  image[0x1000 + 100] ^= 1;  // block 0 CRC now wrong
  image[0x73F] ^= 1;         // checksum
  test::write_bytes(dir / "bad.bin", image);
  const auto r = run_cli({"image", "info", "--format", "json", (dir / "bad.bin").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["checksum"]["valid"], false);
  EXPECT_EQ(j["hash"]["valid"], false);
  EXPECT_EQ(j["signature_sector"]["blocks"][0]["state"], "invalid");
  EXPECT_NE(j["signature_sector"]["blocks"][0]["problem"].get<std::string>().find("CRC"), std::string::npos);
  const auto text = run_cli({"image", "info", (dir / "bad.bin").string()});
  EXPECT_NE(text.out.find("Checksum: 0x"), std::string::npos);
  EXPECT_NE(text.out.find("(invalid - calculated"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("Block 0: invalid (CRC mismatch"), std::string::npos) << text.out;
}

TEST(ImageInfoCli, NonImagesAndTruncatedFilesAreRefusedInOneLine) {
  ESPSEC_REQUIRE_VECTORS();
  const std::string random_app = vector_path("secure/sign/app_1MiB.bin");
  auto r = run_cli({"image", "info", random_app});
  expect_refused(r, random_app + ": segment 0 length 0x15f9c0f8 is not below the 16 MiB limit");
  EXPECT_TRUE(r.out.empty()) << r.out;

  test::TempDir dir;
  const Bytes image = test::small_app();
  test::write_bytes(dir / "half.bin", ByteSpan(image).first(image.size() / 2));
  expect_refused(run_cli({"image", "info", (dir / "half.bin").string()}), "half.bin: segment 1 data");
  test::write_bytes(dir / "nohash.bin", ByteSpan(image).first(image.size() - 1));
  expect_refused(run_cli({"image", "info", (dir / "nohash.bin").string()}), "appended SHA-256");
  test::write_bytes(dir / "empty.bin", {});
  expect_refused(run_cli({"image", "info", (dir / "empty.bin").string()}), "empty.bin: file is empty");
  test::write_bytes(dir / "text.bin", as_bytes("hello, world"));
  expect_refused(run_cli({"image", "info", (dir / "text.bin").string()}), "text.bin: invalid magic byte 0x68");
  expect_refused(run_cli({"image", "info", (dir / "missing.bin").string()}), "missing.bin");
  EXPECT_EQ(run_cli({"image", "info", "--format", "xml", (dir / "text.bin").string()}).exit_code, 2);
}

TEST(ImageNewCli, AppImageThatInfoReadsBack) {
  test::TempDir dir;
  const auto out = (dir / "app.bin").string();
  const auto r = run_cli({"image", "new", "--chip", "esp32c3", "--project", "hello", "--version", "1.2.3",
                          "--secure_version", "4", "--size", "0x100000", "--idf-version", "v5.3", "--seed", "9", out});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("1048576 bytes"), std::string::npos) << r.out;
  EXPECT_EQ(fs::file_size(out), 0x100000u);
  const auto info = run_cli({"image", "info", "--format", "json", out});
  ASSERT_EQ(info.exit_code, 0) << info.err;
  const auto j = nlohmann::json::parse(info.out);
  EXPECT_EQ(j["chip"]["name"], "esp32c3");
  EXPECT_EQ(j["app_desc"]["project_name"], "hello");
  EXPECT_EQ(j["app_desc"]["version"], "1.2.3");
  EXPECT_EQ(j["app_desc"]["secure_version"], 4);
  EXPECT_EQ(j["app_desc"]["idf_ver"], "v5.3");
  EXPECT_EQ(j["checksum"]["valid"], true);
  EXPECT_EQ(j["hash"]["valid"], true);
  // Same options, same bytes.
  const auto again = (dir / "again.bin").string();
  ASSERT_EQ(run_cli({"image", "new", "--chip", "esp32c3", "--project", "hello", "--version", "1.2.3",
                     "--secure-version", "4", "--size", "1048576", "--idf_version", "v5.3", "--seed", "9", again})
                .exit_code,
            0);
  EXPECT_EQ(test::read_bytes(again), test::read_bytes(out));
}

TEST(ImageNewCli, SecurePaddedAppAndBootloader) {
  test::TempDir dir;
  const auto app = (dir / "app.bin").string();
  ASSERT_EQ(run_cli({"image", "new", "--chip", "esp32c3", "--project", "p", "--version", "1", "--size", "200000",
                     "--secure-pad", app})
                .exit_code,
            0);
  EXPECT_EQ(fs::file_size(app), 0x30000u);
  const auto boot = (dir / "boot.bin").string();
  const auto r = run_cli({"image", "new", "--bootloader", "--chip", "esp32c3", "--version", "3", boot});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(run_cli({"image", "info", "--format", "json", boot}).out);
  EXPECT_EQ(j["bootloader_desc"]["version"], 3);
  EXPECT_TRUE(j["app_desc"].is_null());
  EXPECT_LE(j["layout"]["signed_total_length"].get<uint64_t>(), 0x8000u);
}

TEST(ImageNewCli, BadOptionsAreRefusedAndWriteNothing) {
  test::TempDir dir;
  const auto out = (dir / "out.bin").string();
  auto app = [&](std::vector<std::string> extra) {
    std::vector<std::string> args{"image", "new"};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(out);
    return run_cli(args);
  };
  const std::vector<std::string> good{"--chip", "esp32c3", "--project", "p", "--version", "1", "--size", "0x40000"};
  auto with = [&](std::vector<std::string> changes) {
    std::vector<std::string> args = good;
    for (size_t i = 0; i + 1 < changes.size(); i += 2) {
      auto it = std::find(args.begin(), args.end(), changes[i]);
      if (it != args.end()) *(it + 1) = changes[i + 1];
      else args.insert(args.end(), {changes[i], changes[i + 1]});
    }
    return app(args);
  };
  expect_refused(with({"--chip", "esp32c9"}), "unknown chip 'esp32c9'");
  expect_refused(with({"--chip", "esp32s3"}), "ESP32-C3 images only");
  expect_refused(with({"--version", std::string(32, '9')}), "version");
  expect_refused(with({"--project", std::string(32, 'p')}), "project name");
  expect_refused(with({"--size", "1000"}), "--size 1000 is out of range");
  expect_refused(with({"--size", "0x800001"}), "is out of range");
  expect_refused(with({"--size", "big"}), "--size 'big' is not a number");
  expect_refused(with({"--secure-version", "17"}), "above 16");
  expect_refused(with({"--seed", "-1"}), "--seed '-1' is not a number");
  expect_refused(app({"--chip", "esp32c3", "--version", "1", "--size", "0x40000"}), "--project is required");
  expect_refused(app({"--bootloader", "--chip", "esp32c3", "--size", "0x40000"}), "--size does not apply");
  expect_refused(app({"--bootloader", "--chip", "esp32c3", "--version", "1.0"}), "--version '1.0' is not a number");
  expect_refused(app({"--bootloader", "--chip", "esp32c3", "--version", "0x100000000"}), "does not fit in 32 bits");
  EXPECT_EQ(app({"--project", "p"}).exit_code, 2);  // --chip missing: usage error
  EXPECT_FALSE(fs::exists(out));
}

}  // namespace
}  // namespace espsec
