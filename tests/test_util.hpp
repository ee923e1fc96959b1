// Shared test helpers: interop vectors, scratch directories and running the espsec binary.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "core/bytes.hpp"

namespace espsec::test {

// ../shared/vectors next to the checkout, or $ESPSEC_VECTORS when set.
std::filesystem::path vectors_dir();
bool have_vectors();

// Skips the current test, loudly, when the interop vectors are not beside the checkout.
#define ESPSEC_REQUIRE_VECTORS()                                                            \
  do {                                                                                      \
    if (!::espsec::test::have_vectors())                                                    \
      GTEST_SKIP() << "interop vectors not found at " << ::espsec::test::vectors_dir()      \
                   << " (expected ../shared/vectors beside the checkout); test skipped";    \
  } while (0)

Bytes read_vector(const std::string& relative);  // fails the test if missing
Bytes read_bytes(const std::filesystem::path& path);
void write_bytes(const std::filesystem::path& path, ByteSpan data);
Bytes hex(std::string_view text);  // aborts the test on bad hex

// A fresh directory removed at the end of the test.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

struct CliResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs the espsec binary with `args` (no shell), optionally in `cwd`, capturing both streams.
CliResult run_cli(const std::vector<std::string>& args, const std::filesystem::path& cwd = {});

}  // namespace espsec::test
