// The ESP x509 certificate bundle (ESP-IDF components/mbedtls/esp_crt_bundle: gen_crt_bundle.py
// writes it, esp_crt_bundle.c reads it; storage-and-OTA fact sheet 6.1-6.3). Pure
// parse/serialize and the device's issuer lookup; integers little-endian.
//
//   offset          size   field
//   0               4*N    offset table: u32 offset of certificate k from the start of the
//                          bundle; offset[0] = 4*N, so N = offset[0] / 4
//   offset[k]       2      name_len (u16)
//   offset[k]+2     2      key_len (u16)
//   offset[k]+4     name_len  subject Name DER of the certificate
//   ...+name_len    key_len   SubjectPublicKeyInfo DER
//   offset[k+1] = offset[k] + 4 + name_len + key_len; no padding, nothing after the last one
//
// Entries are sorted by subject DER bytes (unsigned, a proper prefix first) because the device
// finds issuers by binary search. The bundle keeps no dates and no extensions.
// Legacy format (older ESP-IDF): u16 BE count, then u16 BE name_len, u16 BE key_len, name, key
// per certificate, no offset table; the current device rejects it and so does parse_bundle.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "core/bytes.hpp"
#include "core/error.hpp"

namespace espsec::certs {

// CONFIG_MBEDTLS_CERTIFICATE_BUNDLE_MAX_CERTS default (ESP-IDF Kconfig, gen_crt_bundle.py).
inline constexpr uint32_t kDefaultMaxCerts = 200;
inline constexpr size_t kEntryHeaderSize = 4;

struct BundleEntry {
  Bytes subject;     // Name DER
  Bytes public_key;  // SubjectPublicKeyInfo DER
};

// Sorts as gen_crt_bundle does: by subject DER, stable for equal subjects.
void sort_entries(std::vector<BundleEntry>& entries);

// Writes `entries` in the given order (sort them first). No entries give an empty bundle, as
// gen_crt_bundle writes. "certs.bundle_field" when a name or key exceeds 65535 bytes,
// "certs.bundle_size" when an offset would exceed 32 bits.
[[nodiscard]] Result<Bytes> serialize_bundle(std::span<const BundleEntry> entries);

struct ParsedEntry {
  uint32_t offset = 0;
  BundleEntry entry;
};
struct ParsedBundle {
  std::vector<ParsedEntry> entries;
  size_t trailing_bytes = 0;  // after the last entry; the device tolerates them
  bool sorted = true;         // unsorted bundles load but the device's lookups silently miss
};

// The device's loading checks (esp_crt_check_bundle), every read bounds-checked, each rejection
// with its own code: "certs.bundle_too_small" (8 bytes or less), "certs.bundle_legacy" (the
// old big-endian format), "certs.bundle_first_offset" (offset[0] zero, not a multiple of 4 or
// beyond the end), "certs.bundle_count" (more than max_certs), "certs.bundle_offset"
// (offset[k+1] does not follow entry k, or points past the end), "certs.bundle_truncated"
// (the last entry runs past the end).
[[nodiscard]] Result<ParsedBundle> parse_bundle(ByteSpan data, uint32_t max_certs = kDefaultMaxCerts);

// esp_crt_find_cert: binary search for a subject equal to `issuer_der`, comparing
// min(len(issuer), name_len) bytes as the device does. Index of the entry found, if any.
std::optional<size_t> find_issuer(const ParsedBundle& bundle, ByteSpan issuer_der);

}  // namespace espsec::certs
