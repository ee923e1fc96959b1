// Internal to the NVS engine: one NVS page in RAM, with the same state machine, lookups and
// flash operation order as ESP-IDF's nvs::Page (components/nvs_flash/src/nvs_page.cpp), so a
// partition written by either implementation can be read and further written by the other.
// The single deliberate difference: the load-time duplicate check compares real keys, not
// only the 24-bit hash (ESP-IDF loses one of two colliding keys there).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "nvs/events.hpp"
#include "nvs/format.hpp"
#include "nvs/partition_io.hpp"

namespace espsec::nvs {

// Non-error outcomes the engine uses for control flow (ESP-IDF returns them as esp_err_t).
enum class Outcome { kOk, kNotFound, kTypeMismatch, kPageFull, kContentDiffers, kInvalidLength };

// A lookup: namespace (kNsAny for any), type (kAny for any), key (nullopt for any), chunk
// number (kChunkAny for any) and, for blob indexes, the chunk version (kChunkAny for any).
struct ItemQuery {
  ItemQuery(uint8_t ns_ = kNsAny, ItemType type_ = ItemType::kAny, std::optional<std::string_view> key_ = std::nullopt,
            uint8_t chunk_ = kChunkAny, uint8_t chunk_start_ = kChunkAny)
      : ns(ns_), type(type_), key(key_), chunk(chunk_), chunk_start(chunk_start_) {}
  uint8_t ns;
  ItemType type;
  std::optional<std::string_view> key;
  uint8_t chunk;
  uint8_t chunk_start;

  // The hash-list value of the probe item; computed once per query, not once per page.
  uint32_t hash() const;

 private:
  mutable std::optional<uint32_t> hash_;
};

// Hashes of the items on a page, in entry order: the lookup accelerator ESP-IDF keeps
// (nvs_item_hash_list.cpp). find() may return an index whose item has a different key.
class HashList {
 public:
  void insert(const Item& item, size_t index);
  void erase(size_t index);
  size_t find(size_t start, uint32_t hash) const;  // kInvalidEntry when absent
  // Indices below `before` with this hash, in order.
  std::vector<size_t> matches_before(size_t before, uint32_t hash) const;
  void clear() { nodes_.clear(); }
  size_t memory_bytes() const { return nodes_.capacity() * sizeof(uint32_t); }

 private:
  static constexpr uint32_t kTombstone = 0xFF;
  std::vector<uint32_t> nodes_;  // index in bits 0..7, hash in bits 8..31
  size_t tombstones_ = 0;
};

class Page {
 public:
  [[nodiscard]] Status load(PartitionIo& io, uint32_t sector, RecoveryLog& log);

  PageState state() const { return state_; }
  uint32_t sector() const { return base_ / kPageSize; }
  std::optional<uint32_t> seq() const;
  void set_seq(uint32_t seq) {
    if (state_ == PageState::kUninitialized) seq_ = seq;
  }

  [[nodiscard]] Result<Outcome> write_item(uint8_t ns, ItemType type, std::string_view key, ByteSpan data,
                                           uint8_t chunk = kChunkAny);
  // Reads a primitive (out.size() must be its width) or a variable-length item (out at
  // least its size). A data CRC mismatch erases the item and reports kNotFound.
  [[nodiscard]] Result<Outcome> read_item(const ItemQuery& q, MutableByteSpan out);
  [[nodiscard]] Result<Outcome> read_var_data(const Item& item, size_t index, MutableByteSpan out);
  [[nodiscard]] Result<Outcome> compare_item(const ItemQuery& q, ByteSpan data);
  [[nodiscard]] Result<Outcome> erase_item(const ItemQuery& q, bool purge);
  // `index` is where the search starts and, on kOk or kTypeMismatch, where the item is;
  // `item` receives every entry read on the way (ESP-IDF relies on that).
  [[nodiscard]] Result<Outcome> find_item(const ItemQuery& q, size_t& index, Item& item);
  // First written item with exactly this namespace, key and chunk number, of any type.
  [[nodiscard]] Result<std::optional<size_t>> find_same_identity(uint8_t ns, std::string_view key, uint8_t chunk);
  [[nodiscard]] Status erase_entry_and_span(size_t index, bool purge);
  [[nodiscard]] Status purge_erased_items(uint8_t ns);
  [[nodiscard]] Result<Outcome> copy_items(Page& other);
  [[nodiscard]] Status mark_full();
  [[nodiscard]] Status mark_freeing();
  [[nodiscard]] Status erase();

  size_t used_entries() const { return used_; }
  size_t var_data_tailroom() const;
  size_t memory_bytes() const { return sizeof(Page) + hashes_.memory_bytes(); }

 private:
  Status fail_io(Error error);
  Status load_entry_table(RecoveryLog& log);
  Status initialize();
  Status alter_entry_state(size_t index, EntryState state);
  Status alter_entry_range_state(size_t begin, size_t end, EntryState state);
  Status alter_page_state(PageState state);
  Status purge_entry_range(size_t begin, size_t end);
  Result<Item> read_entry(size_t index);
  // The data entries of the variable-length item at `index` (span - 1 entries, padding kept).
  Result<Bytes> read_data(const Item& item, size_t index);
  Status write_entry(ByteSpan raw32);
  Status write_entry_data(ByteSpan data);
  void update_first_used_entry(size_t index, size_t span);
  uint32_t entry_addr(size_t index) const { return base_ + kEntriesOffset + static_cast<uint32_t>(index) * kEntrySize; }
  Result<size_t> find_duplicate_before(const Item& item, size_t index);

  PartitionIo* io_ = nullptr;
  uint32_t base_ = 0;
  PageState state_ = PageState::kInvalid;
  uint32_t seq_ = 0xFFFFFFFF;
  uint8_t version_ = kVersion2;
  EntryStateTable table_;
  size_t next_free_ = kInvalidEntry;
  size_t first_used_ = kInvalidEntry;
  size_t used_ = 0;
  HashList hashes_;
};

}  // namespace espsec::nvs
