#include "nvs/format.hpp"

#include <algorithm>
#include <cstring>

#include "crypto/crc32.hpp"

namespace espsec::nvs {

namespace {
constexpr uint32_t kNvsCrcSeed = 0xFFFFFFFF;  // esp_rom_crc32_le(0xffffffff, ...) everywhere in NVS
}  // namespace

std::string_view page_state_name(PageState state) {
  switch (state) {
    case PageState::kUninitialized: return "empty";
    case PageState::kActive: return "active";
    case PageState::kFull: return "full";
    case PageState::kFreeing: return "freeing";
    case PageState::kCorrupt: return "corrupt";
    case PageState::kInvalid: return "invalid";
  }
  return "invalid";
}

std::string_view entry_state_name(EntryState state) {
  switch (state) {
    case EntryState::kEmpty: return "empty";
    case EntryState::kWritten: return "written";
    case EntryState::kErased: return "erased";
    case EntryState::kIllegal: return "illegal";
  }
  return "illegal";
}

bool is_known_type(uint8_t raw) {
  switch (static_cast<ItemType>(raw)) {
    case ItemType::kU8: case ItemType::kI8: case ItemType::kU16: case ItemType::kI16:
    case ItemType::kU32: case ItemType::kI32: case ItemType::kU64: case ItemType::kI64:
    case ItemType::kFloat: case ItemType::kDouble: case ItemType::kString: case ItemType::kBlob:
    case ItemType::kBlobData: case ItemType::kBlobIndex:
      return true;
    case ItemType::kAny:
      return false;
  }
  return false;
}

bool is_variable_length(ItemType type) {
  return type == ItemType::kString || type == ItemType::kBlob || type == ItemType::kBlobData;
}

bool is_primitive(ItemType type) {
  return is_known_type(static_cast<uint8_t>(type)) && !is_variable_length(type) && type != ItemType::kBlobIndex;
}

size_t primitive_width(ItemType type) { return is_primitive(type) ? (static_cast<uint8_t>(type) & 0x0F) : 0; }

bool is_signed(ItemType type) {
  return type == ItemType::kI8 || type == ItemType::kI16 || type == ItemType::kI32 || type == ItemType::kI64;
}

std::string_view item_type_name(ItemType type) {
  switch (type) {
    case ItemType::kU8: return "u8";
    case ItemType::kI8: return "i8";
    case ItemType::kU16: return "u16";
    case ItemType::kI16: return "i16";
    case ItemType::kU32: return "u32";
    case ItemType::kI32: return "i32";
    case ItemType::kU64: return "u64";
    case ItemType::kI64: return "i64";
    case ItemType::kFloat: return "float";
    case ItemType::kDouble: return "double";
    case ItemType::kString: return "string";
    case ItemType::kBlob: return "blob";
    case ItemType::kBlobData: return "blob_data";
    case ItemType::kBlobIndex: return "blob_index";
    case ItemType::kAny: return "any";
  }
  return "unknown";
}

bool is_erased(ByteSpan bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](uint8_t b) { return b == 0xFF; });
}

// ---- Page header ----

PageHeader PageHeader::parse(ByteSpan b) {
  PageHeader h;
  h.state_raw = load_le32(b.data());
  h.seq = load_le32(b.data() + 4);
  h.version = b[8];
  std::copy_n(b.begin() + 9, h.reserved.size(), h.reserved.begin());
  h.crc = load_le32(b.data() + 28);
  return h;
}

PageHeader PageHeader::make(PageState state, uint32_t seq, uint8_t version) {
  PageHeader h;
  h.state_raw = static_cast<uint32_t>(state);
  h.seq = seq;
  h.version = version;
  h.crc = h.computed_crc();
  return h;
}

std::array<uint8_t, 32> PageHeader::serialize() const {
  std::array<uint8_t, 32> out;
  store_le32(out.data(), state_raw);
  store_le32(out.data() + 4, seq);
  out[8] = version;
  std::copy(reserved.begin(), reserved.end(), out.begin() + 9);
  store_le32(out.data() + 28, crc);
  return out;
}

uint32_t PageHeader::computed_crc() const {
  const auto bytes = serialize();
  return crypto::crc32_le(kNvsCrcSeed, ByteSpan(bytes).subspan(4, 24));
}

// ---- Entry state bitmap ----

EntryStateTable EntryStateTable::parse(ByteSpan b) {
  EntryStateTable t;
  std::copy_n(b.begin(), 32, t.bytes_.begin());
  return t;
}

EntryState EntryStateTable::get(size_t index) const {
  return static_cast<EntryState>((bytes_[index / 4] >> (2 * (index % 4))) & 3);
}

void EntryStateTable::set(size_t index, EntryState state) {
  const int shift = static_cast<int>(2 * (index % 4));
  uint8_t& b = bytes_[index / 4];
  b = static_cast<uint8_t>((b & ~(3 << shift)) | (static_cast<uint8_t>(state) << shift));
}

// ---- Entries ----

std::string_view header_fault_text(HeaderFault fault) {
  switch (fault) {
    case HeaderFault::kCrc: return "entry CRC mismatch";
    case HeaderFault::kUnknownType: return "unknown item type";
    case HeaderFault::kSpan: return "span inconsistent with the type or size";
    case HeaderFault::kChunkIndex: return "chunk index invalid for the type";
    case HeaderFault::kSize: return "data size runs past the page end";
  }
  return "inconsistent entry";
}

