#include "partition/csv.hpp"

#include <algorithm>
#include <limits>
#include <set>

namespace espsec::partition {
namespace {

constexpr int64_t kNvsReadWriteMinSize = 0x3000;  // gen_esp32part NVS_RW_MIN_PARTITION_SIZE
constexpr int64_t kOtadataSize = 0x2000;
constexpr uint32_t kAppOffsetAlignment = 0x10000;
constexpr uint32_t kOtherOffsetAlignment = 0x1000;

// ---- Python str semantics the tool relies on ------------------------------------------------

// Code point at byte `i` of well-formed UTF-8 and its length.
uint32_t code_point_at(std::string_view s, size_t i, size_t* len) {
  const auto c = static_cast<uint8_t>(s[i]);
  if (c < 0x80) {
    *len = 1;
    return c;
  }
  const size_t n = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : 4;
  uint32_t cp = c & (n == 2 ? 0x1F : n == 3 ? 0x0F : 0x07);
  for (size_t k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<uint8_t>(s[i + k]) & 0x3F);
  *len = n;
  return cp;
}

// str.isspace() (what str.strip() removes).
bool py_space(uint32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20) || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F ||
         cp == 0x3000;
}

std::string_view py_strip(std::string_view s) {
  size_t len = 0;
  while (!s.empty() && py_space(code_point_at(s, 0, &len))) s.remove_prefix(len);
  while (!s.empty()) {
    size_t start = s.size() - 1;
    while (start > 0 && (static_cast<uint8_t>(s[start]) & 0xC0) == 0x80) --start;
    if (!py_space(code_point_at(s, start, &len))) break;
    s = s.substr(0, start);
  }
  return s;
}

// str.splitlines(): \n, \r, \r\n, \v, \f, \x1c-\x1e, U+0085, U+2028, U+2029 end a line.
std::vector<std::string_view> py_splitlines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<uint8_t>(text[i]);
    size_t brk = 0;
    if (c == '\r') {
      brk = (i + 1 < text.size() && text[i + 1] == '\n') ? 2 : 1;
    } else if (c == '\n' || c == 0x0B || c == 0x0C || (c >= 0x1C && c <= 0x1E)) {
      brk = 1;
    } else if (c == 0xC2 && i + 1 < text.size() && static_cast<uint8_t>(text[i + 1]) == 0x85) {
      brk = 2;
    } else if (c == 0xE2 && i + 2 < text.size() && static_cast<uint8_t>(text[i + 1]) == 0x80 &&
               (static_cast<uint8_t>(text[i + 2]) == 0xA8 || static_cast<uint8_t>(text[i + 2]) == 0xA9)) {
      brk = 3;
    }
    if (brk == 0) {
      ++i;
      continue;
    }
    lines.push_back(text.substr(start, i - start));
    i += brk;
    start = i;
  }
  if (start < text.size()) lines.push_back(text.substr(start));
  return lines;
}

bool word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// os.path.expandvars (POSIX): $name and ${name} are replaced when set, left as they are when not.
std::string expand_vars(std::string_view line, const EnvLookup& env) {
  std::string out(line);
  size_t i = 0;
  for (;;) {
    size_t start = std::string::npos, end = 0;
    std::string name;
    for (size_t p = out.find('$', i); p != std::string::npos; p = out.find('$', p + 1)) {
      if (p + 1 < out.size() && word_char(out[p + 1])) {
        size_t q = p + 1;
        while (q < out.size() && word_char(out[q])) ++q;
        start = p, end = q, name = out.substr(p + 1, q - p - 1);
        break;
      }
      if (p + 1 < out.size() && out[p + 1] == '{') {
        const size_t close = out.find('}', p + 2);
        if (close == std::string::npos) continue;
        start = p, end = close + 1, name = out.substr(p + 2, close - p - 2);
        break;
      }
    }
    if (start == std::string::npos) return out;
    const std::optional<std::string> value = env ? env(name) : std::nullopt;
    if (!value) {
      i = end;
      continue;
    }
    out = out.substr(0, start) + *value + out.substr(end);
    i = start + value->size();
  }
}

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// Python's '%x' (a negative value prints as -hex).
std::string py_hex(int64_t v) {
  if (v < 0) return fmt::format("-{:x}", -static_cast<uint64_t>(v));
  return fmt::format("{:x}", v);
}

