#include "nvs/partition_gen.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <map>
#include <optional>

#include "crypto/hash.hpp"
#include "nvs/cipher.hpp"
#include "nvs/format.hpp"

namespace espsec::nvs {

namespace {

// nvs_partition_gen: strings are limited to a page; version-1 blobs and strings to 1984 bytes.
constexpr size_t kMaxStringV2 = kChunkMaxSize;
constexpr size_t kMaxVarV1 = 1984;
// Refuse absurd sizes before allocating the image (the largest ESP flash is 128 MiB).
constexpr uint64_t kMaxPartitionSize = 128u << 20;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

std::string_view strip(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// ---- Integer values: Python int(text) in base 10 ----

struct SignedMagnitude {
  bool negative;
  uint64_t magnitude;
};

Result<SignedMagnitude> parse_python_int(std::string_view text) {
  std::string_view s = strip(text);
  SignedMagnitude v{false, 0};
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    v.negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) return fail("gen.int", "'{}' is not a decimal integer", text);
  bool last_digit = false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '_' && last_digit && i + 1 < s.size() && s[i + 1] != '_') {
      last_digit = false;
      continue;
    }
    if (c < '0' || c > '9') return fail("gen.int", "'{}' is not a decimal integer", text);
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (v.magnitude > (UINT64_MAX - d) / 10) return fail("gen.range", "{} is out of range of every NVS integer type", text);
    v.magnitude = v.magnitude * 10 + d;
    last_digit = true;
  }
  if (v.negative && v.magnitude == 0) v.negative = false;
  return v;
}

Result<uint64_t> integer_bits(std::string_view text, ItemType type) {
  ESPSEC_ASSIGN_OR_RETURN(const SignedMagnitude v, parse_python_int(text));
  const size_t width = primitive_width(type);
  const unsigned bits = static_cast<unsigned>(8 * width);
  auto out_of_range = [&]() {
    if (is_signed(type)) {
      const int64_t min = bits == 64 ? INT64_MIN : -(int64_t{1} << (bits - 1));
      const int64_t max = bits == 64 ? INT64_MAX : (int64_t{1} << (bits - 1)) - 1;
      return fail("gen.range", "{} is out of range for {} ({}..{})", strip(text), item_type_name(type), min, max);
    }
    const uint64_t max = bits == 64 ? UINT64_MAX : (uint64_t{1} << bits) - 1;
    return fail("gen.range", "{} is out of range for {} (0..{})", strip(text), item_type_name(type), max);
  };
  if (!is_signed(type)) {
    if (v.negative || (bits < 64 && v.magnitude >> bits)) return out_of_range();
    return v.magnitude;
  }
  const uint64_t limit = uint64_t{1} << (bits - 1);  // |min|
  if (v.negative ? v.magnitude > limit : v.magnitude >= limit) return out_of_range();
  return v.negative ? ~v.magnitude + 1 : v.magnitude;
}

// ---- Encodings ----

enum class Kind { kPrimitive, kString, kBlob };

struct Encoded {
  Kind kind;
  ItemType type;  // primitive type; kString / kBlob for variable-length values
  uint64_t bits = 0;
  Bytes bytes;
};

std::optional<ItemType> integer_encoding(std::string_view e) {
  for (ItemType t : {ItemType::kU8, ItemType::kI8, ItemType::kU16, ItemType::kI16, ItemType::kU32, ItemType::kI32,
                     ItemType::kU64, ItemType::kI64})
    if (item_type_name(t) == e) return t;
  return std::nullopt;
}

