#include "format/image_report.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace espsec::image {
namespace {

using State = SignatureBlockReport::State;

const char* state_name(State state) {
  switch (state) {
    case State::kValid: return "valid";
    case State::kAbsent: return "absent";
    case State::kInvalid: return "invalid";
  }
  return "?";
}

std::string chip_display(const ImageInfo& info) {
  return info.chip ? std::string(info.chip->display) : fmt::format("unknown chip id {}", info.header.chip_id);
}

const char* flash_frequency_name(const ImageInfo& info) {
  if (info.chip == nullptr) return nullptr;
  for (const FlashFrequency& f : info.chip->flash_frequencies)
    if (f.code == info.header.spi_speed) return f.name;
  return nullptr;
}

// `digest_for(alg)`: the signed region's digest with that algorithm.
template <class DigestFor>
SignatureBlockReport examine_slot(sbv2::SectorSlot slot, DigestFor&& digest_for) {
  SignatureBlockReport out;
  if (slot.erased) return out;
  if (!slot.block) {
    out.state = State::kInvalid;
    out.problem = slot.problem->message;
    return out;
  }
  out.state = State::kValid;
  out.key_digest = sbv2::key_digest(slot.block->key_field);
  out.digest_matches_image =
      crypto::constant_time_equal(slot.block->image_digest, digest_for(sbv2::image_digest_alg(slot.block->scheme)));
  out.signature_verifies = sbv2::signature_verifies(*slot.block);
  out.block = std::move(slot.block);
  return out;
}

void section(std::string& out, std::string_view title) {
  out += fmt::format("\n{}\n{}\n", title, std::string(title.size(), '='));
}

}  // namespace

Result<ImageReport> describe_image(ByteSpan bytes) {
  ImageReport report;
  ESPSEC_ASSIGN_OR_RETURN(report.info, parse_image(bytes));
  const ImageInfo& info = report.info;
  const uint64_t padded_end = std::min<uint64_t>(bytes.size(), info.signed_length);
  const ByteSpan padding = bytes.subspan(info.image_length, padded_end - info.image_length);
  report.padding_length = padding.size();
  report.padding_erased = std::all_of(padding.begin(), padding.end(), [](uint8_t b) { return b == 0xFF; });
  if (info.has_signature_sector) {
    // Each digest at most once: SHA-256 comes from parsing, SHA-384 only for P-384 blocks.
    std::optional<Bytes> sha256, sha384;
    auto digest_for = [&](crypto::HashAlg alg) -> const Bytes& {
      std::optional<Bytes>& cached = alg == crypto::HashAlg::kSha384 ? sha384 : sha256;
      // The sector is present, so the signed region before it is too.
      if (!cached) cached = *signed_region_digest(info, bytes, alg);
      return *cached;
    };
    auto slots = sbv2::parse_sector(bytes.subspan(info.signed_length, kSectorSize));
    std::array<SignatureBlockReport, sbv2::kMaxBlocks> blocks;
    for (size_t i = 0; i < blocks.size(); ++i) blocks[i] = examine_slot(std::move(slots[i]), digest_for);
    report.signature_blocks = std::move(blocks);
  }
  report.trailing_length = bytes.size() - (info.has_signature_sector ? info.signed_total_length : padded_end);
  return report;
}

