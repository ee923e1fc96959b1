// The update server's state: products, released images per channel, devices and their
// reports. Metadata lives in SQLite (ROOT/ota.sqlite); images are content-addressed files
// (ROOT/images/<sha256>.bin) written atomically before their release row is committed.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/bytes.hpp"
#include "core/error.hpp"
#include "ota/sqlite.hpp"

namespace espsec::ota {

struct Product {
  std::string name;
  std::string chip;                      // "esp32c3"
  bool secure_boot = false;              // releases must be signed by one of the keys below
  std::vector<std::string> key_digests;  // hex SHA-256 Secure Boot v2 key digests
};

struct Release {
  std::string product;
  std::string channel;
  std::string version;
  uint32_t secure_version = 0;
  std::string project;
  uint64_t size = 0;        // bytes served
  std::string sha256;       // hex SHA-256 of the bytes served
  bool encrypted = false;   // served as a pre-encrypted image
  uint64_t image_size = 0;  // plaintext app image
  std::string image_sha256;
  int64_t published_at = 0;
};

struct DeviceRecord {
  std::string id;
  std::string product;
  std::string channel;
  std::string version;
  uint32_t secure_version = 0;
  int64_t last_seen = 0;
  std::string last_status;
  std::string last_reason;
};

struct Report {
  std::string device;
  int64_t time = 0;
  std::string status;  // downloading, installed, valid, rolled_back, failed
  std::string version;
  std::string reason;
};

// Names that end up in URLs and paths: 1-64 of [A-Za-z0-9._-], not starting with '.' or '-'.
bool valid_name(std::string_view name);
bool valid_sha256_hex(std::string_view hex);
bool valid_status(std::string_view status);

class Store {
 public:
  [[nodiscard]] static Result<std::unique_ptr<Store>> open(const std::filesystem::path& root);

  [[nodiscard]] Status put_product(const Product& product);
  [[nodiscard]] Result<std::optional<Product>> product(const std::string& name);

  // Stores the image bytes (content-addressed) then records the release.
  [[nodiscard]] Status publish(const Release& release, ByteSpan served_bytes);
  [[nodiscard]] Result<std::optional<Release>> latest(const std::string& product, const std::string& channel);

  [[nodiscard]] Status check_in(const DeviceRecord& device);
  [[nodiscard]] Status add_report(const Report& report);
  [[nodiscard]] Result<std::vector<DeviceRecord>> devices();
  [[nodiscard]] Result<std::vector<Report>> reports(const std::string& device);

  std::filesystem::path image_path(const std::string& sha256_hex) const;
  const std::filesystem::path& root() const { return root_; }

 private:
  Store(std::filesystem::path root, sql::Database db) : root_(std::move(root)), db_(std::move(db)) {}
  std::filesystem::path root_;
  std::mutex mutex_;  // one connection shared by the server's worker threads
  sql::Database db_;
};

}  // namespace espsec::ota
