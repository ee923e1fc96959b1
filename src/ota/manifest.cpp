#include "ota/manifest.hpp"

namespace espsec::ota {

std::string image_url(const Release& release) { return "/v1/images/" + release.sha256 + ".bin"; }

nlohmann::json to_json(const Release& r) {
  return nlohmann::json{{"product", r.product},           {"channel", r.channel},
                        {"version", r.version},           {"secure_version", r.secure_version},
                        {"project", r.project},           {"size", r.size},
                        {"sha256", r.sha256},             {"url", image_url(r)},
                        {"encrypted", r.encrypted},       {"image_size", r.image_size},
                        {"image_sha256", r.image_sha256}, {"published_at", r.published_at}};
}

Result<Manifest> parse_manifest(std::string_view text) {
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail("ota.manifest_json", "the manifest is not a JSON object");
  auto str = [&](const char* key) -> Result<std::string> {
    if (!j.contains(key) || !j[key].is_string()) return fail("ota.manifest_field", "manifest field '{}' is missing or not a string", key);
    return j[key].get<std::string>();
  };
  auto num = [&](const char* key, uint64_t max) -> Result<uint64_t> {
    if (!j.contains(key) || !j[key].is_number_unsigned() || j[key].get<uint64_t>() > max)
      return fail("ota.manifest_field", "manifest field '{}' is missing or out of range", key);
    return j[key].get<uint64_t>();
  };
  Manifest m;
  ESPSEC_ASSIGN_OR_RETURN(m.release.product, str("product"));
  ESPSEC_ASSIGN_OR_RETURN(m.release.channel, str("channel"));
  ESPSEC_ASSIGN_OR_RETURN(m.release.version, str("version"));
  ESPSEC_ASSIGN_OR_RETURN(m.release.project, str("project"));
  ESPSEC_ASSIGN_OR_RETURN(m.release.sha256, str("sha256"));
  ESPSEC_ASSIGN_OR_RETURN(m.release.image_sha256, str("image_sha256"));
  ESPSEC_ASSIGN_OR_RETURN(m.url, str("url"));
  ESPSEC_ASSIGN_OR_RETURN(const uint64_t secure_version, num("secure_version", 0xFFFFFFFF));
  m.release.secure_version = static_cast<uint32_t>(secure_version);
  ESPSEC_ASSIGN_OR_RETURN(m.release.size, num("size", uint64_t{1} << 32));
  ESPSEC_ASSIGN_OR_RETURN(m.release.image_size, num("image_size", uint64_t{1} << 32));
  if (!j.contains("encrypted") || !j["encrypted"].is_boolean())
    return fail("ota.manifest_field", "manifest field 'encrypted' is missing or not a boolean");
  m.release.encrypted = j["encrypted"].get<bool>();
  if (j.contains("published_at") && j["published_at"].is_number_integer())
    m.release.published_at = j["published_at"].get<int64_t>();
  if (!valid_name(m.release.product) || !valid_name(m.release.channel))
    return fail("ota.manifest_field", "manifest product or channel name is malformed");
  if (!valid_sha256_hex(m.release.sha256) || !valid_sha256_hex(m.release.image_sha256))
    return fail("ota.manifest_field", "manifest digest is not 64 lowercase hex digits");
  if (m.release.version.size() > 31) return fail("ota.manifest_field", "manifest version is longer than 31 bytes");
  if (m.url.empty()) return fail("ota.manifest_field", "manifest url is empty");
  return m;
}

}  // namespace espsec::ota
