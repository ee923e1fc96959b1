// `espsec efuse ...` run as a binary: the recorded espefuse sequence, the summaries, and every
// refusal (exit code 2, one line on stderr, eFuse file unchanged).
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "efuse/storage.hpp"
#include "efuse_test_util.hpp"
#include "test_util.hpp"

extern char** environ;

namespace espsec::efuse {
namespace {

namespace fs = std::filesystem;

const char* const kStates[] = {"00_fresh", "01_burn_key_xts", "02_burn_key_digest", "03_crypt_cnt_sb_en",
                               "04_secure_version", "05_read_protect_key", "06_write_protect"};

fs::path vector_path(const std::string& relative) { return test::vectors_dir() / "secure" / relative; }
fs::path state_file(int i, const char* ext = ".bin") {
  return vector_path(std::string("efuse/esp32c3/") + kStates[i] + ext);
}

std::vector<std::string> efuse_cmd(const fs::path& file, std::vector<std::string> rest, bool confirm = false) {
  std::vector<std::string> args = {"efuse", "--virt", "--chip", "esp32c3", "--path-efuse-file", file.string()};
  if (!confirm) args.push_back("--do-not-confirm");
  args.insert(args.end(), rest.begin(), rest.end());
  return args;
}

// The espefuse command (arguments after the global options) that made state i from state i - 1.
std::vector<std::string> recorded_command(int step) {
  switch (step) {
    case 1: return {"burn-key", "BLOCK_KEY0", vector_path("xts/key256.bin").string(), "XTS_AES_128_KEY", "--no-read-protect"};
    case 2: return {"burn-key-digest", "BLOCK_KEY1", vector_path("keys/rsa3072_a.pub.pem").string(), "SECURE_BOOT_DIGEST0"};
    case 3: return {"burn-efuse", "SPI_BOOT_CRYPT_CNT", "1", "SECURE_BOOT_EN", "1"};
    case 4: return {"burn-efuse", "SECURE_VERSION", "7"};
    case 5: return {"read-protect-efuse", "BLOCK_KEY0"};
    default: return {"write-protect-efuse", "SPI_BOOT_CRYPT_CNT"};
  }
}

// A copy of state i in a scratch directory.
fs::path copy_state(const test::TempDir& dir, int i, const std::string& name = "efuse.bin") {
  const fs::path path = dir / name;
  test::write_bytes(path, test::read_bytes(state_file(i)));
  return path;
}

void expect_refused(const test::CliResult& r, const std::string& fragment) {
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find(fragment), std::string::npos) << "stderr: " << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST(EfuseCli, EachRecordedCommandReproducesTheNextStateByteForByte) {
  ESPSEC_REQUIRE_VECTORS();
  for (int step = 1; step <= 6; ++step) {
    test::TempDir dir;
    const fs::path file = copy_state(dir, step - 1);
    const auto r = test::run_cli(efuse_cmd(file, recorded_command(step)));
    ASSERT_EQ(r.exit_code, 0) << kStates[step] << "\n" << r.out << r.err;
    EXPECT_EQ(test::read_bytes(file), test::read_bytes(state_file(step))) << kStates[step];
    EXPECT_NE(r.out.find("Successful."), std::string::npos);
  }
}

TEST(EfuseCli, WholeSequenceFromAMissingFile) {
  ESPSEC_REQUIRE_VECTORS();
  test::TempDir dir;
  const fs::path file = dir / "chip.efuse";
  const auto first = test::run_cli(efuse_cmd(file, {"summary"}));
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_EQ(test::read_bytes(file), test::read_bytes(state_file(0)));
  for (int step = 1; step <= 6; ++step) {
    const auto r = test::run_cli(efuse_cmd(file, recorded_command(step)));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_bytes(file), test::read_bytes(state_file(step))) << kStates[step];
  }
  // The key read-protected by espsec stays usable by the virtual chip, outside the eFuse file.
  EXPECT_TRUE(fs::exists(FileStorage::hwkeys_path(file)));
  auto c = Controller::open(esp32c3(), std::make_unique<FileStorage>(file));
  ASSERT_TRUE(c);
  auto key = (*c)->flash_encryption_key();
  ASSERT_TRUE(key);
  EXPECT_EQ(Bytes(key->expose().begin(), key->expose().end()), test::read_bytes(vector_path("xts/key256.bin")));
}

TEST(EfuseCli, SummariesMatchEveryStateAndLeaveTheFileAlone) {
  ESPSEC_REQUIRE_VECTORS();
  for (int i = 0; i <= 6; ++i) {
    test::TempDir dir;
    const fs::path file = copy_state(dir, i);
    const auto text = test::run_cli(efuse_cmd(file, {"summary", "--file", (dir / "s.txt").string()}));
    ASSERT_EQ(text.exit_code, 0) << text.err;
    EXPECT_EQ(test::read_bytes(dir / "s.txt"), test::read_bytes(state_file(i, ".summary.txt"))) << kStates[i];
    const auto json = test::run_cli(efuse_cmd(file, {"summary", "--format", "json", "--file", (dir / "s.json").string()}));
    ASSERT_EQ(json.exit_code, 0) << json.err;
    EXPECT_EQ(nlohmann::json::parse(test::read_bytes(dir / "s.json")),
              nlohmann::json::parse(test::read_bytes(state_file(i, ".summary.json"))))
        << kStates[i];
    // To stdout, the summary follows the command banner.
    const auto out = test::run_cli(efuse_cmd(file, {"summary"}));
    ASSERT_EQ(out.exit_code, 0);
    const Bytes expected = test::read_bytes(state_file(i, ".summary.txt"));
    EXPECT_NE(out.out.find(std::string(expected.begin(), expected.end())), std::string::npos) << kStates[i];
    EXPECT_EQ(test::read_bytes(file), test::read_bytes(state_file(i))) << "summary changed " << kStates[i];
  }
}

TEST(EfuseCli, SummaryFiltersAndValueOnly) {
  ESPSEC_REQUIRE_VECTORS();
  test::TempDir dir;
  const fs::path file = copy_state(dir, 4);
  auto r = test::run_cli(efuse_cmd(file, {"summary", "SECURE_VERSION", "--format", "value_only"}));
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("\n7\n"), std::string::npos) << r.out;
  r = test::run_cli(efuse_cmd(file, {"summary", "KEY0", "--format", "value_only"}));  // an alias
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("6a 3e 0e 98"), std::string::npos) << r.out;
  r = test::run_cli(efuse_cmd(file, {"summary", "SECURE_BOOT_EN", "SPI_BOOT_CRYPT_CNT", "--format", "json"}));
  ASSERT_EQ(r.exit_code, 0);
  const auto json = nlohmann::json::parse(r.out.substr(r.out.find('{')));
  EXPECT_EQ(json.size(), 2u);
  EXPECT_EQ(json["SPI_BOOT_CRYPT_CNT"]["value"], "Enable");
  r = test::run_cli(efuse_cmd(file, {"summary", "SECURE_BOOT_EN"}));
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("Security fuses:\nSECURE_BOOT_EN (BLOCK0)"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("Config fuses:"), std::string::npos);
  expect_refused(test::run_cli(efuse_cmd(file, {"summary", "A", "B", "--format", "value_only"})), "exactly for one eFuse");
  expect_refused(test::run_cli(efuse_cmd(file, {"summary", "NOT_A_FUSE"})), "no eFuse named 'NOT_A_FUSE'");
}

