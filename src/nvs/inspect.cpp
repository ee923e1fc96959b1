#include "nvs/inspect.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <set>

#include <nlohmann/json.hpp>

#include "nvs/cipher.hpp"

namespace espsec::nvs {

namespace {

// One byte of text for a terminal: quotes, backslashes and control bytes escaped; bytes above
// 0x7E escaped too unless `keep_utf8` (string values may be UTF-8, keys are ASCII on the device).
void append_escaped(std::string& out, unsigned char c, bool keep_utf8) {
  if (c == '"' || c == '\\') {
    out.push_back('\\');
    out.push_back(static_cast<char>(c));
  } else if (c == '\n') {
    out += "\\n";
  } else if (c < 0x20 || c == 0x7F || (c > 0x7F && !keep_utf8)) {
    out += fmt::format("\\x{:02x}", c);
  } else {
    out.push_back(static_cast<char>(c));
  }
}

// Keys as text: a damaged or still-encrypted entry holds arbitrary bytes.
std::string shown(std::string_view key) {
  std::string out;
  for (const unsigned char c : key) append_escaped(out, c, false);
  return out;
}

void add(Inspection& in, Finding::Severity sev, std::optional<uint32_t> page, std::optional<uint32_t> entry,
         std::string message) {
  in.findings.push_back({sev, page, entry, std::move(message)});
}

constexpr auto kError = Finding::Severity::kError;
constexpr auto kWarning = Finding::Severity::kWarning;

PageState classify(const PageHeader& h, bool erased) {
  if (erased) return PageState::kUninitialized;
  if (h.state_raw == static_cast<uint32_t>(PageState::kUninitialized) || !h.crc_ok()) return PageState::kCorrupt;
  switch (static_cast<PageState>(h.state_raw)) {
    case PageState::kActive:
    case PageState::kFull:
    case PageState::kFreeing: return static_cast<PageState>(h.state_raw);
    default: return PageState::kCorrupt;
  }
}

Result<InspectedPage> inspect_page(ByteSpan image, uint32_t index, EntryCipher* cipher, Inspection& in) {
  InspectedPage page;
  page.index = index;
  const ByteSpan raw = image.subspan(static_cast<size_t>(index) * kPageSize, kPageSize);
  page.erased = is_erased(raw);
  page.header = PageHeader::parse(raw.first(32));
  page.state = classify(page.header, page.erased);
  std::copy_n(raw.begin() + kBitmapOffset, 32, page.bitmap.begin());
  if (page.erased) {
    page.empty = kEntryCount;
    return page;
  }
  if (page.header.state_raw == static_cast<uint32_t>(PageState::kUninitialized)) {
    add(in, kError, index, std::nullopt, "the page header is erased but the page holds data");
  } else if (!page.header.crc_ok()) {
    add(in, kError, index, std::nullopt,
        fmt::format("page header CRC mismatch: stored {:08x}, computed {:08x}", page.header.crc,
                    page.header.computed_crc()));
  } else if (page.state == PageState::kCorrupt) {
    add(in, kError, index, std::nullopt, fmt::format("unknown page state {:08x}", page.header.state_raw));
  } else if (page.header.version < kVersion2) {
    add(in, kError, index, std::nullopt,
        fmt::format("page format version byte {:02x} is newer than any known format", page.header.version));
  }
  if (page.state == PageState::kFreeing)
    add(in, kWarning, index, std::nullopt, "page is FREEING: garbage collection was interrupted");

  const auto table = EntryStateTable::parse(page.bitmap);
  auto entry_bytes = [&](size_t e) -> Result<Bytes> {
    const uint32_t addr = entry_address(index, e);
    Bytes b(raw.begin() + kEntriesOffset + static_cast<std::ptrdiff_t>(e * kEntrySize),
            raw.begin() + kEntriesOffset + static_cast<std::ptrdiff_t>((e + 1) * kEntrySize));
    if (cipher && !is_erased(b)) ESPSEC_TRY(cipher->decrypt(addr, b, b));
    return b;
  };

  size_t i = 0;
  while (i < kEntryCount) {
    const EntryState st = table.get(i);
    const ByteSpan stored = raw.subspan(kEntriesOffset + i * kEntrySize, kEntrySize);
    if (st == EntryState::kEmpty) {
      ++page.empty;
      if (!is_erased(stored)) {
        ESPSEC_ASSIGN_OR_RETURN(Bytes b, entry_bytes(i));
        page.entries.push_back({static_cast<uint32_t>(i), st, Item::parse(b), std::nullopt, {}, std::nullopt});
        add(in, page.state == PageState::kActive ? kWarning : kError, index, static_cast<uint32_t>(i),
            page.state == PageState::kActive
                ? std::string("entry holds data but is marked empty (an interrupted write; ESP-IDF discards it on open)")
                : std::string("entry holds data but is marked empty"));
      }
      ++i;
      continue;
    }
    ESPSEC_ASSIGN_OR_RETURN(Bytes b, entry_bytes(i));
    InspectedEntry e{static_cast<uint32_t>(i), st, Item::parse(b), std::nullopt, {}, std::nullopt};
    size_t span = 1;
    if (st == EntryState::kIllegal) {
      ++page.illegal;
      add(in, kError, index, e.index, "entry state is illegal (01)");
    } else if (st == EntryState::kErased) {
      ++page.erased_entries;
      if (is_erased(stored)) add(in, kWarning, index, e.index, "entry is marked erased but is empty");
      // A consistent erased header still tells how far its item reaches.
      if (e.item.consistent(i)) span = e.item.span;
      for (size_t j = i + 1; j < i + span; ++j) {
        if (table.get(j) == EntryState::kErased) ++page.erased_entries;
        else span = j - i;
      }
    } else {
      ++page.written;
      if (is_erased(stored)) add(in, kError, index, e.index, "entry is marked written but is empty");
      e.fault = e.item.check_header(i);
      if (e.fault) {
        add(in, kError, index, e.index,
            fmt::format("'{}': {}{}", shown(e.item.key_view()), header_fault_text(*e.fault),
                        *e.fault == HeaderFault::kCrc
                            ? fmt::format(" (stored {:08x}, computed {:08x})", e.item.crc, e.item.computed_crc())
                            : std::string()));
      } else if (is_variable_length(e.item.type())) {
        span = e.item.span;
        bool complete = true;
        for (size_t j = i + 1; j < i + span; ++j) {
          const EntryState ds = table.get(j);
          if (ds == EntryState::kWritten) ++page.written;
          else if (ds == EntryState::kErased) ++page.erased_entries;
          else if (ds == EntryState::kEmpty) ++page.empty;
          if (ds != EntryState::kWritten) complete = false;
        }
        if (!complete) {
          add(in, kWarning, index, e.index,
              fmt::format("'{}': data entries are not all written (an interrupted write or erase)", shown(e.item.key_view())));
        }
        for (size_t j = i + 1; j < i + span; ++j) {
          ESPSEC_ASSIGN_OR_RETURN(Bytes d, entry_bytes(j));
          e.data.insert(e.data.end(), d.begin(), d.end());
        }
        e.data.resize(e.item.var_size());
        if (complete) {
          e.data_crc_ok = data_crc(e.data) == e.item.var_crc();
          if (!*e.data_crc_ok)
            add(in, kError, index, e.index,
                fmt::format("'{}': data CRC mismatch (stored {:08x}, computed {:08x})", shown(e.item.key_view()),
                            e.item.var_crc(), data_crc(e.data)));
        }
      }
    }
    page.entries.push_back(std::move(e));
    i += span;
  }
  return page;
}

// Items that a device would consider live: written, consistent, complete, on a used page.
bool live(const InspectedPage& p, const InspectedEntry& e) {
  return e.state == EntryState::kWritten && !e.fault &&
         (p.state == PageState::kActive || p.state == PageState::kFull || p.state == PageState::kFreeing) &&
         (!is_variable_length(e.item.type()) || e.data_crc_ok.value_or(false));
}

void cross_checks(Inspection& in) {
  const size_t pages = in.pages.size();
  if (pages < kMinWritablePages)
    add(in, kWarning, std::nullopt, std::nullopt,
        fmt::format("the partition has {} pages; a writable NVS partition needs at least 3", pages));
  if (std::none_of(in.pages.begin(), in.pages.end(), [](const InspectedPage& p) { return p.erased; }))
    add(in, kError, std::nullopt, std::nullopt,
        "no free (erased) page: ESP-IDF needs one to open the partition for writing");

  // Duplicates: the same (namespace, key, chunk) live twice.
  std::map<std::tuple<uint8_t, std::string, uint8_t>, std::pair<uint32_t, uint32_t>> seen;
  std::set<uint8_t> used_ns;
  struct Index {
    uint32_t page, entry, size;
    uint8_t count, start;
    uint32_t observed_size = 0, observed_count = 0;
  };
  std::map<std::pair<uint8_t, std::string>, std::vector<Index>> indexes;
  for (const auto& p : in.pages) {
    for (const auto& e : p.entries) {
      if (!live(p, e)) continue;
      const std::string key = shown(e.item.key_view());
      auto [it, fresh] = seen.try_emplace({e.item.ns, key, e.item.chunk}, p.index, e.index);
      if (!fresh)
        add(in, kError, p.index, e.index,
            fmt::format("'{}' (namespace {}) is also live at page {} entry {}: duplicate item", key, e.item.ns,
                        it->second.first, it->second.second));
      if (e.item.ns != 0) used_ns.insert(e.item.ns);
      if (e.item.type() == ItemType::kBlobIndex)
        indexes[{e.item.ns, key}].push_back(
            {p.index, e.index, e.item.blob_size(), e.item.blob_chunk_count(), e.item.blob_chunk_start()});
    }
  }
  for (const auto& p : in.pages) {
    for (const auto& e : p.entries) {
      if (!live(p, e) || e.item.type() != ItemType::kBlobData) continue;
      const std::string key = shown(e.item.key_view());
      bool owned = false;
      if (auto it = indexes.find({e.item.ns, key}); it != indexes.end()) {
        for (auto& idx : it->second) {
          if (e.item.chunk >= idx.start && e.item.chunk < idx.start + idx.count) {
            idx.observed_size += e.item.var_size();
            ++idx.observed_count;
            owned = true;
          }
        }
      }
      if (!owned)
        add(in, kError, p.index, e.index,
            fmt::format("blob '{}' chunk {:#04x} has no blob index", key, e.item.chunk));
    }
  }
  for (const auto& [id, list] : indexes)
    for (const auto& idx : list)
      if (idx.observed_count != idx.count || idx.observed_size != idx.size)
        add(in, kError, idx.page, idx.entry,
            fmt::format("blob '{}' is incomplete: {} of {} chunks and {} of {} bytes present", id.second,
                        idx.observed_count, idx.count, idx.observed_size, idx.size));
  for (uint8_t ns : used_ns)
    if (!in.namespaces.count(ns))
      add(in, kError, std::nullopt, std::nullopt, fmt::format("items use namespace index {} which is not defined", ns));
  for (const auto& [ns, name] : in.namespaces)
    if (!used_ns.count(ns))
      add(in, kWarning, std::nullopt, std::nullopt, fmt::format("namespace '{}' (index {}) holds no items", name, ns));
}

std::string escape_text(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) append_escaped(out, c, true);
  return out + "\"";
}

std::string ns_label(const Inspection& in, uint8_t ns) {
  if (ns == 0) return "(namespaces)";
  auto it = in.namespaces.find(ns);
  return it == in.namespaces.end() ? fmt::format("#{}", ns) : it->second;
}

std::string string_value(const InspectedEntry& e) {
  std::string s(as_chars(e.data));
  if (!s.empty() && s.back() == '\0') s.pop_back();
  return s;
}

nlohmann::json json_value(const InspectedEntry& e) {
  const ItemType t = e.item.type();
  if (is_primitive(t)) {
    const uint64_t bits = e.item.primitive_bits();
    if (t == ItemType::kFloat) {
      const auto u = static_cast<uint32_t>(bits);
      float f;
      std::memcpy(&f, &u, 4);
      return f;
    }
    if (t == ItemType::kDouble) return std::bit_cast<double>(bits);
    if (is_signed(t)) return static_cast<int64_t>(bits);
    return bits;
  }
  if (t == ItemType::kString) return string_value(e);
  if (t == ItemType::kBlobIndex)
    return nlohmann::json{{"size", e.item.blob_size()},
                          {"chunk_count", e.item.blob_chunk_count()},
                          {"chunk_start", e.item.blob_chunk_start()}};
  return to_hex(e.data);
}

}  // namespace

