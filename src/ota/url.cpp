#include "ota/url.hpp"

#include <charconv>

namespace espsec::ota {

Result<Url> parse_https_url(std::string_view url) {
  constexpr std::string_view kScheme = "https://";
  if (!url.starts_with(kScheme))
    return fail("ota.url", "'{}' is not an https:// URL (updates are only fetched over TLS)", url);
  std::string_view rest = url.substr(kScheme.size());
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  Url out;
  out.path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (authority.empty() || authority.find('@') != std::string_view::npos)
    return fail("ota.url", "'{}' has no usable host", url);
  const size_t colon = authority.rfind(':');
  if (colon != std::string_view::npos && authority.find(']') == std::string_view::npos) {
    const std::string_view port = authority.substr(colon + 1);
    int value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value <= 0 || value > 65535)
      return fail("ota.url", "'{}' has a bad port", url);
    out.port = value;
    authority = authority.substr(0, colon);
  }
  out.host = std::string(authority);
  return out;
}

Result<Url> resolve(const Url& base, std::string_view reference) {
  if (reference.starts_with("https://")) return parse_https_url(reference);
  if (!reference.starts_with('/')) return fail("ota.url", "'{}' is neither an https URL nor an absolute path", reference);
  Url out = base;
  out.path = std::string(reference);
  return out;
}

}  // namespace espsec::ota