std::string report_text(const ImageReport& report, std::string_view file) {
  const ImageInfo& info = report.info;
  const Header& h = info.header;
  const std::string chip = chip_display(info);
  std::string out = fmt::format("File: {}\nImage size: {} bytes\nDetected image type: {}\n", file, info.file_length, chip);

  section(out, fmt::format("{} Image Header", chip));
  out += fmt::format("Image version: 1\n");
  out += h.entry_addr != 0 ? fmt::format("Entry point: {:#010x}\n", h.entry_addr) : "Entry point not set\n";
  out += fmt::format("Segments: {}\n", h.segment_count);
  out += fmt::format("Flash size: {}\n", flash_size_name(h.spi_size));
  const char* freq = flash_frequency_name(info);
  out += freq ? fmt::format("Flash freq: {}\n", freq) : fmt::format("Flash freq: unknown code {:#x}\n", h.spi_speed);
  out += fmt::format("Flash mode: {}\n", spi_mode_name(h.spi_mode));

  section(out, fmt::format("{} Extended Image Header", chip));
  out += fmt::format("WP pin: {:#04x}{}\n", h.wp_pin, h.wp_pin == kWpPinDisabled ? " (disabled)" : "");
  out += fmt::format(
      "Flash pins drive settings: clk_drv: {:#x}, q_drv: {:#x}, d_drv: {:#x}, cs0_drv: {:#x}, hd_drv: {:#x}, "
      "wp_drv: {:#x}\n",
      h.spi_pin_drv[0] & 0xF, h.spi_pin_drv[0] >> 4, h.spi_pin_drv[1] & 0xF, h.spi_pin_drv[1] >> 4,
      h.spi_pin_drv[2] & 0xF, h.spi_pin_drv[2] >> 4);
  out += fmt::format("Chip ID: {} ({})\n", h.chip_id, info.chip ? std::string(info.chip->display) : "unknown");
  out += fmt::format("Minimal chip revision: v{}, (legacy min_rev = {})\n", revision_text(h.min_chip_rev_full), h.min_chip_rev);
  out += fmt::format("Maximal chip revision: v{}\n", revision_text(h.max_chip_rev_full));

  section(out, "Segments Information");
  out += "Segment   Length   Load addr   File offs  Kind     Memory types\n";
  out += "-------  -------  ----------  ----------  -------  ------------\n";
  for (size_t i = 0; i < info.segments.size(); ++i) {
    const Segment& s = info.segments[i];
    out += fmt::format("{:7}  {:#07x}  {:#010x}  {:#010x}  {:<7}  {}\n", i, s.length, s.load_addr, s.header_offset,
                       segment_kind_name(s.kind), info.chip ? memory_types(*info.chip, s.load_addr) : "");
  }

  section(out, fmt::format("{} Image Footer", chip));
  out += fmt::format("Checksum: {:#04x} ({})\n", info.checksum_stored,
                     info.checksum_ok() ? "valid" : fmt::format("invalid - calculated {:#04x}", info.checksum_computed));
  if (info.hash_computed)
    out += fmt::format("Validation hash: {} ({})\n", to_hex(*info.hash_computed),
                       info.hash_ok() ? "valid" : fmt::format("invalid - stored {}", to_hex(*info.hash_stored)));
  else
    out += "Validation hash: not appended\n";

  if (const auto& d = info.app_desc) {
    section(out, "Application Information");
    out += fmt::format("Project name: {}\nApp version: {}\nCompile time: {} {}\n", d->project_name, d->version, d->date,
                       d->time);
    out += fmt::format("ELF file SHA256: {}\nESP-IDF: {}\n", to_hex(d->app_elf_sha256), d->idf_ver);
    out += fmt::format("Minimal eFuse block revision: {}\nMaximal eFuse block revision: {}\n",
                       revision_text(d->min_efuse_blk_rev_full), revision_text(d->max_efuse_blk_rev_full));
    if (d->mmu_page_size != 0 && d->mmu_page_size < 32)
      out += fmt::format("MMU page size: {} KB\n", (1u << d->mmu_page_size) / 1024);
    out += fmt::format("Secure version: {}\n", d->secure_version);
  } else if (const auto& b = info.bootloader_desc) {
    section(out, "Bootloader Information");
    out += fmt::format("Bootloader version: {}\nESP-IDF: {}\nCompile time: {}\nSecure version: {}\n", b->version,
                       b->idf_ver, b->date_time, b->secure_version);
  }

  section(out, "Image Layout");
  out += fmt::format("End of segments: {:#x}\nChecksum offset: {:#x}\nHashed length: {:#x}\n", info.segments_end,
                     info.checksum_offset, info.hashed_length);
  out += fmt::format("Image length: {:#x} ({} bytes)\n", info.image_length, info.image_length);
  out += fmt::format("Signed length (4 KiB aligned): {:#x}\n", info.signed_length);
  out += fmt::format("Length with signature sector: {:#x}\n", info.signed_total_length);
  if (report.padding_length > 0)
    out += fmt::format("Padding after the image: {} bytes ({})\n", report.padding_length,
                       report.padding_erased ? "all 0xFF" : "not all 0xFF");
  if (report.trailing_length > 0) out += fmt::format("Trailing bytes: {}\n", report.trailing_length);

  if (!report.signature_blocks) {
    out += fmt::format("\nSecure Boot v2 signature sector: none (the file ends before {:#x})\n", info.signed_total_length);
    return out;
  }
  section(out, fmt::format("Secure Boot v2 Signature Sector at {:#x}", info.signed_length));
  for (size_t i = 0; i < report.signature_blocks->size(); ++i) {
    const SignatureBlockReport& b = (*report.signature_blocks)[i];
    if (b.state == State::kAbsent) out += fmt::format("Block {}: absent\n", i);
    else if (b.state == State::kInvalid) out += fmt::format("Block {}: invalid ({})\n", i, b.problem);
    else
      out += fmt::format("Block {}: {}, key digest {}, image digest {}, signature {}\n", i,
                         sbv2::scheme_name(b.block->scheme), to_hex(b.key_digest),
                         b.digest_matches_image ? "matches the image" : "does not match the image",
                         b.signature_verifies ? "verifies" : "does not verify");
  }
  return out;
}