TEST(EfuseCli, BurningNeedsBurnTypedOnATerminal) {
  ESPSEC_REQUIRE_VECTORS();
  test::TempDir dir;
  const fs::path file = copy_state(dir, 0);
  const auto r = test::run_cli(efuse_cmd(file, {"burn-efuse", "SECURE_BOOT_EN", "1"}, /*confirm=*/true));
  expect_refused(r, "stdin is not a terminal");
  EXPECT_NE(r.err.find("--do-not-confirm"), std::string::npos);
  EXPECT_EQ(test::read_bytes(file), test::read_bytes(state_file(0)));
  // Nothing to burn needs no confirmation.
  const fs::path burned = copy_state(dir, 3, "three.bin");
  const auto nothing = test::run_cli(efuse_cmd(burned, {"burn-efuse", "SECURE_BOOT_EN", "1"}, true));
  EXPECT_EQ(nothing.exit_code, 0) << nothing.err;
  EXPECT_NE(nothing.out.find("Nothing to burn"), std::string::npos);
}

bool have_pseudo_terminals() {
  const int master = ::posix_openpt(O_RDWR | O_NOCTTY);
  if (master < 0) return false;
  ::close(master);
  return true;
}

// Runs the CLI with a pseudo-terminal on stdin holding `typed`.
test::CliResult run_with_terminal(const std::vector<std::string>& args, const std::string& typed) {
  test::CliResult result;
  const int master = ::posix_openpt(O_RDWR | O_NOCTTY);
  if (master < 0 || ::grantpt(master) != 0 || ::unlockpt(master) != 0) {
    ADD_FAILURE() << "cannot set up a pseudo-terminal";
    return result;
  }
  const std::string slave = ::ptsname(master);
  EXPECT_EQ(::write(master, typed.data(), typed.size()), static_cast<ssize_t>(typed.size()));
  test::TempDir io;
  const auto out_path = io / "stdout";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, slave.c_str(), O_RDWR | O_NOCTTY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  std::vector<std::string> store = {ESPSEC_CLI_PATH};
  store.insert(store.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : store) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ) == 0) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  posix_spawn_file_actions_destroy(&actions);
  ::close(master);
  const Bytes out = test::read_bytes(out_path);
  result.out.assign(out.begin(), out.end());
  return result;
}

