#include "partition/gen_esp32part.hpp"

namespace espsec::partition {

bool looks_binary(ByteSpan input) { return input.size() >= 2 && input[0] == 0xAA && input[1] == 0x50; }

Result<Conversion> convert(ByteSpan input, const ConvertOptions& options, const EnvLookup& env,
                           std::vector<Message>* messages_on_error) {
  Conversion out;
  std::vector<std::string> warnings;
  auto flush_warnings = [&] {
    for (auto& w : warnings) out.messages.push_back({false, std::move(w)});
    warnings.clear();
  };
  auto failed = [&](Error e) -> Result<Conversion> {
    flush_warnings();
    if (messages_on_error) *messages_on_error = std::move(out.messages);
    return std::unexpected(std::move(e));
  };

  if (auto s = check_options(options.gen); !s) return failed(s.error());
  out.input_was_binary = looks_binary(input);
  if (out.input_was_binary) {
    out.messages.push_back({true, "Parsing binary partition input..."});
    auto table = parse_table_file(input, options.md5, &warnings);
    if (!table) return failed(table.error());
    for (auto& e : table->entries) out.rows.push_back(Row{std::move(e), 0});
  } else {
    auto text = decode_csv_text(input);
    if (!text) return failed(text.error());
    out.messages.push_back({true, "Parsing CSV input..."});
    auto rows = parse_csv(*text, options.gen, env);
    if (!rows) return failed(rows.error());
    out.rows = std::move(*rows);
  }
  flush_warnings();

  if (options.verify) {
    out.messages.push_back({true, "Verifying table..."});
    if (auto s = validate(out.rows, options.gen, &warnings); !s) return failed(s.error());
    flush_warnings();
  }
  if (options.flash_size)
    if (auto s = check_fits_flash(out.rows, *options.flash_size); !s) return failed(s.error());

  std::vector<Entry> entries;
  entries.reserve(out.rows.size());
  for (const auto& r : out.rows) entries.push_back(r.entry);
  if (out.input_was_binary) {
    const std::string csv = to_csv(entries);
    out.output.assign(csv.begin(), csv.end());
  } else {
    auto binary = serialize_table(entries, options.md5);
    if (!binary) return failed(binary.error());
    out.output = std::move(*binary);
  }
  return out;
}

Result<uint64_t> parse_flash_size(const std::string& text) {
  for (uint64_t mb : {1, 2, 4, 8, 16, 32, 64, 128})
    if (text == fmt::format("{}MB", mb)) return mb * 1024 * 1024;
  return fail("partition_csv.flash_size",
              "invalid --flash-size '{}' (choose from 1MB, 2MB, 4MB, 8MB, 16MB, 32MB, 64MB, 128MB)", text);
}

}  // namespace espsec::partition
