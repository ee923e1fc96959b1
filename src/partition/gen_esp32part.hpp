// gen_esp32part.py's conversion (run_gen): CSV -> binary table or binary table -> CSV, the
// direction chosen by the input (a binary starts with the entry magic AA 50). Pure: the caller
// reads the input, supplies the environment and writes the output.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/bytes.hpp"
#include "core/error.hpp"
#include "partition/csv.hpp"

namespace espsec::partition {

struct ConvertOptions {
  GenOptions gen;
  bool md5 = true;                     // --disable-md5sum clears it (both directions)
  bool verify = true;                  // --no-verify clears it
  std::optional<uint64_t> flash_size;  // --flash-size, in bytes
};

// A line for stderr: progress ("Parsing CSV input...", suppressed by -q) or a warning (always shown).
struct Message {
  bool status = false;
  std::string text;
};

struct Conversion {
  bool input_was_binary = false;
  Bytes output;  // the 0xC00-byte table, or the CSV text
  std::vector<Row> rows;
  std::vector<Message> messages;  // in the order gen_esp32part prints them
};

bool looks_binary(ByteSpan input);

// On error, `messages` (when given) still receives what was printed before the failure.
[[nodiscard]] Result<Conversion> convert(ByteSpan input, const ConvertOptions& options, const EnvLookup& env,
                                         std::vector<Message>* messages_on_error = nullptr);

// The --flash-size values gen_esp32part accepts ("1MB" .. "128MB"), in bytes.
[[nodiscard]] Result<uint64_t> parse_flash_size(const std::string& text);

}  // namespace espsec::partition
