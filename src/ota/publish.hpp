// Adding a release to a channel (`espsec ota publish`): the server refuses what no device of the
// product may run, before anyone can download it.
//   - a well-formed app image for the product's chip, checksum and SHA-256 intact;
//   - with Secure Boot: a Secure Boot v2 signature by one of the product's keys;
//   - secure_version not below the channel's latest (a channel never offers a downgrade);
//   - optionally pre-encrypted for the devices (esp_encrypted_img, RSA-3072 or ECIES P-256).
#pragma once

#include <optional>
#include <string>

#include "core/bytes.hpp"
#include "core/error.hpp"
#include "core/rng.hpp"
#include "encimg/keys.hpp"
#include "ota/store.hpp"

namespace espsec::ota {

struct PublishRequest {
  std::string product;
  std::string channel;
  Bytes image;                                     // the plaintext app image
  std::optional<encimg::EncryptionKey> encrypt_for;  // serve it pre-encrypted for this key
};

// Codes: ota.unknown_product, ota.publish_image, ota.publish_chip, ota.publish_integrity,
// ota.publish_signature, ota.publish_downgrade, ota.publish_same_version, plus store errors.
[[nodiscard]] Result<Release> publish(Store& store, const PublishRequest& request, Rng& rng, const Clock& clock);

}  // namespace espsec::ota