enum class IntParse { kOk, kInvalid, kTooLarge };

// int(text, 0): optional sign, 0x/0o/0b prefixes, single '_' between digits, no leading zeros
// in non-zero decimals, surrounding whitespace allowed.
IntParse py_int(std::string_view text, int64_t* value) {
  std::string_view s = py_strip(text);
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) return IntParse::kInvalid;
  int base = 10;
  bool underscore_ok = false;  // a base prefix may be followed by one '_'
  if (s.size() >= 2 && s[0] == '0') {
    const char p = static_cast<char>(s[1] | 0x20);
    if (p == 'x' || p == 'o' || p == 'b') {
      base = p == 'x' ? 16 : p == 'o' ? 8 : 2;
      s.remove_prefix(2);
      underscore_ok = true;
    }
  }
  if (base == 10 && s[0] == '0') {
    // "0", "00", "0_0": zero only.
    bool prev_underscore = false;
    for (size_t k = 1; k < s.size(); ++k) {
      if (s[k] == '_') {
        if (prev_underscore) return IntParse::kInvalid;
        prev_underscore = true;
      } else if (s[k] == '0') {
        prev_underscore = false;
      } else {
        return IntParse::kInvalid;
      }
    }
    if (prev_underscore) return IntParse::kInvalid;
    *value = 0;
    return IntParse::kOk;
  }
  uint64_t magnitude = 0;
  bool any_digit = false;
  bool too_large = false;
  bool prev_underscore = false;
  for (size_t k = 0; k < s.size(); ++k) {
    const char c = s[k];
    if (c == '_') {
      if (prev_underscore || (!any_digit && !(k == 0 && underscore_ok))) return IntParse::kInvalid;
      prev_underscore = true;
      continue;
    }
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'z') d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'Z') d = c - 'A' + 10;
    else return IntParse::kInvalid;
    if (d >= base) return IntParse::kInvalid;
    prev_underscore = false;
    any_digit = true;
    if (magnitude > (static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) - static_cast<uint64_t>(d)) /
                        static_cast<uint64_t>(base))
      too_large = true;
    else
      magnitude = magnitude * static_cast<uint64_t>(base) + static_cast<uint64_t>(d);
  }
  if (!any_digit || prev_underscore) return IntParse::kInvalid;
  if (too_large) return IntParse::kTooLarge;
  *value = negative ? -static_cast<int64_t>(magnitude) : static_cast<int64_t>(magnitude);
  return IntParse::kOk;
}

// gen_esp32part parse_int: k/m suffixes (recursively), int(v, 0), then keyword lookup.
Result<int64_t> parse_int(std::string_view v, std::span<const Keyword> keywords = {}) {
  const std::string lower = ascii_lower(v);
  for (const auto& [letter, multiplier] : {std::pair{'k', int64_t{1024}}, std::pair{'m', int64_t{1024 * 1024}}}) {
    if (!lower.empty() && lower.back() == letter) {
      ESPSEC_ASSIGN_OR_RETURN(const int64_t inner, parse_int(v.substr(0, v.size() - 1), keywords));
      int64_t product;
      if (__builtin_mul_overflow(inner, multiplier, &product))
        return fail("partition_csv.range", "value {} is out of range", v);
      return product;
    }
  }
  int64_t value = 0;
  switch (py_int(v, &value)) {
    case IntParse::kOk: return value;
    case IntParse::kTooLarge: return fail("partition_csv.range", "value {} is out of range", v);
    case IntParse::kInvalid: break;
  }
  if (keywords.empty()) return fail("partition_csv.value", "Invalid field value {}", v);
  for (const auto& k : keywords)
    if (k.name == lower) return int64_t{k.value};
  std::string known;
  for (const auto& k : keywords) known += (known.empty() ? "" : ", ") + std::string(k.name);
  return fail("partition_csv.keyword", "Value '{}' is not valid. Known keywords: {}", v, known);
}

