#include "ota_publish.hpp"

#include <fmt/format.h>

#include "core/file_io.hpp"
#include "core/rng.hpp"
#include "crypto/hash.hpp"
#include "format/image.hpp"
#include "ota/manifest.hpp"
#include "ota/store.hpp"

namespace espsec::bench {
namespace {

Status publish(const std::string& root, const std::string& product, const std::string& channel,
               const std::string& image_file) {
  ESPSEC_ASSIGN_OR_RETURN(const Bytes image, read_file(image_file));
  ESPSEC_ASSIGN_OR_RETURN(const image::ImageInfo info, image::parse_image(image));
  ESPSEC_ASSIGN_OR_RETURN(const image::AppDesc desc, image::require_app_desc(info));
  ESPSEC_ASSIGN_OR_RETURN(auto store, ota::Store::open(root));
  ESPSEC_ASSIGN_OR_RETURN(const auto known, store->product(product));
  if (!known) return fail("bench.product", "no product '{}' in {} (espsec ota product)", product, root);
  ota::Release release;
  release.product = product;
  release.channel = channel;
  release.version = desc.version;
  release.secure_version = desc.secure_version;
  release.project = desc.project_name;
  release.size = release.image_size = image.size();
  release.sha256 = release.image_sha256 = to_hex(crypto::sha256(image));
  release.published_at = SystemClock().unix_seconds();
  ESPSEC_TRY(store->publish(release, image));
  fmt::print("{}\n", ota::image_url(release));
  return {};
}

}  // namespace

int ota_publish(int argc, char** argv) {
  if (argc != 4) {
    fmt::print(stderr, "usage: espsec_bench --ota-publish ROOT PRODUCT CHANNEL IMAGE\n");
    return 2;
  }
  if (auto s = publish(argv[0], argv[1], argv[2], argv[3]); !s) {
    fmt::print(stderr, "espsec_bench: error: {}: {}\n", argv[3], s.error().message);
    return 2;
  }
  return 0;
}

}  // namespace espsec::bench
