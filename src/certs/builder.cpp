#include "certs/builder.hpp"

#include <algorithm>

#include "core/file_io.hpp"

namespace espsec::certs {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kBeginLine = "-----BEGIN CERTIFICATE-----\n";
constexpr std::string_view kEndLine = "-----END CERTIFICATE-----\n";
constexpr std::string_view kEndMarker = "END CERTIFICATE-----\n";
constexpr std::string_view kAllCertsName = "cacrt_all.pem";  // the only file --filter applies to

// Length of the line terminator at `i`, or 0.
size_t terminator_at(std::string_view t, size_t i) {
  const auto c = static_cast<unsigned char>(t[i]);
  if (c == '\r') return i + 1 < t.size() && t[i + 1] == '\n' ? 2 : 1;
  if (c == '\n' || c == '\v' || c == '\f' || c == 0x1c || c == 0x1d || c == 0x1e) return 1;
  if (c == 0xC2 && i + 1 < t.size() && static_cast<unsigned char>(t[i + 1]) == 0x85) return 2;
  if (c == 0xE2 && i + 2 < t.size() && static_cast<unsigned char>(t[i + 1]) == 0x80 &&
      (static_cast<unsigned char>(t[i + 2]) == 0xA8 || static_cast<unsigned char>(t[i + 2]) == 0xA9))
    return 3;
  return 0;
}

Result<std::string> read_utf8_text(const fs::path& path) {
  ESPSEC_ASSIGN_OR_RETURN(Bytes raw, read_file(path));
  if (!is_valid_utf8(raw))
    return fail("certs.not_utf8", "{}: not UTF-8 text (gen_crt_bundle reads .pem and .csv files as UTF-8)",
                path.string());
  return normalize_newlines(as_chars(raw));
}

}  // namespace

std::string normalize_newlines(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r') {
      out.push_back('\n');
      if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  for (size_t i = 0; i < text.size();) {
    const size_t term = terminator_at(text, i);
    if (term == 0) {
      ++i;
      continue;
    }
    lines.push_back(text.substr(start, i + term - start));
    i += term;
    start = i;
  }
  if (start < text.size()) lines.push_back(text.substr(start));
  return lines;
}