// A row while its offset may still be unknown and its size negative.
struct RawRow {
  std::string name;
  int64_t type = 0;
  int64_t subtype = 0;
  std::optional<int64_t> offset;
  int64_t size = 0;
  uint32_t flags = 0;
  int line = 0;
  bool same_as(const RawRow& o) const {
    return name == o.name && type == o.type && subtype == o.subtype && offset == o.offset && size == o.size;
  }
};

bool is_primary_bootloader_or_table(int64_t t, int64_t s) {
  return (t == type::kBootloader || t == type::kPartitionTable) && s == subtype::kPrimary;
}

Result<uint8_t> byte_field(int64_t v, const char* what) {
  if (v < 0 || v > 0xFF)
    return fail("partition_csv.range", "{} {} does not fit in one byte (0..255)", what, v);
  return static_cast<uint8_t>(v);
}

Result<RawRow> parse_row(std::string_view line, int line_no, const GenOptions& options) {
  std::vector<std::string_view> fields;
  const std::string padded = std::string(line) + ",,,,";  // missing trailing fields are empty
  std::string_view rest = padded;
  for (;;) {
    const size_t comma = rest.find(',');
    fields.push_back(py_strip(rest.substr(0, comma)));
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  RawRow row;
  row.line = line_no;
  row.name = std::string(fields[0]);

  if (fields[1].empty()) return fail("partition_csv.type_empty", "Field 'type' can't be left empty.");
  ESPSEC_ASSIGN_OR_RETURN(row.type, parse_int(fields[1], type_keywords()));
  ESPSEC_ASSIGN_OR_RETURN(const uint8_t t, byte_field(row.type, "type"));

  if (fields[2].empty()) {
    if (t == type::kApp)
      return fail("partition_csv.subtype_empty", "App partition cannot have an empty subtype");
    row.subtype = subtype::kUndefined;
  } else {
    ESPSEC_ASSIGN_OR_RETURN(row.subtype, parse_int(fields[2], subtype_keywords(t)));
  }
  ESPSEC_ASSIGN_OR_RETURN(const uint8_t s, byte_field(row.subtype, "subtype"));

  auto need_primary = [&]() -> Result<int64_t> {
    if (!options.primary_bootloader_offset)
      return fail("partition_csv.bootloader_offset",
                  "Primary bootloader offset is not defined. Please use --primary-bootloader-offset");
    return int64_t{*options.primary_bootloader_offset};
  };
  // Offset: fixed by the options for the primary/recovery bootloader and the primary table.
  if (t == type::kBootloader && s == subtype::kPrimary) {
    ESPSEC_ASSIGN_OR_RETURN(row.offset, need_primary());
  } else if (t == type::kBootloader && s == subtype::kRecovery) {
    if (!options.recovery_bootloader_offset)
      return fail("partition_csv.recovery_offset",
                  "Recovery bootloader offset is not defined. Please use --recovery-bootloader-offset");
    row.offset = *options.recovery_bootloader_offset;
  } else if (t == type::kPartitionTable && s == subtype::kPrimary) {
    row.offset = options.table_offset;
  } else if (!fields[3].empty()) {
    ESPSEC_ASSIGN_OR_RETURN(row.offset, parse_int(fields[3]));
  }
  // Size: every bootloader is as large as the space before the table; a table is one sector.
  if (t == type::kBootloader) {
    ESPSEC_ASSIGN_OR_RETURN(const int64_t primary, need_primary());
    row.size = int64_t{options.table_offset} - primary;
  } else if (t == type::kPartitionTable) {
    row.size = kTableSectorSize;
  } else if (fields[4].empty()) {
    return fail("partition_csv.size_empty", "Size field can't be empty");
  } else {
    ESPSEC_ASSIGN_OR_RETURN(row.size, parse_int(fields[4]));
  }

  std::string_view flags = fields[5];
  for (;;) {
    const size_t colon = flags.find(':');
    const std::string_view flag = flags.substr(0, colon);
    if (flag == "encrypted") row.flags |= kFlagEncrypted;
    else if (flag == "readonly") row.flags |= kFlagReadonly;
    else if (!flag.empty())
      return fail("partition_csv.flag", "CSV flag column contains unknown flag '{}'", flag);
    if (colon == std::string_view::npos) break;
    flags.remove_prefix(colon + 1);
  }
  return row;
}

Error at_line(Error e, int line) {
  if (line > 0) e.message = fmt::format("line {}: {}", line, e.message);
  return e;
}

std::string size_text(uint32_t size) {
  if (size % 0x100000 == 0) return fmt::format("{}M", size / 0x100000);
  if (size % 0x400 == 0) return fmt::format("{}K", size / 0x400);
  return fmt::format("0x{:x}", size);
}

bool is_keyword_of_any_type(std::string_view name) {
  for (uint8_t t : {type::kBootloader, type::kPartitionTable, type::kApp, type::kData})
    for (const auto& k : subtype_keywords(t))
      if (k.name == name) return true;
  return false;
}

std::optional<uint8_t> keyword_value(std::span<const Keyword> keywords, std::string_view name) {
  for (const auto& k : keywords)
    if (k.name == name) return k.value;
  return std::nullopt;
}

Status validate_partition(const Row& row, const GenOptions& options, std::vector<std::string>* warnings) {
  const Entry& p = row.entry;
  auto invalid = [&](const char* code, const std::string& message) -> Status {
    return std::unexpected(at_line(Error{code, fmt::format("Partition {} invalid: {}", p.label, message)}, row.line));
  };
  const uint32_t offset_align = p.type == type::kApp ? kAppOffsetAlignment : kOtherOffsetAlignment;
  if (p.offset % offset_align != 0)
    return invalid("partition_table.offset_align",
                   fmt::format("Offset 0x{:x} is not aligned to 0x{:x}", p.offset, offset_align));
  if (p.type == type::kApp) {
    // Secure Boot v1 keeps its signature at the end of a 64 KiB block; otherwise a flash sector.
    const uint32_t size_align = options.secure == SecureBootCheck::kV1 ? 0x10000 : 0x1000;
    if (p.size % size_align != 0)
      return invalid("partition_table.size_align",
                     fmt::format("Size 0x{:x} is not aligned to 0x{:x}", p.size, size_align));
  }
  if (warnings) {
    if (auto t = keyword_value(type_keywords(), p.label); t && *t != p.type)
      warnings->push_back(fmt::format(
          "WARNING: Partition has name '{}' which is a partition type, but does not match this partition's type "
          "(0x{:x}). Mistake in partition table?",
          p.label, p.type));
    if (is_keyword_of_any_type(p.label) && keyword_value(subtype_keywords(p.type), p.label) != p.subtype)
      warnings->push_back(fmt::format(
          "WARNING: Partition has name '{}' which is a partition subtype, but this partition has non-matching type "
          "0x{:x} and subtype 0x{:x}. Mistake in partition table?",
          p.label, p.type, p.subtype));
  }
  if (p.type == type::kData && (p.subtype == subtype::kDataOta || p.subtype == subtype::kCoredump) && p.readonly())
    return invalid("partition_table.readonly",
                   fmt::format("'{}' partition of type {} and subtype {} is always read-write and cannot be read-only",
                               p.label, p.type, p.subtype));
  if (p.type == type::kData && p.subtype == subtype::kNvs && p.size < kNvsReadWriteMinSize && !p.readonly())
    return invalid("partition_table.nvs_size",
                   fmt::format("'{}' partition of type {} and subtype {} of this size (0x{:x}) must be flagged as "
                               "'readonly' (the size of read/write NVS has to be at least 0x{:x})",
                               p.label, p.type, p.subtype, p.size, kNvsReadWriteMinSize));
  return {};
}

Status check_single_otadata(std::span<const Row> rows, uint8_t data_subtype, const char* what,
                            const char* description, std::vector<std::string>* warnings) {
  std::vector<const Row*> found;
  for (const auto& r : rows)
    if (r.entry.type == type::kData && r.entry.subtype == data_subtype) found.push_back(&r);
  if (found.size() > 1) {
    if (warnings)
      for (const Row* r : found) warnings->push_back(to_csv_row(r->entry));
    return std::unexpected(at_line(
        Error{"partition_table.otadata_multiple",
              fmt::format("Found multiple {} partitions. Only one partition can be defined with {}.", what,
                          description)},
        found[1]->line));
  }
  if (found.size() == 1 && found[0]->entry.size != kOtadataSize) {
    if (warnings) warnings->push_back(to_csv_row(found[0]->entry));
    return std::unexpected(
        at_line(Error{"partition_table.otadata_size", fmt::format("{} partition must have size = 0x2000", what)},
                found[0]->line));
  }
  return {};
}

// UTF-16 or UTF-32 code units (after the BOM) -> UTF-8.
Result<std::string> utf_units_to_utf8(ByteSpan data, size_t unit, bool big_endian) {
  if (data.size() % unit != 0)
    return fail("partition_csv.encoding", "CSV text is not valid UTF-{}: odd number of bytes", unit * 8);
  auto load = [&](size_t i) -> uint32_t {
    const uint8_t* p = data.data() + i;
    if (unit == 2) return big_endian ? static_cast<uint32_t>((p[0] << 8) | p[1]) : load_le16(p);
    return big_endian ? load_be32(p) : load_le32(p);
  };
  std::string out;
  for (size_t i = 0; i < data.size(); i += unit) {
    uint32_t cp = load(i);
    if (unit == 2 && cp >= 0xD800 && cp <= 0xDBFF && i + unit < data.size()) {
      const uint32_t low = load(i + unit);
      if (low >= 0xDC00 && low <= 0xDFFF) {
        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
        i += unit;
      }
    }
    if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
      return fail("partition_csv.encoding", "CSV text is not valid UTF-{} (bad code unit at byte {})", unit * 8, i);
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }
  return out;
}

bool starts_with(ByteSpan data, std::initializer_list<uint8_t> prefix) {
  return data.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), data.begin());
}

}  // namespace