TEST(EfuseCli, TypingBurnBurnsAndAnythingElseAborts) {
  ESPSEC_REQUIRE_VECTORS();
  if (!have_pseudo_terminals()) GTEST_SKIP() << "no pseudo-terminals on this machine (/dev/ptmx); test skipped";
  test::TempDir dir;
  const fs::path file = copy_state(dir, 0);
  const auto aborted = run_with_terminal(efuse_cmd(file, {"burn-efuse", "SECURE_BOOT_EN", "1"}, true), "burn\n");
  EXPECT_EQ(aborted.exit_code, 0);  // espefuse exits 0 when the user does not confirm
  EXPECT_NE(aborted.out.find("Type 'BURN' (all capitals) to continue."), std::string::npos) << aborted.out;
  EXPECT_NE(aborted.out.find("Aborting."), std::string::npos);
  EXPECT_EQ(test::read_bytes(file), test::read_bytes(state_file(0)));
  const auto burned = run_with_terminal(efuse_cmd(file, {"burn-efuse", "SECURE_BOOT_EN", "1"}, true), "BURN\n");
  EXPECT_EQ(burned.exit_code, 0);
  EXPECT_NE(burned.out.find("Successful."), std::string::npos);
  auto c = Controller::open(esp32c3(), std::make_unique<FileStorage>(file));
  ASSERT_TRUE(c);
  EXPECT_TRUE((*c)->secure_boot_enabled());
}

TEST(EfuseCli, RefusesToClearBurnedBits) {
  ESPSEC_REQUIRE_VECTORS();
  test::TempDir dir;
  const fs::path file = copy_state(dir, 4);
  expect_refused(test::run_cli(efuse_cmd(file, {"burn-efuse", "SECURE_VERSION", "3"})),
                 "burn-efuse: SECURE_VERSION: New value contains some bits that cannot be cleared (value will be 0x0007)");
  EXPECT_EQ(test::read_bytes(file), test::read_bytes(state_file(4)));
}