bool is_lower(std::string_view s) {
  return std::none_of(s.begin(), s.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

// blob_fill(N;0xHH) and blob_sz_fill(N;0xHH), nvs_partition_gen 0.2.0.
struct Fill {
  bool with_size;
  size_t length;
  uint8_t pad;
};

Result<std::optional<Fill>> parse_fill(std::string_view e) {
  Fill f{};
  std::string_view rest;
  if (e.starts_with("blob_fill(")) {
    rest = e.substr(10);
  } else if (e.starts_with("blob_sz_fill(")) {
    f.with_size = true;
    rest = e.substr(13);
  } else {
    return std::optional<Fill>();
  }
  const size_t semi = rest.find(';');
  if (semi == std::string_view::npos || semi == 0 || rest.size() != semi + 6 || rest.substr(semi + 1, 2) != "0x" ||
      rest.back() != ')')
    return fail("gen.encoding", "'{}' is not of the form blob_fill(N;0xHH) / blob_sz_fill(N;0xHH)", e);
  const std::string_view digits = rest.substr(0, semi);
  if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return fail("gen.encoding", "'{}': the length must be a decimal number", e);
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), f.length);
  if (ec != std::errc() || f.length > kMaxBlobIndexSize)
    return fail("gen.encoding", "'{}': the length exceeds the {} bytes a blob can hold", e, kMaxBlobIndexSize);
  const auto pad = from_hex(rest.substr(semi + 3, 2));
  if (!pad) return fail("gen.encoding", "'{}': the padding byte must be two hex digits", e);
  f.pad = (*pad)[0];
  return std::optional<Fill>(f);
}

// value: the CSV text of a data row, or the file contents of a file row.
Result<Encoded> encode(std::string_view encoding, ByteSpan value) {
  // nvs_partition_gen compares encodings partly case-sensitively ("HEX2BIN" stores the text
  // undecoded): only the lower-case names are accepted. The fill byte is hex of any case.
  if (!is_lower(encoding.substr(0, encoding.find('('))))
    return fail("gen.encoding", "encoding '{}' must be written in lower case", encoding);
  if (auto t = integer_encoding(encoding)) {
    ESPSEC_ASSIGN_OR_RETURN(const uint64_t bits, integer_bits(as_chars(value), *t));
    return Encoded{Kind::kPrimitive, *t, bits, {}};
  }
  if (encoding == "string") {
    Bytes b(value.begin(), value.end());
    b.push_back(0);
    return Encoded{Kind::kString, ItemType::kString, 0, std::move(b)};
  }
  if (encoding == "binary") return Encoded{Kind::kBlob, ItemType::kBlob, 0, Bytes(value.begin(), value.end())};
  if (encoding == "hex2bin") {
    ESPSEC_ASSIGN_OR_RETURN(Bytes b, decode_hex2bin(as_chars(value)));
    return Encoded{Kind::kBlob, ItemType::kBlob, 0, std::move(b)};
  }
  if (encoding == "base64") {
    ESPSEC_ASSIGN_OR_RETURN(Bytes b, decode_base64(as_chars(value)));
    return Encoded{Kind::kBlob, ItemType::kBlob, 0, std::move(b)};
  }
  ESPSEC_ASSIGN_OR_RETURN(const auto fill, parse_fill(encoding));
  if (!fill)
    return fail("gen.encoding",
                "unsupported encoding '{}' (u8, i8, u16, i16, u32, i32, u64, i64, string, hex2bin, base64, binary, "
                "blob_fill(N;0xHH), blob_sz_fill(N;0xHH))",
                encoding);
  if (value.size() > fill->length)
    return fail("gen.fill", "the value is {} bytes, longer than the {} of '{}'", value.size(), fill->length, encoding);
  Bytes b;
  if (fill->with_size) {
    b.resize(4);
    store_le32(b.data(), static_cast<uint32_t>(value.size()));
  }
  b.insert(b.end(), value.begin(), value.end());
  b.insert(b.end(), fill->length - value.size(), fill->pad);
  return Encoded{Kind::kBlob, ItemType::kBlob, 0, std::move(b)};
}

// ---- The page layout of nvs_partition_gen (classes Page and NVS) ----

class ImageBuilder {
 public:
  ImageBuilder(uint32_t data_pages, uint8_t version) : pages_left_(data_pages), version_(version) {}

  Status start() { return new_page(); }

  Status primitive(uint8_t ns, std::string_view key, ItemType type, uint64_t bits) {
    if (cur().entries >= kEntryCount) ESPSEC_TRY(new_page());
    Item item = Item::make(ns, type, 1, key);
    for (size_t i = 0; i < primitive_width(type); ++i) item.data[i] = static_cast<uint8_t>(bits >> (8 * i));
    item.seal();
    put(item.serialize(), 1);
    return {};
  }