Result<uint32_t> parse_offset_option(std::string_view text, std::string_view option) {
  int64_t value = 0;
  if (py_int(text, &value) != IntParse::kOk || value < 0 || value > 0xFFFFFFFF)
    return fail("partition_csv.option_value", "{}: '{}' is not an offset (a number such as 0x8000)", option, text);
  return static_cast<uint32_t>(value);
}

Status check_options(const GenOptions& options) {
  if (options.primary_bootloader_offset && *options.primary_bootloader_offset >= options.table_offset)
    return fail("partition_csv.options",
                "Unsupported configuration. Primary bootloader must be below partition table. Check "
                "--primary-bootloader-offset=0x{:x} and --offset=0x{:x}",
                *options.primary_bootloader_offset, options.table_offset);
  return {};
}

Result<std::string> decode_csv_text(ByteSpan file) {
  // gen_esp32part get_encoding(): the BOM decides; the UTF-16 LE BOM is tested before UTF-32 LE's.
  if (starts_with(file, {0xEF, 0xBB, 0xBF})) file = file.subspan(3);
  else if (starts_with(file, {0xFF, 0xFE})) return utf_units_to_utf8(file.subspan(2), 2, false);
  else if (starts_with(file, {0xFE, 0xFF})) return utf_units_to_utf8(file.subspan(2), 2, true);
  else if (starts_with(file, {0x00, 0x00, 0xFE, 0xFF})) return utf_units_to_utf8(file.subspan(4), 4, true);
  const std::string_view text = as_chars(file);
  if (!is_valid_utf8(text)) return fail("partition_csv.encoding", "CSV text is not valid UTF-8");
  return std::string(text);
}

