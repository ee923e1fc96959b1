// Partition tables as CSV, exactly as ESP-IDF's gen_esp32part.py reads, checks and prints them.
// Pure text processing: the environment for $VAR expansion comes in through a lookup function.
//
//   # Name,   Type, SubType, Offset,  Size, Flags
//   nvs,      data, nvs,     ,        0x6000,
//   otadata,  data, ota,     0xf000,  8K,
//   factory,  app,  factory, ,        1M,     encrypted:readonly
//
// One partition per line; '#' lines and blank lines are skipped; fields are trimmed; missing
// trailing fields are empty and fields after the sixth are ignored. Type and subtype are a
// keyword or a number; numbers are Python int literals (decimal, 0x, 0o, 0b, '_' separators,
// sign) with an optional k/K (x1024) or m/M (x1048576) suffix. An empty offset is placed after
// the previous partition, aligned to 0x10000 for apps and 0x1000 otherwise, the first one after
// the table sector; a negative size -S means "up to absolute offset S". bootloader and
// partition_table rows take offset and size from the options.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "format/partition_table.hpp"

namespace espsec::partition {

enum class SecureBootCheck { kNone, kV1, kV2 };  // --secure: app size alignment rules

// gen_esp32part options that change how rows are placed and checked.
struct GenOptions {
  uint32_t table_offset = kDefaultTableOffset;         // --offset
  std::optional<uint32_t> primary_bootloader_offset;   // --primary-bootloader-offset
  std::optional<uint32_t> recovery_bootloader_offset;  // --recovery-bootloader-offset
  SecureBootCheck secure = SecureBootCheck::kNone;     // --secure [v1|v2]
};

// A partition and the CSV line it came from (0 when it came from a binary table).
struct Row {
  Entry entry;
  int line = 0;
};

// Value of an environment variable, or nullopt when it is not set.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

// An integer option (--offset and the bootloader offsets): Python int(text, 0), 0 .. 0xFFFFFFFF.
[[nodiscard]] Result<uint32_t> parse_offset_option(std::string_view text, std::string_view option);

// Refuses a primary bootloader offset at or above the table offset (code "partition_csv.options").
[[nodiscard]] Status check_options(const GenOptions& options);

// Decodes CSV file bytes as gen_esp32part does: UTF-8 with or without BOM, or UTF-16 with BOM.
[[nodiscard]] Result<std::string> decode_csv_text(ByteSpan file);

// Parses CSV text into rows with offsets placed and negative sizes resolved. Errors name the
// line: "line 4: Size field can't be empty" (codes "partition_csv.*").
[[nodiscard]] Result<std::vector<Row>> parse_csv(std::string_view text, const GenOptions& options,
                                                 const EnvLookup& env);

// gen_esp32part's table checks (PartitionTable.verify), in its order: per partition offset
// alignment (0x10000 app, 0x1000 other), app size alignment (0x1000; 0x10000 with --secure v1),
// no readonly otadata/coredump, read-write NVS at least 0x3000; then unique names, nothing
// below the end of the table sector (except the primary bootloader and table rows), no
// overlaps, at most one otadata (and one tee_ota) of exactly 0x2000 bytes. Non-fatal findings
// ("WARNING: ...") are appended to `warnings`. Codes "partition_table.*".
[[nodiscard]] Status validate(std::span<const Row> rows, const GenOptions& options,
                              std::vector<std::string>* warnings = nullptr);

// --flash-size: the end of the partition with the highest offset must fit in `flash_size`.
[[nodiscard]] Status check_fits_flash(std::span<const Row> rows, uint64_t flash_size);

// The CSV gen_esp32part prints for a binary table (to_csv): two comment lines, then
// "name,type,subtype,0xoffset,size,flags" with keywords where known, sizes as nM/nK when whole.
std::string to_csv(std::span<const Entry> entries);
std::string to_csv_row(const Entry& entry);

}  // namespace espsec::partition