bool Inspection::has_errors() const {
  return std::any_of(findings.begin(), findings.end(),
                     [](const Finding& f) { return f.severity == Finding::Severity::kError; });
}

Result<Inspection> inspect_partition(ByteSpan image, const Keys* keys) {
  if (image.empty() || image.size() % kPageSize != 0)
    return fail("inspect.size", "an NVS partition is a whole number of 4096-byte pages; this image is {} bytes",
                image.size());
  Inspection in;
  in.size = static_cast<uint32_t>(image.size());
  std::optional<EntryCipher> cipher;
  if (keys) {
    ESPSEC_ASSIGN_OR_RETURN(auto c, EntryCipher::create(*keys));
    cipher.emplace(std::move(c));
    in.encrypted = true;
  }
  for (uint32_t p = 0; p < image.size() / kPageSize; ++p) {
    ESPSEC_ASSIGN_OR_RETURN(InspectedPage page, inspect_page(image, p, cipher ? &*cipher : nullptr, in));
    in.pages.push_back(std::move(page));
  }
  for (const auto& p : in.pages)
    for (const auto& e : p.entries)
      if (live(p, e) && e.item.ns == 0 && e.item.type() == ItemType::kU8)
        in.namespaces.try_emplace(e.item.data[0], shown(e.item.key_view()));
  cross_checks(in);
  return in;
}

