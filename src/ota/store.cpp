#include "ota/store.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "core/file_io.hpp"

namespace espsec::ota {
namespace {

constexpr std::string_view kSchema = R"sql(
PRAGMA journal_mode = WAL;
CREATE TABLE IF NOT EXISTS products(
  name TEXT PRIMARY KEY, chip TEXT NOT NULL, secure_boot INTEGER NOT NULL, key_digests TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS releases(
  id INTEGER PRIMARY KEY AUTOINCREMENT, product TEXT NOT NULL, channel TEXT NOT NULL,
  version TEXT NOT NULL, secure_version INTEGER NOT NULL, project TEXT NOT NULL,
  size INTEGER NOT NULL, sha256 TEXT NOT NULL, encrypted INTEGER NOT NULL,
  image_size INTEGER NOT NULL, image_sha256 TEXT NOT NULL, published_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS releases_by_channel ON releases(product, channel, id);
CREATE TABLE IF NOT EXISTS devices(
  id TEXT PRIMARY KEY, product TEXT NOT NULL, channel TEXT NOT NULL, version TEXT NOT NULL,
  secure_version INTEGER NOT NULL, last_seen INTEGER NOT NULL,
  last_status TEXT NOT NULL DEFAULT '', last_reason TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS reports(
  id INTEGER PRIMARY KEY AUTOINCREMENT, device TEXT NOT NULL, time INTEGER NOT NULL,
  status TEXT NOT NULL, version TEXT NOT NULL, reason TEXT NOT NULL);
)sql";

constexpr std::string_view kReleaseColumns =
    "product, channel, version, secure_version, project, size, sha256, encrypted, image_size, image_sha256, "
    "published_at";

Release release_from(const sql::Statement& s) {
  Release r;
  r.product = s.text(0);
  r.channel = s.text(1);
  r.version = s.text(2);
  r.secure_version = static_cast<uint32_t>(s.integer(3));
  r.project = s.text(4);
  r.size = static_cast<uint64_t>(s.integer(5));
  r.sha256 = s.text(6);
  r.encrypted = s.integer(7) != 0;
  r.image_size = static_cast<uint64_t>(s.integer(8));
  r.image_sha256 = s.text(9);
  r.published_at = s.integer(10);
  return r;
}

}  // namespace

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > 64 || name[0] == '.' || name[0] == '-') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
  });
}

