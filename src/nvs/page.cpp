#include "nvs/page.hpp"

#include <algorithm>
#include <array>

namespace espsec::nvs {

namespace {
// ESP-IDF nvs_page.hpp DEFAULT_PURGE_AFTER_ERASE: internal clean-ups overwrite erased entries
// with zeros; user erases do so only with NVS_READWRITE_PURGE.
constexpr bool kPurgeInternal = true;

ItemQuery exact(uint8_t ns, ItemType type, std::string_view key, uint8_t chunk = kChunkAny,
                uint8_t chunk_start = kChunkAny) {
  return ItemQuery{ns, type, key, chunk, chunk_start};
}
}  // namespace

uint32_t ItemQuery::hash() const {
  if (!hash_) hash_ = item_hash24(Item::make(ns, type, 0, key.value_or(std::string_view()), chunk));
  return *hash_;
}

// ---- HashList ----

void HashList::insert(const Item& item, size_t index) {
  nodes_.push_back(static_cast<uint32_t>(index & 0xFF) | (item_hash24(item) << 8));
}

void HashList::erase(size_t index) {
  for (uint32_t& node : nodes_) {
    if ((node & 0xFF) == index) {
      node = (node & ~uint32_t{0xFF}) | kTombstone;
      ++tombstones_;
      break;
    }
  }
  if (tombstones_ > 32 && tombstones_ * 2 > nodes_.size()) {
    std::erase_if(nodes_, [](uint32_t n) { return (n & 0xFF) == kTombstone; });
    tombstones_ = 0;
  }
}

size_t HashList::find(size_t start, uint32_t hash) const {
  for (uint32_t node : nodes_) {
    const size_t index = node & 0xFF;
    if (index != kTombstone && index >= start && (node >> 8) == hash) return index;
  }
  return kInvalidEntry;
}

std::vector<size_t> HashList::matches_before(size_t before, uint32_t hash) const {
  std::vector<size_t> out;
  for (uint32_t node : nodes_) {
    const size_t index = node & 0xFF;
    if (index != kTombstone && index < before && (node >> 8) == hash) out.push_back(index);
  }
  return out;
}

// ---- Page: loading ----

std::optional<uint32_t> Page::seq() const {
  if (state_ == PageState::kUninitialized || state_ == PageState::kInvalid || state_ == PageState::kCorrupt)
    return std::nullopt;
  return seq_;
}

Status Page::fail_io(Error error) {
  state_ = PageState::kInvalid;
  return std::unexpected(std::move(error));
}

Status Page::load(PartitionIo& io, uint32_t sector, RecoveryLog& log) {
  io_ = &io;
  base_ = sector * kPageSize;
  used_ = 0;
  next_free_ = first_used_ = kInvalidEntry;
  state_ = PageState::kInvalid;
  hashes_.clear();

  std::array<uint8_t, 32> raw;
  if (auto s = io.read_raw(base_, raw); !s) return fail_io(s.error());
  const PageHeader header = PageHeader::parse(raw);
  if (header.state_raw == static_cast<uint32_t>(PageState::kUninitialized)) {
    state_ = PageState::kUninitialized;
    Bytes page(kPageSize);
    if (auto s = io.read_raw(base_, page); !s) return fail_io(s.error());
    if (!is_erased(page)) {
      state_ = PageState::kCorrupt;
      log.push_back({RecoveryEvent::Kind::kCorruptPage, sector, kInvalidEntry,
                     "page header is erased but the page holds data"});
    }
  } else if (!header.crc_ok()) {
    state_ = PageState::kCorrupt;
    log.push_back({RecoveryEvent::Kind::kCorruptPage, sector, kInvalidEntry,
                   fmt::format("page header CRC mismatch (stored 0x{:08x}, computed 0x{:08x})", header.crc,
                               header.computed_crc())});
  } else {
    seq_ = header.seq;
    if (header.version < kVersion2)
      return fail("nvs.new_version_found",
                  "page {} uses NVS format version byte 0x{:02x}, newer than this engine understands (0x{:02x})",
                  sector, header.version, kVersion2);
    version_ = header.version;
    switch (static_cast<PageState>(header.state_raw)) {
      case PageState::kActive:
      case PageState::kFull:
      case PageState::kFreeing:
        state_ = static_cast<PageState>(header.state_raw);
        return load_entry_table(log);
      default:
        state_ = PageState::kCorrupt;
        log.push_back({RecoveryEvent::Kind::kCorruptPage, sector, kInvalidEntry,
                       fmt::format("unknown page state 0x{:08x}", header.state_raw)});
    }
  }
  return {};
}

Result<size_t> Page::find_duplicate_before(const Item& item, size_t index) {
  // ESP-IDF takes the first hash match as the duplicate. Two different keys with the same
  // 24-bit hash would then erase the older one: compare the real (ns, key, chunk) instead.
  for (size_t candidate : hashes_.matches_before(index, item_hash24(item))) {
    ESPSEC_ASSIGN_OR_RETURN(Item other, read_entry(candidate));
    if (other.ns == item.ns && other.key == item.key && other.chunk == item.chunk) return candidate;
  }
  return kInvalidEntry;
}

Status Page::load_entry_table(RecoveryLog& log) {
  std::array<uint8_t, 32> bitmap;
  if (auto s = io_->read_raw(base_ + kBitmapOffset, bitmap); !s) return fail_io(s.error());
  table_ = EntryStateTable::parse(bitmap);

  for (size_t i = 0; i < kEntryCount; ++i) {
    const EntryState st = table_.get(i);
    if (st == EntryState::kWritten) {
      if (first_used_ == kInvalidEntry) first_used_ = i;
      ++used_;
    }
  }

  if (state_ == PageState::kActive) {
    for (size_t i = 0; i < kEntryCount; ++i) {
      if (table_.get(i) == EntryState::kEmpty) {
        next_free_ = i;
        break;
      }
    }
    // An entry programmed before power went out but never marked: its first word is no
    // longer erased. Mark it erased and move on.
    while (next_free_ < kEntryCount) {
      std::array<uint8_t, 4> word;
      if (auto s = io_->read_raw(entry_addr(next_free_), word); !s) return fail_io(s.error());
      if (load_le32(word.data()) == 0xFFFFFFFF) break;
      const EntryState old_state = table_.get(next_free_);
      ESPSEC_TRY(alter_entry_state(next_free_, EntryState::kErased));
      ESPSEC_TRY(purge_entry_range(next_free_, next_free_ + 1));
      log.push_back({RecoveryEvent::Kind::kUnmarkedEntry, sector(), static_cast<uint32_t>(next_free_),
                     "entry written but never marked (power loss during a write)"});
      ++next_free_;
      if (old_state == EntryState::kWritten) --used_;
    }

    // Every item up to the first free entry must be complete and unique on this page.
    Item item;
    size_t last_item_index = kInvalidEntry;
    const size_t end = std::min<size_t>(next_free_, kEntryCount);
    size_t span = 1;
    for (size_t i = 0; i < end; i += span) {
      span = 1;
      const EntryState st = table_.get(i);
      if (st == EntryState::kErased) {
        last_item_index = kInvalidEntry;
        continue;
      }
      if (st == EntryState::kIllegal) {
        last_item_index = kInvalidEntry;
        ESPSEC_TRY(erase_entry_and_span(i, kPurgeInternal));
        log.push_back({RecoveryEvent::Kind::kBadEntry, sector(), static_cast<uint32_t>(i), "illegal entry state"});
        continue;
      }
      last_item_index = i;
      ESPSEC_ASSIGN_OR_RETURN(item, read_entry(i));
      if (auto fault = item.check_header(i)) {
        ESPSEC_TRY(erase_entry_and_span(i, kPurgeInternal));
        log.push_back({RecoveryEvent::Kind::kBadEntry, sector(), static_cast<uint32_t>(i),
                       std::string(header_fault_text(*fault))});
        continue;
      }
      hashes_.insert(item, i);
      ESPSEC_ASSIGN_OR_RETURN(const size_t duplicate, find_duplicate_before(item, i));

      if (is_variable_length(item.type())) {
        span = item.span;
        bool incomplete = false;
        for (size_t j = i; j < i + span; ++j) {
          if (table_.get(j) != EntryState::kWritten) {
            incomplete = true;
            last_item_index = kInvalidEntry;
            break;
          }
        }
        if (incomplete) {
          ESPSEC_TRY(erase_entry_and_span(i, kPurgeInternal));
          log.push_back({RecoveryEvent::Kind::kIncompleteItem, sector(), static_cast<uint32_t>(i),
                         fmt::format("'{}': data entries not all written (power loss during a write)",
                                     item.key_view())});
          continue;
        }
      }
      if (duplicate != kInvalidEntry) {
        ESPSEC_TRY(erase_entry_and_span(duplicate, kPurgeInternal));
        log.push_back({RecoveryEvent::Kind::kDuplicateItem, sector(), static_cast<uint32_t>(duplicate),
                       fmt::format("'{}': older copy of a rewritten item", item.key_view())});
      }
    }

    // The newest item may still have an older copy earlier on this page. ESP-IDF searches it
    // with any chunk number, which for a blob chunk finds the committed previous version of
    // the same blob and erases it; the chunk number is part of the identity here.
    if (last_item_index != kInvalidEntry) {
      size_t found = 0;
      Item dup;
      const uint8_t chunk = item.type() == ItemType::kBlobData ? item.chunk : kChunkAny;
      const std::string key(item.key_view());
      ESPSEC_ASSIGN_OR_RETURN(const Outcome o, find_item(exact(item.ns, item.type(), key, chunk), found, dup));
      if (o == Outcome::kOk && found < last_item_index) {
        ESPSEC_TRY(erase_entry_and_span(found, kPurgeInternal));
        log.push_back({RecoveryEvent::Kind::kDuplicateItem, sector(), static_cast<uint32_t>(found),
                       fmt::format("'{}': older copy of a rewritten item", key)});
      }
    }
  } else {
    // FULL or FREEING: index the items, drop inconsistent and incomplete ones.
    for (size_t i = first_used_; i < kEntryCount; ++i) {
      if (table_.get(i) != EntryState::kWritten) continue;
      ESPSEC_ASSIGN_OR_RETURN(Item item, read_entry(i));
      if (auto fault = item.check_header(i)) {
        ESPSEC_TRY(erase_entry_and_span(i, kPurgeInternal));
        log.push_back({RecoveryEvent::Kind::kBadEntry, sector(), static_cast<uint32_t>(i),
                       std::string(header_fault_text(*fault))});
        continue;
      }
      hashes_.insert(item, i);
      const size_t span = item.span;
      if (is_variable_length(item.type())) {
        for (size_t j = i + 1; j < i + span; ++j) {
          if (table_.get(j) != EntryState::kWritten) {
            ESPSEC_TRY(erase_entry_and_span(i, kPurgeInternal));
            log.push_back({RecoveryEvent::Kind::kIncompleteItem, sector(), static_cast<uint32_t>(i),
                           fmt::format("'{}': data entries not all written", item.key_view())});
            break;
          }
        }
      }
      i += span - 1;
    }
  }
  return {};
}

// ---- Page: writing ----

Status Page::initialize() {
  state_ = PageState::kActive;
  const auto header = PageHeader::make(PageState::kActive, seq_, version_).serialize();
  if (auto s = io_->write_raw(base_, header); !s) return fail_io(s.error());
  next_free_ = 0;
  table_ = EntryStateTable();
  return {};
}

Status Page::alter_entry_state(size_t index, EntryState state) {
  table_.set(index, state);
  const size_t w = EntryStateTable::word_index(index);
  std::array<uint8_t, 4> word;
  store_le32(word.data(), table_.word(w));
  if (auto s = io_->write_raw(base_ + kBitmapOffset + static_cast<uint32_t>(w) * 4, word); !s)
    return fail_io(s.error());
  return {};
}

Status Page::alter_entry_range_state(size_t begin, size_t end, EntryState state) {
  // Highest word first, each word programmed once (nvs_page.cpp alterEntryRangeState).
  for (size_t i = end; i-- > begin;) {
    table_.set(i, state);
    const size_t w = EntryStateTable::word_index(i);
    if (i == begin || EntryStateTable::word_index(i - 1) != w) {
      std::array<uint8_t, 4> word;
      store_le32(word.data(), table_.word(w));
      if (auto s = io_->write_raw(base_ + kBitmapOffset + static_cast<uint32_t>(w) * 4, word); !s)
        return fail_io(s.error());
    }
  }
  return {};
}

Status Page::alter_page_state(PageState state) {
  std::array<uint8_t, 4> word;
  store_le32(word.data(), static_cast<uint32_t>(state));
  if (auto s = io_->write_raw(base_, word); !s) return fail_io(s.error());
  state_ = state;
  return {};
}

Status Page::purge_entry_range(size_t begin, size_t end) {
  static constexpr std::array<uint8_t, kEntrySize> kZeros{};
  for (size_t i = begin; i < end; ++i)
    if (auto s = io_->write_raw(entry_addr(i), kZeros); !s) return fail_io(s.error());
  return {};
}

Result<Item> Page::read_entry(size_t index) { return io_->read_item(entry_addr(index)); }

Status Page::write_entry(ByteSpan raw32) {
  if (auto s = io_->write_entries(entry_addr(next_free_), raw32); !s) return fail_io(s.error());
  ESPSEC_TRY(alter_entry_state(next_free_, EntryState::kWritten));
  if (first_used_ == kInvalidEntry) first_used_ = next_free_;
  ++used_;
  ++next_free_;
  return {};
}

Status Page::write_entry_data(ByteSpan data) {
  const size_t count = data.size() / kEntrySize;
  if (auto s = io_->write_entries(entry_addr(next_free_), data); !s) return fail_io(s.error());
  ESPSEC_TRY(alter_entry_range_state(next_free_, next_free_ + count, EntryState::kWritten));
  used_ += count;
  next_free_ += count;
  return {};
}

Result<Outcome> Page::write_item(uint8_t ns, ItemType type, std::string_view key, ByteSpan data, uint8_t chunk) {
  if (state_ == PageState::kInvalid) return fail("nvs.invalid_state", "page {} failed earlier", sector());
  if (state_ == PageState::kUninitialized) ESPSEC_TRY(initialize());
  if (state_ == PageState::kFull) return Outcome::kPageFull;
  ESPSEC_TRY(check_key(key));
  if (data.size() > kChunkMaxSize)
    return fail("nvs.value_too_long", "value of '{}' is {} bytes; one item holds at most {}", key, data.size(),
                kChunkMaxSize);
  const bool var = is_variable_length(type);
  if (!var && data.size() > 8) return fail("nvs.invalid_length", "a fixed-size value is at most 8 bytes");

  const size_t count = var ? span_for_size(data.size()) : 1;
  if (next_free_ == kInvalidEntry || next_free_ + count > kEntryCount) return Outcome::kPageFull;

  Item item = Item::make(ns, type, static_cast<uint8_t>(count), key, chunk);
  hashes_.insert(item, next_free_);
  if (!var) {
    std::copy(data.begin(), data.end(), item.data.begin());
    item.seal();
    ESPSEC_TRY(write_entry(item.serialize()));
    return Outcome::kOk;
  }
  item.set_var(static_cast<uint16_t>(data.size()), data_crc(data));
  item.seal();
  ESPSEC_TRY(write_entry(item.serialize()));
  const size_t rest = data.size() % kEntrySize;
  const size_t left = data.size() - rest;
  if (left > 0) ESPSEC_TRY(write_entry_data(data.first(left)));
  if (rest > 0) {
    std::array<uint8_t, kEntrySize> tail;
    tail.fill(0xFF);
    std::copy(data.begin() + static_cast<std::ptrdiff_t>(left), data.end(), tail.begin());
    ESPSEC_TRY(write_entry(tail));
  }
  return Outcome::kOk;
}

// ---- Page: lookups ----

Result<Outcome> Page::find_item(const ItemQuery& q, size_t& index, Item& item) {
  if (state_ == PageState::kCorrupt || state_ == PageState::kInvalid || state_ == PageState::kUninitialized)
    return Outcome::kNotFound;
  const size_t begin = index;
  if (begin >= kEntryCount) return Outcome::kNotFound;

  size_t start = first_used_;
  if (begin > first_used_ && begin < kEntryCount) start = begin;
  const size_t end = std::min<size_t>(next_free_, kEntryCount);

  // The hash list cannot help for "any chunk" blob-data searches (the chunk is hashed).
  if (q.ns != kNsAny && q.key && (q.type != ItemType::kBlobData || q.chunk != kChunkAny)) {
    const size_t cached = hashes_.find(start, q.hash());
    if (cached >= kEntryCount) return Outcome::kNotFound;
    start = cached;
  }

  size_t next;
  for (size_t i = start; i < end; i = next) {
    next = i + 1;
    if (table_.get(i) != EntryState::kWritten) continue;
    ESPSEC_ASSIGN_OR_RETURN(item, read_entry(i));
    if (!item.consistent(i)) {
      ESPSEC_TRY(erase_entry_and_span(i, kPurgeInternal));
      continue;
    }
    if (is_variable_length(item.type())) next = i + item.span;
    if (q.ns != kNsAny && item.ns != q.ns) continue;
    if (q.key && !item.key_equals(*q.key)) continue;
    if (q.chunk != kChunkAny && q.type == ItemType::kBlobData && item.chunk != q.chunk) continue;
    if (q.chunk == kChunkAny && q.type == ItemType::kBlobData && item.type() != ItemType::kBlobData) continue;
    if (q.chunk == kChunkAny && q.type == ItemType::kBlob && item.type() == ItemType::kBlobIndex)
      return Outcome::kTypeMismatch;
    if (q.chunk == kChunkAny && q.type == ItemType::kBlob && item.type() == ItemType::kBlobData) continue;
    if (q.type == ItemType::kBlobIndex && item.chunk != kChunkAny) continue;
    if (q.type == ItemType::kBlobIndex && q.chunk_start != kChunkAny && item.blob_chunk_start() != q.chunk_start)
      continue;
    if (q.type != ItemType::kAny && item.type() != q.type) {
      if (!q.key && q.ns == kNsAny && q.chunk == kChunkAny) continue;
      index = i;
      return Outcome::kTypeMismatch;
    }
    index = i;
    return Outcome::kOk;
  }
  return Outcome::kNotFound;
}

Result<std::optional<size_t>> Page::find_same_identity(uint8_t ns, std::string_view key, uint8_t chunk) {
  if (state_ == PageState::kCorrupt || state_ == PageState::kInvalid || state_ == PageState::kUninitialized)
    return std::optional<size_t>();
  const size_t end = std::min<size_t>(next_free_, kEntryCount);
  size_t next;
  for (size_t i = first_used_; i < end; i = next) {
    next = i + 1;
    if (table_.get(i) != EntryState::kWritten) continue;
    ESPSEC_ASSIGN_OR_RETURN(const Item item, read_entry(i));
    if (!item.consistent(i)) continue;
    if (is_variable_length(item.type())) next = i + item.span;
    if (item.ns == ns && item.chunk == chunk && item.key_equals(key)) return std::optional<size_t>(i);
  }
  return std::optional<size_t>();
}

Result<Bytes> Page::read_data(const Item& item, size_t index) {
  Bytes data((item.span - 1u) * kEntrySize);
  if (!data.empty()) ESPSEC_TRY(io_->read_entries(entry_addr(index + 1), data));
  return data;
}

Result<Outcome> Page::read_var_data(const Item& item, size_t index, MutableByteSpan out) {
  if (state_ == PageState::kInvalid) return fail("nvs.invalid_state", "page {} failed earlier", sector());
  const size_t size = item.var_size();
  ESPSEC_ASSIGN_OR_RETURN(const Bytes data, read_data(item, index));
  std::copy_n(data.begin(), size, out.begin());
  if (data_crc(out.first(size)) != item.var_crc()) {
    ESPSEC_TRY(erase_entry_and_span(index, kPurgeInternal));
    return Outcome::kNotFound;
  }
  return Outcome::kOk;
}

Result<Outcome> Page::read_item(const ItemQuery& q, MutableByteSpan out) {
  if (state_ == PageState::kInvalid) return fail("nvs.invalid_state", "page {} failed earlier", sector());
  size_t index = 0;
  Item item;
  ESPSEC_ASSIGN_OR_RETURN(const Outcome o, find_item(q, index, item));
  if (o != Outcome::kOk) return o;
  if (!is_variable_length(q.type)) {
    if (out.size() != primitive_width(q.type)) return Outcome::kTypeMismatch;
    std::copy_n(item.data.begin(), out.size(), out.begin());
    return Outcome::kOk;
  }
  if (out.size() < item.var_size()) return Outcome::kInvalidLength;
  return read_var_data(item, index, out);
}

Result<Outcome> Page::compare_item(const ItemQuery& q, ByteSpan data) {
  if (state_ == PageState::kInvalid) return fail("nvs.invalid_state", "page {} failed earlier", sector());
  size_t index = 0;
  Item item;
  ESPSEC_ASSIGN_OR_RETURN(const Outcome o, find_item(q, index, item));
  if (o != Outcome::kOk) return o;
  if (!is_variable_length(q.type)) {
    if (data.size() != primitive_width(q.type)) return Outcome::kTypeMismatch;
    return std::equal(data.begin(), data.end(), item.data.begin()) ? Outcome::kOk : Outcome::kContentDiffers;
  }
  if (data.size() < item.var_size()) return Outcome::kInvalidLength;
  const ByteSpan expected = data.first(item.var_size());
  if (data_crc(expected) != item.var_crc()) return Outcome::kContentDiffers;
  ESPSEC_ASSIGN_OR_RETURN(const Bytes on_flash, read_data(item, index));
  const ByteSpan stored = ByteSpan(on_flash).first(expected.size());
  if (!std::equal(expected.begin(), expected.end(), stored.begin())) return Outcome::kContentDiffers;
  // The bytes match the caller's; the stored CRC must also match them, or flash is corrupt.
  return data_crc(stored) == item.var_crc() ? Outcome::kOk : Outcome::kContentDiffers;
}

Result<Outcome> Page::erase_item(const ItemQuery& q, bool purge) {
  size_t index = 0;
  Item item;
  ESPSEC_ASSIGN_OR_RETURN(const Outcome o, find_item(q, index, item));
  if (o != Outcome::kOk) return o;
  ESPSEC_TRY(erase_entry_and_span(index, purge));
  return Outcome::kOk;
}

// ---- Page: erasing ----

Status Page::erase_entry_and_span(size_t index, bool purge) {
  size_t span = 1;
  if (table_.get(index) == EntryState::kWritten) {
    ESPSEC_ASSIGN_OR_RETURN(const Item item, read_entry(index));
    hashes_.erase(index);
    if (!item.consistent(index)) {
      --used_;
      ESPSEC_TRY(alter_entry_state(index, EntryState::kErased));
      if (purge) ESPSEC_TRY(purge_entry_range(index, index + 1));
    } else {
      span = item.span;
      for (size_t i = index + span; i-- > index;)
        if (table_.get(i) == EntryState::kWritten) --used_;
      if (span == 1) {
        ESPSEC_TRY(alter_entry_state(index, EntryState::kErased));
      } else {
        ESPSEC_TRY(alter_entry_range_state(index, index + span, EntryState::kErased));
      }
      if (purge) ESPSEC_TRY(purge_entry_range(index, index + span));
    }
  } else {
    ESPSEC_TRY(alter_entry_state(index, EntryState::kErased));
    if (purge) ESPSEC_TRY(purge_entry_range(index, index + 1));
  }
  if (index == first_used_) update_first_used_entry(index, span);
  if (index + span > next_free_) next_free_ = index + span;
  return {};
}

void Page::update_first_used_entry(size_t index, size_t span) {
  first_used_ = kInvalidEntry;
  const size_t end = std::min<size_t>(next_free_, kEntryCount);
  for (size_t i = index + span; i < end; ++i) {
    if (table_.get(i) == EntryState::kWritten) {
      first_used_ = i;
      break;
    }
  }
}

Status Page::purge_erased_items(uint8_t ns) {
  if (state_ == PageState::kInvalid) return fail("nvs.invalid_state", "page {} failed earlier", sector());
  size_t index = 0;
  while (index < kEntryCount) {
    if (table_.get(index) != EntryState::kErased) {
      ++index;
      continue;
    }
    ESPSEC_ASSIGN_OR_RETURN(const Item item, read_entry(index));
    // Only a consistent header says how far the erased item reaches.
    if (!item.consistent(index) || item.ns != ns) {
      ++index;
      continue;
    }
    ESPSEC_TRY(purge_entry_range(index, index + item.span));
    index += item.span;
  }
  return {};
}

Result<Outcome> Page::copy_items(Page& other) {
  if (first_used_ == kInvalidEntry) return Outcome::kNotFound;
  if (other.state_ == PageState::kUninitialized) ESPSEC_TRY(other.initialize());
  size_t read_index = first_used_;
  while (read_index < kEntryCount) {
    if (table_.get(read_index) != EntryState::kWritten) {
      ++read_index;
      continue;
    }
    ESPSEC_ASSIGN_OR_RETURN(const Item entry, read_entry(read_index));
    other.hashes_.insert(entry, other.next_free_);
    ESPSEC_TRY(other.write_entry(entry.serialize()));
    const size_t end = read_index + entry.span;
    if (end > kEntryCount || entry.span == 0)
      return fail("nvs.corrupt_page", "page {} entry {}: span {} runs past the page", sector(), read_index,
                  entry.span);
    for (size_t i = read_index + 1; i < end; ++i) {
      std::array<uint8_t, kEntrySize> raw;
      ESPSEC_TRY(io_->read_entries(entry_addr(i), raw));
      ESPSEC_TRY(other.write_entry(raw));
    }
    read_index = end;
  }
  return Outcome::kOk;
}

Status Page::mark_full() {
  if (state_ != PageState::kActive) return fail("nvs.invalid_state", "page {} is not active", sector());
  return alter_page_state(PageState::kFull);
}

Status Page::mark_freeing() {
  if (state_ != PageState::kFull && state_ != PageState::kActive)
    return fail("nvs.invalid_state", "page {} cannot be freed in state {}", sector(), page_state_name(state_));
  return alter_page_state(PageState::kFreeing);
}

Status Page::erase() {
  if (auto s = io_->erase_page(base_); !s) return fail_io(s.error());
  used_ = 0;
  first_used_ = next_free_ = kInvalidEntry;
  state_ = PageState::kUninitialized;
  hashes_.clear();
  return {};
}

size_t Page::var_data_tailroom() const {
  if (state_ == PageState::kUninitialized) return kChunkMaxSize;
  if (state_ == PageState::kFull) return 0;
  return next_free_ < kEntryCount - 1 ? (kEntryCount - next_free_ - 1) * kEntrySize : 0;
}

}  // namespace espsec::nvs