TEST(EfuseCli, RefusesWriteProtectedFields) {
  ESPSEC_REQUIRE_VECTORS();
  test::TempDir dir;
  const fs::path file = copy_state(dir, 6);
  expect_refused(test::run_cli(efuse_cmd(file, {"burn-efuse", "SPI_BOOT_CRYPT_CNT", "3"})),
                 "SPI_BOOT_CRYPT_CNT is write-protected. Burn is not possible.");
  // A write-protected key block.
  expect_refused(test::run_cli(efuse_cmd(file, {"burn-bit", "BLOCK5", "0"})), "BLOCK_KEY1 is write-protected");
  EXPECT_EQ(test::read_bytes(file), test::read_bytes(state_file(6)));
}

TEST(EfuseCli, ReedSolomonBlockRefusesASecondWrite) {
  test::TempDir dir;
  const fs::path file = dir / "e.bin";
  ASSERT_EQ(test::run_cli(efuse_cmd(file, {"burn-efuse", "CUSTOM_MAC", "02:11:22:33:44:55"})).exit_code, 0);
  const Bytes before = test::read_bytes(file);
  expect_refused(test::run_cli(efuse_cmd(file, {"burn-bit", "BLOCK3", "0"})),
                 "Burn into BLOCK_USR_DATA is forbidden (RS coding scheme does not allow this).");
  expect_refused(test::run_cli(efuse_cmd(file, {"burn-bit", "BLOCK_USR_DATA", "1", "--force-write-always"})),
                 "RS coding scheme");
  EXPECT_EQ(test::read_bytes(file), before);
  const auto mac = test::run_cli(efuse_cmd(file, {"summary", "CUSTOM_MAC", "--format", "value_only"}));
  EXPECT_NE(mac.out.find("02:11:22:33:44:55 (OK)"), std::string::npos) << mac.out;
}

TEST(EfuseCli, ReadProtectZeroesTheBlockInTheFile) {
  ESPSEC_REQUIRE_VECTORS();
  test::TempDir dir;
  const fs::path file = copy_state(dir, 4);
  ASSERT_EQ(test::run_cli(efuse_cmd(file, {"read-protect-efuse", "KEY0"})).exit_code, 0);  // alias of BLOCK_KEY0
  const Bytes after = test::read_bytes(file);
  EXPECT_EQ(after, test::read_bytes(state_file(5)));
  EXPECT_EQ(Bytes(after.begin() + 0x144, after.begin() + 0x164), Bytes(32, 0));
  const auto shown = test::run_cli(efuse_cmd(file, {"summary", "BLOCK_KEY0", "--format", "value_only"}));
  EXPECT_NE(shown.out.find("?? ?? ??"), std::string::npos);
  // Secure Boot digests must stay readable.
  expect_refused(test::run_cli(efuse_cmd(file, {"read-protect-efuse", "BLOCK_KEY1"})), "must be readable");
  expect_refused(test::run_cli(efuse_cmd(file, {"read-protect-efuse", "SECURE_VERSION"})), "cannot be read-disabled");
}