bool is_valid_utf8(ByteSpan data) {
  size_t i = 0;
  while (i < data.size()) {
    const uint8_t c = data[i];
    size_t extra = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      extra = 1;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      extra = 2;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      extra = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (data.size() - i <= extra) return false;
    for (size_t k = 1; k <= extra; ++k) {
      if ((data[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (data[i + k] & 0x3F);
    }
    if ((extra == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (extra == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
      return false;
    i += extra + 1;
  }
  return true;
}

PemBlocks extract_pem_blocks(std::string_view text) {
  PemBlocks out;
  std::string block;
  bool open = false;
  size_t line_no = 0;
  for (std::string_view line : split_lines(text)) {
    ++line_no;
    if (line == kBeginLine && !open) {
      block.clear();
      open = true;
      out.unterminated_line = line_no;
    } else if (line == kEndLine && open) {
      block.append(line).append("\n");
      open = false;
      out.blocks.push_back(block);
      out.unterminated_line.reset();
    }
    if (open) block.append(line);
  }
  return out;
}

Result<std::set<std::string>> parse_filter_csv(std::string_view text) {
  std::vector<std::vector<std::string>> rows;
  std::vector<size_t> row_lines;
  std::vector<std::string> row;
  std::string field;
  bool in_row = false;          // some character of the current row was read
  bool at_field_start = true;   // nothing of the current field read yet (a quote opens quoting)
  bool quoted = false;
  size_t line = 1, row_line = 1;
  auto end_field = [&] {
    row.push_back(std::move(field));
    field.clear();
    at_field_start = true;
  };
  auto end_row = [&] {
    // An empty line is a row without fields, as Python's csv module yields it.
    if (!row.empty() || !at_field_start) end_field();
    rows.push_back(std::move(row));
    row_lines.push_back(row_line);
    row.clear();
    in_row = false;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field.push_back('"');
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        if (c == '\n') ++line;
        field.push_back(c);
      }
      continue;
    }
    if (!in_row) {
      in_row = true;
      row_line = line;
    }
    if (c == '\n') {
      end_row();
      ++line;
    } else if (c == ',') {
      end_field();
    } else if (c == '"' && at_field_start) {
      quoted = true;
      at_field_start = false;
    } else {
      // Characters after a closing quote join the field (csv's non-strict mode).
      field.push_back(c);
      at_field_start = false;
    }
  }
  if (quoted) return fail("certs.filter_quote", "line {}: a quoted field is never closed", row_line);
  if (in_row) end_row();
  if (rows.empty()) return fail("certs.filter_empty", "the filter CSV is empty (it needs a header row)");
  std::set<std::string> names;
  for (size_t r = 1; r < rows.size(); ++r) {
    if (rows[r].size() < 2)
      return fail("certs.filter_row", "line {}: {} column(s); the certificate name is column 2", row_lines[r],
                  rows[r].size());
    names.insert(rows[r][1]);
  }
  return names;
}

std::string select_named_certificates(std::string_view text, const std::set<std::string>& names) {
  std::string out;
  size_t pos = 0;
  while (pos < text.size()) {
    bool matched = false;
    // Candidate matches start at line starts, earliest first (re.findall scans left to right).
    for (size_t p = pos; p < text.size();) {
      const size_t eol = text.find('\n', p);
      if (eol == std::string_view::npos) break;
      const size_t underline = eol + 1;
      size_t r = underline;
      while (r < text.size() && text[r] == '=') ++r;
      // "(^.+?)\n(=+\n": a non-empty name line, then a line of '=' only.
      if (eol > p && r > underline && r < text.size() && text[r] == '\n') {
        // "[\s\S]+?END CERTIFICATE-----\n": at least one character, then the first END marker.
        const size_t end = text.find(kEndMarker, r + 2);
        if (end == std::string_view::npos) return out;  // no later start can match either
        const size_t match_end = end + kEndMarker.size();
        if (names.count(std::string(text.substr(p, eol - p))))
          out.append(text.substr(underline, match_end - underline));
        pos = match_end;
        matched = true;
        break;
      }
      p = underline;
    }
    if (!matched) break;
  }
  return out;
}

std::vector<std::string> BundleCollector::warnings() const {
  std::vector<std::string> out = warnings_;
  if (filter_csv_ && !filter_used_)
    out.push_back(fmt::format("--filter {} was not used: it applies only to an input file named {}",
                              filter_csv_->string(), kAllCertsName));
  return out;
}

Status BundleCollector::add_pem_text(const std::string& text, const std::string& source) {
  const PemBlocks pem = extract_pem_blocks(text);
  for (const std::string& block : pem.blocks) {
    auto cert = Certificate::from_pem(as_bytes(block));
    if (!cert)
      return fail("certs.parse", "{}: invalid certificate (PEM block {} does not parse as X.509)", source,
                  certificates_.size() + 1);
    certificates_.push_back({std::move(*cert), source});
  }
  if (pem.unterminated_line)
    warnings_.push_back(fmt::format("{}: the certificate starting at line {} is not closed by an "
                                    "\"-----END CERTIFICATE-----\" line ending in a newline; gen_crt_bundle "
                                    "drops it, and so does this bundle",
                                    source, *pem.unterminated_line));
  if (pem.blocks.empty()) notes_.push_back("No certificate found");
  else notes_.push_back(fmt::format("Successfully added {} certificates", pem.blocks.size()));
  return {};
}

Result<bool> BundleCollector::add_file(const fs::path& path, bool explicit_input) {
  const std::string name = path.string();
  if (name.ends_with(".pem")) {
    notes_.push_back(fmt::format("Parsing certificates from {}", name));
    ESPSEC_ASSIGN_OR_RETURN(std::string text, read_utf8_text(path));
    ESPSEC_TRY(add_pem_text(text, name));
    return true;
  }
  if (name.ends_with(".der")) {
    notes_.push_back(fmt::format("Parsing certificates from {}", name));
    ESPSEC_ASSIGN_OR_RETURN(Bytes der, read_file(path));
    auto cert = Certificate::from_der(der);
    if (!cert) return fail("certs.parse", "{}: invalid certificate ({})", name, cert.error().message);
    certificates_.push_back({std::move(*cert), name});
    notes_.push_back("Successfully added 1 certificate");
    return true;
  }
  if (explicit_input)
    warnings_.push_back(fmt::format("ignoring {}: only files ending in .pem or .der are read", name));
  return false;
}

Status BundleCollector::add(const fs::path& path) {
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) {
    if (filter_csv_ && path.filename() == kAllCertsName) {
      filter_used_ = true;
      ESPSEC_ASSIGN_OR_RETURN(std::string csv, read_utf8_text(*filter_csv_));
      auto names = parse_filter_csv(csv);
      if (!names) return std::unexpected(with_context(names.error(), filter_csv_->string()));
      notes_.push_back(fmt::format("Parsing certificates from {}", path.string()));
      ESPSEC_ASSIGN_OR_RETURN(std::string text, read_utf8_text(path));
      return add_pem_text(select_named_certificates(text, *names), path.string());
    }
    ESPSEC_TRY(add_file(path, true));
    return {};
  }
  if (fs::is_directory(path, ec)) {
    std::vector<fs::path> entries;
    for (const auto& entry : fs::directory_iterator(path, ec)) entries.push_back(entry.path());
    if (ec) return fail("io.read", "{}: cannot list the directory: {}", path.string(), ec.message());
    std::sort(entries.begin(), entries.end());
    bool found = false;
    for (const fs::path& entry : entries) {
      ESPSEC_ASSIGN_OR_RETURN(bool used, add_file(entry, false));
      found |= used;
    }
    if (!found) return fail("certs.empty_dir", "No valid x509 certificates found in {}", path.string());
    return {};
  }
  return fail("certs.input", "invalid --input {}: it is neither a file nor a folder", path.string());
}

Result<Bytes> build_bundle(std::span<const CollectedCertificate> certificates, uint32_t max_certs) {
  if (certificates.empty())
    return fail("certs.empty_bundle", "no certificates found; an empty bundle is rejected by the device");
  if (certificates.size() > max_certs)
    return fail("certs.too_many", "{} certificates exceed the maximum of {} (--max-certs, "
                "CONFIG_MBEDTLS_CERTIFICATE_BUNDLE_MAX_CERTS)", certificates.size(), max_certs);
  std::vector<BundleEntry> entries;
  entries.reserve(certificates.size());
  for (const CollectedCertificate& c : certificates) {
    BundleEntry e{c.certificate.subject_der(), c.certificate.public_key_der()};
    if (e.subject.empty() || e.public_key.empty())
      return fail("certs.public_key", "{}: the certificate '{}' has a public key that cannot be encoded", c.source,
                  c.certificate.subject_text());
    entries.push_back(std::move(e));
  }
  sort_entries(entries);
  return serialize_bundle(entries);
}

std::vector<ExpiringCertificate> expiring_before(std::span<const CollectedCertificate> certificates,
                                                 int64_t deadline_unix) {
  std::vector<ExpiringCertificate> out;
  for (const CollectedCertificate& c : certificates) {
    if (c.certificate.not_after() < deadline_unix)
      out.push_back({c.certificate.subject_text(), c.source, c.certificate.not_after()});
  }
  return out;
}

}  // namespace espsec::certs
