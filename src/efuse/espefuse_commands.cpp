#include "efuse/espefuse_commands.hpp"

#include <algorithm>
#include <cctype>
#include <set>

#include "crypto/pkey.hpp"
#include "efuse/bits.hpp"
#include "efuse/espefuse_view.hpp"
#include "format/sbv2.hpp"

namespace espsec::efuse {
namespace {

std::string join(const std::vector<std::string_view>& names) {
  std::string out;
  for (std::string_view n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

std::string masked(size_t bytes) {
  std::string out;
  for (size_t i = 0; i < bytes; ++i) out += i ? " ??" : "??";
  return out;
}

// binascii.unhexlify: an even number of hex digits and nothing else.
std::optional<Bytes> unhexlify(std::string_view hex) {
  if (hex.empty() || !std::all_of(hex.begin(), hex.end(), [](char ch) { return std::isxdigit(static_cast<unsigned char>(ch)); }))
    return std::nullopt;
  return from_hex(hex);
}

bool protection_error(const Error& e) { return e.code == "efuse.read_protected" || e.code == "efuse.write_protected"; }

// espefuse's print_error_msg() for commands with --force-write-always: a protected target is
// skipped with a note under the option and named with a hint without it.
Result<Staged> forgiving(Result<Staged> staged, const StageOptions& options, Transcript& out) {
  if (staged || !protection_error(staged.error())) return staged;
  if (options.force_write_always) {
    out.line("\t{} Skipped because '--force-write-always' option.", staged.error().message);
    return Staged::kAlreadyBurned;
  }
  Error e = staged.error();
  e.message += " (use '--force-write-always' option to ignore it)";
  return std::unexpected(std::move(e));
}

const FieldInfo* block_field(const Controller& c, const BlockInfo& block) { return c.find_field(block.name); }

// The espefuse fields `names` name, each at most once (espefuse check_duplicate_name_in_list).
Result<std::vector<const FieldInfo*>> distinct_fields(const Controller& c, std::span<const std::string> names) {
  std::vector<const FieldInfo*> fields;
  for (const std::string& name : names) {
    ESPSEC_ASSIGN_OR_RETURN(const FieldInfo* f, find_espefuse_field(c, name));
    if (std::find(fields.begin(), fields.end(), f) != fields.end())
      return fail("efuse.duplicate_name", "Found repeated {} in the name list.", f->name);
    fields.push_back(f);
  }
  return fields;
}

// The fields espefuse shows that share `f`'s RD_DIS or WR_DIS bit (`bit` selects which).
std::vector<std::string_view> sharing_bit(const Controller& c, const FieldInfo& f, int8_t FieldInfo::*bit) {
  std::vector<std::string_view> names;
  for (const FieldInfo* other : espefuse_fields(c))
    if (other->*bit == f.*bit) names.push_back(other->name);
  return names;
}

}  // namespace

void AfterBurn::merge(AfterBurn other) {
  for (auto& v : other.values) values.push_back(std::move(v));
  unreadable.insert(unreadable.end(), other.unreadable.begin(), other.unreadable.end());
  unwriteable.insert(unwriteable.end(), other.unwriteable.begin(), other.unwriteable.end());
}

std::optional<PythonInt> parse_python_int(std::string_view text) {
  auto is_space = [](char ch) { return std::isspace(static_cast<unsigned char>(ch)) != 0; };
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  PythonInt out;
  if (!text.empty() && (text.front() == '+' || text.front() == '-')) {
    out.negative = text.front() == '-';
    text.remove_prefix(1);
  }
  unsigned base = 10;
  if (text.size() >= 2 && text[0] == '0' && std::isalpha(static_cast<unsigned char>(text[1]))) {
    const char prefix = static_cast<char>(std::tolower(static_cast<unsigned char>(text[1])));
    if (prefix == 'x') base = 16;
    else if (prefix == 'o') base = 8;
    else if (prefix == 'b') base = 2;
    else return std::nullopt;
    text.remove_prefix(2);
    if (!text.empty() && text.front() == '_') text.remove_prefix(1);  // "0x_ff" is valid Python
  }
  if (text.empty()) return std::nullopt;
  bool previous_digit = false;
  bool nonzero_seen = false;
  bool leading_zero = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char ch = text[i];
    if (ch == '_') {
      if (!previous_digit || i + 1 == text.size()) return std::nullopt;
      previous_digit = false;
      continue;
    }
    const int lower = std::tolower(static_cast<unsigned char>(ch));
    unsigned digit = 0;
    if (lower >= '0' && lower <= '9') digit = static_cast<unsigned>(lower - '0');
    else if (lower >= 'a' && lower <= 'f') digit = static_cast<unsigned>(lower - 'a' + 10);
    else return std::nullopt;
    if (digit >= base) return std::nullopt;
    if (base == 10 && i == 0 && digit == 0) leading_zero = true;
    if (digit != 0) nonzero_seen = true;
    previous_digit = true;
    if (out.magnitude > (UINT64_MAX - digit) / base) out.too_large = true;
    out.magnitude = out.magnitude * base + digit;
  }
  // Decimal literals may not start with 0 unless they are all zeros ("007" is an error).
  if (leading_zero && nonzero_seen) return std::nullopt;
  return out;
}

Result<Bytes> parse_burn_value(const Controller& c, const FieldInfo& f, std::optional<std::string_view> text) {
  auto bad = [&](std::string message) -> Result<Bytes> { return make_error("efuse.bad_value", std::move(message)); };
  // check_format() of the field classes first (fields.py).
  if (f.kind == FieldKind::kMac) {
    if (!text) return bad("Required MAC Address in AA:CD:EF:01:02:03 format!");
    if (std::count(text->begin(), text->end(), ':') != 5)
      return bad("MAC Address needs to be a 6-byte hexadecimal format separated by colons (:)!");
    std::string hexdigits;
    for (char ch : *text)
      if (ch != ':') hexdigits += ch;
    if (hexdigits.size() != 12) return bad("MAC Address needs to be a 6-byte hexadecimal number (12 hexadecimal characters)!");
    auto mac = unhexlify(hexdigits);
    if (!mac) return bad(fmt::format("MAC Address '{}' holds a character that is not hexadecimal", *text));
    if ((*mac)[0] & 0x01) return bad("Custom MAC must be a unicast MAC!");
    if (f.name != "CUSTOM_MAC") return bad("Writing Factory MAC address is not supported");
    return *mac;  // register order, as given
  }
  if (f.kind == FieldKind::kKeyPurpose) {
    if (!text) return bad(fmt::format("New value required for eFuse '{}' (given None)", f.name));
    std::string raw(*text);
    for (const KeyPurposeInfo& p : c.chip().key_purposes)
      if (p.name == raw) raw = fmt::format("{}", static_cast<int>(p.value));
    if (raw.empty() || !std::all_of(raw.begin(), raw.end(), [](char ch) { return ch >= '0' && ch <= '9'; }))
      return bad(fmt::format("'{}' unknown name", raw));
    const KeyPurposeInfo* purpose = nullptr;
    for (const KeyPurposeInfo& p : c.chip().key_purposes)
      if (raw == fmt::format("{}", static_cast<int>(p.value)) && p.value != KeyPurpose::kUser) purpose = &p;
    if (purpose == nullptr) return bad(fmt::format("'{}' can not be set (value out of range)", raw));
    for (const BlockInfo& b : c.chip().blocks) {
      if (b.key_purpose_field == f.name && static_cast<int>(b.id) == c.chip().xts_forbidden_key_block && purpose->xts)
        return bad(fmt::format("{} can not have {} key due to a hardware bug (please see TRM for more details)", f.name,
                               purpose->name));
    }
    return from_uint(static_cast<uint8_t>(purpose->value), f.bit_len);
  }
  // CheckArgValue.
  if (f.type == FieldType::kBytes) {
    if (!text) return bad(fmt::format("New value required for eFuse '{}' (given None)", f.name));
    std::string_view hex = *text;
    const bool number = hex.starts_with("0x");
    if (number) hex.remove_prefix(2);
    auto bytes = unhexlify(hex);
    if (!bytes) return bad(fmt::format("'{}' is not hexadecimal data for eFuse '{}'", *text, f.name));
    // "0x..." is a number (most significant byte first); plain hex is bytes in register order.
    if (number) std::reverse(bytes->begin(), bytes->end());
    if (bytes->size() * 8 != f.bit_len)
      return bad(fmt::format("The length of eFuse '{}' ({} bits) (given len of the new value= {} bits)", f.name,
                             f.bit_len, bytes->size() * 8));
    return *bytes;
  }
  const auto current = c.read_bits(f);
  if (f.type == FieldType::kBool) {
    if (!text) return from_uint(1, f.bit_len);
    const auto v = parse_python_int(*text);
    if (!v) return bad(fmt::format("invalid value '{}' for eFuse '{}': not a number", *text, f.name));
    if (v->negative || v->too_large || v->magnitude != 1)
      return bad(fmt::format("New value is not accepted for eFuse '{}' (will always burn 0->1), given value={}", f.name,
                             *text));
    return from_uint(1, f.bit_len);
  }
  if (!text) {
    if (f.kind != FieldKind::kBitCount)
      return bad(fmt::format("New value required for eFuse '{}' (given None)", f.name));
    // A bare counter burn sets its lowest clear bit.
    Bytes next = current;
    for (size_t i = 0; i < f.bit_len; ++i) {
      if (!get_bit(current, i)) {
        set_bit(next, i);
        return next;
      }
    }
    return next;
  }
  const auto v = parse_python_int(*text);
  if (!v)
    return bad(fmt::format("invalid value '{}' for eFuse '{}': not a number (use decimal, 0x.., 0o.. or 0b..)", *text,
                           f.name));
  if (v->magnitude == 0 && f.kind != FieldKind::kBitCount)
    return bad(fmt::format("New value should not be 0 for '{}' (given value= {})", f.name, *text));
  if (v->negative && v->magnitude != 0)
    return bad(fmt::format("New value '{}' is not suitable for {} ({}): it is negative", *text, f.name, efuse_type(f)));
  if (v->too_large || exceeds(v->magnitude, f.bit_len))
    return bad(fmt::format("New value '{}' is not suitable for {} ({}): it needs more than {} bits", *text, f.name,
                           efuse_type(f), f.bit_len));
  return from_uint(v->magnitude, f.bit_len);
}

Result<AfterBurn> stage_burn_efuse(const Controller& c, Batch& batch, std::span<const std::string> args, Transcript& out) {
  if (args.empty()) return fail("efuse.bad_arguments", "Missing eFuse name and value pair.");
  if (args.size() > 1 && args.size() % 2 != 0)
    return fail("efuse.bad_arguments", "The list does not have a valid pair (name value): {} arguments", args.size());
  struct Request {
    const FieldInfo* field;
    Bytes value;
  };
  std::vector<std::string> names;
  for (size_t i = 0; i < args.size(); i += 2) names.push_back(args[i]);
  ESPSEC_ASSIGN_OR_RETURN(auto fields, distinct_fields(c, names));
  std::vector<Request> requests;
  for (size_t i = 0; i < fields.size(); ++i) {
    std::optional<std::string_view> text;
    if (2 * i + 1 < args.size()) text = args[2 * i + 1];
    ESPSEC_ASSIGN_OR_RETURN(Bytes value, parse_burn_value(c, *fields[i], text));
    requests.push_back({fields[i], std::move(value)});
  }
  out.line("The eFuses to burn:");
  bool attention = false;
  for (const BlockInfo& b : c.chip().blocks) {
    std::vector<const FieldInfo*> in_block;
    for (const Request& r : requests)
      if (r.field->block == b.id) in_block.push_back(r.field);
    if (in_block.empty()) continue;
    out.line("  from BLOCK{}", b.id);
    for (const FieldInfo* f : in_block) out.line("     - {}", f->name);
    if (b.coding == Coding::kReedSolomon) {
      attention = true;
      std::vector<std::string_view> locked;
      for (const FieldInfo* f : espefuse_fields(c))
        if (f->block == b.id && std::find(in_block.begin(), in_block.end(), f) == in_block.end()) locked.push_back(f->name);
      out.line("    ATTENTION! This BLOCK uses NOT the NONE coding scheme and after 'BURN', these efuses can not be "
               "burned in the feature:");
      for (size_t i = 0; i < locked.size(); i += 5)
        out.line("               {}", join({locked.begin() + static_cast<std::ptrdiff_t>(i),
                                            locked.begin() + static_cast<std::ptrdiff_t>(std::min(i + 5, locked.size()))}));
    }
  }
  out.line();
  out.line("Burning eFuses{}:", attention ? " (see 'ATTENTION!' above)" : "");
  AfterBurn after;
  for (const Request& r : requests) {
    out.line("    - '{}' ({}) {} -> {}", r.field->name, r.field->description,
             bitstring_text(c.read_bits(*r.field), r.field->bit_len), bitstring_text(r.value, r.field->bit_len));
    auto staged = batch.set_field(*r.field, r.value);
    if (!staged) return std::unexpected(with_context(staged.error(), r.field->name));
    if (*staged == Staged::kAlreadyBurned)
      out.line("\tThe same value for {} is already burned. Do not change the eFuse.", r.field->name);
    else if (*staged == Staged::kAlreadyQueued)
      out.line("\tThe same value for {} is already prepared for the burn operation.", r.field->name);
    after.values.push_back({r.field, r.value});
  }
  return after;
}

Result<SecretBytes> sbv2_key_digest_for_pem(ByteSpan pem) {
  auto key = crypto::PublicKey::load(pem);
  if (!key) {
    auto private_key = crypto::PrivateKey::load(pem);
    if (!private_key)
      return fail("efuse.bad_key", "not a PEM public or private key usable for Secure Boot v2 ({})", key.error().message);
    key = private_key->public_key();
  }
  ESPSEC_ASSIGN_OR_RETURN(auto digest, sbv2::key_digest(*key));
  return SecretBytes::copy_of(digest);
}

Result<AfterBurn> stage_burn_key(const Controller& c, Batch& batch, std::span<const KeyRequest> requests,
                                 const KeyOptions& key_options, const StageOptions& options, Transcript& out) {
  // Validate every group first, so a bad later group never leaves earlier keys staged.
  std::vector<const BlockInfo*> blocks;
  std::vector<const KeyPurposeInfo*> purposes;
  for (const KeyRequest& r : requests) {
    const BlockInfo* b = c.find_block(r.block);
    if (b == nullptr || b->id == 0)
      return fail("efuse.unknown_block", "'{}' is not a block name of {}", r.block, c.chip().display_name);
    if (!c.is_key_block(b->id))
      return fail("efuse.not_key_block", "{} is not a key block; keys go to BLOCK_KEY0..BLOCK_KEY{} (BLOCK4..)", b->name,
                  std::count_if(c.chip().blocks.begin(), c.chip().blocks.end(),
                                [&](const BlockInfo& x) { return c.is_key_block(x.id); }) - 1);
    if (std::find(blocks.begin(), blocks.end(), b) != blocks.end())
      return fail("efuse.duplicate_name", "Found repeated {} in the name list.", b->name);
    const KeyPurposeInfo* p = c.purpose_info(r.purpose);
    if (p == nullptr || (key_options.digest && !p->digest)) {
      std::vector<std::string_view> names;
      for (const KeyPurposeInfo& kp : c.chip().key_purposes)
        if (!key_options.digest || kp.digest) names.push_back(kp.name);
      return fail("efuse.bad_purpose", "'{}' is not a key purpose of {} ({})", r.purpose, c.chip().display_name, join(names));
    }
    blocks.push_back(b);
    purposes.push_back(p);
  }
  out.line("Burn keys to blocks:");
  bool write_protect = true;
  for (size_t i = 0; i < requests.size(); ++i) {
    const BlockInfo& b = *blocks[i];
    const KeyPurposeInfo& purpose = *purposes[i];
    const FieldInfo* data_field = block_field(c, b);
    const FieldInfo& purpose_field = c.field(b.key_purpose_field);
    SecretBytes data = requests[i].data.clone();
    if (purpose.reverse_on_burn) reverse_bytes(data.expose_mutable());
    out.line(" - {} -> [{}]", b.name, options.show_sensitive_info ? hex_text(data.expose(), " ") : masked(data.size()));
    if (purpose.reverse_on_burn) out.line("\tReversing byte order for AES-XTS hardware peripheral...");
    const size_t want = data_field->bit_len / 8u;
    if (data.size() != want)
      return fail("efuse.key_size", "Incorrect key file size {}. Key file must be {} bytes ({} bits) of raw binary key data.",
                  data.size(), want, want * 8);
    const bool read_protect = purpose.secret && !key_options.no_read_protect;
    write_protect = !key_options.no_write_protect;
    ESPSEC_TRY(forgiving(batch.set_field(*data_field, data.expose()), options, out));

    const std::string current = field_meaning(c, purpose_field).text();
    bool lock_purpose = false;
    if (current != purpose.name) {
      if (!c.field_writeable(purpose_field))
        return fail("efuse.write_protected",
                    "It is not possible to change '{}' to '{}' because write protection bit is set.", purpose_field.name,
                    purpose.name);
      out.line("\t'{}': '{}' -> '{}'.", purpose_field.name, current, purpose.name);
      ESPSEC_ASSIGN_OR_RETURN(Bytes value, parse_burn_value(c, purpose_field, purpose.name));
      ESPSEC_TRY(forgiving(batch.set_field(purpose_field, value), options, out));
      lock_purpose = true;
    } else {
      out.line("\t'{}' is already '{}'.", purpose_field.name, purpose.name);
      lock_purpose = c.field_writeable(purpose_field);
    }
    if (lock_purpose) {
      out.line("\tDisabling write to '{}'...", purpose_field.name);
      ESPSEC_TRY(forgiving(batch.write_protect(purpose_field.wr_dis_bit), options, out));
    }
    if (read_protect) {
      out.line("\tDisabling read to key block...");
      ESPSEC_TRY(forgiving(batch.read_protect(data_field->rd_dis_bit), options, out));
    }
    if (write_protect) {
      out.line("\tDisabling write to key block...");
      ESPSEC_TRY(forgiving(batch.write_protect(data_field->wr_dis_bit), options, out));
    }
    out.line();
  }
  if (!write_protect) out.line("Keys will remain writeable (due to --no-write-protect).");
  if (key_options.no_read_protect) out.line("Keys will remain readable (due to --no-read-protect).");
  return AfterBurn{};
}

Result<AfterBurn> stage_burn_bit(const Controller& c, Batch& batch, std::string_view block_name,
                                 std::span<const unsigned> bits, const StageOptions& options, Transcript& out) {
  const BlockInfo* b = c.find_block(block_name);
  if (b == nullptr) return fail("efuse.unknown_block", "'{}' is not a block name of {}", block_name, c.chip().display_name);
  const size_t nbits = size_t{b->words} * 32;
  Bytes requested(nbits / 8, 0);
  for (unsigned bit : bits) {
    if (bit >= nbits) return fail("efuse.bit_range", "{} has bit_number in [0..{}]", block_name, nbits - 1);
    set_bit(requested, bit);
  }
  out.line("bit_number:   [{:03d}]........................................................[0]", nbits - 1);
  out.line("BLOCK{:>2}   : {}", b->id, bitstring_text(requested, nbits));
  ESPSEC_TRY(forgiving(batch.set_bits(b->id, bits), options, out));
  return AfterBurn{};
}

Result<AfterBurn> stage_read_protect(const Controller& c, Batch& batch, std::span<const std::string> names,
                                     Transcript& out) {
  ESPSEC_ASSIGN_OR_RETURN(auto fields, distinct_fields(c, names));
  AfterBurn after;
  for (const FieldInfo* f : fields) {
    if (!c.field_readable(*f)) {
      out.line("Efuse {} is already read protected", f->name);
      continue;
    }
    if (f->rd_dis_bit == kNoBit) return fail("efuse.not_read_protectable", "{}: This eFuse cannot be read-disabled", f->name);
    const BlockInfo& b = c.block(f->block);
    if (!b.key_purpose_field.empty()) {
      const FieldInfo& purpose_field = c.field(b.key_purpose_field);
      const uint8_t purpose = c.key_purpose_value(b.id);
      const auto it = std::find_if(c.chip().key_purposes.begin(), c.chip().key_purposes.end(),
                                   [&](const KeyPurposeInfo& p) { return static_cast<uint8_t>(p.value) == purpose; });
      // Secure Boot digests and user data must stay readable: the ROM and software read them.
      if (it == c.chip().key_purposes.end() || !it->secret)
        return fail("efuse.must_stay_readable", "{} must be readable, stop this operation! ({} is {})", f->name,
                    purpose_field.name, field_meaning(c, purpose_field).text());
    }
    const auto sharing = sharing_bit(c, *f, &FieldInfo::rd_dis_bit);
    out.line("Permanently read-disabling eFuse{} {}", sharing.size() > 1 ? "s" : "", join(sharing));
    ESPSEC_TRY(batch.read_protect(f->rd_dis_bit));
    after.unreadable.push_back(f);
  }
  return after;
}

Result<AfterBurn> stage_write_protect(const Controller& c, Batch& batch, std::span<const std::string> names,
                                      Transcript& out) {
  ESPSEC_ASSIGN_OR_RETURN(auto fields, distinct_fields(c, names));
  AfterBurn after;
  for (const FieldInfo* f : fields) {
    if (!c.field_writeable(*f)) {
      out.line("Efuse {} is already write protected.", f->name);
      continue;
    }
    if (f->wr_dis_bit == kNoBit)
      return fail("efuse.not_write_protectable", "{} cannot be write-protected: no WR_DIS bit covers it", f->name);
    const auto sharing = sharing_bit(c, *f, &FieldInfo::wr_dis_bit);
    out.line("Permanently write-disabling eFuse{} {}", sharing.size() > 1 ? "s" : "", join(sharing));
    std::vector<std::string_view> hidden;
    for (const FieldInfo& other : c.chip().fields)
      if (other.wr_dis_bit == f->wr_dis_bit && other.visibility == Visibility::kHidden) hidden.push_back(other.name);
    if (!hidden.empty()) out.line("  (WR_DIS bit {} also locks eFuses espefuse does not show: {})", f->wr_dis_bit, join(hidden));
    ESPSEC_TRY(batch.write_protect(f->wr_dis_bit));
    after.unwriteable.push_back(f);
  }
  return after;
}

Status verify_after_burn(const Controller& c, const AfterBurn& expected, Transcript& out) {
  out.line("Checking eFuses...");
  bool failed = false;
  for (const auto& [f, value] : expected.values) {
    if (!c.field_readable(*f)) {
      out.line("Efuse {} is read-protected. Read back the burn value is not possible.", f->name);
    } else if (c.read_bits(*f) != value) {
      out.line("{} -> {} Efuse {} failed to burn. Protected?", bitstring_text(c.read_bits(*f), f->bit_len),
               bitstring_text(value, f->bit_len), f->name);
      failed = true;
    }
  }
  for (const FieldInfo* f : expected.unreadable) {
    if (c.field_readable(*f)) {
      out.line("Efuse {} is not read-protected.", f->name);
      failed = true;
    }
  }
  for (const FieldInfo* f : expected.unwriteable) {
    if (c.field_writeable(*f)) {
      out.line("Efuse {} is not write-protected.", f->name);
      failed = true;
    }
  }
  if (failed) return fail("efuse.burn_failed", "The burn was not successful.");
  out.line("Successful.");
  return {};
}

Status check_error(const Controller& c, Transcript& out) {
  const auto lines = coding_error_lines(c);
  for (const std::string& line : lines) out.line("{}", line);
  if (lines.empty()) {
    out.line("No errors detected.");
    return {};
  }
  bool writable = true;
  for (const BlockInfo& b : c.chip().blocks) {
    const auto e = c.block_errors(b.id);
    if (e.errors == 0 && !e.fail) continue;
    if (b.id == 0) {
      for (const FieldInfo* f : espefuse_fields(c)) {
        if (f->block != 0 || !c.field_has_error(*f)) continue;
        writable = writable && c.field_writeable(*f);
        out.line("BLOCK{:<2}: {:<40} = {:<8} ({})", f->block, f->name, field_meaning(c, *f).text(),
                 c.field_writeable(*f) ? "writable" : "not writable");
      }
    } else {
      writable = writable && c.block_writeable(b.id);
      out.line("BLOCK{:<2}: {:<40} = {:<8} ({})", b.id, fmt::format("{} [ERRORS:{} FAIL:{}]", b.name, e.errors, e.fail ? 1 : 0),
               bitstring_text(c.read_block(b.id), size_t{b.words} * 32), c.block_writeable(b.id) ? "writable" : "not writable");
    }
  }
  if (!writable) out.line("Not all errors can be fixed because some fields are write-protected!");
  return fail("efuse.coding_errors", "Error(s) were detected in eFuses.");
}

std::vector<std::string> describe_changes(const Controller& c, const Batch& batch, bool show_sensitive_info) {
  std::vector<std::string> out;
  for (const FieldChange& change : batch.changes()) {
    const FieldInfo& f = *change.field;
    // Key material stays hidden: whole key blocks, unless asked for.
    const bool sensitive = f.rd_dis_bit != kNoBit && f.type == FieldType::kBytes && !show_sensitive_info;
    auto show = [&](ByteSpan bits, bool readable) {
      std::string text = field_meaning(c, f, bits).text();
      if (sensitive && !all_zero(bits)) text = masked(bits.size());
      if (!readable) std::replace(text.begin(), text.end(), '0', '?');
      if (f.type != FieldType::kBytes) text += fmt::format(" ({})", bitstring_text(bits, f.bit_len));
      return text;
    };
    std::string line = fmt::format("    {} (BLOCK{}): {} -> {}", f.name, f.block, show(change.before, c.field_readable(f)),
                                   show(change.after, true));
    if (!change.readable_after && c.field_readable(f)) line += " (then read-protected)";
    out.push_back(std::move(line));
  }
  return out;
}

}  // namespace espsec::efuse
