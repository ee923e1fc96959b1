// Read-only analysis of an NVS partition image, entry by entry, as ESP-IDF's nvs_tool.py does
// for its dump and integrity check (components/nvs_flash/nvs_partition_tool), and also for
// encrypted partitions when given their keys. Nothing is repaired: damaged items are reported
// as findings and the walk goes on.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/bytes.hpp"
#include "core/error.hpp"
#include "nvs/format.hpp"
#include "nvs/keys.hpp"

namespace espsec::nvs {

struct InspectedEntry {
  uint32_t index = 0;
  EntryState state = EntryState::kEmpty;
  Item item;                         // the (decrypted) entry as a header
  std::optional<HeaderFault> fault;  // for written entries
  Bytes data;                        // variable-length data (size from the header), if readable
  std::optional<bool> data_crc_ok;   // for complete written variable-length items
};

struct InspectedPage {
  uint32_t index = 0;
  PageHeader header;
  PageState state = PageState::kUninitialized;  // kCorrupt for a bad header
  bool erased = false;                           // every byte FF
  std::array<uint8_t, 32> bitmap{};
  size_t written = 0, erased_entries = 0, empty = 0, illegal = 0;
  std::vector<InspectedEntry> entries;           // non-empty entries; variable-length data folded in
};

struct Finding {
  enum class Severity { kError, kWarning };
  Severity severity;
  std::optional<uint32_t> page;
  std::optional<uint32_t> entry;
  std::string message;
};

struct Inspection {
  uint32_t size = 0;
  bool encrypted = false;
  std::vector<InspectedPage> pages;
  std::map<uint8_t, std::string> namespaces;
  std::vector<Finding> findings;
  bool has_errors() const;
};

// The image must be a whole number of pages. With keys, entries are decrypted first.
[[nodiscard]] Result<Inspection> inspect_partition(ByteSpan image, const Keys* keys);

// Human-readable value of an entry ("42", "\"text\"", "9000 bytes 28a3...", ...); blobs show
// at most `max_blob_bytes` bytes, strings twice as many characters.
std::string describe_value(const InspectedEntry& entry, size_t max_blob_bytes);

std::string dump_text(const Inspection& inspection, std::string_view name);
std::string dump_json(const Inspection& inspection, std::string_view name);
std::string findings_text(const Inspection& inspection);

}  // namespace espsec::nvs
