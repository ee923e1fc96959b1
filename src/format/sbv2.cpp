#include "format/sbv2.hpp"

#include <algorithm>

#include "crypto/crc32.hpp"

namespace espsec::sbv2 {
namespace {

constexpr size_t kRsaBytes = 384;

uint8_t curve_id(Scheme scheme) {
  switch (scheme) {
    case Scheme::kEcdsaP192: return 1;
    case Scheme::kEcdsaP256: return 2;
    case Scheme::kEcdsaP384: return 3;
    case Scheme::kRsa3072: break;
  }
  return 0;
}

size_t ec_coordinate_bytes(Scheme scheme) {
  switch (scheme) {
    case Scheme::kEcdsaP192: return 24;
    case Scheme::kEcdsaP256: return 32;
    case Scheme::kEcdsaP384: return 48;
    case Scheme::kRsa3072: break;
  }
  return 0;
}

// Width of the stored point and signature fields: P-192's 48 bytes sit in P-256's 64-byte
// slot, the 16 bytes after them zero.
size_t ec_field_bytes(Scheme scheme) { return scheme == Scheme::kEcdsaP384 ? 96 : 64; }

crypto::Curve curve_of(Scheme scheme) {
  return scheme == Scheme::kEcdsaP192   ? crypto::Curve::kP192
         : scheme == Scheme::kEcdsaP256 ? crypto::Curve::kP256
                                        : crypto::Curve::kP384;
}

// Big-endian `value` (at most `slot` bytes) as a little-endian field of `slot` bytes.
void put_le(Bytes& out, ByteSpan value_be, size_t slot) {
  Bytes le(value_be.rbegin(), value_be.rend());
  le.resize(slot, 0);
  out.insert(out.end(), le.begin(), le.end());
}

Bytes be_from_le(ByteSpan le, size_t length) { return Bytes(le.first(length).rbegin(), le.first(length).rend()); }

}  // namespace

const char* scheme_name(Scheme scheme) {
  switch (scheme) {
    case Scheme::kRsa3072: return "RSA-3072";
    case Scheme::kEcdsaP192: return "ECDSA P-192";
    case Scheme::kEcdsaP256: return "ECDSA P-256";
    case Scheme::kEcdsaP384: return "ECDSA P-384";
  }
  return "?";
}

crypto::HashAlg image_digest_alg(Scheme scheme) {
  return scheme == Scheme::kEcdsaP384 ? crypto::HashAlg::kSha384 : crypto::HashAlg::kSha256;
}

crypto::SignatureScheme signature_scheme(Scheme scheme) {
  switch (scheme) {
    case Scheme::kRsa3072: return crypto::SignatureScheme::kRsaPssSha256;
    case Scheme::kEcdsaP384: return crypto::SignatureScheme::kEcdsaSha384;
    default: return crypto::SignatureScheme::kEcdsaSha256;
  }
}

Result<Scheme> scheme_for_key(const crypto::PublicKey& key) {
  switch (key.kind()) {
    case crypto::KeyKind::kRsa:
      if (key.bits() != 3072)
        return fail("sbv2.key_size", "RSA key is {} bits; Secure Boot v2 needs RSA-3072", key.bits());
      return Scheme::kRsa3072;
    case crypto::KeyKind::kEc: {
      const auto curve = key.curve();
      if (!curve) return fail("sbv2.key_curve", "EC key is not on P-192, P-256 or P-384");
      switch (*curve) {
        case crypto::Curve::kP192: return Scheme::kEcdsaP192;
        case crypto::Curve::kP256: return Scheme::kEcdsaP256;
        case crypto::Curve::kP384: return Scheme::kEcdsaP384;
      }
      return fail("sbv2.key_curve", "EC key is not on P-192, P-256 or P-384");
    }
    default:
      return fail("sbv2.key_type", "key is neither RSA nor ECDSA; Secure Boot v2 cannot use it");
  }
}

BlockLayout block_layout(Scheme scheme) {
  switch (scheme) {
    case Scheme::kRsa3072: return {4, 32, 36, 776, 812, kRsaBytes};
    case Scheme::kEcdsaP384: return {4, 48, 52, 97, 149, 96};
    default: return {4, 32, 36, 65, 101, 64};
  }
}

Result<Bytes> key_field(const crypto::PublicKey& key) {
  ESPSEC_ASSIGN_OR_RETURN(const Scheme scheme, scheme_for_key(key));
  Bytes out;
  if (scheme == Scheme::kRsa3072) {
    const Bytes n = key.rsa_modulus();
    const Bytes e = key.rsa_exponent();
    if (e.size() > 4) return fail("sbv2.key_exponent", "RSA public exponent does not fit in 32 bits");
    ESPSEC_ASSIGN_OR_RETURN(const auto mont, crypto::rsa_montgomery(n));
    put_le(out, n, kRsaBytes);
    put_le(out, e, 4);
    put_le(out, mont.r_squared, kRsaBytes);
    uint8_t m_prime[4];
    store_le32(m_prime, mont.m_prime);
    out.insert(out.end(), m_prime, m_prime + 4);
    return out;
  }
  const Bytes point = key.ec_point();  // 04 || X || Y
  const size_t coord = ec_coordinate_bytes(scheme);
  if (point.size() != 1 + 2 * coord || point[0] != 0x04)
    return fail("sbv2.key_point", "EC public key point has an unexpected encoding");
  out.push_back(curve_id(scheme));
  put_le(out, ByteSpan(point).subspan(1, coord), coord);
  put_le(out, ByteSpan(point).subspan(1 + coord, coord), coord);
  out.resize(1 + ec_field_bytes(scheme), 0);
  return out;
}

Result<crypto::PublicKey> public_key(Scheme scheme, ByteSpan field) {
  const BlockLayout layout = block_layout(scheme);
  if (field.size() != layout.key_size)
    return fail("sbv2.key_field", "{} key field is {} bytes, expected {}", scheme_name(scheme), field.size(),
                layout.key_size);
  if (scheme == Scheme::kRsa3072) {
    const Bytes n = be_from_le(field.subspan(0, kRsaBytes), kRsaBytes);
    const Bytes e = be_from_le(field.subspan(kRsaBytes, 4), 4);
    return crypto::PublicKey::from_rsa(n, e);
  }
  if (field[0] != curve_id(scheme))
    return fail("sbv2.block_curve", "curve id {} does not match {}", field[0], scheme_name(scheme));
  const size_t coord = ec_coordinate_bytes(scheme);
  Bytes point{0x04};
  const Bytes x = be_from_le(field.subspan(1, coord), coord);
  const Bytes y = be_from_le(field.subspan(1 + coord, coord), coord);
  point.insert(point.end(), x.begin(), x.end());
  point.insert(point.end(), y.begin(), y.end());
  return crypto::PublicKey::from_ec_point(curve_of(scheme), point);
}

crypto::Sha256Digest key_digest(ByteSpan field) { return crypto::sha256(field); }

Result<crypto::Sha256Digest> key_digest(const crypto::PublicKey& key) {
  ESPSEC_ASSIGN_OR_RETURN(const Bytes field, key_field(key));
  return key_digest(field);
}

Result<Bytes> signature_field(Scheme scheme, ByteSpan native) {
  if (scheme == Scheme::kRsa3072) {
    if (native.size() != kRsaBytes)
      return fail("sbv2.signature_length", "RSA-3072 signature is {} bytes, expected 384", native.size());
    return reversed(native);
  }
  ESPSEC_ASSIGN_OR_RETURN(const auto rs, crypto::ecdsa_der_to_rs(native, ec_coordinate_bytes(scheme)));
  Bytes out;
  put_le(out, rs.r, ec_coordinate_bytes(scheme));
  put_le(out, rs.s, ec_coordinate_bytes(scheme));
  out.resize(ec_field_bytes(scheme), 0);
  return out;
}

Result<Bytes> native_signature(Scheme scheme, ByteSpan field) {
  const BlockLayout layout = block_layout(scheme);
  if (field.size() != layout.signature_size)
    return fail("sbv2.signature_length", "signature field is {} bytes, expected {}", field.size(),
                layout.signature_size);
  if (scheme == Scheme::kRsa3072) return reversed(field);
  const size_t coord = ec_coordinate_bytes(scheme);
  return crypto::ecdsa_rs_to_der(be_from_le(field.subspan(0, coord), coord),
                                 be_from_le(field.subspan(coord, coord), coord));
}

Result<SignatureBlock> parse_block(ByteSpan block) {
  if (block.size() != kBlockSize)
    return fail("sbv2.block_size", "signature block is {} bytes, expected {}", block.size(), kBlockSize);
  if (block[0] != kMagic) return fail("sbv2.block_magic", "bad magic byte 0x{:02x} (expected 0xe7)", block[0]);
  const uint32_t stored_crc = load_le32(block.data() + kCrcOffset);
  const uint32_t crc = crypto::crc32_le(0, block.first(kCrcOffset));
  if (stored_crc != crc)
    return fail("sbv2.block_crc", "CRC mismatch (stored 0x{:08x}, computed 0x{:08x})", stored_crc, crc);
  SignatureBlock out;
  if (block[1] == 0x02) {
    out.scheme = Scheme::kRsa3072;
  } else if (block[1] == 0x03) {
    const uint8_t sha_type = block[2];
    if (sha_type > 1) return fail("sbv2.block_sha_type", "unknown SHA type {}", sha_type);
    const uint8_t curve = block[sha_type == 1 ? 52 : 36];
    if (sha_type == 0 && curve == 1) out.scheme = Scheme::kEcdsaP192;
    else if (sha_type == 0 && curve == 2) out.scheme = Scheme::kEcdsaP256;
    else if (sha_type == 1 && curve == 3) out.scheme = Scheme::kEcdsaP384;
    else return fail("sbv2.block_curve", "curve id {} does not fit SHA type {}", curve, sha_type);
  } else {
    return fail("sbv2.block_version", "unknown block version {} (expected 2 for RSA or 3 for ECDSA)", block[1]);
  }
  const BlockLayout l = block_layout(out.scheme);
  out.image_digest.assign(block.begin() + static_cast<std::ptrdiff_t>(l.digest_offset),
                          block.begin() + static_cast<std::ptrdiff_t>(l.digest_offset + l.digest_size));
  out.key_field.assign(block.begin() + static_cast<std::ptrdiff_t>(l.key_offset),
                       block.begin() + static_cast<std::ptrdiff_t>(l.key_offset + l.key_size));
  out.signature_field.assign(block.begin() + static_cast<std::ptrdiff_t>(l.signature_offset),
                             block.begin() + static_cast<std::ptrdiff_t>(l.signature_offset + l.signature_size));
  return out;
}

Result<Bytes> serialize_block(const SignatureBlock& block) {
  const BlockLayout l = block_layout(block.scheme);
  if (block.image_digest.size() != l.digest_size || block.key_field.size() != l.key_size ||
      block.signature_field.size() != l.signature_size)
    return fail("sbv2.block_fields", "{} signature block fields have the wrong sizes", scheme_name(block.scheme));
  Bytes out(kBlockSize, 0);
  out[0] = kMagic;
  out[1] = block.scheme == Scheme::kRsa3072 ? 0x02 : 0x03;
  out[2] = block.scheme == Scheme::kEcdsaP384 ? 0x01 : 0x00;
  std::copy(block.image_digest.begin(), block.image_digest.end(), out.begin() + static_cast<std::ptrdiff_t>(l.digest_offset));
  std::copy(block.key_field.begin(), block.key_field.end(), out.begin() + static_cast<std::ptrdiff_t>(l.key_offset));
  std::copy(block.signature_field.begin(), block.signature_field.end(),
            out.begin() + static_cast<std::ptrdiff_t>(l.signature_offset));
  store_le32(out.data() + kCrcOffset, crypto::crc32_le(0, ByteSpan(out).first(kCrcOffset)));
  return out;
}

std::array<SectorSlot, kMaxBlocks> parse_sector(ByteSpan sector) {
  std::array<SectorSlot, kMaxBlocks> slots;
  for (size_t i = 0; i < kMaxBlocks; ++i) {
    if (sector.size() < (i + 1) * kBlockSize) {
      slots[i].problem = Error{"sbv2.sector_size", "signature sector is truncated"};
      continue;
    }
    const ByteSpan raw = sector.subspan(i * kBlockSize, kBlockSize);
    if (std::all_of(raw.begin(), raw.end(), [](uint8_t b) { return b == 0xFF; })) {
      slots[i].erased = true;
      continue;
    }
    auto block = parse_block(raw);
    if (block) slots[i].block = std::move(*block);
    else slots[i].problem = std::move(block.error());
  }
  return slots;
}

Result<Bytes> serialize_sector(std::span<const Bytes> blocks) {
  if (blocks.size() > kMaxBlocks)
    return fail("sbv2.too_many_blocks", "a signature sector holds at most {} blocks, got {}", kMaxBlocks, blocks.size());
  Bytes out(kSectorSize, 0xFF);
  for (size_t i = 0; i < blocks.size(); ++i) {
    if (blocks[i].size() != kBlockSize) return fail("sbv2.block_size", "signature block {} has the wrong size", i);
    std::copy(blocks[i].begin(), blocks[i].end(), out.begin() + static_cast<std::ptrdiff_t>(i * kBlockSize));
  }
  return out;
}

bool signature_verifies(const SignatureBlock& block) {
  auto key = public_key(block.scheme, block.key_field);
  if (!key) return false;
  auto sig = native_signature(block.scheme, block.signature_field);
  if (!sig) return false;
  return crypto::verify_digest(*key, signature_scheme(block.scheme), block.image_digest, *sig);
}

}  // namespace espsec::sbv2
