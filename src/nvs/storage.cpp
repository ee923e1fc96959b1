#include "nvs/storage.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <map>

#include "chip/flash_window.hpp"

namespace espsec::nvs {

namespace {
constexpr bool kPurgeInternal = true;  // nvs_page.hpp DEFAULT_PURGE_AFTER_ERASE

uint8_t toggle_version(uint8_t start) { return start == kChunkVersion1 ? kChunkVersion0 : kChunkVersion1; }

Error not_found(std::string_view ns, std::string_view key) {
  return Error{"nvs.not_found", fmt::format("key '{}' not found in namespace '{}'", key, ns)};
}

Error from_outcome(Outcome o, std::string_view ns, std::string_view key) {
  switch (o) {
    case Outcome::kNotFound: return not_found(ns, key);
    case Outcome::kTypeMismatch:
      return Error{"nvs.type_mismatch", fmt::format("key '{}' in namespace '{}' holds another type", key, ns)};
    case Outcome::kInvalidLength:
      return Error{"nvs.invalid_length", fmt::format("buffer too small for key '{}'", key)};
    case Outcome::kPageFull:
    case Outcome::kContentDiffers:
    case Outcome::kOk: break;
  }
  return Error{"nvs.not_enough_space", "not enough space in the partition"};
}
}  // namespace

std::string_view recovery_kind_name(RecoveryEvent::Kind kind) {
  switch (kind) {
    case RecoveryEvent::Kind::kCorruptPage: return "corrupt-page";
    case RecoveryEvent::Kind::kBadEntry: return "bad-entry";
    case RecoveryEvent::Kind::kUnmarkedEntry: return "unmarked-entry";
    case RecoveryEvent::Kind::kIncompleteItem: return "incomplete-item";
    case RecoveryEvent::Kind::kDuplicateItem: return "duplicate-item";
    case RecoveryEvent::Kind::kInterruptedGc: return "interrupted-gc";
    case RecoveryEvent::Kind::kBlobIndexMismatch: return "blob-index-mismatch";
    case RecoveryEvent::Kind::kOrphanChunk: return "orphan-chunk";
    case RecoveryEvent::Kind::kBadData: return "bad-data";
  }
  return "unknown";
}

// ---- Opening ----

Result<std::unique_ptr<Storage>> Storage::open(chip::Flash& flash, uint32_t offset, uint32_t size,
                                               std::optional<Keys> keys, OpenOptions options) {
  if (size % kPageSize != 0 || size == 0)
    return fail("nvs.partition_size", "NVS partition size 0x{:x} is not a non-zero multiple of 4096", size);
  const uint32_t page_count = size / kPageSize;
  if (!options.read_only && page_count < kMinWritablePages)
    return fail("nvs.partition_size",
                "a writable NVS partition needs at least {} pages (0x3000 bytes); 0x{:x} can only be opened read-only",
                kMinWritablePages, size);
  ESPSEC_ASSIGN_OR_RETURN(chip::FlashWindow region, chip::FlashWindow::make(flash, offset, size));

  std::unique_ptr<Storage> s(new Storage());
  s->read_only_ = options.read_only;
  if (options.read_only) {
    ESPSEC_ASSIGN_OR_RETURN(Bytes copy, region.read_bytes(0, size));
    s->owned_flash_ = std::make_unique<chip::MemoryFlash>(std::move(copy));
  } else {
    s->owned_flash_ = std::make_unique<chip::FlashWindow>(region);
  }
  std::optional<EntryCipher> cipher;
  if (keys) {
    ESPSEC_ASSIGN_OR_RETURN(auto c, EntryCipher::create(*keys));
    cipher.emplace(std::move(c));
  }
  s->io_ = std::make_unique<PartitionIo>(*s->owned_flash_, std::move(cipher));
  ESPSEC_TRY(s->init(page_count));
  return s;
}

Status Storage::init(uint32_t page_count) {
  ESPSEC_TRY(pages_.load(*io_, page_count, !read_only_, log_));
  ESPSEC_TRY(load_namespaces());
  return clean_blobs();
}

Status Storage::load_namespaces() {
  namespaces_.clear();
  ns_used_.reset();
  for (Page* p : pages_.pages()) {
    size_t index = 0;
    Item item;
    for (;;) {
      ESPSEC_ASSIGN_OR_RETURN(const Outcome o,
                              p->find_item(ItemQuery{kNamespaceIndexNs, ItemType::kU8, std::nullopt}, index, item));
      if (o != Outcome::kOk) break;
      namespaces_.push_back({std::string(item.key_view()), item.data[0]});
      ns_used_.set(item.data[0]);
      index += item.span;
    }
  }
  ns_used_.set(0);
  ns_used_.set(255);
  return {};
}

Status Storage::clean_blobs() {
  struct BlobIndex {
    std::string key;
    uint8_t ns;
    uint8_t chunk_start;
    uint8_t chunk_count;
    uint32_t size;
    uint32_t observed_size = 0;
    uint32_t observed_chunks = 0;
  };
  std::vector<BlobIndex> indexes;
  for (Page* p : pages_.pages()) {
    size_t index = 0;
    Item item;
    for (;;) {
      ESPSEC_ASSIGN_OR_RETURN(const Outcome o, p->find_item(ItemQuery{kNsAny, ItemType::kBlobIndex}, index, item));
      if (o != Outcome::kOk) break;
      indexes.push_back({std::string(item.key_view()), item.ns, item.blob_chunk_start(), item.blob_chunk_count(),
                         item.blob_size()});
      index += item.span;
    }
  }
  // Chunks of a version lie in [0x00, 0x80) or [0x80, 0xFF).
  for (Page* p : pages_.pages()) {
    size_t index = 0;
    Item item;
    for (;;) {
      ESPSEC_ASSIGN_OR_RETURN(const Outcome o, p->find_item(ItemQuery{kNsAny, ItemType::kBlobData}, index, item));
      if (o != Outcome::kOk) break;
      auto it = std::find_if(indexes.begin(), indexes.end(), [&](const BlobIndex& e) {
        const uint8_t limit = e.chunk_start == kChunkVersion0 ? kChunkVersion1 : kChunkAny;
        return item.key_equals(e.key) && item.ns == e.ns && item.chunk >= e.chunk_start && item.chunk < limit;
      });
      if (it != indexes.end()) {
        it->observed_size += item.var_size();
        ++it->observed_chunks;
      }
      index += item.span;
    }
  }
  for (auto it = indexes.begin(); it != indexes.end();) {
    if (it->observed_size == it->size && it->observed_chunks == it->chunk_count) {
      ++it;
      continue;
    }
    for (Page* p : pages_.pages()) {
      const PageState st = p->state();
      if (st == PageState::kCorrupt || st == PageState::kInvalid || st == PageState::kUninitialized) continue;
      ESPSEC_ASSIGN_OR_RETURN(
          const Outcome o,
          p->erase_item(ItemQuery{it->ns, ItemType::kBlobIndex, it->key, kChunkAny, it->chunk_start}, kPurgeInternal));
      if (o == Outcome::kOk) {
        log_.push_back({RecoveryEvent::Kind::kBlobIndexMismatch, p->sector(), kInvalidEntry,
                        fmt::format("blob '{}': {} bytes in {} chunks found, index says {} in {}", it->key,
                                    it->observed_size, it->observed_chunks, it->size, it->chunk_count)});
        break;
      }
    }
    it = indexes.erase(it);
  }
  for (Page* p : pages_.pages()) {
    size_t index = 0;
    Item item;
    for (;;) {
      ESPSEC_ASSIGN_OR_RETURN(const Outcome o, p->find_item(ItemQuery{kNsAny, ItemType::kBlobData}, index, item));
      if (o != Outcome::kOk) break;
      const bool owned = std::any_of(indexes.begin(), indexes.end(), [&](const BlobIndex& e) {
        return item.key_equals(e.key) && item.ns == e.ns && item.chunk >= e.chunk_start &&
               item.chunk < e.chunk_start + e.chunk_count;
      });
      if (!owned) {
        const std::string key(item.key_view());
        ESPSEC_ASSIGN_OR_RETURN(const Outcome erased,
                                p->erase_item(ItemQuery{item.ns, item.type(), key, item.chunk}, kPurgeInternal));
        if (erased == Outcome::kOk)
          log_.push_back({RecoveryEvent::Kind::kOrphanChunk, p->sector(), static_cast<uint32_t>(index),
                          fmt::format("blob '{}' chunk 0x{:02x} has no index", key, item.chunk)});
      }
      index += item.span;
    }
  }
  return {};
}

// ---- State checks ----

Status Storage::check_state() const {
  if (failed_)
    return fail("nvs.invalid_state", "a flash operation failed earlier; reopen the partition to recover it");
  return {};
}

Status Storage::check_write() const {
  ESPSEC_TRY(check_state());
  if (read_only_) return fail("nvs.read_only", "the NVS partition was opened read-only");
  return {};
}

template <class T>
Result<T> Storage::guard(Result<T> r) {
  // A failed flash operation may have stopped a write sequence midway: the in-RAM state can
  // no longer be trusted until the partition is reopened (which recovers it).
  if (!r && (io_->failed() || r.error().code == "nvs.corrupt_page")) failed_ = true;
  return r;
}

// ---- Lookups ----

Result<std::optional<Storage::Found>> Storage::find_item(const ItemQuery& q) {
  for (Page* p : pages_.pages()) {
    Found f;
    f.page = p;
    ESPSEC_ASSIGN_OR_RETURN(const Outcome o, p->find_item(q, f.index, f.item));
    if (o == Outcome::kOk) return f;
  }
  return std::nullopt;
}

// ---- Writing ----

Status Storage::write_item(uint8_t ns, ItemType type, std::string_view key, ByteSpan data, bool purge) {
  std::optional<Found> old;
  bool same_type = false;
  std::optional<uint32_t> old_seq;
  if (type == ItemType::kBlob) {
    ESPSEC_ASSIGN_OR_RETURN(old, find_item(ItemQuery{ns, ItemType::kBlobIndex, key}));
    same_type = old.has_value();
  } else {
    ESPSEC_ASSIGN_OR_RETURN(old, find_item(ItemQuery{ns, type, key}));
    same_type = old.has_value();
    if (old) old_seq = old->page->seq();
  }
  if (!old) {
    // A value of another type under the same key is replaced.
    ESPSEC_ASSIGN_OR_RETURN(old, find_item(ItemQuery{ns, ItemType::kAny, key}));
    if (old) old_seq = old->page->seq();
  }

  if (type == ItemType::kBlob) {
    uint8_t next_start = kChunkVersion0;
    if (same_type) {
      ESPSEC_ASSIGN_OR_RETURN(const Outcome cmp, compare_multi_page_blob(ns, key, data));
      if (cmp == Outcome::kOk) return {};
      next_start = toggle_version(old->item.blob_chunk_start());
    }
    ESPSEC_ASSIGN_OR_RETURN(const Outcome o, write_multi_page_blob(ns, key, data, next_start, purge));
    if (o != Outcome::kOk) return fail("nvs.not_enough_space", "not enough space for blob '{}' ({} bytes)", key,
                                       data.size());
  } else {
    if (same_type) {
      ESPSEC_ASSIGN_OR_RETURN(const Outcome cmp, old->page->compare_item(ItemQuery{ns, type, key}, data));
      if (cmp == Outcome::kOk) return {};
    }
    ESPSEC_ASSIGN_OR_RETURN(Outcome o, pages_.current().write_item(ns, type, key, data));
    if (o == Outcome::kPageFull) {
      if (pages_.current().state() != PageState::kFull) ESPSEC_TRY(pages_.current().mark_full());
      ESPSEC_TRY(pages_.request_new_page());
      ESPSEC_ASSIGN_OR_RETURN(o, pages_.current().write_item(ns, type, key, data));
      if (o == Outcome::kPageFull) return fail("nvs.not_enough_space", "not enough space for '{}'", key);
    }
  }

  if (!old) return {};
  if (old->item.type() == ItemType::kBlobIndex) {
    // A chunk already missing (kNotFound) leaves orphans that the next open removes.
    ESPSEC_TRY(erase_multi_page_blob(ns, key, purge, old->item.blob_chunk_start()));
    return {};
  }
  // Garbage collection may have moved the old value while the new one was written.
  const PageState st = old->page->state();
  const bool relocated =
      (st != PageState::kActive && st != PageState::kFull) || old->page->seq() != old_seq;
  if (relocated) {
    const ItemType old_type = old->item.type();
    ESPSEC_ASSIGN_OR_RETURN(old, find_item(ItemQuery{ns, old_type, key}));
    if (!old) return std::unexpected(not_found(namespace_name(ns), key));
  }
  return old->page->erase_entry_and_span(old->index, purge);
}

Result<Outcome> Storage::write_multi_page_blob(uint8_t ns, std::string_view key, ByteSpan data, uint8_t chunk_start,
                                               bool purge) {
  const size_t max_pages = std::min<size_t>(pages_.page_count() - 1, kMaxBlobChunks);
  if (data.size() > max_pages * kChunkMaxSize)
    return fail("nvs.value_too_long", "blob '{}' is {} bytes; this partition holds blobs of at most {} bytes", key,
                data.size(), max_pages * kChunkMaxSize);

  uint8_t chunk_count = 0;
  size_t remaining = data.size();
  size_t offset = 0;
  Status status;
  for (;;) {
    Page& page = pages_.current();
    const size_t tailroom = page.var_data_tailroom();
    // Starting a blob in a nearly full page would split it needlessly: take a new page first.
    if (chunk_count == 0 && (tailroom < data.size() || (tailroom == 0 && data.empty())) &&
        tailroom < kChunkMaxSize / 10) {
      if (page.state() != PageState::kFull) ESPSEC_TRY(page.mark_full());
      ESPSEC_TRY(pages_.request_new_page());
      if (pages_.current().var_data_tailroom() == tailroom)
        return fail("nvs.not_enough_space", "not enough space for blob '{}' ({} bytes)", key, data.size());
      continue;
    }
    if (tailroom == 0) {
      status = fail("nvs.not_enough_space", "not enough space for blob '{}' ({} bytes)", key, data.size());
      break;
    }
    const size_t chunk_size = std::min(remaining, tailroom);
    remaining -= chunk_size;
    auto written = page.write_item(ns, ItemType::kBlobData, key, data.subspan(offset, chunk_size),
                                   static_cast<uint8_t>(chunk_start + chunk_count));
    ++chunk_count;
    if (!written || *written != Outcome::kOk) {
      status = written ? fail("nvs.not_enough_space", "blob '{}' chunk did not fit its page", key)
                       : Status(std::unexpected(written.error()));
      break;
    }
    if (remaining || tailroom - chunk_size < kEntrySize) {
      if (page.state() != PageState::kFull) {
        status = page.mark_full();
        if (!status) break;
      }
      status = pages_.request_new_page();
      if (!status) break;
    }
    offset += chunk_size;
    if (remaining == 0) {
      Item index;
      index.set_blob_index(static_cast<uint32_t>(data.size()), chunk_count, chunk_start);
      auto o = pages_.current().write_item(ns, ItemType::kBlobIndex, key, index.data);
      if (!o || *o != Outcome::kOk)
        status = o ? fail("nvs.not_enough_space", "blob '{}' index did not fit its page", key)
                   : Status(std::unexpected(o.error()));
      break;
    }
  }
  if (status) return Outcome::kOk;

  // Remove the chunks written so far, best effort as ESP-IDF does (the error returned is the
  // write's); garbage collection may have moved them.
  for (uint8_t c = chunk_start; c < static_cast<uint8_t>(chunk_start + chunk_count); ++c) {
    auto found = find_item(ItemQuery{ns, ItemType::kBlobData, key, c});
    if (found && *found) (void)(*found)->page->erase_entry_and_span((*found)->index, purge);
  }
  return std::unexpected(status.error());
}

// ---- Reading ----

Result<Outcome> Storage::read_item(uint8_t ns, ItemType type, std::string_view key, MutableByteSpan out) {
  if (type == ItemType::kBlob) {
    ESPSEC_ASSIGN_OR_RETURN(const Outcome o, read_multi_page_blob(ns, key, out));
    if (o != Outcome::kNotFound) return o;
    // Not a version-2 blob: maybe a legacy single-page one.
  }
  ESPSEC_ASSIGN_OR_RETURN(auto found, find_item(ItemQuery{ns, type, key}));
  if (!found) return Outcome::kNotFound;
  ESPSEC_ASSIGN_OR_RETURN(const Outcome o, found->page->read_item(ItemQuery{ns, type, key}, out));
  if (o == Outcome::kNotFound && is_variable_length(type))
    log_.push_back({RecoveryEvent::Kind::kBadData, found->page->sector(), static_cast<uint32_t>(found->index),
                    fmt::format("'{}': data CRC mismatch, item erased", key)});
  return o;
}

Result<Outcome> Storage::read_multi_page_blob(uint8_t ns, std::string_view key, MutableByteSpan out) {
  ESPSEC_ASSIGN_OR_RETURN(auto index, find_item(ItemQuery{ns, ItemType::kBlobIndex, key}));
  if (!index) return Outcome::kNotFound;
  const uint8_t count = index->item.blob_chunk_count();
  const uint8_t start = index->item.blob_chunk_start();
  if (out.size() != index->item.blob_size()) return Outcome::kInvalidLength;

  size_t offset = 0;
  Outcome outcome = Outcome::kOk;
  for (uint8_t n = 0; n < count; ++n) {
    ESPSEC_ASSIGN_OR_RETURN(auto chunk, find_item(ItemQuery{ns, ItemType::kBlobData, key, uint8_t(start + n)}));
    if (!chunk) {
      outcome = Outcome::kNotFound;
      break;
    }
    if (chunk->item.var_size() > out.size() - offset) {
      outcome = Outcome::kInvalidLength;
      break;
    }
    ESPSEC_ASSIGN_OR_RETURN(const Outcome o,
                            chunk->page->read_var_data(chunk->item, chunk->index, out.subspan(offset)));
    if (o != Outcome::kOk) {
      log_.push_back({RecoveryEvent::Kind::kBadData, chunk->page->sector(), static_cast<uint32_t>(chunk->index),
                      fmt::format("blob '{}' chunk 0x{:02x}: data CRC mismatch, chunk erased", key, chunk->item.chunk)});
      return o;
    }
    offset += chunk->item.var_size();
  }
  if (outcome != Outcome::kOk) {
    ESPSEC_TRY(erase_multi_page_blob(ns, key, kPurgeInternal, kChunkAny));
    log_.push_back({RecoveryEvent::Kind::kBlobIndexMismatch, index->page->sector(), static_cast<uint32_t>(index->index),
                    fmt::format("blob '{}' was incomplete and has been removed", key)});
  }
  if (offset != out.size())
    return fail("nvs.blob_incomplete", "blob '{}' in namespace '{}' was incomplete and has been removed", key,
                namespace_name(ns));
  return outcome;
}

Result<Outcome> Storage::compare_multi_page_blob(uint8_t ns, std::string_view key, ByteSpan data) {
  ESPSEC_ASSIGN_OR_RETURN(auto index, find_item(ItemQuery{ns, ItemType::kBlobIndex, key}));
  if (!index) return Outcome::kNotFound;
  const uint8_t count = index->item.blob_chunk_count();
  const uint8_t start = index->item.blob_chunk_start();
  if (data.size() != index->item.blob_size()) return Outcome::kContentDiffers;
  size_t offset = 0;
  for (uint8_t n = 0; n < count; ++n) {
    const uint8_t c = static_cast<uint8_t>(start + n);
    ESPSEC_ASSIGN_OR_RETURN(auto chunk, find_item(ItemQuery{ns, ItemType::kBlobData, key, c}));
    if (!chunk) break;
    const size_t size = chunk->item.var_size();
    if (size > data.size() - offset) return Outcome::kContentDiffers;
    // As ESP-IDF (cmpMultiPageBlob): the quick CRC check uses the start of the whole value,
    // not this chunk's window, so a multi-chunk blob set to its current value is rewritten.
    if (data_crc(data.first(size)) != chunk->item.var_crc()) return Outcome::kContentDiffers;
    ESPSEC_ASSIGN_OR_RETURN(const Outcome o,
                            chunk->page->compare_item(ItemQuery{ns, ItemType::kBlobData, key, c}, data.subspan(offset, size)));
    if (o != Outcome::kOk) return o;
    offset += size;
  }
  if (offset != data.size()) return Outcome::kContentDiffers;
  return Outcome::kOk;
}

// ---- Erasing ----

Result<Outcome> Storage::erase_multi_page_blob(uint8_t ns, std::string_view key, bool purge, uint8_t chunk_start) {
  ESPSEC_ASSIGN_OR_RETURN(auto index, find_item(ItemQuery{ns, ItemType::kBlobIndex, key, kChunkAny, chunk_start}));
  if (!index) return Outcome::kNotFound;
  const uint8_t count = index->item.blob_chunk_count();
  // The index first: its chunks become orphans that the next load removes if power fails.
  ESPSEC_TRY(index->page->erase_entry_and_span(index->index, purge));

  if (chunk_start == kChunkAny) {
    ESPSEC_ASSIGN_OR_RETURN(auto second, find_item(ItemQuery{ns, ItemType::kBlobIndex, key, kChunkAny, chunk_start}));
    if (second) ESPSEC_TRY(second->page->erase_entry_and_span(second->index, purge));
    for (Page* p : pages_.pages()) {
      size_t i = 0;
      Item item;
      while (i < kEntryCount) {
        ESPSEC_ASSIGN_OR_RETURN(const Outcome o, p->find_item(ItemQuery{ns, ItemType::kBlobData, key}, i, item));
        if (o != Outcome::kOk) break;
        ESPSEC_TRY(p->erase_entry_and_span(i, purge));
        i += item.span;
      }
    }
    return Outcome::kOk;
  }
  for (uint8_t c = chunk_start; c < static_cast<uint8_t>(chunk_start + count); ++c) {
    ESPSEC_ASSIGN_OR_RETURN(auto chunk, find_item(ItemQuery{ns, ItemType::kBlobData, key, c}));
    if (!chunk) return Outcome::kNotFound;
    ESPSEC_TRY(chunk->page->erase_entry_and_span(chunk->index, purge));
  }
  return Outcome::kOk;
}

Result<Outcome> Storage::erase_item(uint8_t ns, std::string_view key, bool purge) {
  ESPSEC_ASSIGN_OR_RETURN(auto found, find_item(ItemQuery{ns, ItemType::kAny, key}));
  if (!found) return Outcome::kNotFound;
  if (found->item.type() == ItemType::kBlobIndex)
    return erase_multi_page_blob(ns, key, purge, found->item.blob_chunk_start());
  ESPSEC_TRY(found->page->erase_entry_and_span(found->index, purge));
  return Outcome::kOk;
}

Result<std::optional<size_t>> Storage::item_data_size(uint8_t ns, ItemType type, std::string_view key) {
  if (type == ItemType::kBlob) {
    ESPSEC_ASSIGN_OR_RETURN(auto index, find_item(ItemQuery{ns, ItemType::kBlobIndex, key}));
    if (index) return std::optional<size_t>(index->item.blob_size());
  }
  ESPSEC_ASSIGN_OR_RETURN(auto found, find_item(ItemQuery{ns, type, key}));
  if (!found) return std::optional<size_t>();
  return std::optional<size_t>(found->item.var_size());
}

// ---- Namespaces ----

std::string Storage::namespace_name(uint8_t index) const {
  for (const auto& e : namespaces_)
    if (e.index == index) return e.name;
  return fmt::format("#{}", index);
}

std::vector<std::pair<uint8_t, std::string>> Storage::namespaces() const {
  std::vector<std::pair<uint8_t, std::string>> out;
  for (const auto& e : namespaces_) out.emplace_back(e.index, e.name);
  std::sort(out.begin(), out.end());
  return out;
}

Result<uint8_t> Storage::create_or_open_namespace(std::string_view name, bool can_create) {
  ESPSEC_TRY(check_key(name, "namespace name"));
  for (const auto& e : namespaces_)
    if (e.name == name) return e.index;
  if (!can_create) return fail("nvs.not_found", "namespace '{}' does not exist", name);
  uint8_t ns = 1;
  while (ns < 255 && ns_used_.test(ns)) ++ns;
  if (ns == 255) return fail("nvs.not_enough_space", "all 254 namespace indexes are in use");
  const uint8_t value = ns;
  ESPSEC_TRY(write_item(kNamespaceIndexNs, ItemType::kU8, name, ByteSpan(&value, 1), kPurgeInternal));
  ns_used_.set(ns);
  namespaces_.push_back({std::string(name), ns});
  return ns;
}

Result<Handle> Storage::open_namespace(std::string_view name, OpenMode mode) {
  ESPSEC_TRY(check_state());
  const bool wants_write = mode != OpenMode::kReadOnly;
  if (wants_write && read_only_) return fail("nvs.read_only", "the NVS partition was opened read-only");
  ESPSEC_ASSIGN_OR_RETURN(const uint8_t ns, guard(create_or_open_namespace(name, wants_write)));
  return Handle(*this, ns, std::string(name), mode);
}

// ---- Statistics and iteration ----

Result<Stats> Storage::stats() {
  ESPSEC_TRY(check_state());
  Stats stats;
  ESPSEC_TRY(pages_.fill_stats(stats));
  stats.namespace_count = namespaces_.size();
  return stats;
}

Result<std::vector<EntryInfo>> Storage::entries(std::optional<std::string_view> ns, ItemType type) {
  ESPSEC_TRY(check_state());
  uint8_t ns_index = kNsAny;
  if (ns) {
    auto it = std::find_if(namespaces_.begin(), namespaces_.end(), [&](const auto& e) { return e.name == *ns; });
    if (it == namespaces_.end()) return std::vector<EntryInfo>{};
    ns_index = it->index;
  }
  std::vector<EntryInfo> out;
  auto body = [&]() -> Status {
    for (Page* p : pages_.pages()) {
      size_t index = 0;
      Item item;
      for (;;) {
        ESPSEC_ASSIGN_OR_RETURN(const Outcome o, p->find_item(ItemQuery{ns_index, type}, index, item));
        if (o == Outcome::kNotFound) break;
        index += item.span;
        if (o != Outcome::kOk) continue;
        const ItemType t = item.type();
        const bool iterable = item.ns != 0 && t != ItemType::kBlob && t != ItemType::kBlobIndex;
        const bool later_chunk =
            t == ItemType::kBlobData && item.chunk != kChunkVersion0 && item.chunk != kChunkVersion1;
        if (iterable && !later_chunk) out.push_back({namespace_name(item.ns), std::string(item.key_view()), t});
      }
    }
    return {};
  };
  ESPSEC_TRY(guard(body()));
  return out;
}

size_t Storage::memory_bytes() const {
  size_t ns_bytes = 0;
  for (const auto& e : namespaces_) ns_bytes += sizeof(e) + e.name.capacity();
  return pages_.memory_bytes() + ns_bytes;
}

// ---- Handle ----

Status Handle::check_writable() const {
  ESPSEC_TRY(storage_->check_write());
  if (mode_ == OpenMode::kReadOnly)
    return fail("nvs.read_only", "namespace '{}' was opened read-only", name_);
  return {};
}

Status Handle::set_scalar(ItemType type, std::string_view key, ByteSpan bytes) {
  ESPSEC_TRY(check_writable());
  ESPSEC_TRY(check_key(key));
  return storage_->guard(storage_->write_item(ns_, type, key, bytes, purge()));
}

Status Handle::get_scalar(ItemType type, std::string_view key, MutableByteSpan out) {
  ESPSEC_TRY(storage_->check_state());
  ESPSEC_TRY(check_key(key));
  ESPSEC_ASSIGN_OR_RETURN(const Outcome o, storage_->guard(storage_->read_item(ns_, type, key, out)));
  if (o != Outcome::kOk) return std::unexpected(from_outcome(o, name_, key));
  return {};
}

template <NvsScalar T>
Status Handle::set(std::string_view key, T value) {
  if constexpr (std::floating_point<T>) {
    if (std::isnan(value)) return fail("nvs.invalid_value", "NaN cannot be stored (key '{}')", key);
  }
  std::array<uint8_t, sizeof(T)> bytes;
  std::memcpy(bytes.data(), &value, sizeof(T));
  if constexpr (std::endian::native == std::endian::big) std::reverse(bytes.begin(), bytes.end());
  return set_scalar(item_type_of<T>(), key, bytes);
}

template <NvsScalar T>
Result<T> Handle::get(std::string_view key) {
  std::array<uint8_t, sizeof(T)> bytes;
  ESPSEC_TRY(get_scalar(item_type_of<T>(), key, bytes));
  if constexpr (std::endian::native == std::endian::big) std::reverse(bytes.begin(), bytes.end());
  T value;
  std::memcpy(&value, bytes.data(), sizeof(T));
  return value;
}

#define ESPSEC_NVS_INSTANTIATE(T)                                 \
  template Status Handle::set<T>(std::string_view key, T value); \
  template Result<T> Handle::get<T>(std::string_view key);
ESPSEC_NVS_INSTANTIATE(uint8_t)
ESPSEC_NVS_INSTANTIATE(int8_t)
ESPSEC_NVS_INSTANTIATE(uint16_t)
ESPSEC_NVS_INSTANTIATE(int16_t)
ESPSEC_NVS_INSTANTIATE(uint32_t)
ESPSEC_NVS_INSTANTIATE(int32_t)
ESPSEC_NVS_INSTANTIATE(uint64_t)
ESPSEC_NVS_INSTANTIATE(int64_t)
ESPSEC_NVS_INSTANTIATE(float)
ESPSEC_NVS_INSTANTIATE(double)
#undef ESPSEC_NVS_INSTANTIATE

Status Handle::set_string(std::string_view key, std::string_view value) {
  ESPSEC_TRY(check_writable());
  ESPSEC_TRY(check_key(key));
  if (value.find('\0') != std::string_view::npos)
    return fail("nvs.invalid_value", "string for '{}' contains a NUL byte", key);
  if (value.size() + 1 > kChunkMaxSize)
    return fail("nvs.value_too_long", "string for '{}' is {} bytes with its NUL; at most {} fit", key,
                value.size() + 1, kChunkMaxSize);
  std::string with_nul(value);
  with_nul.push_back('\0');
  return storage_->guard(storage_->write_item(ns_, ItemType::kString, key, as_bytes(with_nul), purge()));
}

Result<size_t> Handle::get_size(ItemType type, std::string_view key) {
  ESPSEC_TRY(storage_->check_state());
  ESPSEC_TRY(check_key(key));
  if (type != ItemType::kString && type != ItemType::kBlob)
    return fail("nvs.invalid_type", "only strings and blobs have a variable size");
  ESPSEC_ASSIGN_OR_RETURN(auto size, storage_->guard(storage_->item_data_size(ns_, type, key)));
  if (!size) return std::unexpected(not_found(name_, key));
  return *size;
}

Result<std::string> Handle::get_string(std::string_view key) {
  ESPSEC_ASSIGN_OR_RETURN(const size_t size, get_size(ItemType::kString, key));
  std::string out(size, '\0');
  ESPSEC_ASSIGN_OR_RETURN(const Outcome o, storage_->guard(storage_->read_item(
                                               ns_, ItemType::kString, key,
                                               MutableByteSpan(reinterpret_cast<uint8_t*>(out.data()), out.size()))));
  if (o != Outcome::kOk) return std::unexpected(from_outcome(o, name_, key));
  if (!out.empty() && out.back() == '\0') out.pop_back();
  return out;
}

Status Handle::set_blob(std::string_view key, ByteSpan value) {
  ESPSEC_TRY(check_writable());
  ESPSEC_TRY(check_key(key));
  return storage_->guard(storage_->write_item(ns_, ItemType::kBlob, key, value, purge()));
}

Result<Bytes> Handle::get_blob(std::string_view key) {
  ESPSEC_ASSIGN_OR_RETURN(const size_t size, get_size(ItemType::kBlob, key));
  Bytes out(size);
  ESPSEC_ASSIGN_OR_RETURN(const Outcome o, storage_->guard(storage_->read_item(ns_, ItemType::kBlob, key, out)));
  if (o != Outcome::kOk) return std::unexpected(from_outcome(o, name_, key));
  return out;
}

Result<ItemType> Handle::find_key(std::string_view key) {
  ESPSEC_TRY(storage_->check_state());
  ESPSEC_TRY(check_key(key));
  ESPSEC_ASSIGN_OR_RETURN(auto found, storage_->guard(storage_->find_item(ItemQuery{ns_, ItemType::kAny, key})));
  if (!found) return std::unexpected(not_found(name_, key));
  const ItemType t = found->item.type();
  return (t == ItemType::kBlobIndex || t == ItemType::kBlob) ? ItemType::kBlobData : t;
}

Status Handle::erase_key(std::string_view key) {
  ESPSEC_TRY(check_writable());
  ESPSEC_TRY(check_key(key));
  ESPSEC_ASSIGN_OR_RETURN(const Outcome o, storage_->guard(storage_->erase_item(ns_, key, purge())));
  if (o != Outcome::kOk) return std::unexpected(from_outcome(o, name_, key));
  return {};
}

Status Handle::erase_all() {
  ESPSEC_TRY(check_writable());
  auto body = [&]() -> Status {
    for (Page* p : storage_->pages_.pages()) {
      for (;;) {
        ESPSEC_ASSIGN_OR_RETURN(const Outcome o, p->erase_item(ItemQuery{ns_, ItemType::kAny}, purge()));
        if (o == Outcome::kNotFound) break;
      }
    }
    return {};
  };
  return storage_->guard(body());
}

Status Handle::purge_all() {
  ESPSEC_TRY(check_writable());
  auto body = [&]() -> Status {
    for (Page* p : storage_->pages_.pages()) ESPSEC_TRY(p->purge_erased_items(ns_));
    return {};
  };
  return storage_->guard(body());
}

Status Handle::commit() { return storage_->check_state(); }

Result<size_t> Handle::used_entry_count() {
  ESPSEC_TRY(storage_->check_state());
  size_t used = 0;
  auto body = [&]() -> Status {
    for (Page* p : storage_->pages_.pages()) {
      size_t index = 0;
      Item item;
      for (;;) {
        ESPSEC_ASSIGN_OR_RETURN(const Outcome o, p->find_item(ItemQuery{ns_, ItemType::kAny}, index, item));
        if (o != Outcome::kOk) break;
        used += item.span;
        index += item.span;
        if (index >= kEntryCount) break;
      }
    }
    return {};
  };
  ESPSEC_TRY(storage_->guard(body()));
  return used;
}

// ---- esp_err_t mapping ----

int esp_err_of(const Error& error) {
  static const std::map<std::string, int, std::less<>> kCodes = {
      {"nvs.not_found", 0x1102},         {"nvs.type_mismatch", 0x1103},   {"nvs.read_only", 0x1104},
      {"nvs.not_enough_space", 0x1105},  {"nvs.invalid_name", 0x1106},    {"nvs.key_too_long", 0x1109},
      {"nvs.invalid_state", 0x110B},     {"nvs.invalid_length", 0x110C},  {"nvs.no_free_pages", 0x110D},
      {"nvs.value_too_long", 0x110E},    {"nvs.new_version_found", 0x1110},
      {"nvs.keys_not_initialized", 0x1116}, {"nvs.keys_crc", 0x1117},     {"nvs.invalid_value", 0x102},
      {"nvs.invalid_type", 0x102},       {"nvs.partition_size", 0x104},
  };
  auto it = kCodes.find(error.code);
  return it == kCodes.end() ? -1 : it->second;
}

}  // namespace espsec::nvs