  // A string, or a version-1 blob: header and data on one page.
  Status single_page(uint8_t ns, std::string_view key, ItemType type, ByteSpan data) {
    const uint32_t total = span_for_size(data.size());
    if (cur().entries >= kEntryCount || cur().entries + total >= kEntryCount) {
      ESPSEC_TRY(new_page());
      // The tool needs one spare entry even on a fresh page and crashes on strings of
      // 3969..4000 bytes; a device reads them from a page of their own.
    }
    Item item = Item::make(ns, type, static_cast<uint8_t>(total), key);
    item.set_var(static_cast<uint16_t>(data.size()), data_crc(data));
    item.seal();
    put(item.serialize(), 1);
    put(data, total - 1);
    return {};
  }

  // A version-2 blob: chunks filling each page's tailroom, then the index.
  Status multi_page_blob(uint8_t ns, std::string_view key, ByteSpan data) {
    if (cur().entries >= kEntryCount) ESPSEC_TRY(new_page());
    size_t offset = 0;
    size_t remaining = data.size();
    uint32_t chunk_count = 0;
    for (;;) {
      const size_t tailroom = (kEntryCount - cur().entries - 1) * kEntrySize;
      const size_t chunk_size = std::min(tailroom, remaining);
      remaining -= chunk_size;
      if (chunk_count >= kMaxBlobChunks)
        return fail("gen.blob_chunks", "blob '{}' ({} bytes) needs more than {} chunks; a device cannot read it back",
                    key, data.size(), kMaxBlobChunks);
      const ByteSpan chunk = data.subspan(offset, chunk_size);
      Item item = Item::make(ns, ItemType::kBlobData, static_cast<uint8_t>(span_for_size(chunk_size)), key,
                             static_cast<uint8_t>(kChunkVersion0 + chunk_count));
      item.set_var(static_cast<uint16_t>(chunk_size), data_crc(chunk));
      item.seal();
      put(item.serialize(), 1);
      put(chunk, span_for_size(chunk_size) - 1);
      ++chunk_count;
      if (remaining || tailroom - chunk_size < kEntrySize) ESPSEC_TRY(new_page());
      offset += chunk_size;
      if (!remaining) {
        Item index = Item::make(ns, ItemType::kBlobIndex, 1, key);
        index.set_blob_index(static_cast<uint32_t>(data.size()), static_cast<uint8_t>(chunk_count), kChunkVersion0);
        index.seal();
        put(index.serialize(), 1);
        return {};
      }
    }
  }

  // Pads a writable partition with erased pages (the last one kept free); a read-only one
  // ends after its used pages.
  Bytes finish(uint32_t total_pages, bool read_only) {
    Bytes image;
    image.reserve(static_cast<size_t>(total_pages) * kPageSize);
    for (const PageBuf& p : pages_) image.insert(image.end(), p.bytes.begin(), p.bytes.end());
    if (!read_only) image.resize(static_cast<size_t>(total_pages) * kPageSize, 0xFF);
    return image;
  }

 private:
  struct PageBuf {
    Bytes bytes = Bytes(kPageSize, 0xFF);
    uint32_t entries = 0;
  };
  PageBuf& cur() { return pages_.back(); }

  Status new_page() {
    if (pages_left_ == 0) return fail("gen.size", "the data does not fit in the partition; give a larger SIZE");
    --pages_left_;
    if (!pages_.empty()) store_le32(cur().bytes.data(), static_cast<uint32_t>(PageState::kFull));
    pages_.emplace_back();
    const auto header =
        PageHeader::make(PageState::kActive, static_cast<uint32_t>(pages_.size() - 1), version_).serialize();
    std::copy(header.begin(), header.end(), cur().bytes.begin());
    return {};
  }

  // Writes `data` at the next free entry and marks `count` entries written.
  void put(ByteSpan data, uint32_t count) {
    PageBuf& p = cur();
    std::copy(data.begin(), data.end(), p.bytes.begin() + kEntriesOffset + p.entries * kEntrySize);
    for (uint32_t i = 0; i < count; ++i) {
      const uint32_t e = p.entries++;
      p.bytes[kBitmapOffset + e / 4] &= static_cast<uint8_t>(~(1u << (2 * (e % 4))));
    }
  }