nlohmann::json report_json(const ImageReport& report, std::string_view file) {
  using nlohmann::json;
  const ImageInfo& info = report.info;
  const Header& h = info.header;
  json out;
  out["file"] = file;
  out["file_size"] = info.file_length;
  out["chip"] = {{"id", h.chip_id}, {"name", info.chip ? json(info.chip->name) : json(nullptr)}};
  const char* freq = flash_frequency_name(info);
  out["header"] = {
      {"segment_count", h.segment_count},
      {"spi_mode", h.spi_mode},
      {"spi_mode_name", spi_mode_name(h.spi_mode)},
      {"spi_speed", h.spi_speed},
      {"spi_speed_name", freq ? json(freq) : json(nullptr)},
      {"spi_size", h.spi_size},
      {"spi_size_name", flash_size_name(h.spi_size)},
      {"entry_addr", h.entry_addr},
      {"wp_pin", h.wp_pin},
      {"spi_pin_drv", {h.spi_pin_drv[0], h.spi_pin_drv[1], h.spi_pin_drv[2]}},
      {"min_chip_rev", h.min_chip_rev},
      {"min_chip_rev_full", h.min_chip_rev_full},
      {"max_chip_rev_full", h.max_chip_rev_full},
      {"hash_appended", h.hash_appended},
  };
  json segments = json::array();
  for (size_t i = 0; i < info.segments.size(); ++i) {
    const Segment& s = info.segments[i];
    segments.push_back({{"index", i},
                        {"load_addr", s.load_addr},
                        {"length", s.length},
                        {"header_offset", s.header_offset},
                        {"data_offset", s.data_offset},
                        {"kind", segment_kind_name(s.kind)},
                        {"memory_types", info.chip ? memory_types(*info.chip, s.load_addr) : ""}});
  }
  out["segments"] = std::move(segments);
  out["checksum"] = {{"offset", info.checksum_offset},
                     {"stored", info.checksum_stored},
                     {"computed", info.checksum_computed},
                     {"valid", info.checksum_ok()}};
  if (info.hash_computed)
    out["hash"] = {{"offset", info.hashed_length},
                   {"stored", to_hex(*info.hash_stored)},
                   {"computed", to_hex(*info.hash_computed)},
                   {"valid", info.hash_ok()}};
  else
    out["hash"] = nullptr;
  out["layout"] = {{"segments_end", info.segments_end},
                   {"checksum_offset", info.checksum_offset},
                   {"hashed_length", info.hashed_length},
                   {"image_length", info.image_length},
                   {"signed_length", info.signed_length},
                   {"signed_total_length", info.signed_total_length},
                   {"padding_length", report.padding_length},
                   {"padding_erased", report.padding_erased},
                   {"trailing_length", report.trailing_length}};
  if (const auto& d = info.app_desc)
    out["app_desc"] = {{"secure_version", d->secure_version},
                       {"version", d->version},
                       {"project_name", d->project_name},
                       {"time", d->time},
                       {"date", d->date},
                       {"idf_ver", d->idf_ver},
                       {"app_elf_sha256", to_hex(d->app_elf_sha256)},
                       {"min_efuse_blk_rev_full", d->min_efuse_blk_rev_full},
                       {"max_efuse_blk_rev_full", d->max_efuse_blk_rev_full},
                       {"mmu_page_size_log2", d->mmu_page_size},
                       {"spi_flash_mode", d->spi_flash_mode}};
  else
    out["app_desc"] = nullptr;
  if (const auto& b = info.bootloader_desc)
    out["bootloader_desc"] = {{"secure_version", b->secure_version},
                              {"version", b->version},
                              {"idf_ver", b->idf_ver},
                              {"date_time", b->date_time}};
  else
    out["bootloader_desc"] = nullptr;
  if (report.signature_blocks) {
    json blocks = json::array();
    for (size_t i = 0; i < report.signature_blocks->size(); ++i) {
      const SignatureBlockReport& b = (*report.signature_blocks)[i];
      json entry = {{"index", i}, {"state", state_name(b.state)}};
      if (b.state == State::kInvalid) entry["problem"] = b.problem;
      if (b.state == State::kValid) {
        entry["scheme"] = sbv2::scheme_name(b.block->scheme);
        entry["key_digest"] = to_hex(b.key_digest);
        entry["image_digest"] = to_hex(b.block->image_digest);
        entry["digest_matches_image"] = b.digest_matches_image;
        entry["signature_verifies"] = b.signature_verifies;
      }
      blocks.push_back(std::move(entry));
    }
    out["signature_sector"] = {{"offset", info.signed_length}, {"blocks", std::move(blocks)}};
  } else {
    out["signature_sector"] = nullptr;
  }
  return out;
}

}  // namespace espsec::image