TEST(EfuseCli, KeyPurposeRules) {
  ESPSEC_REQUIRE_VECTORS();
  test::TempDir dir;
  const fs::path file = dir / "e.bin";
  const std::string key = vector_path("xts/key256.bin").string();
  // BLOCK_KEY5 cannot hold an XTS key (SOC_EFUSE_BLOCK9_KEY_PURPOSE_QUIRK).
  expect_refused(test::run_cli(efuse_cmd(file, {"burn-key", "BLOCK_KEY5", key, "XTS_AES_128_KEY"})),
                 "KEY_PURPOSE_5 can not have XTS_AES_128_KEY key due to a hardware bug");
  expect_refused(test::run_cli(efuse_cmd(file, {"burn-key", "BLOCK9", key, "XTS_AES_128_KEY"})), "hardware bug");
  // A purpose already set and locked cannot change.
  ASSERT_EQ(test::run_cli(efuse_cmd(file, {"burn-efuse", "KEY_PURPOSE_3", "HMAC_UP"})).exit_code, 0);
  ASSERT_EQ(test::run_cli(efuse_cmd(file, {"write-protect-efuse", "KEY_PURPOSE_3"})).exit_code, 0);
  expect_refused(test::run_cli(efuse_cmd(file, {"burn-key", "BLOCK_KEY3", key, "XTS_AES_128_KEY"})),
                 "It is not possible to change 'KEY_PURPOSE_3' to 'XTS_AES_128_KEY' because write protection bit is set.");
  // The same purpose, already set: espefuse burns the key and locks the purpose.
  ASSERT_EQ(test::run_cli(efuse_cmd(file, {"burn-key", "BLOCK_KEY3", key, "HMAC_UP"})).exit_code, 0);
  // A block that already holds a key refuses another one.
  ASSERT_EQ(test::run_cli(efuse_cmd(file, {"burn-key", "BLOCK_KEY2", key, "HMAC_DOWN_ALL", "--no-write-protect",
                                           "--no-read-protect"}))
                .exit_code,
            0);
  const Bytes before = test::read_bytes(file);
  const auto again = test::run_cli(efuse_cmd(file, {"burn-key", "BLOCK_KEY2", vector_path("esptool/256bit_key.bin").string(),
                                                    "HMAC_DOWN_ALL"}));
  expect_refused(again, "cannot be cleared (BLOCK_KEY2 already holds other data)");
  EXPECT_EQ(again.err.find("0x"), std::string::npos) << "no key bits in messages: " << again.err;
  EXPECT_EQ(test::read_bytes(file), before);
  expect_refused(test::run_cli(efuse_cmd(file, {"burn-key", "BLOCK_KEY4", key, "XTS_AES_256_KEY"})), "is not a key purpose");
  expect_refused(test::run_cli(efuse_cmd(file, {"burn-key", "BLOCK_USR_DATA", key, "USER"})), "is not a key block");
  expect_refused(test::run_cli(efuse_cmd(file, {"burn-key", "BLOCK_KEY4", key})), "multiple of 3");
  expect_refused(test::run_cli(efuse_cmd(file, {"burn-key", "BLOCK_KEY4", vector_path("xts/key512.bin").string(), "HMAC_UP"})),
                 "Incorrect key file size 64. Key file must be 32 bytes (256 bits) of raw binary key data.");
  expect_refused(test::run_cli(efuse_cmd(file, {"burn-key-digest", "BLOCK_KEY4", key, "SECURE_BOOT_DIGEST0"})), "not a PEM");
  expect_refused(test::run_cli(efuse_cmd(file, {"burn-key-digest", "BLOCK_KEY4", vector_path("keys/rsa3072_a.pem").string(),
                                                "HMAC_UP"})),
                 "is not a key purpose");
  EXPECT_EQ(test::read_bytes(file), before);
}

TEST(EfuseCli, BurnKeyDigestAcceptsPrivateKeysToo) {
  ESPSEC_REQUIRE_VECTORS();
  test::TempDir dir;
  const fs::path a = copy_state(dir, 1, "a.bin");
  ASSERT_EQ(test::run_cli(efuse_cmd(a, {"burn-key-digest", "BLOCK5", vector_path("keys/rsa3072_a.pem").string(),
                                        "SECURE_BOOT_DIGEST0"}))
                .exit_code,
            0);
  EXPECT_EQ(test::read_bytes(a), test::read_bytes(state_file(2)));
}