  std::vector<PageBuf> pages_;
  uint32_t pages_left_;
  uint8_t version_;
};

// ---- Rows ----

struct Where {
  std::string_view source;
  size_t line;
};

Error at(const Where& w, Error e) { return with_context(std::move(e), fmt::format("{}:{}", w.source, w.line)); }

class Generator {
 public:
  Generator(ImageBuilder& builder, int version, const FileLoader& load) : b_(builder), version_(version), load_(load) {}

  Status row(const CsvRow& row, const Where& w) {
    if (auto s = check_key(row.key, row.type == "namespace" ? "namespace name" : "key"); !s)
      return std::unexpected(at(w, s.error()));
    if (row.type == "namespace") return enter_namespace(row.key, w);
    if (row.type != "data" && row.type != "file")
      return std::unexpected(at(w, Error{"gen.type", fmt::format("unknown type '{}' (namespace, data or file)", row.type)}));
    if (!ns_) return std::unexpected(at(w, Error{"gen.no_namespace", "a data row comes before any namespace row"}));
    if (!row.encoding || !row.value)
      return std::unexpected(at(w, Error{"gen.missing", fmt::format("row '{}' has no encoding or value field", row.key)}));
    const auto [dup, fresh] = seen_.try_emplace({*ns_, row.key}, w.line);
    if (!fresh)
      return std::unexpected(
          at(w, Error{"gen.duplicate", fmt::format("key '{}' is already set in this namespace on line {}", row.key,
                                                   dup->second)}));
    // Values of the Wi-Fi keys trigger extra items, as nvs_partition_gen 0.2.0 writes them.
    if (row.key == "ap.ssid" || row.key == "ap.passwd" || row.key == "ap.authmode") ESPSEC_TRY(ap_extras(row, w));

    Bytes value;
    if (row.type == "file") {
      auto loaded = load_(*row.value);
      if (!loaded) return std::unexpected(at(w, loaded.error()));
      value = std::move(*loaded);
      if (*row.encoding == "string" && !is_valid_utf8(as_chars(value)))
        return std::unexpected(at(w, Error{"gen.utf8", fmt::format("file '{}' is not UTF-8 text", *row.value)}));
    } else {
      value.assign(row.value->begin(), row.value->end());
    }
    ESPSEC_TRY(write(row.key, *row.encoding, value, w));
    if ((row.key == "sta.ssid" || row.key == "sta.pswd") && !sta_extras_written_) {
      sta_extras_written_ = true;
      ESPSEC_TRY(write("sta.apinfo", "binary", Bytes(140, 0xFF), w));
      ESPSEC_TRY(write("sta.pmk", "binary", Bytes(32, 0x00), w));
      ESPSEC_TRY(write("sta.apsw", "binary", Bytes(2, 0x00), w));
    }
    return {};
  }

 private:
  Status enter_namespace(const std::string& name, const Where& w) {
    auto it = namespaces_.find(name);
    if (it != namespaces_.end()) {
      ns_ = it->second;
      return {};
    }
    if (namespaces_.size() >= 254)
      return std::unexpected(at(w, Error{"gen.namespaces", "more than 254 namespaces"}));
    const auto index = static_cast<uint8_t>(namespaces_.size() + 1);
    namespaces_.emplace(name, index);
    ns_ = index;
    if (auto s = b_.primitive(kNamespaceIndexNs, name, ItemType::kU8, index); !s)
      return std::unexpected(at(w, s.error()));
    return {};
  }