std::string describe_value(const InspectedEntry& e, size_t max_blob_bytes) {
  const ItemType t = e.item.type();
  if (!is_known_type(e.item.type_raw)) return fmt::format("(unknown type {:#04x})", e.item.type_raw);
  if (is_primitive(t)) return json_value(e).dump();
  if (t == ItemType::kString) {
    const std::string text = string_value(e);
    if (text.size() <= 2 * max_blob_bytes) return escape_text(text);
    return fmt::format("{}... ({} bytes)", escape_text(text.substr(0, 2 * max_blob_bytes)), text.size());
  }
  if (t == ItemType::kBlobIndex)
    return fmt::format("{} bytes in {} chunks, version {:#04x}", e.item.blob_size(), e.item.blob_chunk_count(),
                       e.item.blob_chunk_start());
  const ByteSpan shown = ByteSpan(e.data).first(std::min(e.data.size(), max_blob_bytes));
  return fmt::format("{} bytes {}{}", e.data.size(), to_hex(shown), e.data.size() > shown.size() ? "..." : "");
}

std::string dump_text(const Inspection& in, std::string_view name) {
  std::string out = fmt::format("{}: {} pages ({} bytes){}\n", name, in.pages.size(), in.size,
                                in.encrypted ? ", decrypted with the given keys" : "");
  for (const auto& p : in.pages) {
    if (p.erased) {
      out += fmt::format("page {} @0x{:05x}: erased\n", p.index, p.index * kPageSize);
      continue;
    }
    out += fmt::format("page {} @0x{:05x}: {}, seq {}, version {:#04x}, header CRC {}, {} written / {} erased / {} empty\n",
                       p.index, p.index * kPageSize, page_state_name(p.state), p.header.seq, p.header.version,
                       p.header.crc_ok() ? "ok" : "BAD", p.written, p.erased_entries, p.empty);
    for (const auto& e : p.entries) {
      std::string crc = e.state == EntryState::kWritten ? (e.fault ? std::string(header_fault_text(*e.fault)) : "CRC ok")
                                                        : "-";
      if (e.data_crc_ok) crc += *e.data_crc_ok ? ", data CRC ok" : ", data CRC BAD";
      const std::string type = is_known_type(e.item.type_raw) ? std::string(item_type_name(e.item.type()))
                                                               : fmt::format("{:#04x}", e.item.type_raw);
      std::string chunk = e.item.type() == ItemType::kBlobData ? fmt::format("[{:#04x}]", e.item.chunk) : "";
      const std::string value = e.state == EntryState::kWritten && !e.fault ? describe_value(e, 32) : "";
      out += fmt::format("  {:03d} {:<7} {:<12} {:<10} {}{}{}{}  ({}, span {})\n", e.index, entry_state_name(e.state),
                         ns_label(in, e.item.ns), type, shown(e.item.key_view()), chunk, value.empty() ? "" : " = ", value,
                         crc, e.item.span);
    }
  }
  out += findings_text(in);
  return out;
}

