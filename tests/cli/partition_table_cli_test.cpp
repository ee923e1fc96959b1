// `espsec partition-table`: exit codes, messages and outputs of the gen_esp32part-compatible CLI.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "crypto/hash.hpp"
#include "test_util.hpp"

namespace espsec {
namespace {

using test::read_bytes;
using test::run_cli;
using test::TempDir;
using test::write_bytes;

constexpr const char* kTwoOta =
    "# Name,   Type, SubType, Offset,   Size, Flags\n"
    "nvs,      data, nvs,     ,        0x4000,\n"
    "otadata,  data, ota,     ,        0x2000,\n"
    "phy_init, data, phy,     ,        0x1000,\n"
    "factory,  app,  factory, ,        1M,\n"
    "ota_0,    app,  ota_0,   ,        1M,\n"
    "ota_1,    app,  ota_1,   ,        1M,\n";
// gen_esp32part.py (esp-idf master 102122904ade) output for kTwoOta.
constexpr const char* kTwoOtaMd5 = "9f94bf1e89f37d80f4310d5af19a6e59";
constexpr const char* kTwoOtaCsvOut =
    "# ESP-IDF Partition Table\n"
    "# Name, Type, SubType, Offset, Size, Flags\n"
    "nvs,data,nvs,0x9000,16K,\n"
    "otadata,data,ota,0xd000,8K,\n"
    "phy_init,data,phy,0xf000,4K,\n"
    "factory,app,factory,0x10000,1M,\n"
    "ota_0,app,ota_0,0x110000,1M,\n"
    "ota_1,app,ota_1,0x210000,1M,\n";

std::string md5_hex(ByteSpan data) { return to_hex(crypto::digest(crypto::HashAlg::kMd5, data)); }

void write_text(const std::filesystem::path& p, std::string_view text) { write_bytes(p, as_bytes(text)); }

TEST(PartitionTableCli, CsvToBinaryAndBack) {
  TempDir dir;
  write_text(dir / "p.csv", kTwoOta);
  auto r = run_cli({"partition-table", (dir / "p.csv").string(), (dir / "p.bin").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "Parsing CSV input...\nVerifying table...\n");
  EXPECT_EQ(md5_hex(read_bytes(dir / "p.bin")), kTwoOtaMd5);

  r = run_cli({"partition-table", (dir / "p.bin").string(), (dir / "back.csv").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "Parsing binary partition input...\nVerifying table...\n");
  EXPECT_EQ(as_chars(read_bytes(dir / "back.csv")), kTwoOtaCsvOut);
}

TEST(PartitionTableCli, StdoutQuietAndUnderscoreAlias) {
  TempDir dir;
  write_text(dir / "p.csv", kTwoOta);
  auto r = run_cli({"partition_table", "-q", (dir / "p.csv").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(md5_hex(as_bytes(r.out)), kTwoOtaMd5);
  auto b = run_cli({"partition-table", "--quiet", (dir / "p.csv").string(), "-"});
  EXPECT_EQ(b.out, r.out);
}

TEST(PartitionTableCli, OptionsChangeTheOutput) {
  TempDir dir;
  write_text(dir / "p.csv", kTwoOta);
  auto r = run_cli({"partition-table", "-q", "--disable-md5sum", (dir / "p.csv").string(), (dir / "n.bin").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(read_bytes(dir / "n.bin")[6 * 32], 0xFF);
  r = run_cli({"partition-table", "-q", "--offset", "0xa000", (dir / "p.csv").string(), (dir / "o.bin").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(read_bytes(dir / "o.bin")[5], 0xB0);  // nvs now starts at 0xb000
  r = run_cli({"partition-table", "-q", "--flash-size", "4MB", (dir / "p.csv").string(), (dir / "f.bin").string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = run_cli({"partition-table", "-q", "--verify", (dir / "p.csv").string(), (dir / "v.bin").string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST(PartitionTableCli, CreatesTheOutputDirectory) {
  TempDir dir;
  write_text(dir / "p.csv", kTwoOta);
  auto r = run_cli({"partition-table", "-q", (dir / "p.csv").string(), (dir / "a" / "b" / "p.bin").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::filesystem::exists(dir / "a" / "b" / "p.bin"));
}

TEST(PartitionTableCli, EnvironmentVariables) {
  TempDir dir;
  ::setenv("ESPSEC_TEST_NVS_SIZE", "0x6000", 1);
  write_text(dir / "p.csv", "nvs, data, nvs, , $ESPSEC_TEST_NVS_SIZE\n");
  auto r = run_cli({"partition-table", "-q", (dir / "p.csv").string(), (dir / "p.bin").string()});
  ::unsetenv("ESPSEC_TEST_NVS_SIZE");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(read_bytes(dir / "p.bin")[9], 0x60);
}

TEST(PartitionTableCli, SecureOption) {
  TempDir dir;
  write_text(dir / "s.csv", "ota_0,  app, ota_0, ,  0x101000\n");
  auto v1 = run_cli({"partition-table", "-q", "--secure", "--", (dir / "s.csv").string(), (dir / "s.bin").string()});
  EXPECT_EQ(v1.exit_code, 2);
  EXPECT_NE(v1.err.find("Size 0x101000 is not aligned to 0x10000"), std::string::npos) << v1.err;
  auto v1_upper = run_cli({"partition-table", "-q", "--secure", "V1", (dir / "s.csv").string(), (dir / "s.bin").string()});
  EXPECT_EQ(v1_upper.exit_code, 2);
  auto v2 = run_cli({"partition-table", "-q", "--secure", "v2", (dir / "s.csv").string(), (dir / "s.bin").string()});
  EXPECT_EQ(v2.exit_code, 0) << v2.err;
  auto bad = run_cli({"partition-table", "--secure", "v3", (dir / "s.csv").string()});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_EQ(bad.err, "espsec: error: --secure: 'v3' is not one of v1, v2\n");
}

TEST(PartitionTableCli, WarningsShowEvenWhenQuiet) {
  TempDir dir;
  write_text(dir / "w.csv", "app, 1, 2, 64K, 16K\n");
  auto r = run_cli({"partition-table", "-q", (dir / "w.csv").string(), (dir / "w.bin").string()});
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.err,
            "WARNING: Partition has name 'app' which is a partition type, but does not match this partition's type "
            "(0x1). Mistake in partition table?\n");
}

struct BadInput {
  const char* name;
  std::string content;
  std::vector<std::string> options;
  std::string message;  // after "espsec: error: <file>: "
};

TEST(PartitionTableCli, EveryBadInputExitsTwoWithOneLine) {
  Bytes good_bin;
  {
    TempDir dir;
    write_text(dir / "p.csv", kTwoOta);
    ASSERT_EQ(run_cli({"partition-table", "-q", (dir / "p.csv").string(), (dir / "p.bin").string()}).exit_code, 0);
    good_bin = read_bytes(dir / "p.bin");
  }
  Bytes bad_md5 = good_bin;
  bad_md5[32 + 5] ^= 1;
  Bytes bad_magic = good_bin;
  bad_magic[64] = 0x12;
  const std::vector<BadInput> cases = {
      {"type.csv", "x,\n", {}, "line 1: Field 'type' can't be left empty."},
      {"size.csv", "x, data, nvs, ,\n", {}, "line 1: Size field can't be empty"},
      {"align.csv", "nvs, data, nvs, 0x9420, 0x6000\n", {}, "line 1: Partition nvs invalid: Offset 0x9420 is not aligned to 0x1000"},
      {"overlap.csv", "a, data, nvs, 0x10000, 0x4000\nb, data, nvs, 0x12000, 0x4000\n", {},
       "CSV Error at line 2: Partitions overlap. Partition sets offset 0x12000. Previous partition ends 0x14000"},
      {"dup.csv", "a, data, nvs, , 16K\na, data, phy, , 4K\n", {}, "line 2: Partition names must be unique ('a' is used more than once)"},
      {"ota.csv", "o, data, ota, , 0x1000\n", {}, "line 1: otadata partition must have size = 0x2000"},
      {"big.csv", kTwoOta, {"--flash-size", "2MB"},
       "Partitions tables occupies 3.1MB of flash (3211264 bytes) which does not fit in configured flash size 2MB. "
       "Change the flash size in menuconfig under the 'Serial Flasher Config' menu."},
      {"boot.csv", "bootloader, bootloader, primary, N/A, N/A\n", {},
       "line 1: Primary bootloader offset is not defined. Please use --primary-bootloader-offset"},
      {"bad_md5.bin", std::string(bad_md5.begin(), bad_md5.end()), {}, ""},
      {"bad_magic.bin", std::string(bad_magic.begin(), bad_magic.end()), {},
       "entry 2: invalid magic bytes 12 50 for a partition entry (expected aa 50)"},
      {"short.bin", std::string(good_bin.begin(), good_bin.begin() + 7 * 32), {},
       "partition table is missing an end-of-table marker"},
      {"latin1.csv", "n\xe9, data, nvs, , 16K\n", {}, "CSV text is not valid UTF-8"},
  };
  for (const auto& c : cases) {
    TempDir dir;
    write_bytes(dir / c.name, as_bytes(c.content));
    std::vector<std::string> args = {"partition-table", "-q"};
    args.insert(args.end(), c.options.begin(), c.options.end());
    args.push_back((dir / c.name).string());
    args.push_back((dir / "out").string());
    auto r = run_cli(args);
    EXPECT_EQ(r.exit_code, 2) << c.name;
    EXPECT_FALSE(std::filesystem::exists(dir / "out")) << c.name;
    // One error line, last; gen_esp32part's listings of offending rows may precede it.
    const std::string prefix = "espsec: error: " + (dir / c.name).string() + ": ";
    const size_t last_line = r.err.rfind('\n', r.err.size() - 2);
    const std::string error_line = r.err.substr(last_line == std::string::npos ? 0 : last_line + 1);
    ASSERT_EQ(error_line.rfind(prefix, 0), 0u) << c.name << ": " << r.err;
    if (!c.message.empty()) {
      EXPECT_EQ(error_line, prefix + c.message + "\n") << c.name;
    }
    EXPECT_EQ(r.err.find("espsec: error:"), r.err.rfind("espsec: error:")) << c.name;
  }
}

TEST(PartitionTableCli, BadArguments) {
  TempDir dir;
  write_text(dir / "p.csv", kTwoOta);
  auto missing = run_cli({"partition-table", (dir / "nope.csv").string()});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("nope.csv"), std::string::npos);
  auto offset = run_cli({"partition-table", "--offset", "lots", (dir / "p.csv").string()});
  EXPECT_EQ(offset.exit_code, 2);
  EXPECT_EQ(offset.err, "espsec: error: --offset: 'lots' is not an offset (a number such as 0x8000)\n");
  auto flash = run_cli({"partition-table", "--flash-size", "3MB", (dir / "p.csv").string()});
  EXPECT_EQ(flash.exit_code, 2);
  EXPECT_NE(flash.err.find("invalid --flash-size '3MB'"), std::string::npos);
  auto primary = run_cli({"partition-table", "--primary-bootloader-offset", "0x9000", (dir / "p.csv").string()});
  EXPECT_EQ(primary.exit_code, 2);
  EXPECT_NE(primary.err.find("Primary bootloader must be below partition table"), std::string::npos);
  auto none = run_cli({"partition-table"});
  EXPECT_EQ(none.exit_code, 2);
}

}  // namespace
}  // namespace espsec