TEST(EfuseCli, UnknownNamesAndBadValues) {
  test::TempDir dir;
  const fs::path file = dir / "e.bin";
  ASSERT_EQ(test::run_cli(efuse_cmd(file, {"summary"})).exit_code, 0);
  const Bytes fresh = test::read_bytes(file);
  struct Case { std::vector<std::string> args; const char* fragment; } cases[] = {
      {{"burn-efuse", "NO_SUCH_FUSE", "1"}, "no eFuse named 'NO_SUCH_FUSE'"},
      {{"burn-efuse", "", "1"}, "no eFuse named ''"},
      {{"burn-efuse", "FLASH_ECC_EN", "1"}, "not exposed by espefuse"},
      {{"burn-efuse", "TEMP_CALIB", "1"}, "calibration eFuse"},
      {{"burn-efuse", "SECURE_VERSION", "70000"}, "not suitable for SECURE_VERSION (uint:16)"},
      {{"burn-efuse", "SECURE_VERSION", "seven"}, "not a number"},
      {{"burn-efuse", "FLASH_TPUW", "0"}, "New value should not be 0"},
      {{"burn-efuse", "SECURE_VERSION", "-1"}, "negative"},
      {{"burn-efuse", "SECURE_VERSION", "007"}, "not a number"},
      {{"burn-efuse", "SECURE_BOOT_EN", "2"}, "will always burn 0->1"},
      {{"burn-efuse", "SECURE_BOOT_EN", "1", "DIS_TWAI"}, "valid pair"},
      {{"burn-efuse", "SECURE_BOOT_EN", "1", "SECURE_BOOT_EN", "1"}, "Found repeated SECURE_BOOT_EN in the name list."},
      {{"read-protect-efuse", "BLOCK_KEY0", "KEY0"}, "Found repeated BLOCK_KEY0 in the name list."},
      {{"burn-efuse", "WAFER_VERSION_MINOR", "1"}, "Burning WAFER_VERSION_MINOR is not supported."},
      {{"burn-efuse", "MAC", "02:11:22:33:44:55"}, "Writing Factory MAC address is not supported"},
      {{"burn-efuse", "CUSTOM_MAC", "03:11:22:33:44:55"}, "unicast"},
      {{"burn-efuse", "CUSTOM_MAC", "0211:22:33:44:55"}, "separated by colons"},
      {{"burn-efuse", "OPTIONAL_UNIQUE_ID", "0011"}, "(128 bits) (given len of the new value= 16 bits)"},
      {{"burn-efuse", "KEY_PURPOSE_0", "USER"}, "'0' can not be set (value out of range)"},
      {{"burn-efuse", "KEY_PURPOSE_0", "NOPE"}, "'NOPE' unknown name"},
      {{"burn-bit", "BLOCK11", "0"}, "'BLOCK11' is not a block name"},
      {{"burn-bit", "BLOCK0", "192"}, "BLOCK0 has bit_number in [0..191]"},
      {{"read-protect-efuse", "NOT_A_FUSE"}, "no eFuse named"},
      {{"write-protect-efuse", "WR_DIS"}, "cannot be write-protected"},
      {{"burn-efuse", "SECURE_BOOT_EN", "1", "burn-efuse", "DIS_TWAI", "1"}, "given 2 times"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.args[0] + " " + c.args[1]);
    expect_refused(test::run_cli(efuse_cmd(file, c.args)), c.fragment);
    EXPECT_EQ(test::read_bytes(file), fresh);
  }
}

TEST(EfuseCli, EfuseFileThatIsNot512BytesIsRefused) {
  test::TempDir dir;
  const fs::path file = dir / "short.bin";
  test::write_bytes(file, Bytes(100, 0));
  expect_refused(test::run_cli(efuse_cmd(file, {"summary"})), "short.bin: virtual eFuse file is 100 bytes");
  EXPECT_EQ(test::read_bytes(file), Bytes(100, 0));
  Bytes garbled(512, 0);
  garbled[0x1CF] = 0x3F;  // RD_DIS: six key blocks read-protected ...
  garbled[0x150] = 0x77;  // ... yet BLOCK_KEY0 shows data
  test::write_bytes(file, garbled);
  expect_refused(test::run_cli(efuse_cmd(file, {"burn-efuse", "DIS_TWAI", "1"})), "is read-protected but the eFuse file");
  EXPECT_EQ(test::read_bytes(file), garbled);
}