  Status ap_extras(const CsvRow& row, const Where& w) {
    if (row.key == "ap.ssid") ap_ssid_ = *row.value;
    if (row.key == "ap.passwd") ap_passwd_ = *row.value;
    if (row.key == "ap.authmode" && *row.value != "0") ap_authmode_ = *row.value;
    if (ap_ssid_.empty() || ap_passwd_.empty() || ap_authmode_.empty()) return {};
    // ap.pmk_info = 100 zero bytes || PBKDF2-HMAC-SHA1(password, ssid, 4096, 32).
    auto pmk = crypto::pbkdf2_hmac(crypto::HashAlg::kSha1, as_bytes(ap_passwd_), as_bytes(ap_ssid_), 4096, 32);
    if (!pmk) return std::unexpected(at(w, pmk.error()));
    Bytes info(100, 0x00);
    info.insert(info.end(), pmk->expose().begin(), pmk->expose().end());
    return write("ap.pmk_info", "binary", info, w);
  }

  Status write(std::string_view key, std::string_view encoding, ByteSpan value, const Where& w) {
    auto encoded = encode(encoding, value);
    if (!encoded) return std::unexpected(at(w, encoded.error()));
    Status s;
    const uint8_t ns = *ns_;
    switch (encoded->kind) {
      case Kind::kPrimitive:
        s = b_.primitive(ns, key, encoded->type, encoded->bits);
        break;
      case Kind::kString:
        if (encoded->bytes.size() > (version_ == 1 ? kMaxVarV1 : kMaxStringV2))
          return std::unexpected(at(w, Error{"gen.too_long", fmt::format("string '{}' is {} bytes with its NUL; at most {} are allowed",
                                                                        key, encoded->bytes.size(),
                                                                        version_ == 1 ? kMaxVarV1 : kMaxStringV2)}));
        s = b_.single_page(ns, key, ItemType::kString, encoded->bytes);
        break;
      case Kind::kBlob:
        if (version_ == 1) {
          if (encoded->bytes.size() > kMaxVarV1)
            return std::unexpected(at(w, Error{"gen.too_long", fmt::format("blob '{}' is {} bytes; version 1 allows at most {}",
                                                                          key, encoded->bytes.size(), kMaxVarV1)}));
          s = b_.single_page(ns, key, ItemType::kBlob, encoded->bytes);
        } else {
          s = b_.multi_page_blob(ns, key, encoded->bytes);
        }
        break;
    }
    if (!s) return std::unexpected(at(w, s.error()));
    return {};
  }

  ImageBuilder& b_;
  int version_;
  const FileLoader& load_;
  std::map<std::string, uint8_t> namespaces_;
  std::optional<uint8_t> ns_;
  std::map<std::pair<uint8_t, std::string>, size_t> seen_;
  std::string ap_ssid_, ap_passwd_, ap_authmode_;
  bool sta_extras_written_ = false;
};

}  // namespace

Result<uint32_t> parse_partition_size(std::string_view text) {
  const std::string_view s = strip(text);
  uint64_t v = 0;
  const bool hex = s.starts_with("0x") || s.starts_with("0X");
  const std::string_view digits = hex ? s.substr(2) : s;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v, hex ? 16 : 10);
  if (digits.empty() || ec != std::errc() || p != digits.data() + digits.size())
    return fail("gen.size_syntax", "partition size '{}' is not a decimal or 0x-hex number", text);
  if (v % kPageSize != 0) return fail("gen.size_multiple", "partition size {} is not a multiple of 4096", text);
  if (v == 0)
    return fail("gen.size_small",
                "the minimum partition size is 0x3000 bytes for read/write NVS and 0x1000 for read-only NVS");
  if (v > kMaxPartitionSize) return fail("gen.size_large", "partition size {} exceeds 128 MiB", text);
  return static_cast<uint32_t>(v);
}

Result<GeneratedPartition> generate_partition(std::span<const CsvInput> inputs, const GenerateOptions& options,
                                              const FileLoader& load_file, const Keys* keys) {
  if (options.version != 1 && options.version != 2)
    return fail("gen.version", "--version must be 1 or 2, got {}", options.version);
  if (options.size % kPageSize != 0 || options.size == 0)
    return fail("gen.size_multiple", "partition size {} is not a non-zero multiple of 4096", options.size);
  const uint32_t total_pages = options.size / kPageSize;
  // nvs_partition_gen check_size: below three pages the partition is read-only and has no
  // reserved free page.
  const bool read_only = total_pages < kMinWritablePages;
  ImageBuilder builder(read_only ? total_pages : total_pages - 1, options.version == 1 ? kVersion1 : kVersion2);
  ESPSEC_TRY(builder.start());
  Generator gen(builder, options.version, load_file);
  for (const CsvInput& input : inputs)
    for (const CsvRow& row : input.rows) ESPSEC_TRY(gen.row(row, Where{input.source, row.line}));
  GeneratedPartition out{builder.finish(total_pages, read_only), read_only};
  if (keys) ESPSEC_TRY(encrypt_image(out.image, *keys));
  return out;
}

