#include "signing/sign.hpp"

#include <optional>

#include <fmt/format.h>

#include "crypto/hash.hpp"
#include "format/sbv2.hpp"
#include "signing/keys.hpp"

namespace espsec::signing {
namespace {

// Digests of the data to sign (data || 0xFF x padding), each computed at most once however
// many keys use it.
class DigestCache {
 public:
  DigestCache(ByteSpan data, size_t padding) : data_(data), padding_(padding) {}
  const Bytes& get(crypto::HashAlg alg) {
    auto& slot = alg == crypto::HashAlg::kSha384 ? sha384_ : sha256_;
    if (!slot) {
      crypto::Hasher hasher(alg);
      hasher.update(data_);
      if (padding_ != 0) hasher.update(Bytes(padding_, 0xFF));
      slot = hasher.finish();
    }
    return *slot;
  }

 private:
  ByteSpan data_;
  size_t padding_;
  std::optional<Bytes> sha256_, sha384_;
};

Result<Bytes> block_for(const crypto::PublicKey& key, ByteSpan digest, ByteSpan native_signature) {
  const sbv2::Scheme scheme = scheme_of(key);
  sbv2::SignatureBlock block;
  block.scheme = scheme;
  block.image_digest.assign(digest.begin(), digest.end());
  ESPSEC_ASSIGN_OR_RETURN(block.key_field, sbv2::key_field(key));
  ESPSEC_ASSIGN_OR_RETURN(block.signature_field, sbv2::signature_field(scheme, native_signature));
  return sbv2::serialize_block(block);
}

Result<Bytes> sign_with_key(const crypto::PrivateKey& key, DigestCache& digests) {
  const crypto::PublicKey pub = key.public_key();
  const sbv2::Scheme scheme = scheme_of(pub);
  const Bytes& digest = digests.get(sbv2::image_digest_alg(scheme));
  ESPSEC_ASSIGN_OR_RETURN(const Bytes signature, crypto::sign_digest(key, sbv2::signature_scheme(scheme), digest));
  return block_for(pub, digest, signature);
}

Result<Bytes> block_from_precalculated(const crypto::PublicKey& key, ByteSpan signature, DigestCache& digests) {
  const sbv2::Scheme scheme = scheme_of(key);
  const Bytes& digest = digests.get(sbv2::image_digest_alg(scheme));
  if (!crypto::verify_digest(key, sbv2::signature_scheme(scheme), digest, signature))
    return fail("signing.precalculated_invalid",
                "Signature verification failed: Invalid Signature. The pre-calculated signature has not been "
                "signed using the given public key.");
  return block_for(key, digest, signature);
}

}  // namespace

Result<SignedImage> sign_image(ByteSpan input, const SignRequest& request, const Report& report) {
  using sbv2::kMaxBlocks;
  using sbv2::kSectorSize;
  if (input.empty()) return fail("signing.empty_input", "Input data is empty; there is nothing to sign.");
  const bool precalculated = !request.precalculated_signatures.empty();

  SignedImage out;
  out.data_length = input.size();
  std::vector<Bytes> blocks;
  if (input.size() % kSectorSize != 0) {
    if (precalculated)
      return fail("signing.unaligned_precalculated",
                  "Secure Boot V2 requires the signature block to start from a 4KB aligned sector but the datafile "
                  "supplied is not sector aligned.");
    out.padding = kSectorSize - input.size() % kSectorSize;
    report(fmt::format("Padding data contents by {} bytes so signature sector aligns at sector boundary.", out.padding));
  } else if (request.append_signatures) {
    const ByteSpan sector = input.last(kSectorSize);
    while (blocks.size() < kMaxBlocks) {
      const auto kind = valid_block_kind(sector, blocks.size());
      if (!kind) break;
      report(fmt::format("Signature block {} is valid ({}).", blocks.size(), block_kind_word(*kind)));
      const ByteSpan raw = block_bytes(sector, blocks.size());
      blocks.emplace_back(raw.begin(), raw.end());
    }
    if (blocks.empty()) {
      report("No valid signature blocks found. Discarding --append-signature and proceeding to sign the image afresh.");
    } else {
      report(fmt::format("{} valid signature block(s) already present in the signature sector.", blocks.size()));
      if (blocks.size() == kMaxBlocks)
        return fail("signing.sector_full",
                    "Up to {} signature blocks are supported (For ESP32-ECO3 only 1 signature block is supported).",
                    kMaxBlocks);
      out.data_length -= kSectorSize;
    }
  }

  size_t key_count = request.keys.size();
  if (precalculated) {
    report("Pre-calculated signatures found...");
    key_count = request.precalculated_keys.size();
    if (request.precalculated_signatures.size() != key_count)
      return fail("signing.signature_count", "Number of public keys ({}) not equal to the number of signatures ({}).",
                  key_count, request.precalculated_signatures.size());
  }
  const size_t empty_blocks = kMaxBlocks - blocks.size();
  if (key_count > empty_blocks)
    return fail("signing.too_many_keys", "Number of keys ({}) more than the empty signature blocks ({}).", key_count,
                empty_blocks);
  if (key_count == 0) return fail("signing.no_keys", "No signing key given.");
  report(fmt::format("{} signing key(s) found.", key_count));

  DigestCache digests(input.first(out.data_length), out.padding);
  for (size_t i = 0; i < key_count; ++i) {
    auto block = precalculated ? block_from_precalculated(request.precalculated_keys[i],
                                                          request.precalculated_signatures[i], digests)
                               : sign_with_key(request.keys[i], digests);
    if (!block) return std::unexpected(std::move(block).error());
    blocks.push_back(std::move(*block));
  }
  ESPSEC_ASSIGN_OR_RETURN(out.sector, sbv2::serialize_sector(blocks));
  out.total_blocks = blocks.size();
  return out;
}

Bytes assemble(ByteSpan input, const SignedImage& signed_image) {
  Bytes image;
  image.reserve(signed_image.signed_length() + signed_image.sector.size());
  image.insert(image.end(), input.begin(), input.begin() + static_cast<std::ptrdiff_t>(signed_image.data_length));
  image.insert(image.end(), signed_image.padding, 0xFF);
  image.insert(image.end(), signed_image.sector.begin(), signed_image.sector.end());
  return image;
}

}  // namespace espsec::signing