TEST(EfuseCli, EfuseFileMustBeARegularFile) {
  test::TempDir dir;
  const fs::path fifo = dir / "pipe";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  expect_refused(test::run_cli(efuse_cmd(fifo, {"summary"})), "is not a regular file");
  expect_refused(test::run_cli(efuse_cmd(dir.path(), {"summary"})), "is not a regular file");
}

TEST(EfuseCli, OnlyVirtualEsp32c3IsSupported) {
  test::TempDir dir;
  const std::string file = (dir / "e.bin").string();
  expect_refused(test::run_cli({"efuse", "--chip", "esp32c3", "summary"}), "only virtual eFuses are supported");
  expect_refused(test::run_cli({"efuse", "--virt", "--chip", "esp32s3", "summary"}), "--chip esp32s3 is not supported yet");
  expect_refused(test::run_cli({"efuse", "--virt", "--chip", "esp8266", "summary"}), "unknown --chip");
  expect_refused(test::run_cli({"efuse", "--port", "/dev/ttyUSB0", "summary"}), "serial ports are not supported");
  EXPECT_FALSE(fs::exists(file));
  // --virt alone: a throw-away chip.
  const auto r = test::run_cli({"efuse", "--virt", "--do-not-confirm", "summary", "SECURE_BOOT_EN", "--format",
                                "value_only", "burn-efuse", "SECURE_BOOT_EN", "1"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const size_t before = r.out.find("False\n");  // the read command before the burn
  const size_t after = r.out.find("True\n");    // and again after it
  ASSERT_NE(before, std::string::npos) << r.out;
  ASSERT_NE(after, std::string::npos) << r.out;
  EXPECT_LT(before, after);
}

TEST(EfuseCli, ChainedBurnsCommitTogetherAndAllOrNothing) {
  test::TempDir dir;
  const fs::path file = dir / "e.bin";
  const auto r = test::run_cli(efuse_cmd(file, {"burn-efuse", "DIS_TWAI", "1", "write-protect-efuse", "DIS_TWAI",
                                                "summary", "DIS_TWAI", "--format", "json"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Batch mode is enabled"), std::string::npos);
  auto c = Controller::open(esp32c3(), std::make_unique<FileStorage>(file));
  ASSERT_TRUE(c);
  EXPECT_EQ((*c)->read_uint("DIS_TWAI").value(), 1u);
  EXPECT_FALSE((*c)->field_writeable((*c)->field("DIS_TWAI")));
  const Bytes before = test::read_bytes(file);
  // The second command fails: the first one's bits are not burned either.
  expect_refused(test::run_cli(efuse_cmd(file, {"burn-efuse", "SECURE_BOOT_EN", "1", "burn-efuse_typo"})), "");
  expect_refused(test::run_cli(efuse_cmd(file, {"burn-efuse", "SECURE_BOOT_EN", "1", "burn-bit", "BLOCK0", "999"})),
                 "bit_number");
  EXPECT_EQ(test::read_bytes(file), before);
}

TEST(EfuseCli, WriteProtectReportsEveryFieldSharingTheBit) {
  test::TempDir dir;
  const fs::path file = dir / "e.bin";
  const auto r = test::run_cli(efuse_cmd(file, {"write-protect-efuse", "DIS_ICACHE"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Permanently write-disabling eFuses DIS_ICACHE, DIS_USB_JTAG, DIS_DOWNLOAD_ICACHE, "
                       "DIS_USB_SERIAL_JTAG, DIS_FORCE_DOWNLOAD, DIS_TWAI, DIS_PAD_JTAG, DIS_DOWNLOAD_MANUAL_ENCRYPT"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("also locks eFuses espefuse does not show: JTAG_SEL_ENABLE"), std::string::npos) << r.out;
  const auto again = test::run_cli(efuse_cmd(file, {"write-protect-efuse", "DIS_PAD_JTAG"}));
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_NE(again.out.find("Efuse DIS_PAD_JTAG is already write protected."), std::string::npos);
}

TEST(EfuseCli, DumpMatchesEspefuseLayout) {
  ESPSEC_REQUIRE_VECTORS();
  test::TempDir dir;
  const fs::path file = copy_state(dir, 2);
  const auto r = test::run_cli(efuse_cmd(file, {"dump"}));
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("BLOCK0          (                ) [0 ] dump: 01800300 00000000 94000000 00000000 00000000 00000000\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("BLOCK_KEY1      (BLOCK5          ) [5 ] dump: a21e83e6 88ebaca7"), std::string::npos);
  EXPECT_NE(r.out.find("BLOCK_SYS_DATA2 (BLOCK10         ) [10] dump: 00000000"), std::string::npos);
  const auto joint = test::run_cli(efuse_cmd(file, {"dump", "--format", "joint", "--file-name", (dir / "all.bin").string()}));
  ASSERT_EQ(joint.exit_code, 0);
  const Bytes all = test::read_bytes(dir / "all.bin");
  ASSERT_EQ(all.size(), 2 * 24 + 9 * 32u);
  EXPECT_EQ(Bytes(all.begin() + 48 + 3 * 32, all.begin() + 48 + 4 * 32),  // BLOCK2, BLOCK3, KEY0, then KEY1
            test::read_bytes(vector_path("keys/rsa3072_a.digest.bin")));
  const auto split = test::run_cli(efuse_cmd(file, {"dump", "--file-name", (dir / "blk.bin").string()}));
  ASSERT_EQ(split.exit_code, 0);
  EXPECT_EQ(test::read_bytes(dir / "blk5.bin"), test::read_bytes(vector_path("keys/rsa3072_a.digest.bin")));
  EXPECT_EQ(test::read_bytes(dir / "blk0.bin").size(), 24u);
  EXPECT_TRUE(fs::exists(dir / "blk10.bin"));
}

TEST(EfuseCli, CheckErrorReportsControllerErrors) {
  test::TempDir dir;
  const fs::path file = dir / "e.bin";
  const auto clean = test::run_cli(efuse_cmd(file, {"check-error"}));
  EXPECT_EQ(clean.exit_code, 0);
  EXPECT_NE(clean.out.find("No errors detected."), std::string::npos);
  Bytes damaged(512, 0);
  store_be32(damaged.data() + (0x1FC - 0x1C0), (1u << 12) | (1u << 19));  // BLOCK_KEY0: 1 error, fail
  test::write_bytes(file, damaged);
  const auto r = test::run_cli(efuse_cmd(file, {"check-error"}));
  expect_refused(r, "Error(s) were detected in eFuses.");
  EXPECT_NE(r.out.find("Error(s) in BLOCK4 [ERRORS:1 FAIL:True]."), std::string::npos) << r.out;
  const auto summary = test::run_cli(efuse_cmd(file, {"summary"}));
  EXPECT_NE(summary.out.find("BLOCK_KEY0 (BLOCK4)[error]"), std::string::npos);
  EXPECT_NE(summary.out.find("WARNING: Coding scheme has encoding bit error warnings"), std::string::npos);
}

TEST(EfuseCli, ForceWriteAlwaysSkipsProtectedTargets) {
  ESPSEC_REQUIRE_VECTORS();
  test::TempDir dir;
  const fs::path file = copy_state(dir, 6);
  const auto without = test::run_cli(efuse_cmd(file, {"burn-bit", "BLOCK_KEY1", "3"}));
  expect_refused(without, "(use '--force-write-always' option to ignore it)");
  const auto with = test::run_cli(efuse_cmd(file, {"burn-bit", "BLOCK_KEY1", "3", "--force-write-always"}));
  EXPECT_EQ(with.exit_code, 0) << with.err;
  EXPECT_NE(with.out.find("Skipped because '--force-write-always' option."), std::string::npos);
  EXPECT_EQ(test::read_bytes(file), test::read_bytes(state_file(6)));
}

}  // namespace
}  // namespace espsec::efuse
