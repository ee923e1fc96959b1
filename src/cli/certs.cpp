// `espsec certs bundle|list|verify`: the ESP x509 certificate bundle. `bundle` mirrors ESP-IDF's
// gen_crt_bundle.py (--input/-i, --filter/-f, --max-certs/-m, --quiet/-q; output
// x509_crt_bundle in the current directory) and adds --output and the build-time expiry check
// --expires-before; `list` prints a bundle's entries; `verify` checks a server chain as the
// device would.
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "certs/builder.hpp"
#include "certs/verify.hpp"
#include "cli/common.hpp"
#include "core/file_io.hpp"

namespace espsec::cli {
namespace {

namespace fs = std::filesystem;

void note(bool quiet, std::string_view text) {
  if (!quiet) fmt::print(stderr, "espsec: {}\n", text);
}
void warn(std::string_view text) { fmt::print(stderr, "espsec: warning: {}\n", text); }

struct BundleArgs {
  std::vector<std::string> inputs;
  std::string filter;
  uint32_t max_certs = certs::kDefaultMaxCerts;
  bool quiet = false;
  std::string expires_before;
  std::string output = "x509_crt_bundle";
};

Status make_bundle(const BundleArgs& args) {
  std::optional<int64_t> deadline;
  if (!args.expires_before.empty()) {
    ESPSEC_ASSIGN_OR_RETURN(deadline, certs::parse_utc(args.expires_before));
  }
  certs::BundleCollector collector(args.filter.empty() ? std::nullopt : std::optional<fs::path>(args.filter));
  Status status;
  for (const std::string& input : args.inputs) {
    status = collector.add(input);
    if (!status) break;
  }
  for (const std::string& line : collector.notes()) note(args.quiet, line);
  for (const std::string& line : collector.warnings()) warn(line);
  ESPSEC_TRY(status);
  const auto& collected = collector.certificates();
  note(args.quiet, fmt::format("Successfully added {} certificates in total", collected.size()));
  ESPSEC_ASSIGN_OR_RETURN(Bytes bundle, certs::build_bundle(collected, args.max_certs));
  if (deadline) {
    // The bundle keeps no dates: this is the only point where expiry can be checked.
    const auto expiring = certs::expiring_before(collected, *deadline);
    for (const auto& e : expiring)
      warn(fmt::format("'{}' (from {}) expires at {}, before {}", e.subject, e.source, certs::format_utc(e.not_after),
                       certs::format_utc(*deadline)));
    note(args.quiet, fmt::format("{} of {} certificates expire before {}", expiring.size(), collected.size(),
                                 certs::format_utc(*deadline)));
  }
  ESPSEC_TRY(write_file_atomic(args.output, bundle));
  note(args.quiet, fmt::format("Wrote {} ({} certificates, {} bytes)", args.output, collected.size(), bundle.size()));
  return {};
}

Status list_bundle(const std::string& path, const std::string& format, uint32_t max_certs) {
  if (format != "text" && format != "json")
    return fail("cli.format", "--format must be text or json, got '{}'", format);
  ESPSEC_ASSIGN_OR_RETURN(Bytes data, read_file(path));
  auto parsed = certs::parse_bundle(data, max_certs);
  if (!parsed) return std::unexpected(with_context(parsed.error(), path));
  if (!parsed->sorted)
    warn(fmt::format("{}: entries are not sorted by subject; the device's binary search will miss issuers", path));
  if (parsed->trailing_bytes)
    warn(fmt::format("{}: {} bytes follow the last certificate", path, parsed->trailing_bytes));
  if (format == "json") {
    nlohmann::ordered_json out = {{"file", path},
                          {"size", data.size()},
                          {"count", parsed->entries.size()},
                          {"sorted", parsed->sorted},
                          {"trailing_bytes", parsed->trailing_bytes}};
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (size_t i = 0; i < parsed->entries.size(); ++i) {
      const auto& e = parsed->entries[i];
      // The subject is shown through a certificate-free decode of the stored Name.
      list.push_back({{"index", i},
                      {"offset", e.offset},
                      {"name_len", e.entry.subject.size()},
                      {"key_len", e.entry.public_key.size()},
                      {"key", certs::key_description(e.entry.public_key)},
                      {"subject", certs::name_der_text(e.entry.subject)},
                      {"subject_der", to_hex(e.entry.subject)}});
    }
    out["certificates"] = std::move(list);
    fmt::print("{}\n", out.dump(2));
    return {};
  }
  fmt::print("{}: {} certificates, {} bytes\n", path, parsed->entries.size(), data.size());
  fmt::print("index | offset | name_len | key_len | key | subject\n");
  for (size_t i = 0; i < parsed->entries.size(); ++i) {
    const auto& e = parsed->entries[i];
    fmt::print("{} | {} | {} | {} | {} | {}\n", i, e.offset, e.entry.subject.size(), e.entry.public_key.size(),
               certs::key_description(e.entry.public_key), certs::name_der_text(e.entry.subject));
  }
  return {};
}

struct VerifyArgs {
  std::string chain, bundle, ca, pin, hostname, at;
};

Result<certs::Certificate> load_one_certificate(const std::string& path) {
  ESPSEC_ASSIGN_OR_RETURN(Bytes data, read_file(path));
  auto certs = certs::Certificate::load_all(data);
  if (!certs) return std::unexpected(with_context(certs.error(), path));
  return std::move(certs->front());
}

Result<int> verify(const VerifyArgs& args) {
  const int anchors = !args.bundle.empty() + !args.ca.empty() + !args.pin.empty();
  if (anchors != 1) return fail("cli.anchor", "give exactly one of --bundle, --ca or --pin");
  std::optional<certs::TrustAnchor> anchor;
  if (!args.bundle.empty()) {
    ESPSEC_ASSIGN_OR_RETURN(Bytes data, read_file(args.bundle));
    auto a = certs::TrustAnchor::bundle(data);
    if (!a) return std::unexpected(with_context(a.error(), args.bundle));
    anchor = std::move(*a);
  } else if (!args.ca.empty()) {
    ESPSEC_ASSIGN_OR_RETURN(certs::Certificate ca, load_one_certificate(args.ca));
    anchor = certs::TrustAnchor::ca(std::move(ca));
  } else {
    ESPSEC_ASSIGN_OR_RETURN(certs::Certificate pin, load_one_certificate(args.pin));
    anchor = certs::TrustAnchor::pinned(std::move(pin));
  }
  certs::VerifyOptions options;
  options.hostname = args.hostname;
  if (args.at.empty()) {
    options.now = SystemClock().unix_seconds();
  } else {
    ESPSEC_ASSIGN_OR_RETURN(options.now, certs::parse_utc(args.at));
  }
  ESPSEC_ASSIGN_OR_RETURN(Bytes pem, read_file(args.chain));
  auto result = certs::verify_pem_chain(*anchor, pem, options);
  if (!result) return std::unexpected(with_context(result.error(), args.chain));
  fmt::print("{}: OK at {}\n", args.chain, certs::format_utc(options.now));
  for (const auto& link : result->chain) {
    if (link.bundle_entry) fmt::print("  {} (issuer found in bundle entry {})\n", link.subject, *link.bundle_entry);
    else fmt::print("  {}\n", link.subject);
  }
  return kExitOk;
}

}  // namespace

void register_certs(CLI::App& app, Runner& runner) {
  CLI::App* group = add_command(app, "certs", "ESP x509 certificate bundle (gen_crt_bundle) and server verification");
  group->require_subcommand(1);
  {
    auto* cmd = add_command(*group, "bundle", "Build an x509_crt_bundle from PEM/DER files and folders (gen_crt_bundle.py)");
    auto args = std::make_shared<BundleArgs>();
    cmd->add_option(option_names("input", 'i'), args->inputs,
                    "Certificate folders or files to parse (all .pem and .der files)")
        ->required()
        ->expected(1, -1);
    cmd->add_option(option_names("filter", 'f'), args->filter,
                    "CSV whose second column names the certificates to take from cacrt_all.pem");
    cmd->add_option(option_names("max-certs", 'm'), args->max_certs, "Maximum number of certificates in the bundle")
        ->capture_default_str();
    cmd->add_flag(option_names("quiet", 'q'), args->quiet, "Don't print non-critical status messages to stderr");
    cmd->add_option(option_names("expires-before"), args->expires_before,
                    "Warn about every certificate that expires before this date (YYYY-MM-DD or "
                    "YYYY-MM-DDTHH:MM:SSZ, UTC): the product's end of support");
    cmd->add_option(option_names("output", 'o'), args->output, "Output file")->capture_default_str();
    bind(cmd, runner, [args] { return make_bundle(*args); });
  }
  {
    auto* cmd = add_command(*group, "list", "List the certificates (subject, key type) of a bundle");
    auto path = std::make_shared<std::string>();
    auto format = std::make_shared<std::string>("text");
    auto max_certs = std::make_shared<uint32_t>(certs::kDefaultMaxCerts);
    cmd->add_option("bundle", *path, "x509_crt_bundle file")->required();
    cmd->add_option(option_names("format"), *format, "text or json")->capture_default_str();
    cmd->add_option(option_names("max-certs", 'm'), *max_certs, "The device's certificate limit")->capture_default_str();
    bind(cmd, runner, [=] { return list_bundle(*path, *format, *max_certs); });
  }
  {
    auto* cmd = add_command(*group, "verify", "Verify a server certificate chain (PEM, leaf first) as the device does");
    auto args = std::make_shared<VerifyArgs>();
    cmd->add_option("chain", args->chain, "PEM file: the server's certificate, then its intermediates")->required();
    cmd->add_option(option_names("bundle"), args->bundle, "Trust an x509_crt_bundle (ESP-IDF's default)");
    cmd->add_option(option_names("ca"), args->ca, "Trust one CA certificate (PEM or DER)");
    cmd->add_option(option_names("pin"), args->pin, "Accept only this exact server certificate");
    cmd->add_option(option_names("hostname"), args->hostname, "Host name the server certificate must match");
    cmd->add_option(option_names("at"), args->at, "Verify at this UTC time instead of now (YYYY-MM-DD[THH:MM:SSZ])");
    bind_exit(cmd, runner, [args] { return verify(*args); });
  }
}

}  // namespace espsec::cli
