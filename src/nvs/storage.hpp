// The NVS engine: ESP-IDF's key-value store on a flash partition, byte-compatible with the
// device (components/nvs_flash) in both directions and safe against power loss at any flash
// operation. Mount it on any chip::Flash:
//
//   ESPSEC_ASSIGN_OR_RETURN(auto nvs, nvs::Storage::open(flash, 0x9000, 0x6000, std::nullopt));
//   ESPSEC_ASSIGN_OR_RETURN(auto h, nvs->open_namespace("storage", nvs::OpenMode::kReadWrite));
//   ESPSEC_TRY(h.set<uint32_t>("boot_count", 7));
//   ESPSEC_ASSIGN_OR_RETURN(uint32_t n, h.get<uint32_t>("boot_count"));
//
// Every set/erase is durable when it returns (commit() is a no-op, as on the device). Errors
// carry the codes listed with esp_err_of() below; a failed flash operation poisons the
// Storage (reopen the partition, which recovers it).
//
// Deliberate differences from ESP-IDF (the on-flash format is unchanged):
//  - the load-time duplicate check compares real keys; ESP-IDF trusts a 24-bit hash and
//    erases the older of two colliding keys when the partition is reopened;
//  - the load-time check of the newest item on the active page keeps the chunk number of a
//    blob chunk; ESP-IDF searches any chunk and, after power loss between a blob rewrite's
//    chunks and its index, erases a chunk of the committed old value;
//  - read-only opens never write flash (recovery runs on a private copy).
#pragma once

#include <bitset>
#include <concepts>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chip/flash.hpp"
#include "core/bytes.hpp"
#include "core/error.hpp"
#include "nvs/events.hpp"
#include "nvs/format.hpp"
#include "nvs/keys.hpp"
#include "nvs/page_manager.hpp"

namespace espsec::nvs {

enum class OpenMode { kReadOnly, kReadWrite, kReadWritePurge };

struct OpenOptions {
  // Never write the flash: load-time recovery works on a private copy and set/erase fail
  // with nvs.read_only. Partitions below three pages can only be opened this way.
  bool read_only = false;
};

// One item as nvs_entry_find reports it.
struct EntryInfo {
  std::string ns;
  std::string key;
  ItemType type;  // v2 blobs report kBlobData, once per blob; legacy blobs are not listed
};

template <class T>
concept NvsScalar = std::same_as<T, uint8_t> || std::same_as<T, int8_t> || std::same_as<T, uint16_t> ||
                    std::same_as<T, int16_t> || std::same_as<T, uint32_t> || std::same_as<T, int32_t> ||
                    std::same_as<T, uint64_t> || std::same_as<T, int64_t> || std::same_as<T, float> ||
                    std::same_as<T, double>;

template <NvsScalar T>
constexpr ItemType item_type_of() {
  if constexpr (std::same_as<T, uint8_t>) return ItemType::kU8;
  else if constexpr (std::same_as<T, int8_t>) return ItemType::kI8;
  else if constexpr (std::same_as<T, uint16_t>) return ItemType::kU16;
  else if constexpr (std::same_as<T, int16_t>) return ItemType::kI16;
  else if constexpr (std::same_as<T, uint32_t>) return ItemType::kU32;
  else if constexpr (std::same_as<T, int32_t>) return ItemType::kI32;
  else if constexpr (std::same_as<T, uint64_t>) return ItemType::kU64;
  else if constexpr (std::same_as<T, int64_t>) return ItemType::kI64;
  else if constexpr (std::same_as<T, float>) return ItemType::kFloat;
  else return ItemType::kDouble;
}

class Storage;

// A namespace opened for reading or writing (nvs_handle_t). Valid while its Storage lives.
class Handle {
 public:
  template <NvsScalar T>
  [[nodiscard]] Status set(std::string_view key, T value);
  template <NvsScalar T>
  [[nodiscard]] Result<T> get(std::string_view key);

  // Strings are C strings on the device: no NUL inside, at most 3999 bytes.
  [[nodiscard]] Status set_string(std::string_view key, std::string_view value);
  [[nodiscard]] Result<std::string> get_string(std::string_view key);
  [[nodiscard]] Status set_blob(std::string_view key, ByteSpan value);
  [[nodiscard]] Result<Bytes> get_blob(std::string_view key);
  // Stored size of a string (with its NUL) or blob (nvs_get_str / nvs_get_blob length query).
  [[nodiscard]] Result<size_t> get_size(ItemType type, std::string_view key);
  // Type of the key's value; blobs of either version report kBlobData (nvs_find_key).
  [[nodiscard]] Result<ItemType> find_key(std::string_view key);
  [[nodiscard]] Status erase_key(std::string_view key);
  [[nodiscard]] Status erase_all();
  // Overwrites this namespace's erased entries with zeros (nvs_purge_all).
  [[nodiscard]] Status purge_all();
  [[nodiscard]] Status commit();
  [[nodiscard]] Result<size_t> used_entry_count();

