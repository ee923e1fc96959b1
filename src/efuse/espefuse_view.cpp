#include "efuse/espefuse_view.hpp"

#include <algorithm>
#include <cctype>
#include <set>

#include <fmt/format.h>

#include "efuse/bits.hpp"

namespace espsec::efuse {
namespace {

// Python repr() of a float: the shortest round-trip digits, always with a decimal point.
std::string python_float(double value) {
  std::string text = fmt::format("{}", value);
  if (text.find_first_of(".eEn") == std::string::npos) text += ".0";
  return text;
}

// printf("%-*s"): pads to `width`, never cuts.
std::string pad(std::string_view text, size_t width) {
  std::string out(text);
  if (out.size() < width) out.append(width - out.size(), ' ');
  return out;
}

std::string field_info(const Controller& c, const FieldInfo& f) {
  std::string out = fmt::format("{} (BLOCK{})", f.name, f.block);
  if (c.field_has_error(f)) out += "[error]";
  if (f.kind == FieldKind::kKeyBlock && !c.block(f.block).key_purpose_field.empty()) {
    const FieldInfo& purpose = c.field(c.block(f.block).key_purpose_field);
    out += fmt::format("\n  Purpose: {}\n ", field_meaning(c, purpose).text());
  }
  return out;
}

std::string perms(bool readable, bool writeable) {
  if (readable && writeable) return "R/W";
  if (readable) return "R/-";
  if (writeable) return "-/W";
  return "-/-";
}

}  // namespace

std::vector<const FieldInfo*> espefuse_fields(const Controller& c) {
  const bool calibration = c.block_version() >= 100;
  std::vector<const FieldInfo*> out;
  for (const FieldInfo& f : c.chip().fields) {
    if (f.visibility == Visibility::kShown || (calibration && f.visibility == Visibility::kCalibration))
      out.push_back(&f);
  }
  return out;
}

Result<const FieldInfo*> find_espefuse_field(const Controller& c, std::string_view name) {
  const FieldInfo* f = c.find_field(name);
  if (f == nullptr) return fail("efuse.unknown_field", "{} has no eFuse named '{}'", c.chip().display_name, name);
  const auto visible = espefuse_fields(c);
  if (std::find(visible.begin(), visible.end(), f) == visible.end()) {
    if (f->visibility == Visibility::kCalibration)
      return fail("efuse.hidden_field",
                  "{} is a calibration eFuse, which espefuse exposes only from block version 1.0 (BLK_VERSION_MAJOR)",
                  f->name);
    return fail("efuse.hidden_field",
                "{} is not exposed by espefuse (reserved or hidden); address its bits with burn-bit BLOCK{} {}..{}",
                f->name, f->block, f->start_bit(), f->start_bit() + f->bit_len - 1);
  }
  return f;
}

std::string efuse_type(const FieldInfo& f) {
  switch (f.type) {
    case FieldType::kBool: return "bool";
    case FieldType::kUint: return fmt::format("uint:{}", f.bit_len);
    case FieldType::kBytes: return fmt::format("bytes:{}", f.bit_len / 8);
  }
  return "";
}

std::string FieldValue::text() const {
  if (const bool* b = std::get_if<bool>(&value)) return *b ? "True" : "False";
  if (const int64_t* i = std::get_if<int64_t>(&value)) return fmt::format("{}", *i);
  if (const double* d = std::get_if<double>(&value)) return python_float(*d);
  return std::get<std::string>(value);
}

nlohmann::json FieldValue::json() const {
  return std::visit([](const auto& v) { return nlohmann::json(v); }, value);
}

FieldValue field_meaning(const Controller& c, const FieldInfo& f, ByteSpan bits) {
  const uint64_t raw = to_uint(bits);
  for (const Meaning& m : f.meanings)
    if (m.value == raw) return {std::string(m.text)};
  switch (f.kind) {
    case FieldKind::kMac: {
      // espefuse prints the factory MAC from its big-endian bit string and CUSTOM_MAC in
      // register order (fields.py EfuseMacField.get).
      Bytes mac(bits.begin(), bits.end());
      if (f.name != "CUSTOM_MAC") std::reverse(mac.begin(), mac.end());
      const auto e = c.block_errors(f.block);
      const std::string status = (e.errors != 0 || e.fail)
                                     ? fmt::format("Block{} has ERRORS:{} FAIL:{}.", f.block, e.errors,
                                                   e.fail ? "True" : "False")
                                     : "OK";
      return {fmt::format("{} ({})", hex_text(mac, ":"), status)};
    }
    case FieldKind::kKeyPurpose:
      for (const KeyPurposeInfo& p : c.chip().key_purposes)
        if (static_cast<uint64_t>(p.value) == raw) return {std::string(p.name)};
      return {std::string("FORBIDDEN_STATE")};
    case FieldKind::kTempSensor:
    case FieldKind::kAdcPoint: {
      // The top bit is a sign, the rest a magnitude (fields.py EfuseTempSensor/EfuseAdcPointCalibration).
      const size_t mag_bits = f.bit_len - 1u;
      const int64_t sign = get_bit(bits, mag_bits) ? -1 : 1;
      const int64_t magnitude = static_cast<int64_t>(to_uint(extract_bits(bits, 0, mag_bits)));
      if (f.kind == FieldKind::kTempSensor) return {static_cast<double>(sign * magnitude) * 0.1};
      return {sign * magnitude * 4};
    }
    default: break;
  }
  switch (f.type) {
    case FieldType::kBytes: return {hex_text(bits, " ")};
    case FieldType::kBool: return {raw != 0};
    case FieldType::kUint: return {static_cast<int64_t>(raw)};
  }
  return {static_cast<int64_t>(raw)};
}

FieldValue field_meaning(const Controller& c, const FieldInfo& f) { return field_meaning(c, f, c.read_bits(f)); }

std::string shown_value(const Controller& c, const FieldInfo& f) {
  std::string text = field_meaning(c, f).text();
  if (!c.field_readable(f)) std::replace(text.begin(), text.end(), '0', '?');
  return text;
}

std::string python_title(std::string_view text) {
  std::string out;
  bool previous_cased = false;
  for (char ch : text) {
    const bool alpha = std::isalpha(static_cast<unsigned char>(ch)) != 0;
    if (alpha) out += static_cast<char>(previous_cased ? std::tolower(static_cast<unsigned char>(ch))
                                                       : std::toupper(static_cast<unsigned char>(ch)));
    else out += ch;
    previous_cased = alpha;
  }
  return out;
}

Result<std::string> summary(const Controller& c, std::span<const std::string> names, SummaryFormat format) {
  if (format == SummaryFormat::kValueOnly && names.size() != 1)
    return fail("efuse.value_only", "The 'value_only' format can be used exactly for one eFuse.");
  std::set<std::string_view> wanted;
  for (const std::string& name : names) {
    ESPSEC_ASSIGN_OR_RETURN(const FieldInfo* f, find_espefuse_field(c, name));
    wanted.insert(f->name);
  }
  const bool filtering = !wanted.empty();
  const auto fields = espefuse_fields(c);

  if (format == SummaryFormat::kJson) {
    nlohmann::json out = nlohmann::json::object();
    for (const FieldInfo* f : fields) {
      if (filtering && !wanted.count(f->name)) continue;
      const bool readable = c.field_readable(*f);
      nlohmann::json entry = {
          {"name", f->name},
          {"value", readable ? field_meaning(c, *f).json() : nlohmann::json(shown_value(c, *f))},
          {"readable", readable},
          {"writeable", c.field_writeable(*f)},
          {"description", f->description},
          {"category", f->category},
          {"block", f->block},
          {"word", f->calculated() ? nlohmann::json(nullptr) : nlohmann::json(f->word)},
          {"pos", f->calculated() ? nlohmann::json(nullptr) : nlohmann::json(f->pos)},
          {"efuse_type", efuse_type(*f)},
          {"bit_len", f->bit_len},
      };
      out[std::string(f->name)] = std::move(entry);
    }
    return out.dump(4);
  }

  if (format == SummaryFormat::kValueOnly) {
    for (const FieldInfo* f : fields)
      if (wanted.count(f->name)) return shown_value(c, *f) + "\n";
    return std::string("\n");
  }

  std::vector<std::string> lines;
  lines.push_back(fmt::format("{} {} = {} {} {}", pad("EFUSE_NAME (Block)", 12), pad("Description", 12),
                              "[Meaningful Value]", "[Readable/Writeable]", "(Hex Value)"));
  lines.push_back(std::string(88, '-'));
  std::vector<std::string_view> categories;
  for (const FieldInfo* f : fields)
    if (std::find(categories.begin(), categories.end(), f->category) == categories.end()) categories.push_back(f->category);
  std::sort(categories.begin(), categories.end(),
            [](std::string_view a, std::string_view b) { return python_title(a) < python_title(b); });
  for (std::string_view category : categories) {
    const std::string header = python_title(category) + " fuses:";
    lines.push_back(header);
    for (const FieldInfo* f : fields) {
      if (f->category != category || (filtering && !wanted.count(f->name))) continue;
      const std::string raw =
          f->type == FieldType::kBytes ? std::string() : fmt::format("({})", bitstring_text(c.read_bits(*f), f->bit_len));
      const std::string value = shown_value(c, *f);
      const std::string_view description = f->description;
      lines.push_back(fmt::format("{} {}{} = {} {} {}", pad(field_info(c, *f), 50),
                                  pad(description.substr(0, std::min<size_t>(50, description.size())), 50),
                                  value.size() > 20 ? "\n  " : "", value,
                                  perms(c.field_readable(*f), c.field_writeable(*f)), raw));
      for (size_t i = 50; i < description.size(); i += 50)
        lines.push_back(fmt::format("{} {}", std::string(50, ' '), pad(description.substr(i, 50), 50)));
    }
    if (filtering && lines.back() == header) lines.pop_back();
    else lines.push_back("");
  }
  lines.push_back("");  // the chip-specific summary() text, empty on the C3
  if (!coding_error_lines(c).empty()) lines.push_back("WARNING: Coding scheme has encoding bit error warnings");
  std::string out;
  for (const std::string& line : lines) out += line + "\n";
  return out;
}

std::vector<std::string> coding_error_lines(const Controller& c) {
  std::vector<std::string> out;
  for (const BlockInfo& b : c.chip().blocks) {
    const auto e = c.block_errors(b.id);
    if (e.errors != 0 || e.fail)
      out.push_back(fmt::format("Error(s) in BLOCK{} [ERRORS:{} FAIL:{}].", b.id, e.errors, e.fail ? "True" : "False"));
  }
  return out;
}

std::string block_line(const BlockInfo& b, ByteSpan bits, std::string_view label) {
  std::string out = fmt::format("{:<15} ({:<16}) [{:<2}] {}:", b.name, b.alias.substr(0, std::min<size_t>(16, b.alias.size())),
                                b.id, label);
  for (size_t k = 0; k + 4 <= bits.size(); k += 4) out += fmt::format(" {:08x}", load_le32(bits.data() + k));
  return out + "\n";
}

std::string dump_text(const Controller& c) {
  std::string out;
  for (const BlockInfo& b : c.chip().blocks) out += block_line(b, c.read_block(b.id), "dump");
  return out;
}

Bytes dump_block(const Controller& c, unsigned id) { return c.read_block(id); }

}  // namespace espsec::efuse
