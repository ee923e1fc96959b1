// The CSV input of nvs_partition_gen 0.2.0: Python's csv.DictReader (excel dialect: comma,
// '"' quoting with "" escapes, quoted fields may span lines, no trimming) over the file's lines
// after removing every physical line that starts with '#'. The first remaining record names
// the columns; key, type, encoding and value are looked up by name, extra columns ignored.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace espsec::nvs {

struct CsvRow {
  size_t line = 0;  // physical line (1-based) where the record starts
  std::string key;
  std::string type;
  std::optional<std::string> encoding;  // nullopt when the record has no such field
  std::optional<std::string> value;
};

// Strict UTF-8 as Python decodes it (no overlong forms, surrogates or values past U+10FFFF).
bool is_valid_utf8(std::string_view text);

// `source` names the file in error messages ("input.csv:7: ..."). Errors: csv.encoding (not
// UTF-8), csv.nul, csv.header, csv.unterminated, csv.extra_fields, csv.missing_key.
[[nodiscard]] Result<std::vector<CsvRow>> parse_csv(std::string_view text, std::string_view source);

}  // namespace espsec::nvs
