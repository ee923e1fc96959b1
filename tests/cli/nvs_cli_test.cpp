// `espsec nvs ...` end to end: the binary against the nvs_partition_gen vectors, and the exit
// code and message of every bad input.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <regex>

#include <nlohmann/json.hpp>

#include "nvs/keys.hpp"
#include "test_util.hpp"

namespace espsec {
namespace {

namespace fs = std::filesystem;
using test::CliResult;
using test::read_bytes;
using test::read_vector;
using test::run_cli;
using test::TempDir;
using test::vectors_dir;

fs::path nvs_dir() { return vectors_dir() / "nvs"; }

// Runs in the vectors' nvs/ folder, where the CSVs' file rows resolve.
CliResult nvs(std::vector<std::string> args, const fs::path& cwd = {}) {
  args.insert(args.begin(), "nvs");
  return run_cli(args, cwd.empty() ? nvs_dir() : cwd);
}

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  ::stat(p.c_str(), &st);
  return st.st_mode & 0777;
}

void write_text(const fs::path& p, std::string_view text) { test::write_bytes(p, as_bytes(text)); }

#define EXPECT_OK(r) EXPECT_EQ((r).exit_code, 0) << (r).err << (r).out

TEST(NvsCli, GenerateReproducesTheToolsImages) {
  ESPSEC_REQUIRE_VECTORS();
  TempDir out;
  auto r = nvs({"generate", "input.csv", "plain.bin", "0x6000", "--outdir", out.path()});
  EXPECT_OK(r);
  EXPECT_NE(r.out.find("Created NVS binary: ===> "), std::string::npos);
  EXPECT_EQ(read_bytes(out / "plain.bin"), read_vector("nvs/nvs_plain.bin"));
  EXPECT_OK(nvs({"generate", "v1_input.csv", "v1.bin", "0x3000", "--version", "1", "--outdir", out.path()}));
  EXPECT_EQ(read_bytes(out / "v1.bin"), read_vector("nvs/nvs_v1.bin"));
  EXPECT_OK(nvs({"generate", "ext_encodings.csv", "ext.bin", "12288", "--outdir", out.path()}));
  EXPECT_EQ(read_bytes(out / "ext.bin"), read_vector("nvs/nvs_ext_encodings.bin"));
}

TEST(NvsCli, GenerateWithKeyOptionsEncryptsAndSmallSizesAreReadOnly) {
  ESPSEC_REQUIRE_VECTORS();
  TempDir out;
  EXPECT_OK(nvs({"generate", "input.csv", "enc.bin", "0x6000", "--inputkey", "keys/nvs_keys.bin", "--outdir", out.path()}));
  EXPECT_EQ(read_bytes(out / "enc.bin"), read_vector("nvs/nvs_encrypted.bin"));
  const auto lone = nvs({"generate", "input.csv", "x.bin", "0x6000", "--keyfile", "k.bin", "--outdir", out.path()});
  EXPECT_EQ(lone.exit_code, 2);
  EXPECT_NE(lone.err.find("encrypt needs --keygen or --inputkey"), std::string::npos) << lone.err;

  write_text(out / "small.csv", "key,type,encoding,value\nns,namespace,,\na,data,u8,1\n");
  auto small = nvs({"generate", "small.csv", "small.bin", "0x2000"}, out.path());
  EXPECT_OK(small);
  EXPECT_NE(small.err.find("warning: partitions smaller than 0x3000 bytes are read-only"), std::string::npos);
  EXPECT_EQ(read_bytes(out / "small.bin").size(), 4096u) << "only the used page is written";
}

TEST(NvsCli, GenerateTakesSeveralCsvFilesAndSubdirectories) {
  ESPSEC_REQUIRE_VECTORS();
  TempDir out;
  write_text(out / "a.csv", "key,type,encoding,value\nns,namespace,,\na,data,u8,1\n");
  write_text(out / "b.csv", "key,type,encoding,value\nb,data,u8,2\n");
  EXPECT_OK(nvs({"generate", "a.csv", "b.csv", "sub/dir/two.bin", "0x3000"}, out.path()));
  EXPECT_TRUE(fs::exists(out / "sub/dir/two.bin"));
  auto dump = nvs({"dump", "sub/dir/two.bin", "--format", "json"}, out.path());
  EXPECT_OK(dump);
  const auto doc = nlohmann::json::parse(dump.out);
  EXPECT_EQ(doc["pages"][0]["entries"][2]["key"], "b");
  EXPECT_EQ(doc["pages"][0]["entries"][2]["namespace"], "ns") << "namespace state carries over between files";
}

TEST(NvsCli, EncryptWithAKeysFileOrAnHmacKeyReproducesTheToolsImages) {
  ESPSEC_REQUIRE_VECTORS();
  TempDir out;
  EXPECT_OK(nvs({"encrypt", "input.csv", "enc.bin", "0x6000", "--inputkey", "keys/nvs_keys.bin", "--outdir", out.path()}));
  EXPECT_EQ(read_bytes(out / "enc.bin"), read_vector("nvs/nvs_encrypted.bin"));

  auto r = nvs({"encrypt", "input.csv", "hmac.bin", "0x6000", "--keygen", "--key-protect-hmac", "--kp_hmac_inputkey",
                "keys/hmac_key.bin", "--keyfile", "derived.bin", "--outdir", out.path()});
  EXPECT_OK(r);
  EXPECT_EQ(read_bytes(out / "hmac.bin"), read_vector("nvs/nvs_encrypted_hmac.bin"));
  EXPECT_EQ(read_bytes(out / "keys/derived.bin"), read_vector("nvs/keys/nvs_keys_hmac.bin"));
  EXPECT_EQ(mode_of(out / "keys/derived.bin"), 0600u);
}

TEST(NvsCli, EncryptWithNewKeysDecryptsBackToThePlainImage) {
  ESPSEC_REQUIRE_VECTORS();
  TempDir out;
  EXPECT_OK(nvs({"encrypt", "input.csv", "enc.bin", "0x6000", "--keygen", "--keyfile", "mine.bin", "--outdir", out.path()}));
  ASSERT_TRUE(fs::exists(out / "keys/mine.bin"));
  EXPECT_EQ(mode_of(out / "keys/mine.bin"), 0600u);
  EXPECT_NE(read_bytes(out / "enc.bin"), read_vector("nvs/nvs_plain.bin"));
  EXPECT_OK(nvs({"decrypt", (out / "enc.bin").string(), (out / "keys/mine.bin").string(), "dec.bin", "--outdir", out.path()}));
  EXPECT_EQ(read_bytes(out / "dec.bin"), read_vector("nvs/nvs_plain.bin"));
  EXPECT_OK(nvs({"verify", (out / "enc.bin").string(), "--keyfile", (out / "keys/mine.bin").string()}));
}

TEST(NvsCli, DecryptReproducesThePlainVectors) {
  ESPSEC_REQUIRE_VECTORS();
  TempDir out;
  EXPECT_OK(nvs({"decrypt", "nvs_encrypted.bin", "keys/nvs_keys.bin", "p.bin", "--outdir", out.path()}));
  EXPECT_EQ(read_bytes(out / "p.bin"), read_vector("nvs/nvs_plain.bin"));
  EXPECT_OK(nvs({"decrypt", "nvs_device_written_encrypted.bin", "keys/nvs_keys.bin", "d.bin", "--outdir", out.path()}));
  EXPECT_EQ(read_bytes(out / "d.bin"), read_vector("nvs/nvs_device_written.bin"));
}

TEST(NvsCli, GenerateKeyWritesKeysUnderTheKeysDirectoryAndNeverOverwrites) {
  TempDir out;
  auto r = nvs({"generate-key", "--keyfile", "k.bin", "--outdir", out.path()}, out.path());
  EXPECT_OK(r);
  const Bytes k = read_bytes(out / "keys/k.bin");
  ASSERT_EQ(k.size(), 4096u);
  EXPECT_TRUE(nvs::Keys::parse_partition(k));
  EXPECT_EQ(mode_of(out / "keys/k.bin"), 0600u);
  const auto again = nvs({"generate-key", "--keyfile", "k.bin", "--outdir", out.path()}, out.path());
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_NE(again.err.find("already exists"), std::string::npos) << again.err;
  EXPECT_EQ(read_bytes(out / "keys/k.bin"), k);

  EXPECT_OK(nvs({"generate-key"}, out.path()));
  bool dated = false;
  for (const auto& e : fs::directory_iterator(out / "keys"))
    dated |= std::regex_match(e.path().filename().string(), std::regex(R"(keys-\d\d-\d\d_\d\d-\d\d\.bin)"));
  EXPECT_TRUE(dated) << "default name keys-MM-DD_HH-MM.bin";

  EXPECT_OK(nvs({"generate_key", "--key_protect_hmac", "--kp_hmac_keygen", "--keyfile", "h.bin"}, out.path()));
  const Bytes hmac = read_bytes(out / "keys/hmac-h.bin");
  ASSERT_EQ(hmac.size(), 32u);
  auto derived = nvs::Keys::derive_from_hmac_key(SecretBytes::copy_of(hmac));
  ASSERT_TRUE(derived);
  const SecretBytes image = derived->partition_image();
  EXPECT_EQ(read_bytes(out / "keys/h.bin"), Bytes(image.expose().begin(), image.expose().end()));
  EXPECT_OK(nvs({"generate-key", "--key-protect-hmac", "--kp-hmac-keygen", "--kp-hmac-keyfile", "own", "--keyfile", "o"},
                out.path()));
  EXPECT_TRUE(fs::exists(out / "keys/own.bin"));
  EXPECT_TRUE(fs::exists(out / "keys/o.bin"));
}

TEST(NvsCli, DumpShowsValuesInTextAndJsonAndDecrypts) {
  ESPSEC_REQUIRE_VECTORS();
  auto text = nvs({"dump", "nvs_plain.bin"});
  EXPECT_OK(text);
  EXPECT_NE(text.out.find("u8_max = 255"), std::string::npos);
  auto json = nvs({"dump", "nvs_encrypted_hmac.bin", "-f", "json", "--key_protect_hmac", "--kp_hmac_inputkey",
                   "keys/hmac_key.bin"});
  EXPECT_OK(json);
  const auto doc = nlohmann::json::parse(json.out);
  EXPECT_TRUE(doc["encrypted"].get<bool>());
  EXPECT_EQ(doc["pages"][0]["entries"][2]["value"], 255);
  EXPECT_TRUE(doc["findings"].empty());
  auto keyed = nvs({"dump", "nvs_encrypted.bin", "--keyfile", "keys/nvs_keys.bin"});
  EXPECT_OK(keyed);
  EXPECT_NE(keyed.out.find("str_short = \"hello\""), std::string::npos);
}

TEST(NvsCli, VerifyExitCodesSayCleanCorruptOrError) {
  ESPSEC_REQUIRE_VECTORS();
  auto clean = nvs({"verify", "nvs_device_written.bin"});
  EXPECT_EQ(clean.exit_code, 0) << clean.out;
  EXPECT_NE(clean.out.find("0 error(s)"), std::string::npos);
  auto torn = nvs({"verify", "power_loss/pl02_u8_duplicate.bin"});
  EXPECT_EQ(torn.exit_code, 1) << torn.out;
  EXPECT_NE(torn.out.find("duplicate item"), std::string::npos);
  auto encrypted = nvs({"verify", "nvs_encrypted.bin"});
  EXPECT_EQ(encrypted.exit_code, 1) << "without keys every entry fails its CRC";
  TempDir t;
  test::write_bytes(t / "odd.bin", Bytes(100, 0xFF));
  auto odd = nvs({"verify", (t / "odd.bin").string()});
  EXPECT_EQ(odd.exit_code, 2);
  EXPECT_NE(odd.err.find("odd.bin: an NVS partition is a whole number of 4096-byte pages"), std::string::npos) << odd.err;
  auto missing = nvs({"verify", (t / "none.bin").string()});
  EXPECT_EQ(missing.exit_code, 2);
}

TEST(NvsCli, ACorruptedPartitionIsDumpedWithItsDamageAndFailsVerify) {
  ESPSEC_REQUIRE_VECTORS();
  TempDir t;
  Bytes image = read_vector("nvs/nvs_plain.bin");
  image[64 + 2 * 32 + 24] ^= 0x01;  // page 0 entry 2 (u8_max): its value no longer matches its CRC
  image[0x1000 + 4] ^= 0x01;        // page 1: header CRC mismatch
  test::write_bytes(t / "bad.bin", image);
  auto dump = nvs({"dump", "bad.bin"}, t.path());
  EXPECT_EQ(dump.exit_code, 0) << dump.err;
  EXPECT_NE(dump.out.find("u8_max"), std::string::npos);
  EXPECT_NE(dump.out.find("error: page 0 entry 2: 'u8_max': entry CRC mismatch"), std::string::npos) << dump.out;
  EXPECT_NE(dump.out.find("error: page 1: page header CRC mismatch"), std::string::npos) << dump.out;
  EXPECT_NE(dump.out.find("str_short = \"hello\""), std::string::npos) << "undamaged items are still shown";
  auto verify = nvs({"verify", "bad.bin"}, t.path());
  EXPECT_EQ(verify.exit_code, 1);
  EXPECT_NE(verify.out.find("entry CRC mismatch"), std::string::npos);
}

struct BadCase {
  std::string csv;     // written to bad.csv in a temp dir
  std::string size;
  std::string message;  // expected in stderr
};

TEST(NvsCli, BadCsvInputExitsTwoWithTheLineAndLeavesNoOutput) {
  const std::string head = "key,type,encoding,value\nns,namespace,,\n";
  std::string many = "key,type,encoding,value\n";
  for (int i = 0; i < 255; ++i) many += fmt::format("n{},namespace,,\n", i);
  std::string lots = head;
  for (int i = 0; i < 300; ++i) lots += fmt::format("k{},data,u32,{}\n", i, i);
  const BadCase cases[] = {
      {head + "k,data,u9,1\n", "0x3000", "bad.csv:3: unsupported encoding 'u9'"},
      {head + "k,data,u16,70000\n", "0x3000", "bad.csv:3: 70000 is out of range for u16 (0..65535)"},
      {head + "k,file,binary,nope.bin\n", "0x3000", "bad.csv:3: cannot read nope.bin"},
      {head + "a_key_of_16_chr,data,u8,1\nthis_key_is_16ch,data,u8,1\n", "0x3000",
       "bad.csv:4: key 'this_key_is_16ch' is 16 bytes long"},
      {many, "0x10000", "bad.csv:256: more than 254 namespaces"},
      {head + "k,data,string,\"unterminated\n", "0x3000", "bad.csv:3: a quoted field is never closed"},
      {head + "k,data,string,a,b\n", "0x3000", "bad.csv:3: 5 fields but the header names 4"},
      {head + "k,text,u8,1\n", "0x3000", "bad.csv:3: unknown type 'text'"},
      {lots, "0x3000", "bad.csv:254: the data does not fit in the partition"},
      {head + "k,data,u8,1\n", "0x3001", "partition size 0x3001 is not a multiple of 4096"},
      {head + "k,data,u8,1\n", "0", "the minimum partition size is 0x3000 bytes"},
      {head + "k,data,u8,1\n", "big", "partition size 'big' is not a decimal or 0x-hex number"},
  };
  for (const auto& c : cases) {
    TempDir t;
    write_text(t / "bad.csv", c.csv);
    auto r = nvs({"generate", "bad.csv", "out.bin", c.size}, t.path());
    EXPECT_EQ(r.exit_code, 2) << c.message << "\n" << r.err;
    EXPECT_NE(r.err.find("espsec: error: " + c.message), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(t / "out.bin")) << "no partial output for: " << c.message;
  }
}

TEST(NvsCli, BadKeysAndFileNamesExitTwo) {
  ESPSEC_REQUIRE_VECTORS();
  TempDir t;
  const Bytes keys = read_vector("nvs/keys/nvs_keys.bin");
  test::write_bytes(t / "short.bin", ByteSpan(keys).first(64));
  Bytes bad_crc = keys;
  bad_crc[64] ^= 0xFF;
  test::write_bytes(t / "badcrc.bin", bad_crc);
  test::write_bytes(t / "hmac33.bin", Bytes(33, 1));
  struct Case {
    std::vector<std::string> args;
    std::string message;
  } cases[] = {
      {{"encrypt", "input.csv", "o.bin", "0x6000", "--inputkey", (t / "short.bin").string()},
       "short.bin: an NVS keys file must be 4096 bytes (an nvs_keys partition image), got 64"},
      {{"encrypt", "input.csv", "o.bin", "0x6000", "--inputkey", (t / "badcrc.bin").string()},
       "badcrc.bin: the NVS keys partition is corrupt: CRC"},
      {{"decrypt", "nvs_encrypted.bin", (t / "badcrc.bin").string(), "o.bin"}, "the NVS keys partition is corrupt"},
      {{"encrypt", "input.csv", "o.bin", "0x6000"}, "encrypt needs --keygen or --inputkey"},
      {{"encrypt", "input.csv", "o.bin", "0x6000", "--keygen", "--inputkey", "keys/nvs_keys.bin"},
       "--keygen and --inputkey cannot be used together"},
      {{"encrypt", "input.csv", "o.bin", "0x6000", "--keygen", "--key_protect_hmac", "--kp_hmac_inputkey",
        (t / "hmac33.bin").string()},
       "an HMAC key file holds the 32-byte eFuse key, this one has 33 bytes"},
      {{"generate-key", "--key_protect_hmac"}, "--key_protect_hmac needs exactly one of --kp_hmac_keygen and --kp_hmac_inputkey"},
      {{"generate-key", "--kp_hmac_keygen"}, "need --key_protect_hmac"},
      {{"generate", "input.csv", "out.txt", "0x6000"}, "out.txt: only the .bin extension is allowed"},
      {{"generate-key", "--keyfile", "k.key"}, "k.key: only the .bin extension is allowed"},
      {{"decrypt", "nvs_encrypted.bin", "keys/nvs_keys.bin", "out.img"}, "out.img: only the .bin extension is allowed"},
      {{"dump", "nvs_plain.bin", "--keyfile", (t / "short.bin").string()}, "an NVS keys file must be 4096 bytes"},
      {{"dump", "nvs_plain.bin", "--key_protect_hmac"}, "--key_protect_hmac needs --kp_hmac_inputkey"},
      {{"dump", "nvs_plain.bin", "--keyfile", "keys/nvs_keys.bin", "--kp_hmac_inputkey", "keys/hmac_key.bin"},
       "give either --keyfile or --kp_hmac_inputkey, not both"},
  };
  for (const auto& c : cases) {
    auto args = c.args;
    if (args[0] != "dump") {
      args.push_back("--outdir");
      args.push_back(t.path());
    }
    auto r = nvs(args);
    EXPECT_EQ(r.exit_code, 2) << c.message << "\n" << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(t / "o.bin")) << c.message;
  }
  EXPECT_FALSE(fs::exists(t / "keys")) << "no key file may appear when the command fails";
}

TEST(NvsCli, UsageErrorsExitTwo) {
  auto r = nvs({"generate", "only.csv", "out.bin"});
  EXPECT_EQ(r.exit_code, 2);
  auto v = nvs({"generate", "a.csv", "out.bin", "0x3000", "--version", "3"});
  EXPECT_EQ(v.exit_code, 2);
  auto f = nvs({"dump", "x.bin", "--format", "xml"});
  EXPECT_EQ(f.exit_code, 2);
}

}  // namespace
}  // namespace espsec
