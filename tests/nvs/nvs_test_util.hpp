// Helpers of the NVS tests: expected-value files of the vectors, ESP-IDF operation scripts and
// whole-partition comparisons.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "chip/flash.hpp"
#include "nvs/storage.hpp"

namespace espsec::nvs::test {

// One line of a *.expected.jsonl / *.jsonl vector file.
struct ExpectedItem {
  std::string ns;
  std::string key;
  int type = 0;
  std::string kind;      // int, string, blob
  int64_t int_value = 0;  // u64 values are stored as their two's complement bits
  std::string hex;       // strings (with NUL) and blobs
  bool iterable = true;
};

std::vector<ExpectedItem> read_expected(const std::filesystem::path& path);

// Every expected item reads back with its getter, and iteration lists exactly the iterable
// ones (compared as sets keyed by namespace and key).
void expect_contents(Storage& storage, const std::vector<ExpectedItem>& expected);

// Runs an ESP-IDF operation script (README-storage-ota.md "Operation script format"); blob
// file paths are relative to `base`.
[[nodiscard]] Status apply_ops(Storage& storage, const std::filesystem::path& script, const std::filesystem::path& base);

// Opens a whole-flash partition.
Result<std::unique_ptr<Storage>> open_whole(chip::Flash& flash, std::optional<Keys> keys = std::nullopt,
                                            OpenOptions options = {});

// First differing offset of two images, for readable failures.
std::string first_difference(ByteSpan a, ByteSpan b);

}  // namespace espsec::nvs::test