std::string findings_text(const Inspection& in) {
  if (in.findings.empty()) return "no problems found\n";
  std::string out;
  for (const auto& f : in.findings) {
    std::string where;
    if (f.page) where += fmt::format("page {}", *f.page);
    if (f.entry) where += fmt::format(" entry {}", *f.entry);
    out += fmt::format("{}: {}{}{}\n", f.severity == Finding::Severity::kError ? "error" : "warning", where,
                       where.empty() ? "" : ": ", f.message);
  }
  return out;
}

std::string dump_json(const Inspection& in, std::string_view name) {
  using nlohmann::json;
  json pages = json::array();
  for (const auto& p : in.pages) {
    json entries = json::array();
    for (const auto& e : p.entries) {
      json j{{"index", e.index},
             {"state", entry_state_name(e.state)},
             {"ns_index", e.item.ns},
             {"namespace", e.item.ns == 0 ? json(nullptr) : json(ns_label(in, e.item.ns))},
             {"key", shown(e.item.key_view())},
             {"type", is_known_type(e.item.type_raw) ? json(item_type_name(e.item.type())) : json(nullptr)},
             {"type_code", e.item.type_raw},
             {"span", e.item.span},
             {"chunk_index", e.item.chunk}};
      if (e.state == EntryState::kWritten) {
        j["crc_ok"] = e.fault != HeaderFault::kCrc;
        if (e.fault) j["fault"] = header_fault_text(*e.fault);
        if (e.data_crc_ok) j["data_crc_ok"] = *e.data_crc_ok;
        if (!e.fault && is_known_type(e.item.type_raw)) j["value"] = json_value(e);
      }
      entries.push_back(std::move(j));
    }
    pages.push_back(json{{"index", p.index},
                         {"state", page_state_name(p.state)},
                         {"seq", p.erased ? json(nullptr) : json(p.header.seq)},
                         {"version", p.erased ? json(nullptr) : json(p.header.version)},
                         {"header_crc_ok", p.erased ? json(nullptr) : json(p.header.crc_ok())},
                         {"written", p.written},
                         {"erased", p.erased_entries},
                         {"empty", p.empty},
                         {"entries", std::move(entries)}});
  }
  json findings = json::array();
  for (const auto& f : in.findings)
    findings.push_back(json{{"severity", f.severity == Finding::Severity::kError ? "error" : "warning"},
                            {"page", f.page ? json(*f.page) : json(nullptr)},
                            {"entry", f.entry ? json(*f.entry) : json(nullptr)},
                            {"message", f.message}});
  json ns = json::object();
  for (const auto& [index, nsname] : in.namespaces) ns[std::to_string(index)] = nsname;
  const json doc{{"partition", std::string(name)}, {"size", in.size},       {"encrypted", in.encrypted},
                 {"namespaces", ns},                {"pages", pages},        {"findings", findings}};
  return doc.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace espsec::nvs
