#include "certs/bundle.hpp"

#include <algorithm>
#include <cstring>
#include <limits>

namespace espsec::certs {
namespace {

constexpr uint16_t load_be16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }

// The old format: u16 BE count, then BE-length records that end exactly at the end.
bool looks_like_legacy(ByteSpan data) {
  if (data.size() < 2) return false;
  const size_t count = load_be16(data.data());
  if (count == 0) return false;
  size_t at = 2;
  for (size_t k = 0; k < count; ++k) {
    if (data.size() - at < kEntryHeaderSize) return false;
    const size_t len = kEntryHeaderSize + load_be16(data.data() + at) + load_be16(data.data() + at + 2);
    if (data.size() - at < len) return false;
    at += len;
  }
  return at == data.size();
}

bool subject_less(const Bytes& a, const Bytes& b) {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end());
}

}  // namespace

void sort_entries(std::vector<BundleEntry>& entries) {
  std::stable_sort(entries.begin(), entries.end(),
                   [](const BundleEntry& a, const BundleEntry& b) { return subject_less(a.subject, b.subject); });
}

Result<Bytes> serialize_bundle(std::span<const BundleEntry> entries) {
  uint64_t offset = 4 * static_cast<uint64_t>(entries.size());
  ByteWriter table;
  ByteWriter body;
  for (size_t k = 0; k < entries.size(); ++k) {
    const BundleEntry& e = entries[k];
    if (e.subject.size() > std::numeric_limits<uint16_t>::max() || e.public_key.size() > std::numeric_limits<uint16_t>::max())
      return fail("certs.bundle_field", "certificate {}: subject ({} bytes) or key ({} bytes) exceeds the 65535-byte field",
                  k, e.subject.size(), e.public_key.size());
    if (offset > std::numeric_limits<uint32_t>::max())
      return fail("certs.bundle_size", "the bundle exceeds 4 GiB at certificate {}", k);
    table.le32(static_cast<uint32_t>(offset));
    body.le16(static_cast<uint16_t>(e.subject.size())).le16(static_cast<uint16_t>(e.public_key.size()));
    body.raw(e.subject).raw(e.public_key);
    offset += kEntryHeaderSize + e.subject.size() + e.public_key.size();
  }
  Bytes out = table.take();
  const Bytes rest = body.take();
  out.insert(out.end(), rest.begin(), rest.end());
  return out;
}

Result<ParsedBundle> parse_bundle(ByteSpan data, uint32_t max_certs) {
  // esp_crt_check_bundle: too small for one offset and one entry header.
  if (data.size() <= 4 + kEntryHeaderSize) {
    if (looks_like_legacy(data))
      return fail("certs.bundle_legacy", "this is a bundle in the legacy format (big-endian count, no offset "
                  "table) that current ESP-IDF rejects; rebuild it with `espsec certs bundle`");
    return fail("certs.bundle_too_small", "the bundle is {} bytes; even one certificate needs more than 8", data.size());
  }
  const uint32_t first = load_le32(data.data());
  if (first == 0 || first % 4 != 0 || first >= data.size()) {
    if (looks_like_legacy(data))
      return fail("certs.bundle_legacy", "this is a bundle in the legacy format (big-endian count, no offset "
                  "table) that current ESP-IDF rejects; rebuild it with `espsec certs bundle`");
    return fail("certs.bundle_first_offset", "the first offset {} must be a non-zero multiple of 4 below the "
                "bundle size {}", first, data.size());
  }
  const uint32_t count = first / 4;
  if (count > max_certs)
    return fail("certs.bundle_count", "the offset table announces {} certificates; the limit is {}", count, max_certs);

  ParsedBundle out;
  out.entries.reserve(count);
  uint64_t offset = first;
  for (uint32_t k = 0; k < count; ++k) {
    const uint32_t stated = load_le32(data.data() + 4 * k);
    if (stated != offset)
      return fail("certs.bundle_offset", "offset {} is {} but certificate {} ends at {}", k, stated,
                  k == 0 ? 0 : k - 1, offset);
    if (offset + kEntryHeaderSize > data.size())
      return fail(k + 1 == count ? "certs.bundle_truncated" : "certs.bundle_offset",
                  "certificate {} at offset {} starts past the end of the {}-byte bundle", k, offset, data.size());
    const uint8_t* p = data.data() + offset;
    const size_t name_len = load_le16(p);
    const size_t key_len = load_le16(p + 2);
    const uint64_t end = offset + kEntryHeaderSize + name_len + key_len;
    // The device requires every entry but the last to end strictly inside the bundle.
    if (end > data.size() || (k + 1 < count && end >= data.size()))
      return fail(k + 1 == count ? "certs.bundle_truncated" : "certs.bundle_offset",
                  "certificate {} at offset {} (name {} bytes, key {} bytes) runs past the end of the {}-byte bundle",
                  k, offset, name_len, key_len, data.size());
    ParsedEntry e;
    e.offset = static_cast<uint32_t>(offset);
    e.entry.subject.assign(p + kEntryHeaderSize, p + kEntryHeaderSize + name_len);
    e.entry.public_key.assign(p + kEntryHeaderSize + name_len, p + kEntryHeaderSize + name_len + key_len);
    if (!out.entries.empty() && subject_less(e.entry.subject, out.entries.back().entry.subject)) out.sorted = false;
    out.entries.push_back(std::move(e));
    offset = end;
  }
  out.trailing_bytes = data.size() - static_cast<size_t>(offset);
  return out;
}

std::optional<size_t> find_issuer(const ParsedBundle& bundle, ByteSpan issuer_der) {
  if (issuer_der.empty() || bundle.entries.empty()) return std::nullopt;
  // Signed indices as in esp_crt_find_cert, so `end` may step below zero.
  int64_t start = 0;
  int64_t end = static_cast<int64_t>(bundle.entries.size()) - 1;
  while (start <= end) {
    const int64_t middle = (start + end) / 2;
    const Bytes& name = bundle.entries[static_cast<size_t>(middle)].entry.subject;
    const size_t n = std::min(issuer_der.size(), name.size());
    const int cmp = n == 0 ? 0 : std::memcmp(issuer_der.data(), name.data(), n);
    if (cmp == 0) return static_cast<size_t>(middle);
    if (cmp < 0) end = middle - 1;
    else start = middle + 1;
  }
  return std::nullopt;
}

}  // namespace espsec::certs