Result<std::vector<Row>> parse_csv(std::string_view text, const GenOptions& options, const EnvLookup& env) {
  if (!is_valid_utf8(text)) return fail("partition_csv.encoding", "CSV text is not valid UTF-8");
  std::vector<RawRow> raw;
  const auto lines = py_splitlines(text);
  for (size_t n = 0; n < lines.size(); ++n) {
    const int line_no = static_cast<int>(n + 1);
    const std::string expanded = expand_vars(lines[n], env);
    // gen_esp32part only notices an unknown variable at the very start of a line.
    if (expanded.size() >= 2 && expanded[0] == '$' && word_char(expanded[1]) &&
        !(expanded[1] >= '0' && expanded[1] <= '9')) {
      size_t k = 1;
      while (k < expanded.size() && word_char(expanded[k])) ++k;
      return std::unexpected(at_line(
          Error{"partition_csv.variable", fmt::format("unknown variable '{}'", expanded.substr(1, k - 1))}, line_no));
    }
    const std::string_view line = py_strip(expanded);
    if (line.empty() || line.front() == '#') continue;
    auto row = parse_row(line, line_no, options);
    if (!row) return std::unexpected(at_line(row.error(), line_no));
    raw.push_back(std::move(*row));
  }

  // Place rows without an offset and resolve negative sizes (PartitionTable.from_csv).
  int64_t last_end = int64_t{options.table_offset} + kTableSectorSize;
  for (auto& e : raw) {
    if (is_primary_bootloader_or_table(e.type, e.subtype)) continue;
    if (e.offset && *e.offset < last_end) {
      if (e.same_as(raw.front()))
        return fail("partition_csv.overlap",
                    "CSV Error at line {}: Partitions overlap. Partition sets offset 0x{}. But partition table "
                    "occupies the whole sector 0x{:x}. Use a free offset 0x{} or higher.",
                    e.line, py_hex(*e.offset), options.table_offset, py_hex(last_end));
      return fail("partition_csv.overlap",
                  "CSV Error at line {}: Partitions overlap. Partition sets offset 0x{}. Previous partition ends 0x{}",
                  e.line, py_hex(*e.offset), py_hex(last_end));
    }
    if (!e.offset) {
      const int64_t pad_to = e.type == type::kApp ? int64_t{kAppOffsetAlignment} : int64_t{kOtherOffsetAlignment};
      if (last_end % pad_to != 0) last_end += pad_to - (last_end % pad_to);
      e.offset = last_end;
    }
    if (e.size < 0) e.size = -e.size - *e.offset;
    last_end = *e.offset + e.size;
  }

  std::vector<Row> rows;
  rows.reserve(raw.size());
  constexpr int64_t kMax = 0xFFFFFFFF;
  for (const auto& e : raw) {
    if (*e.offset < 0 || *e.offset > kMax)
      return std::unexpected(at_line(
          Error{"partition_csv.range", fmt::format("offset 0x{} does not fit in 32 bits", py_hex(*e.offset))},
          e.line));
    if (e.size < 0 || e.size > kMax)
      return std::unexpected(at_line(
          Error{"partition_csv.range",
                fmt::format("size 0x{} is not a 32-bit size (a negative size must name an end beyond the offset)",
                            py_hex(e.size))},
          e.line));
    Row r;
    r.line = e.line;
    r.entry.label = e.name;
    r.entry.type = static_cast<uint8_t>(e.type);
    r.entry.subtype = static_cast<uint8_t>(e.subtype);
    r.entry.offset = static_cast<uint32_t>(*e.offset);
    r.entry.size = static_cast<uint32_t>(e.size);
    r.entry.flags = e.flags;
    rows.push_back(std::move(r));
  }
  return rows;
}

