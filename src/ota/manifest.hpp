// The JSON manifest a channel publishes and devices read:
//   {"product": "thermostat", "channel": "stable", "version": "2.0.0", "secure_version": 2,
//    "project": "thermostat", "size": 1052672, "sha256": "<hex of the served bytes>",
//    "url": "/v1/images/<sha256>.bin", "encrypted": false,
//    "image_size": 1052672, "image_sha256": "<hex of the plaintext app image>",
//    "published_at": 1795000000}
// `url` is relative to the server that served the manifest.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "ota/store.hpp"

namespace espsec::ota {

struct Manifest {
  Release release;
  std::string url;
};

std::string image_url(const Release& release);
nlohmann::json to_json(const Release& release);
// Strict: every field present with the right type and range, names and digests well formed.
[[nodiscard]] Result<Manifest> parse_manifest(std::string_view json);

}  // namespace espsec::ota
