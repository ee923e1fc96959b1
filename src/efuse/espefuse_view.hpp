// How espefuse v5.1.0 presents eFuses: which fields it exposes, each field's displayed value
// (get_meaning()), the text and JSON summaries and the raw dump. Pure functions of a Controller;
// output matches espefuse line for line (base_operations.py summary()/dump(), base_fields.py).
#pragma once

#include <span>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/bytes.hpp"
#include "core/error.hpp"
#include "efuse/controller.hpp"

namespace espsec::efuse {

// The fields espefuse lists for this state, in its order: calibration fields appear only from
// block version 1.0 (BLK_VERSION_MAJOR * 100 + BLK_VERSION_MINOR >= 100), hidden fields never.
std::vector<const FieldInfo*> espefuse_fields(const Controller& c);

// A field espefuse accepts by this name or alias. "efuse.unknown_field" names no field;
// "efuse.hidden_field" names one the model tracks but espefuse does not expose.
[[nodiscard]] Result<const FieldInfo*> find_espefuse_field(const Controller& c, std::string_view name);

// espefuse's efuse_type string: "bool", "uint:N", "bytes:N".
std::string efuse_type(const FieldInfo& field);

// A value as espefuse shows it: Python bool, int, float or str.
struct FieldValue {
  std::variant<bool, int64_t, double, std::string> value;
  std::string text() const;  // Python str()
  nlohmann::json json() const;
};

// get_meaning(): the meaning table entry, else the typed value (MAC text, purpose name, hex
// bytes, number). `bits` are the field's bits (little-endian); the current ones by default.
FieldValue field_meaning(const Controller& c, const FieldInfo& field, ByteSpan bits);
FieldValue field_meaning(const Controller& c, const FieldInfo& field);
// The text espefuse shows for a value: the meaning, with every '0' turned into '?' when the
// field is read-protected.
std::string shown_value(const Controller& c, const FieldInfo& field);

enum class SummaryFormat { kSummary, kJson, kValueOnly };

// The summary exactly as espefuse writes it with --file (text: lines ending in '\n'; JSON:
// sorted keys, 4-space indent). `names` filters (canonical names; aliases resolve).
// Errors: "efuse.unknown_field", "efuse.hidden_field", "efuse.value_only" (not exactly one name).
[[nodiscard]] Result<std::string> summary(const Controller& c, std::span<const std::string> names, SummaryFormat format);

// "Error(s) in BLOCKn [ERRORS:e FAIL:f]." for every block with coding errors.
std::vector<std::string> coding_error_lines(const Controller& c);

// One block as espefuse prints it: "BLOCK0          (                ) [0 ] dump: 00000000 ...",
// `label` being "dump", "read_regs", "to_write"...
std::string block_line(const BlockInfo& block, ByteSpan bits, std::string_view label);
// `dump` to the console: block_line(..., "dump") for every block.
std::string dump_text(const Controller& c);
// A block as `dump --format split/joint` stores it: register order, word 0 little-endian first.
Bytes dump_block(const Controller& c, unsigned id);

// Python str.title(): "spi pad" -> "Spi Pad", "MAC" -> "Mac".
std::string python_title(std::string_view text);

}  // namespace espsec::efuse