Status validate(std::span<const Row> rows, const GenOptions& options, std::vector<std::string>* warnings) {
  for (const auto& r : rows) ESPSEC_TRY(validate_partition(r, options, warnings));

  std::vector<const Row*> by_name;
  for (const auto& r : rows) by_name.push_back(&r);
  std::stable_sort(by_name.begin(), by_name.end(),
                   [](const Row* a, const Row* b) { return a->entry.label < b->entry.label; });
  std::vector<const Row*> duplicates;
  for (size_t i = 0; i < by_name.size(); ++i) {
    const bool same_prev = i > 0 && by_name[i - 1]->entry.label == by_name[i]->entry.label;
    const bool same_next = i + 1 < by_name.size() && by_name[i + 1]->entry.label == by_name[i]->entry.label;
    if (same_prev || same_next) duplicates.push_back(by_name[i]);
  }
  if (!duplicates.empty()) {
    if (warnings) {
      warnings->push_back("A list of partitions that have the same name:");
      for (const Row* r : duplicates) warnings->push_back(to_csv_row(r->entry));
    }
    // Name the line of the first repeated name, in table order.
    const Row* second = nullptr;
    std::set<std::string_view> seen;
    for (const auto& r : rows) {
      if (!seen.insert(r.entry.label).second) {
        second = &r;
        break;
      }
    }
    return std::unexpected(at_line(
        Error{"partition_table.duplicate_name",
              fmt::format("Partition names must be unique ('{}' is used more than once)", second->entry.label)},
        second->line));
  }

  std::vector<const Row*> by_offset;
  for (const auto& r : rows) by_offset.push_back(&r);
  std::stable_sort(by_offset.begin(), by_offset.end(),
                   [](const Row* a, const Row* b) { return a->entry.offset < b->entry.offset; });
  const uint64_t first_free = uint64_t{options.table_offset} + kTableSectorSize;
  const Row* last = nullptr;
  for (const Row* r : by_offset) {
    const Entry& p = r->entry;
    if (p.offset < first_free && !is_primary_bootloader_or_table(p.type, p.subtype))
      return std::unexpected(at_line(Error{"partition_table.below_table",
                                           fmt::format("Partition offset 0x{:x} is below 0x{:x}", p.offset, first_free)},
                                     r->line));
    if (last && p.offset < last->entry.end())
      return std::unexpected(
          at_line(Error{"partition_table.overlap",
                        fmt::format("Partition at 0x{:x} overlaps 0x{:x}-0x{}", p.offset, last->entry.offset,
                                    py_hex(static_cast<int64_t>(last->entry.end()) - 1))},
                  r->line));
    last = r;
  }

  ESPSEC_TRY(check_single_otadata(rows, subtype::kDataOta, "otadata", "type=\"data\"(1) and subtype=\"ota\"(0)",
                                  warnings));
  ESPSEC_TRY(check_single_otadata(rows, subtype::kTeeOta, "TEE otadata",
                                  "type=\"data\"(1) and subtype=\"tee_ota\"(0x90)", warnings));
  return {};
}