Item Item::make(uint8_t ns, ItemType type, uint8_t span, std::string_view key, uint8_t chunk) {
  Item item;
  item.ns = ns;
  item.type_raw = static_cast<uint8_t>(type);
  item.span = span;
  item.chunk = chunk;
  // strncpy(key, k, 15) semantics: copy up to the first NUL, zero the rest; byte 15 is 0.
  item.key.fill(0);
  for (size_t i = 0; i < std::min(key.size(), kMaxKeyLength) && key[i] != '\0'; ++i)
    item.key[i] = static_cast<uint8_t>(key[i]);
  item.data.fill(0xFF);
  return item;
}

Item Item::parse(ByteSpan b) {
  Item item;
  item.ns = b[0];
  item.type_raw = b[1];
  item.span = b[2];
  item.chunk = b[3];
  item.crc = load_le32(b.data() + 4);
  std::copy_n(b.begin() + 8, 16, item.key.begin());
  std::copy_n(b.begin() + 24, 8, item.data.begin());
  return item;
}

std::array<uint8_t, 32> Item::serialize() const {
  std::array<uint8_t, 32> out;
  out[0] = ns;
  out[1] = type_raw;
  out[2] = span;
  out[3] = chunk;
  store_le32(out.data() + 4, crc);
  std::copy(key.begin(), key.end(), out.begin() + 8);
  std::copy(data.begin(), data.end(), out.begin() + 24);
  return out;
}

std::string_view Item::key_view() const {
  const char* p = reinterpret_cast<const char*>(key.data());
  size_t n = 0;
  while (n < kMaxKeyLength && p[n] != '\0') ++n;
  return {p, n};
}

bool Item::key_equals(std::string_view k) const { return key_view() == k.substr(0, std::min(k.size(), kMaxKeyLength)); }

uint32_t Item::computed_crc() const {
  const auto bytes = serialize();
  uint32_t c = crypto::crc32_le(kNvsCrcSeed, ByteSpan(bytes).first(4));
  return crypto::crc32_le(c, ByteSpan(bytes).subspan(8, 24));
}

std::optional<HeaderFault> Item::check_header(size_t index) const {
  if (crc != computed_crc()) return HeaderFault::kCrc;
  const ItemType t = type();
  if (!is_known_type(type_raw)) return HeaderFault::kUnknownType;
  if (is_primitive(t)) return span == 1 ? std::nullopt : std::optional(HeaderFault::kSpan);
  if (t == ItemType::kBlobIndex) {
    if (span != 1) return HeaderFault::kSpan;
    if (chunk != kChunkAny) return HeaderFault::kChunkIndex;
    if (blob_size() > kMaxBlobIndexSize) return HeaderFault::kSize;
    return std::nullopt;
  }
  if (t == ItemType::kBlobData && chunk == kChunkAny) return HeaderFault::kChunkIndex;
  if (index >= kEntryCount) return HeaderFault::kSpan;
  const size_t room_entries = kEntryCount - index;
  if (var_size() > (room_entries - 1) * kEntrySize) return HeaderFault::kSize;
  if (span > room_entries) return HeaderFault::kSpan;
  if (span != span_for_size(var_size())) return HeaderFault::kSpan;
  return std::nullopt;
}

void Item::set_var(uint16_t size, uint32_t crc32) {
  store_le16(data.data(), size);
  data[2] = 0xFF;
  data[3] = 0xFF;
  store_le32(data.data() + 4, crc32);
}

void Item::set_blob_index(uint32_t size, uint8_t chunk_count, uint8_t chunk_start) {
  data.fill(0xFF);
  store_le32(data.data(), size);
  data[4] = chunk_count;
  data[5] = chunk_start;
}

uint64_t Item::primitive_bits() const {
  const size_t w = primitive_width(type());
  uint64_t v = 0;
  for (size_t i = 0; i < w; ++i) v |= static_cast<uint64_t>(data[i]) << (8 * i);
  if (is_signed(type()) && w < 8 && (v >> (8 * w - 1)) & 1) v |= ~uint64_t{0} << (8 * w);
  return v;
}

uint32_t item_hash24(const Item& item) {
  std::array<uint8_t, 18> buf;
  buf[0] = item.ns;
  std::copy(item.key.begin(), item.key.end(), buf.begin() + 1);
  buf[17] = item.chunk;
  return crypto::crc32_le(kNvsCrcSeed, buf) & 0xFFFFFF;
}

uint32_t data_crc(ByteSpan data) { return crypto::crc32_le(kNvsCrcSeed, data); }

Status check_key(std::string_view key, std::string_view what) {
  if (key.empty()) return fail("nvs.invalid_name", "{} is empty", what);
  if (key.find('\0') != std::string_view::npos) return fail("nvs.invalid_name", "{} contains a NUL byte", what);
  if (key.size() > kMaxKeyLength)
    return fail("nvs.key_too_long", "{} '{}' is {} bytes long; at most {} are allowed", what, key, key.size(),
                kMaxKeyLength);
  return {};
}

}  // namespace espsec::nvs
