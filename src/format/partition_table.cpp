#include "format/partition_table.hpp"

#include <algorithm>

#include "crypto/hash.hpp"

namespace espsec::partition {
namespace {

constexpr size_t kMd5Offset = 16;  // ESP_PARTITION_MD5_OFFSET

// gen_esp32part.py TYPES and SUBTYPES (dict order matters: to_csv prints the first match).
constexpr Keyword kTypes[] = {
    {"bootloader", type::kBootloader},
    {"partition_table", type::kPartitionTable},
    {"app", type::kApp},
    {"data", type::kData},
};
constexpr Keyword kBootloaderSubtypes[] = {
    {"primary", subtype::kPrimary}, {"ota", subtype::kBootloaderOta}, {"recovery", subtype::kRecovery}};
constexpr Keyword kPartitionTableSubtypes[] = {{"primary", subtype::kPrimary},
                                               {"ota", subtype::kPartitionTableOta}};
constexpr Keyword kAppSubtypes[] = {
    {"factory", subtype::kFactory}, {"test", subtype::kTest},   {"ota_0", 0x10},  {"ota_1", 0x11},
    {"ota_2", 0x12},                {"ota_3", 0x13},             {"ota_4", 0x14},  {"ota_5", 0x15},
    {"ota_6", 0x16},                {"ota_7", 0x17},             {"ota_8", 0x18},  {"ota_9", 0x19},
    {"ota_10", 0x1A},               {"ota_11", 0x1B},            {"ota_12", 0x1C}, {"ota_13", 0x1D},
    {"ota_14", 0x1E},               {"ota_15", 0x1F},            {"tee_0", subtype::kTee0},
    {"tee_1", subtype::kTee1},
};
constexpr Keyword kDataSubtypes[] = {
    {"ota", subtype::kDataOta},     {"phy", subtype::kPhy},       {"nvs", subtype::kNvs},
    {"coredump", subtype::kCoredump}, {"nvs_keys", subtype::kNvsKeys}, {"efuse", subtype::kEfuse},
    {"undefined", subtype::kUndefined}, {"esphttpd", subtype::kEsphttpd}, {"fat", subtype::kFat},
    {"spiffs", subtype::kSpiffs},   {"littlefs", subtype::kLittlefs}, {"tee_ota", subtype::kTeeOta},
};

std::string keyword_or_decimal(std::span<const Keyword> keywords, uint8_t value) {
  for (const auto& k : keywords)
    if (k.value == value) return std::string(k.name);
  return fmt::format("{}", value);
}

bool all_bytes(ByteSpan data, uint8_t value) {
  return std::all_of(data.begin(), data.end(), [value](uint8_t b) { return b == value; });
}

std::string label_for_message(ByteSpan slot) {
  return c_string_field(slot.subspan(12, kLabelSize));
}

}  // namespace

std::optional<uint8_t> Entry::ota_slot() const {
  if (type != type::kApp || subtype < subtype::kOta0 || subtype >= subtype::kOta0 + subtype::kOtaCount)
    return std::nullopt;
  return static_cast<uint8_t>(subtype - subtype::kOta0);
}

const Entry* Table::find(uint8_t t, uint8_t s) const {
  for (const auto& e : entries)
    if (e.type == t && e.subtype == s) return &e;
  return nullptr;
}

const Entry* Table::find_label(std::string_view label) const {
  for (const auto& e : entries)
    if (e.label == label) return &e;
  return nullptr;
}

std::span<const Keyword> type_keywords() { return kTypes; }

std::span<const Keyword> subtype_keywords(uint8_t t) {
  switch (t) {
    case type::kApp: return kAppSubtypes;
    case type::kData: return kDataSubtypes;
    case type::kBootloader: return kBootloaderSubtypes;
    case type::kPartitionTable: return kPartitionTableSubtypes;
    default: return {};
  }
}

std::string type_name(uint8_t t) { return keyword_or_decimal(kTypes, t); }

std::string subtype_name(uint8_t t, uint8_t s) { return keyword_or_decimal(subtype_keywords(t), s); }

std::array<uint8_t, kEntrySize> encode_entry(const Entry& entry) {
  std::array<uint8_t, kEntrySize> out{};
  store_le16(out.data(), kEntryMagic);
  out[2] = entry.type;
  out[3] = entry.subtype;
  store_le32(out.data() + 4, entry.offset);
  store_le32(out.data() + 8, entry.size);
  const size_t n = std::min(entry.label.size(), kLabelSize);
  std::copy_n(entry.label.begin(), n, out.begin() + 12);
  store_le32(out.data() + 28, entry.flags);
  return out;
}

Result<Entry> decode_entry(ByteSpan slot) {
  if (slot.size() != kEntrySize)
    return fail("partition_table.length", "a partition entry is 32 bytes, got {}", slot.size());
  const uint16_t magic = load_le16(slot.data());
  if (magic != kEntryMagic)
    return fail("partition_table.magic", "invalid magic bytes {:02x} {:02x} for a partition entry (expected aa 50)",
                slot[0], slot[1]);
  Entry e;
  e.type = slot[2];
  e.subtype = slot[3];
  e.offset = load_le32(slot.data() + 4);
  e.size = load_le32(slot.data() + 8);
  e.label = c_string_field(slot.subspan(12, kLabelSize));
  e.flags = load_le32(slot.data() + 28);
  return e;
}

Result<Bytes> serialize_table(std::span<const Entry> entries, bool with_md5) {
  Bytes out;
  out.reserve(kTableMaxLength);
  for (const auto& e : entries) {
    const auto slot = encode_entry(e);
    out.insert(out.end(), slot.begin(), slot.end());
  }
  if (with_md5) {
    const Bytes md5 = crypto::digest(crypto::HashAlg::kMd5, out);
    out.push_back(0xEB);
    out.push_back(0xEB);
    out.insert(out.end(), kMd5Offset - 2, 0xFF);
    out.insert(out.end(), md5.begin(), md5.end());
  }
  // gen_esp32part: "Binary partition table length (%d) longer than max"; the terminator needs a slot.
  if (out.size() >= kTableMaxLength)
    return fail("partition_table.too_long",
                "binary partition table length ({}) is longer than the maximum of {} bytes: {} entries{} "
                "leave no room for the end marker",
                out.size(), kTableMaxLength, entries.size(), with_md5 ? " plus the MD5 entry" : "");
  out.resize(kTableMaxLength, 0xFF);
  return out;
}

Result<Table> verify_table(ByteSpan table, uint32_t flash_chip_size) {
  Table result;
  const size_t slots = std::min(table.size() / kEntrySize, kMaxSlots);
  for (size_t i = 0; i < slots; ++i) {
    const ByteSpan slot = table.subspan(i * kEntrySize, kEntrySize);
    const uint16_t magic = load_le16(slot.data());
    if (magic == kEntryMagic) {
      auto entry = decode_entry(slot);
      if (!entry) return std::unexpected(entry.error());
      if (entry->offset > flash_chip_size || entry->size > flash_chip_size - entry->offset)
        return fail("partition_table.bounds",
                    "partition {} ('{}') at offset 0x{:x} size 0x{:x} exceeds the flash chip size 0x{:x}", i,
                    entry->label, entry->offset, entry->size, flash_chip_size);
      result.entries.push_back(std::move(*entry));
    } else if (magic == kMd5Magic) {
      if (result.has_md5)
        return fail("partition_table.md5_duplicate", "partition table slot {} is a second MD5 entry; only one is allowed",
                    i);
      const Bytes md5 = crypto::digest(crypto::HashAlg::kMd5, table.first(i * kEntrySize));
      if (!crypto::constant_time_equal(md5, slot.subspan(kMd5Offset)))
        return fail("partition_table.md5", "partition table MD5 checksum does not match (computed {}, stored {})",
                    to_hex(md5), to_hex(slot.subspan(kMd5Offset)));
      result.has_md5 = true;
    } else if (i != 0 && magic == 0xFFFF && slot[2] == 0xFF && slot[3] == 0xFF) {
      return result;
    } else if (i == 0 && all_bytes(slot, 0xFF)) {
      return fail("partition_table.empty", "no partition table: the first entry is erased (all 0xFF)");
    } else {
      return fail("partition_table.magic", "partition table slot {} has invalid magic number 0x{:04x}", i, magic);
    }
  }
  return fail("partition_table.no_terminator",
              "partition table has no terminating entry within its first {} slots", slots);
}

Result<Table> parse_table_file(ByteSpan data, bool check_md5, std::vector<std::string>* warnings) {
  Table result;
  Bytes hashed;  // entry bytes so far, for the digest an MD5 slot must hold
  for (size_t o = 0; o < data.size(); o += kEntrySize) {
    if (data.size() - o < kEntrySize)
      return fail("partition_table.length", "partition table length must be a multiple of 32 bytes (got {} bytes)",
                  data.size());
    const ByteSpan slot = data.subspan(o, kEntrySize);
    if (all_bytes(slot, 0xFF)) return result;
    const size_t index = o / kEntrySize;
    if (check_md5 && slot[0] == 0xEB && slot[1] == 0xEB) {
      const Bytes expected = crypto::digest(crypto::HashAlg::kMd5, hashed);
      if (!crypto::constant_time_equal(expected, slot.subspan(kMd5Offset)))
        return fail("partition_table.md5", "MD5 checksums don't match! (computed: 0x{}, parsed: 0x{})",
                    to_hex(expected), to_hex(slot.subspan(kMd5Offset)));
      result.has_md5 = true;
      continue;
    }
    hashed.insert(hashed.end(), slot.begin(), slot.end());
    auto entry = decode_entry(slot);
    if (!entry) return std::unexpected(with_context(entry.error(), fmt::format("entry {}", index)));
    if (!is_valid_utf8(entry->label))
      return fail("partition_table.label_utf8", "entry {}: label '{}' is not valid UTF-8", index,
                  label_for_message(slot));
    if ((entry->flags & ~kKnownFlags) != 0) {
      if (warnings)
        warnings->push_back(fmt::format(
            "WARNING: Partition definition had unknown flag(s) 0x{:08x}. Newer binary format?",
            entry->flags & ~kKnownFlags));
      entry->flags &= kKnownFlags;
    }
    result.entries.push_back(std::move(*entry));
  }
  return fail("partition_table.no_terminator", "partition table is missing an end-of-table marker");
}

bool is_valid_utf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<uint8_t>(text[i]);
    size_t len;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (text.size() - i < len) return false;
    for (size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<uint8_t>(text[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, UTF-16 surrogates and values past U+10FFFF are not UTF-8.
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

}  // namespace espsec::partition