Status encrypt_image(MutableByteSpan image, const Keys& keys) {
  ESPSEC_ASSIGN_OR_RETURN(EntryCipher cipher, EntryCipher::create(keys));
  for (size_t page = 0; page + kPageSize <= image.size(); page += kPageSize) {
    const auto table = EntryStateTable::parse(image.subspan(page + kBitmapOffset, 32));
    for (size_t e = 0; e < kEntryCount; ++e) {
      if (table.get(e) == EntryState::kEmpty) continue;
      const auto addr = static_cast<uint32_t>(page + kEntriesOffset + e * kEntrySize);
      MutableByteSpan entry = image.subspan(addr, kEntrySize);
      ESPSEC_TRY(cipher.encrypt(addr, entry, entry));
    }
  }
  return {};
}

Result<Bytes> decrypt_image(ByteSpan image, const Keys& keys) {
  if (image.size() % kPageSize != 0)
    return fail("gen.image_size", "an NVS partition image is a multiple of 4096 bytes, this one is {}", image.size());
  ESPSEC_ASSIGN_OR_RETURN(EntryCipher cipher, EntryCipher::create(keys));
  Bytes out(image.begin(), image.end());
  for (size_t page = 0; page < out.size(); page += kPageSize) {
    for (size_t e = 0; e < kEntryCount; ++e) {
      const auto addr = static_cast<uint32_t>(page + kEntriesOffset + e * kEntrySize);
      MutableByteSpan entry(out.data() + addr, kEntrySize);
      if (is_erased(entry)) continue;
      ESPSEC_TRY(cipher.decrypt(addr, entry, entry));
    }
  }
  return out;
}

Result<Bytes> decode_hex2bin(std::string_view text) {
  const std::string_view s = strip(text);
  if (s.size() % 2 != 0) return fail("gen.hex", "hex2bin value has an odd number of digits ({})", s.size());
  for (char c : s)
    if (!std::isxdigit(static_cast<unsigned char>(c)))
      return fail("gen.hex", "hex2bin value contains '{}', which is not a hex digit", c);
  return from_hex(s).value_or(Bytes{});
}

Result<Bytes> decode_base64(std::string_view text) {
  // CPython binascii.a2b_base64, strict_mode=False: keep alphabet characters, stop once the
  // padding completes a quantum, then decode the clean characters.
  std::string clean;
  size_t quad = 0, pads = 0;
  bool done = false;
  for (char c : text) {
    if (c == '=') {
      if (quad >= 2 && quad + ++pads >= 4) {
        done = true;
        break;
      }
      continue;
    }
    const bool alphabet = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
                          c == '/';
    if (!alphabet) continue;
    pads = 0;
    clean.push_back(c);
    quad = (quad + 1) % 4;
  }
  if (!done && quad == 1)
    return fail("gen.base64", "invalid base64: the number of data characters ({}) cannot be 1 more than a multiple of 4",
                clean.size());
  if (!done && quad != 0) return fail("gen.base64", "invalid base64: incorrect padding");
  const size_t out_len = clean.size() / 4 * 3 + (clean.size() % 4 == 3 ? 2 : clean.size() % 4 == 2 ? 1 : 0);
  while (clean.size() % 4 != 0) clean.push_back('A');
  Bytes out(clean.size() / 4 * 3);
  if (!clean.empty() &&
      EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(clean.data()), static_cast<int>(clean.size())) < 0)
    return fail("gen.base64", "invalid base64");
  out.resize(out_len);
  return out;
}

}  // namespace espsec::nvs
