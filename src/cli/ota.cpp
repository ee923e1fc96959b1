// `espsec ota ...`: the update server and its release store.
#include <signal.h>

#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/common.hpp"
#include "cli/https.hpp"
#include "core/file_io.hpp"
#include "crypto/pkey.hpp"
#include "format/sbv2.hpp"
#include "crypto/random.hpp"
#include "encimg/keys.hpp"
#include "ota/publish.hpp"
#include "ota/server.hpp"
#include "ota/store.hpp"

namespace espsec::cli {
namespace {

namespace fs = std::filesystem;

Status serve(const fs::path& root, const ota::ServerOptions& options) {
  ESPSEC_ASSIGN_OR_RETURN(auto store, ota::Store::open(root));
  static SystemClock clock;
  ESPSEC_ASSIGN_OR_RETURN(const ota::HttpsApi* net, https());
  ESPSEC_ASSIGN_OR_RETURN(auto server, net->create_server(*store, options, clock, [](const std::string& line) {
                            fmt::print("{}\n", line);
                            std::fflush(stdout);
                          }));
  // SIGINT/SIGTERM are taken by a waiting thread so the server stops between requests.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ESPSEC_ASSIGN_OR_RETURN(const int port, server->bind());
  fmt::print("espsec update server on https://{}:{} (root {})\n", options.host, port, root.string());
  std::fflush(stdout);
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    server->stop();
  });
  server->run();
  // If run() ended for another reason, wake the waiter so it can be joined.
  pthread_kill(waiter.native_handle(), SIGTERM);
  waiter.join();
  return {};
}

Status add_product(const fs::path& root, const std::string& name, const std::string& chip,
                   const std::vector<std::string>& key_files) {
  if (chip != "esp32c3") return fail("ota.chip", "unsupported chip '{}' (esp32c3)", chip);
  ota::Product product{name, chip, !key_files.empty(), {}};
  for (const auto& file : key_files) {
    ESPSEC_ASSIGN_OR_RETURN(const Bytes pem, read_file(file));
    auto pub = crypto::PublicKey::load(pem);
    if (!pub) {
      auto priv = crypto::PrivateKey::load(pem);
      if (!priv) return fail("ota.key", "{}: not a PEM or DER public or private key", file);
      pub = priv->public_key();
    }
    auto digest = sbv2::key_digest(*pub);
    if (!digest) return std::unexpected(with_context(digest.error(), file));
    product.key_digests.push_back(to_hex(*digest));
  }
  if (product.key_digests.size() > 3) return fail("ota.keys", "Secure Boot v2 trusts at most 3 keys");
  ESPSEC_ASSIGN_OR_RETURN(auto store, ota::Store::open(root));
  ESPSEC_TRY(store->put_product(product));
  fmt::print("Product {} ({}): {}\n", name, chip,
             product.secure_boot ? fmt::format("releases must be signed by one of {} key(s)", product.key_digests.size())
                                 : "unsigned releases accepted (no Secure Boot)");
  return {};
}

Status publish_release(const fs::path& root, const std::string& product, const std::string& channel,
                       const std::string& image, const std::string& encrypt_for) {
  ESPSEC_ASSIGN_OR_RETURN(auto store, ota::Store::open(root));
  ota::PublishRequest request{product, channel, {}, std::nullopt};
  ESPSEC_ASSIGN_OR_RETURN(request.image, read_file(image));
  if (!encrypt_for.empty()) {
    ESPSEC_ASSIGN_OR_RETURN(const Bytes pem, read_file(encrypt_for));
    auto pub = crypto::PublicKey::load(pem);
    if (!pub) return fail("ota.encrypt_key", "{}: not a PEM or DER public key", encrypt_for);
    auto key = encimg::EncryptionKey::from_public_key(*pub);
    if (!key) return std::unexpected(with_context(key.error(), encrypt_for));
    request.encrypt_for = std::move(*key);
  }
  crypto::SystemRng rng;
  SystemClock clock;
  auto release = ota::publish(*store, request, rng, clock);
  if (!release) return std::unexpected(with_context(release.error(), image));
  fmt::print("Published {} {} (secure_version {}) on {}/{}: {} bytes{}, sha256 {}\n", release->project,
             release->version, release->secure_version, release->product, release->channel, release->size,
             release->encrypted ? " pre-encrypted" : "", release->sha256);
  return {};
}