  const std::string& namespace_name() const { return name_; }
  uint8_t namespace_index() const { return ns_; }

 private:
  friend class Storage;
  Handle(Storage& storage, uint8_t ns, std::string name, OpenMode mode)
      : storage_(&storage), ns_(ns), name_(std::move(name)), mode_(mode) {}
  Status check_writable() const;
  bool purge() const { return mode_ == OpenMode::kReadWritePurge; }
  Status set_scalar(ItemType type, std::string_view key, ByteSpan bytes);
  Status get_scalar(ItemType type, std::string_view key, MutableByteSpan out);

  Storage* storage_;
  uint8_t ns_;
  std::string name_;
  OpenMode mode_;
};

class Storage {
 public:
  // Mounts the partition [offset, offset + size) of `flash` (4 KiB aligned). With keys, every
  // entry is XTS-encrypted as ESP-IDF's NVS encryption does.
  [[nodiscard]] static Result<std::unique_ptr<Storage>> open(chip::Flash& flash, uint32_t offset, uint32_t size,
                                                             std::optional<Keys> keys, OpenOptions options = {});

  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  // Opens (kReadOnly: must exist) or creates a namespace, 1..15 bytes.
  [[nodiscard]] Result<Handle> open_namespace(std::string_view name, OpenMode mode);
  [[nodiscard]] Result<Stats> stats();
  // Items in iteration order (pages by age, then entries), optionally of one namespace / type.
  [[nodiscard]] Result<std::vector<EntryInfo>> entries(std::optional<std::string_view> ns = std::nullopt,
                                                       ItemType type = ItemType::kAny);
  // Namespaces by index.
  std::vector<std::pair<uint8_t, std::string>> namespaces() const;

  // What was repaired while opening and reading (power-loss traces, corrupt items).
  const RecoveryLog& recovery_log() const { return log_; }
  uint32_t page_count() const { return pages_.page_count(); }
  bool read_only() const { return read_only_; }
  // RAM the engine keeps for its lookup structures (page states and per-item hashes).
  size_t memory_bytes() const;

 private:
  friend class Handle;
  Storage() = default;
  Status init(uint32_t page_count);
  Status check_state() const;
  Status check_write() const;
  // Marks the storage unusable once a flash operation failed midway.
  template <class T>
  Result<T> guard(Result<T> r);

  struct Found {
    Page* page = nullptr;
    size_t index = 0;
    Item item;
  };
  Result<std::optional<Found>> find_item(const ItemQuery& q);
  Status write_item(uint8_t ns, ItemType type, std::string_view key, ByteSpan data, bool purge);
  Result<Outcome> write_multi_page_blob(uint8_t ns, std::string_view key, ByteSpan data, uint8_t chunk_start,
                                        bool purge);
  Result<Outcome> read_item(uint8_t ns, ItemType type, std::string_view key, MutableByteSpan out);
  Result<Outcome> read_multi_page_blob(uint8_t ns, std::string_view key, MutableByteSpan out);
  Result<Outcome> compare_multi_page_blob(uint8_t ns, std::string_view key, ByteSpan data);
  Result<Outcome> erase_multi_page_blob(uint8_t ns, std::string_view key, bool purge, uint8_t chunk_start);
  Result<Outcome> erase_item(uint8_t ns, std::string_view key, bool purge);
  Result<std::optional<size_t>> item_data_size(uint8_t ns, ItemType type, std::string_view key);
  Result<uint8_t> create_or_open_namespace(std::string_view name, bool can_create);
  Status load_namespaces();
  Status clean_blobs();
  std::string namespace_name(uint8_t index) const;

  std::unique_ptr<chip::Flash> owned_flash_;  // the partition window, or a private copy
  std::unique_ptr<PartitionIo> io_;
  PageManager pages_;
  struct NamespaceEntry {
    std::string name;
    uint8_t index;
  };
  std::vector<NamespaceEntry> namespaces_;
  std::bitset<256> ns_used_;
  RecoveryLog log_;
  bool read_only_ = false;
  bool failed_ = false;
};

// The ESP-IDF esp_err_t value of an engine error (ESP_ERR_NVS_NOT_FOUND = 0x1102, ...);
// ESP_FAIL (-1) for errors that have no NVS code.
int esp_err_of(const Error& error);

}  // namespace espsec::nvs