Status check_fits_flash(std::span<const Row> rows, uint64_t flash_size) {
  // gen_esp32part flash_size(): end of the (first) partition with the highest offset.
  const Row* last = nullptr;
  for (const auto& r : rows)
    if (!last || r.entry.offset > last->entry.offset) last = &r;
  const uint64_t used = last ? last->entry.end() : 0;
  if (flash_size < used) {
    constexpr double kMb = 1024.0 * 1024.0;
    return fail("partition_table.flash_size",
                "Partitions tables occupies {:.1f}MB of flash ({} bytes) which does not fit in configured flash "
                "size {}MB. Change the flash size in menuconfig under the 'Serial Flasher Config' menu.",
                static_cast<double>(used) / kMb, used, flash_size / (1024 * 1024));
  }
  return {};
}

std::string to_csv_row(const Entry& e) {
  std::string flags;
  if (e.encrypted()) flags = "encrypted";
  if (e.readonly()) flags += flags.empty() ? "readonly" : ":readonly";
  return fmt::format("{},{},{},0x{:x},{},{}", e.label, type_name(e.type), subtype_name(e.type, e.subtype), e.offset,
                     size_text(e.size), flags);
}

std::string to_csv(std::span<const Entry> entries) {
  std::string out = "# ESP-IDF Partition Table\n# Name, Type, SubType, Offset, Size, Flags\n";
  for (const auto& e : entries) out += to_csv_row(e) + "\n";
  return out;
}

}  // namespace espsec::partition