bool valid_sha256_hex(std::string_view hex) {
  return hex.size() == 64 &&
         std::all_of(hex.begin(), hex.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool valid_status(std::string_view status) {
  for (std::string_view s : {"checked_in", "downloading", "installed", "valid", "rolled_back", "failed"})
    if (status == s) return true;
  return false;
}

Result<std::unique_ptr<Store>> Store::open(const std::filesystem::path& root) {
  std::error_code ec;
  std::filesystem::create_directories(root / "images", ec);
  if (ec) return fail("ota.store_dir", "cannot create {}: {}", (root / "images").string(), ec.message());
  ESPSEC_ASSIGN_OR_RETURN(auto db, sql::Database::open(root / "ota.sqlite"));
  ESPSEC_TRY(db.exec(kSchema));
  return std::unique_ptr<Store>(new Store(root, std::move(db)));
}

Status Store::put_product(const Product& p) {
  if (!valid_name(p.name)) return fail("ota.product_name", "invalid product name '{}'", p.name);
  std::lock_guard lock(mutex_);
  ESPSEC_ASSIGN_OR_RETURN(auto st, db_.prepare("INSERT INTO products(name, chip, secure_boot, key_digests) "
                                               "VALUES(?1, ?2, ?3, ?4) ON CONFLICT(name) DO UPDATE SET "
                                               "chip = ?2, secure_boot = ?3, key_digests = ?4"));
  st.bind(1, p.name).bind(2, p.chip).bind(3, int64_t{p.secure_boot}).bind(4, nlohmann::json(p.key_digests).dump());
  ESPSEC_TRY(st.step());
  return {};
}

Result<std::optional<Product>> Store::product(const std::string& name) {
  std::lock_guard lock(mutex_);
  ESPSEC_ASSIGN_OR_RETURN(auto st, db_.prepare("SELECT name, chip, secure_boot, key_digests FROM products WHERE name = ?1"));
  st.bind(1, name);
  ESPSEC_ASSIGN_OR_RETURN(const bool row, st.step());
  if (!row) return std::optional<Product>();
  Product p;
  p.name = st.text(0);
  p.chip = st.text(1);
  p.secure_boot = st.integer(2) != 0;
  const auto digests = nlohmann::json::parse(st.text(3), nullptr, false);
  if (digests.is_array())
    for (const auto& d : digests)
      if (d.is_string()) p.key_digests.push_back(d.get<std::string>());
  return std::optional<Product>(std::move(p));
}

std::filesystem::path Store::image_path(const std::string& sha256_hex) const {
  return root_ / "images" / (sha256_hex + ".bin");
}

Status Store::publish(const Release& r, ByteSpan served_bytes) {
  if (!valid_name(r.product) || !valid_name(r.channel))
    return fail("ota.release_name", "invalid product or channel name");
  if (!valid_sha256_hex(r.sha256)) return fail("ota.release_sha", "invalid release digest");
  // The file goes first: a crash between the two leaves an unreferenced file, never a
  // release that points at nothing.
  ESPSEC_TRY(write_file_atomic(image_path(r.sha256), served_bytes));
  std::lock_guard lock(mutex_);
  ESPSEC_ASSIGN_OR_RETURN(
      auto st, db_.prepare(fmt::format("INSERT INTO releases({}) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                                       kReleaseColumns)));
  st.bind(1, r.product).bind(2, r.channel).bind(3, r.version).bind(4, int64_t{r.secure_version}).bind(5, r.project);
  st.bind(6, static_cast<int64_t>(r.size)).bind(7, r.sha256).bind(8, int64_t{r.encrypted});
  st.bind(9, static_cast<int64_t>(r.image_size)).bind(10, r.image_sha256).bind(11, r.published_at);
  ESPSEC_TRY(st.step());
  return {};
}

Result<std::optional<Release>> Store::latest(const std::string& product, const std::string& channel) {
  std::lock_guard lock(mutex_);
  ESPSEC_ASSIGN_OR_RETURN(
      auto st, db_.prepare(fmt::format("SELECT {} FROM releases WHERE product = ?1 AND channel = ?2 "
                                       "ORDER BY id DESC LIMIT 1",
                                       kReleaseColumns)));
  st.bind(1, product).bind(2, channel);
  ESPSEC_ASSIGN_OR_RETURN(const bool row, st.step());
  if (!row) return std::optional<Release>();
  return std::optional<Release>(release_from(st));
}

Status Store::check_in(const DeviceRecord& d) {
  if (!valid_name(d.id)) return fail("ota.device_id", "invalid device id");
  std::lock_guard lock(mutex_);
  ESPSEC_ASSIGN_OR_RETURN(
      auto st, db_.prepare("INSERT INTO devices(id, product, channel, version, secure_version, last_seen) "
                           "VALUES(?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(id) DO UPDATE SET product = ?2, channel = ?3, "
                           "version = ?4, secure_version = ?5, last_seen = ?6"));
  st.bind(1, d.id).bind(2, d.product).bind(3, d.channel).bind(4, d.version);
  st.bind(5, int64_t{d.secure_version}).bind(6, d.last_seen);
  ESPSEC_TRY(st.step());
  return {};
}

Status Store::add_report(const Report& r) {
  if (!valid_name(r.device)) return fail("ota.device_id", "invalid device id");
  if (!valid_status(r.status)) return fail("ota.report_status", "unknown status '{}'", r.status);
  std::lock_guard lock(mutex_);
  ESPSEC_TRY(db_.exec("BEGIN"));
  auto insert = db_.prepare("INSERT INTO reports(device, time, status, version, reason) VALUES(?1, ?2, ?3, ?4, ?5)");
  auto update = db_.prepare("UPDATE devices SET last_status = ?2, last_reason = ?3, last_seen = ?4 WHERE id = ?1");
  if (!insert || !update) {
    (void)db_.exec("ROLLBACK");
    return std::unexpected(!insert ? insert.error() : update.error());
  }
  insert->bind(1, r.device).bind(2, r.time).bind(3, r.status).bind(4, r.version).bind(5, r.reason);
  update->bind(1, r.device).bind(2, r.status).bind(3, r.reason).bind(4, r.time);
  if (auto s = insert->step(); !s) {
    (void)db_.exec("ROLLBACK");
    return std::unexpected(s.error());
  }
  if (auto s = update->step(); !s) {
    (void)db_.exec("ROLLBACK");
    return std::unexpected(s.error());
  }
  return db_.exec("COMMIT");
}

Result<std::vector<DeviceRecord>> Store::devices() {
  std::lock_guard lock(mutex_);
  ESPSEC_ASSIGN_OR_RETURN(auto st, db_.prepare("SELECT id, product, channel, version, secure_version, last_seen, "
                                               "last_status, last_reason FROM devices ORDER BY id"));
  std::vector<DeviceRecord> out;
  for (;;) {
    ESPSEC_ASSIGN_OR_RETURN(const bool row, st.step());
    if (!row) break;
    DeviceRecord d;
    d.id = st.text(0);
    d.product = st.text(1);
    d.channel = st.text(2);
    d.version = st.text(3);
    d.secure_version = static_cast<uint32_t>(st.integer(4));
    d.last_seen = st.integer(5);
    d.last_status = st.text(6);
    d.last_reason = st.text(7);
    out.push_back(std::move(d));
  }
  return out;
}

Result<std::vector<Report>> Store::reports(const std::string& device) {
  std::lock_guard lock(mutex_);
  ESPSEC_ASSIGN_OR_RETURN(
      auto st, db_.prepare("SELECT device, time, status, version, reason FROM reports WHERE device = ?1 ORDER BY id"));
  st.bind(1, device);
  std::vector<Report> out;
  for (;;) {
    ESPSEC_ASSIGN_OR_RETURN(const bool row, st.step());
    if (!row) break;
    out.push_back(Report{st.text(0), st.integer(1), st.text(2), st.text(3), st.text(4)});
  }
  return out;
}

}  // namespace espsec::ota