Status status(const fs::path& root, const std::string& format) {
  ESPSEC_ASSIGN_OR_RETURN(auto store, ota::Store::open(root));
  ESPSEC_ASSIGN_OR_RETURN(const auto devices, store->devices());
  if (format == "json") {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& d : devices) {
      ESPSEC_ASSIGN_OR_RETURN(const auto reports, store->reports(d.id));
      nlohmann::json history = nlohmann::json::array();
      for (const auto& r : reports)
        history.push_back({{"time", r.time}, {"status", r.status}, {"version", r.version}, {"reason", r.reason}});
      out.push_back({{"id", d.id}, {"product", d.product}, {"channel", d.channel}, {"version", d.version},
                     {"secure_version", d.secure_version}, {"last_seen", d.last_seen},
                     {"last_status", d.last_status}, {"last_reason", d.last_reason}, {"reports", history}});
    }
    fmt::print("{}\n", out.dump(2));
    return {};
  }
  if (format != "text") return fail("ota.format", "unknown format '{}' (text, json)", format);
  if (devices.empty()) fmt::print("No device has checked in.\n");
  for (const auto& d : devices) {
    fmt::print("{}  {}/{}  version {} (secure {})  last: {}{}\n", d.id, d.product, d.channel, d.version,
               d.secure_version, d.last_status.empty() ? "checked in" : d.last_status,
               d.last_reason.empty() ? "" : " (" + d.last_reason + ")");
  }
  return {};
}

}  // namespace

void register_ota(CLI::App& app, Runner& runner) {
  CLI::App* ota = add_command(app, "ota", "HTTPS update server and release store");
  ota->require_subcommand(1);
  {
    auto* cmd = add_command(*ota, "serve", "Serve releases over HTTPS (TLS 1.2+)");
    auto root = std::make_shared<std::string>();
    auto options = std::make_shared<ota::ServerOptions>();
    auto cert = std::make_shared<std::string>();
    auto key = std::make_shared<std::string>();
    cmd->add_option("--root", *root, "Release store directory")->required();
    cmd->add_option("--cert", *cert, "Server certificate chain (PEM, leaf first)")->required();
    cmd->add_option("--key", *key, "Server private key (PEM)")->required();
    cmd->add_option("--host", options->host, "Address to listen on")->capture_default_str();
    cmd->add_option("--port", options->port, "TCP port (0 = any free port)")->capture_default_str();
    cmd->add_option("--threads", options->worker_threads, "Worker threads")->capture_default_str();
    cmd->add_option("--max-request-bytes", options->max_request_bytes, "Largest request body accepted")
        ->capture_default_str();
    bind(cmd, runner, [=] {
      options->certificate = *cert;
      options->private_key = *key;
      return serve(*root, *options);
    });
  }
  {
    auto* cmd = add_command(*ota, "product", "Add or update a product (chip, Secure Boot keys)");
    auto root = std::make_shared<std::string>();
    auto name = std::make_shared<std::string>();
    auto chip = std::make_shared<std::string>("esp32c3");
    auto keys = std::make_shared<std::vector<std::string>>();
    cmd->add_option("--root", *root, "Release store directory")->required();
    cmd->add_option("name", *name, "Product name")->required();
    cmd->add_option("--chip", *chip, "Target chip")->capture_default_str();
    cmd->add_option("--secure-boot-key", *keys, "Public (or private) key whose signature releases need; repeat up to 3");
    bind(cmd, runner, [=] { return add_product(*root, *name, *chip, *keys); });
  }
  {
    auto* cmd = add_command(*ota, "publish", "Check an app image and make it a channel's latest release");
    auto root = std::make_shared<std::string>();
    auto product = std::make_shared<std::string>();
    auto channel = std::make_shared<std::string>("stable");
    auto image = std::make_shared<std::string>();
    auto encrypt_for = std::make_shared<std::string>();
    cmd->add_option("--root", *root, "Release store directory")->required();
    cmd->add_option("--product", *product, "Product name")->required();
    cmd->add_option("--channel", *channel, "Channel")->capture_default_str();
    cmd->add_option("--encrypt-for", *encrypt_for,
                    "Serve it pre-encrypted (esp_encrypted_img) for this RSA-3072 or P-256 device public key");
    cmd->add_option("image", *image, "Signed app image")->required();
    bind(cmd, runner, [=] { return publish_release(*root, *product, *channel, *image, *encrypt_for); });
  }
  {
    auto* cmd = add_command(*ota, "status", "Devices, their versions and update reports");
    auto root = std::make_shared<std::string>();
    auto format = std::make_shared<std::string>("text");
    cmd->add_option("--root", *root, "Release store directory")->required();
    cmd->add_option("--format", *format, "text or json")->capture_default_str();
    bind(cmd, runner, [=] { return status(*root, *format); });
  }
}

}  // namespace espsec::cli
