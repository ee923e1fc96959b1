#include "ota/publish.hpp"

#include "boot/image_verify.hpp"
#include "crypto/hash.hpp"
#include "encimg/encrypt.hpp"
#include "format/image.hpp"

namespace espsec::ota {
namespace {

uint16_t chip_id_of(const std::string& chip) {
  return chip == "esp32c3" ? 0x0005 : 0xFFFF;
}

}  // namespace

Result<Release> publish(Store& store, const PublishRequest& request, Rng& rng, const Clock& clock) {
  ESPSEC_ASSIGN_OR_RETURN(const auto product, store.product(request.product));
  if (!product)
    return fail("ota.unknown_product", "no product '{}' (add it with espsec ota product)", request.product);
  if (!valid_name(request.channel)) return fail("ota.release_name", "invalid channel name '{}'", request.channel);

  auto info = image::parse_image(request.image);
  if (!info) return fail("ota.publish_image", "not an app image: {}", info.error().message);
  if (info->header.chip_id != chip_id_of(product->chip))
    return fail("ota.publish_chip", "the image is for chip id {}, the product is an {}", info->header.chip_id,
                product->chip);
  if (auto s = image::check_checksum(*info); !s) return fail("ota.publish_integrity", "{}", s.error().message);
  if (auto s = image::check_hash(*info); !s) return fail("ota.publish_integrity", "{}", s.error().message);
  auto desc = image::require_app_desc(*info);
  if (!desc) return fail("ota.publish_image", "{}", desc.error().message);

  if (product->secure_boot) {
    if (!info->has_signature_sector || !info->signed_digest)
      return fail("ota.publish_signature", "the product uses Secure Boot but the image is not signed");
    boot::SecureBootConfig trusted;
    for (size_t i = 0; i < product->key_digests.size() && i < boot::kDigestSlots; ++i) {
      const auto bytes = from_hex(product->key_digests[i]);
      if (!bytes || bytes->size() != 32) return fail("ota.product_keys", "product key digest {} is malformed", i);
      crypto::Sha256Digest d{};
      std::copy(bytes->begin(), bytes->end(), d.begin());
      trusted.key_digests[i] = d;
    }
    const ByteSpan sector = ByteSpan(request.image).subspan(info->signed_length, image::kSectorSize);
    if (auto match = boot::verify_signature_sector(sector, *info->signed_digest, trusted); !match)
      return fail("ota.publish_signature", "the signature does not verify with the product's keys: {}",
                  match.error().message);
  }

  ESPSEC_ASSIGN_OR_RETURN(const auto latest, store.latest(request.product, request.channel));
  if (latest && desc->secure_version < latest->secure_version)
    return fail("ota.publish_downgrade", "secure_version {} is below the channel's current {} ({})",
                desc->secure_version, latest->secure_version, latest->version);
  if (latest && desc->version == latest->version)
    return fail("ota.publish_same_version", "version {} is already the channel's latest", desc->version);

  Release r;
  r.product = request.product;
  r.channel = request.channel;
  r.version = desc->version;
  r.secure_version = desc->secure_version;
  r.project = desc->project_name;
  r.image_size = request.image.size();
  r.image_sha256 = to_hex(crypto::sha256(request.image));
  r.published_at = clock.unix_seconds();
  Bytes served;
  if (request.encrypt_for) {
    ESPSEC_ASSIGN_OR_RETURN(served, encimg::encrypt_image(request.image, *request.encrypt_for, rng));
    r.encrypted = true;
  } else {
    served = request.image;
  }
  r.size = served.size();
  r.sha256 = to_hex(crypto::sha256(served));
  ESPSEC_TRY(store.publish(r, served));
  return r;
}

}  // namespace espsec::ota
