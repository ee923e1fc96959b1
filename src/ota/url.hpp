// HTTPS URLs as the OTA agent accepts them.
#pragma once

#include <string>
#include <string_view>

#include "core/error.hpp"

namespace espsec::ota {

struct Url {
  std::string host;
  int port = 443;
  std::string path;  // begins with '/'
};

// https://host[:port]/path only ("ota.url" otherwise: the agent never speaks plain HTTP).
[[nodiscard]] Result<Url> parse_https_url(std::string_view url);
// `reference` (absolute https URL or absolute path) resolved against `base`.
[[nodiscard]] Result<Url> resolve(const Url& base, std::string_view reference);

}  // namespace espsec::ota
