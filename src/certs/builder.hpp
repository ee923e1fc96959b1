// Building an x509 bundle from certificate files exactly as ESP-IDF's gen_crt_bundle.py does
// (components/mbedtls/esp_crt_bundle/gen_crt_bundle.py; storage-and-OTA fact sheet 6.4-6.5), so
// that the same inputs give the same bytes the ESP-IDF build embeds.
//
// Input rules reproduced: files ending in ".pem" (any number of certificates, BEGIN/END lines
// matched exactly, newlines normalised as Python's text mode does) or ".der" (one certificate);
// other files are ignored; directories contribute their *.pem / *.der files (sorted by name
// here; upstream takes os.listdir order, which only matters for identical subjects) and must
// contribute at least one; a file named exactly "cacrt_all.pem" is filtered by the CSV of
// --filter (column 2 equal to the name line above the "====" underline).
//
// Deliberate differences, each reported: a PEM certificate whose END line has no newline after
// it is dropped as upstream does but with a warning; other files given explicitly are ignored
// with a warning; an empty result and too many certificates are errors (upstream writes a 0-byte
// bundle the device rejects, or dies with a Python exception).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "certs/bundle.hpp"
#include "certs/x509.hpp"
#include "core/bytes.hpp"
#include "core/error.hpp"

namespace espsec::certs {

// ---- Pure text rules of gen_crt_bundle.py ----

// Python text-mode reading: "\r\n" and lone "\r" become "\n".
std::string normalize_newlines(std::string_view text);
// str.splitlines(keepends=True) over UTF-8 text (\n, \v, \f, \x1c-\x1e, U+0085, U+2028, U+2029).
std::vector<std::string_view> split_lines(std::string_view text);
// Strict UTF-8 as Python's decoder accepts it (no overlongs, surrogates or values > U+10FFFF).
bool is_valid_utf8(ByteSpan data);

struct PemBlocks {
  std::vector<std::string> blocks;          // each "-----BEGIN CERTIFICATE-----\n...-----END CERTIFICATE-----\n\n"
  std::optional<size_t> unterminated_line;  // 1-based line of a BEGIN never closed by "END...\n"
};
// add_from_pem: a block runs from a line exactly "-----BEGIN CERTIFICATE-----\n" to a line
// exactly "-----END CERTIFICATE-----\n".
PemBlocks extract_pem_blocks(std::string_view normalized_text);

// The filter CSV (Python csv, excel dialect): the header row is skipped, column 2 of every
// other row is a certificate name. "certs.filter_empty", "certs.filter_row" (fewer than 2
// columns), "certs.filter_quote" (unterminated quoted field).
[[nodiscard]] Result<std::set<std::string>> parse_filter_csv(std::string_view normalized_text);
// add_with_filter: the certificates of cacrt_all.pem text whose name line is in `names`
// (re.findall(r'(^.+?)\n(=+\n[\s\S]+?END CERTIFICATE-----\n)', MULTILINE) semantics), concatenated.
std::string select_named_certificates(std::string_view normalized_text, const std::set<std::string>& names);

// ---- Collecting inputs (file I/O) ----

struct CollectedCertificate {
  Certificate certificate;
  std::string source;  // the file it came from
};

class BundleCollector {
 public:
  explicit BundleCollector(std::optional<std::filesystem::path> filter_csv = std::nullopt)
      : filter_csv_(std::move(filter_csv)) {}

  // One --input path: a file or a directory. Errors: "certs.input" (neither), "certs.empty_dir"
  // (a directory without any .pem/.der file), "certs.parse" / "certs.not_utf8" (a bad
  // certificate file), filter errors, I/O errors. Each names the file.
  [[nodiscard]] Status add(const std::filesystem::path& path);

  const std::vector<CollectedCertificate>& certificates() const { return certificates_; }
  // gen_crt_bundle's status lines ("Parsing certificates from X", ...), suppressed by --quiet.
  const std::vector<std::string>& notes() const { return notes_; }
  // Things upstream does silently that a user should know; always shown.
  std::vector<std::string> warnings() const;

 private:
  [[nodiscard]] Result<bool> add_file(const std::filesystem::path& path, bool explicit_input);
  [[nodiscard]] Status add_pem_text(const std::string& text, const std::string& source);

  std::optional<std::filesystem::path> filter_csv_;
  bool filter_used_ = false;
  std::vector<CollectedCertificate> certificates_;
  std::vector<std::string> notes_;
  std::vector<std::string> warnings_;
};

// The bundle bytes of `certificates` (sorted as gen_crt_bundle sorts). "certs.too_many" above
// max_certs, "certs.empty_bundle" for none (the device rejects an empty bundle).
[[nodiscard]] Result<Bytes> build_bundle(std::span<const CollectedCertificate> certificates,
                                         uint32_t max_certs = kDefaultMaxCerts);

// Build-time expiry check: the bundle stores no dates, so this runs on the source certificates.
struct ExpiringCertificate {
  std::string subject;
  std::string source;
  int64_t not_after = 0;
};
std::vector<ExpiringCertificate> expiring_before(std::span<const CollectedCertificate> certificates,
                                                 int64_t deadline_unix);

}  // namespace espsec::certs
