#include "certs/verify.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>

#include <array>

namespace espsec::certs {
namespace {

// mbedTLS MBEDTLS_X509_MAX_INTERMEDIATE_CA.
constexpr size_t kMaxIntermediates = 8;

struct PkeyFree { void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); } };

struct Link {
  const Certificate* cert = nullptr;
  std::optional<size_t> presented_index;  // none for the trusted CA
  bool trusted = false;
  uint32_t flags = 0;
  std::optional<size_t> bundle_entry;
};

uint32_t time_flags(const Certificate& c, int64_t now) {
  uint32_t f = 0;
  if (c.not_after() < now) f |= kFlagExpired;
  if (c.not_before() > now) f |= kFlagFuture;
  return f;
}

// mbedtls_x509_crt_profile_default: SHA-256 and above, RSA >= 2048, curves of 128-bit security.
bool key_acceptable(EVP_PKEY* key) {
  if (!key) return false;
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA: return EVP_PKEY_get_bits(key) >= 2048;
    case EVP_PKEY_EC: {
      char group[80] = {};
      size_t len = 0;
      if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &len) != 1) return false;
      const std::string_view n(group, len);
      return n == "prime256v1" || n == "secp384r1" || n == "secp521r1" || n == "brainpoolP256r1" ||
             n == "brainpoolP384r1" || n == "brainpoolP512r1";
    }
    default: return false;
  }
}

bool hash_acceptable(const Certificate& c) {
  int md = NID_undef, pk = NID_undef;
  if (X509_get_signature_info(c.native(), &md, &pk, nullptr, nullptr) != 1) return false;
  return md == NID_sha256 || md == NID_sha384 || md == NID_sha512;
}

bool is_ip_literal(const std::string& host) {
  std::array<unsigned char, 16> buf{};
  return inet_pton(AF_INET, host.c_str(), buf.data()) == 1 || inet_pton(AF_INET6, host.c_str(), buf.data()) == 1;
}

// mbedTLS x509_crt_verify_name: with any subjectAltName only the SAN entries count, else the CN.
bool hostname_matches(const Certificate& leaf, const std::string& host) {
  X509* x = leaf.native();
  if (is_ip_literal(host)) return X509_check_ip_asc(x, host.c_str(), 0) == 1;
  unsigned int flags = X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS;
  if (X509_get_ext_by_NID(x, NID_subject_alt_name, -1) >= 0) flags |= X509_CHECK_FLAG_NEVER_CHECK_SUBJECT;
  return X509_check_host(x, host.data(), host.size(), flags, nullptr) == 1;
}

uint32_t leaf_flags(const Certificate& leaf, const VerifyOptions& options) {
  uint32_t f = 0;
  if (!options.hostname.empty() && !hostname_matches(leaf, options.hostname)) f |= kFlagCnMismatch;
  X509* x = leaf.native();
  if ((X509_get_extension_flags(x) & EXFLAG_XKUSAGE) &&
      !(X509_get_extended_key_usage(x) & (XKU_SSL_SERVER | XKU_ANYEKU)))
    f |= kFlagExtKeyUsage;
  if (!key_acceptable(X509_get0_pubkey(x))) f |= kFlagBadKey;
  return f;
}

// mbedTLS x509_crt_check_parent: names match and the parent may sign certificates. A trusted
// version-1 root is accepted without extensions.
bool can_be_parent(const Certificate& child, const Certificate& parent, bool trusted) {
  X509* p = parent.native();
  if (X509_NAME_cmp(X509_get_issuer_name(child.native()), X509_get_subject_name(p)) != 0) return false;
  if (trusted && X509_get_version(p) < X509_VERSION_3) return true;
  const uint32_t ext = X509_get_extension_flags(p);
  if (!(ext & EXFLAG_CA)) return false;
  if ((ext & EXFLAG_KUSAGE) && !(X509_get_key_usage(p) & KU_KEY_CERT_SIGN)) return false;
  return true;
}

bool pathlen_allows(const Certificate& parent, size_t path_cnt, size_t self_cnt) {
  const long pathlen = X509_get_pathlen(parent.native());
  return pathlen < 0 || static_cast<size_t>(pathlen) + self_cnt >= path_cnt;
}

bool signed_by(const Certificate& child, EVP_PKEY* key) {
  const bool ok = key && X509_verify(child.native(), key) == 1;
  ERR_clear_error();
  return ok;
}

// esp_crt_check_signature: the certificate's TBS hash (SHA-1/256/384/512 only) verified with
// the bundle key by PKCS#1 v1.5 (RSA) or ECDSA; RSA-PSS and other algorithms fail.
bool bundle_signature_ok(const Certificate& c, ByteSpan spki_der) {
  int md = NID_undef, pk = NID_undef;
  if (X509_get_signature_info(c.native(), &md, &pk, nullptr, nullptr) != 1) return false;
  if (md != NID_sha1 && md != NID_sha256 && md != NID_sha384 && md != NID_sha512) return false;
  if (pk != EVP_PKEY_RSA && pk != EVP_PKEY_EC) return false;
  const unsigned char* p = spki_der.data();
  std::unique_ptr<EVP_PKEY, PkeyFree> key(d2i_PUBKEY(nullptr, &p, static_cast<long>(spki_der.size())));
  ERR_clear_error();
  return signed_by(c, key.get());
}

struct Candidate {
  const Certificate* cert = nullptr;
  std::optional<size_t> presented_index;
  bool trusted = false;
  bool signature_good = false;
};

// mbedTLS x509_crt_find_parent_in: the first acceptable candidate whose dates are valid, else
// the first acceptable one; trusted candidates must carry a good signature.
std::optional<Candidate> find_parent_in(const Certificate& child, std::span<const Candidate> candidates,
                                        size_t path_cnt, size_t self_cnt, int64_t now) {
  std::optional<Candidate> fallback;
  for (Candidate c : candidates) {
    if (!can_be_parent(child, *c.cert, c.trusted) || !pathlen_allows(*c.cert, path_cnt, self_cnt)) continue;
    c.signature_good = signed_by(child, X509_get0_pubkey(c.cert->native()));
    if (c.trusted && !c.signature_good) continue;
    if (time_flags(*c.cert, now) != 0) {
      if (!fallback) fallback = c;
      continue;
    }
    return c;
  }
  return fallback;
}

struct FlagName { uint32_t flag; const char* name; };
constexpr FlagName kFlagNames[] = {
    {kFlagExpired, "EXPIRED"},      {kFlagFuture, "FUTURE"},   {kFlagCnMismatch, "CN_MISMATCH"},
    {kFlagNotTrusted, "NOT_TRUSTED"}, {kFlagBadKey, "BAD_KEY"}, {kFlagBadMd, "BAD_MD"},
    {kFlagExtKeyUsage, "EXT_KEY_USAGE"},
};

Error failure(const std::vector<Link>& chain, const TrustAnchor& anchor, const VerifyOptions& options) {
  // The most actionable problem names the error; the message lists them all.
  const Link* first[std::size(kFlagNames)] = {};
  for (const Link& l : chain)
    for (size_t i = 0; i < std::size(kFlagNames); ++i)
      if ((l.flags & kFlagNames[i].flag) && !first[i]) first[i] = &l;
  std::string all;
  for (const Link& l : chain) {
    if (l.flags == 0) continue;
    if (!all.empty()) all += "; ";
    all += fmt::format("'{}': {}", l.cert->subject_text(), describe_flags(l.flags));
  }
  auto subject = [](const Link* l) { return l->cert->subject_text(); };
  std::string code, sentence;
  if (first[0]) {
    code = "certs.verify_expired";
    sentence = fmt::format("certificate '{}' expired at {}", subject(first[0]), format_utc(first[0]->cert->not_after()));
  } else if (first[1]) {
    code = "certs.verify_not_yet_valid";
    sentence = fmt::format("certificate '{}' is not valid before {}", subject(first[1]),
                           format_utc(first[1]->cert->not_before()));
  } else if (first[2]) {
    code = "certs.verify_hostname";
    sentence = fmt::format("the server certificate '{}' is not valid for host '{}'", subject(first[2]), options.hostname);
  } else if (first[3]) {
    code = "certs.verify_untrusted";
    sentence = anchor.kind() == TrustAnchor::Kind::kCa
                   ? fmt::format("certificate '{}' does not chain to the trusted CA '{}'", subject(first[3]),
                                 anchor.certificate()->subject_text())
                   : fmt::format("certificate '{}' has no trusted issuer", subject(first[3]));
  } else if (first[4]) {
    code = "certs.verify_weak_key";
    sentence = fmt::format("certificate '{}' or its issuer uses a key the device refuses (RSA below 2048 bits "
                           "or a curve below 128-bit security)", subject(first[4]));
  } else if (first[5]) {
    code = "certs.verify_weak_hash";
    sentence = fmt::format("certificate '{}' is signed with a hash below SHA-256", subject(first[5]));
  } else {
    code = "certs.verify_key_usage";
    sentence = fmt::format("the server certificate '{}' is not for TLS servers (extendedKeyUsage lacks serverAuth)",
                           subject(first[6]));
  }
  return Error{code, fmt::format("{} ({})", sentence, all)};
}

Verification report(const std::vector<Link>& chain) {
  Verification v;
  for (const Link& l : chain) v.chain.push_back({l.cert->subject_text(), l.flags, l.bundle_entry});
  return v;
}

Result<Verification> verify_pinned(const TrustAnchor& anchor, std::span<const Certificate> presented,
                                   const VerifyOptions& options) {
  const Certificate& leaf = presented.front();
  if (!leaf.same_as(*anchor.certificate()))
    return fail("certs.verify_not_pinned", "the server certificate '{}' is not the pinned certificate '{}'",
                leaf.subject_text(), anchor.certificate()->subject_text());
  std::vector<Link> chain{Link{&leaf, 0, true, time_flags(leaf, options.now) | leaf_flags(leaf, options), {}}};
  if (chain.front().flags != 0) return std::unexpected(failure(chain, anchor, options));
  return report(chain);
}

}  // namespace

std::string describe_flags(uint32_t flags) {
  std::string out;
  for (const FlagName& f : kFlagNames) {
    if (!(flags & f.flag)) continue;
    if (!out.empty()) out += '|';
    out += f.name;
  }
  return out.empty() ? "OK" : out;
}

Result<TrustAnchor> TrustAnchor::bundle(ByteSpan bundle_bytes, uint32_t max_certs) {
  TrustAnchor a;
  a.kind_ = Kind::kBundle;
  ESPSEC_ASSIGN_OR_RETURN(a.bundle_, parse_bundle(bundle_bytes, max_certs));
  return a;
}

TrustAnchor TrustAnchor::ca(Certificate ca_certificate) {
  TrustAnchor a;
  a.kind_ = Kind::kCa;
  a.certificate_ = std::move(ca_certificate);
  return a;
}

TrustAnchor TrustAnchor::pinned(Certificate leaf) {
  TrustAnchor a;
  a.kind_ = Kind::kPinned;
  a.certificate_ = std::move(leaf);
  return a;
}

Result<Verification> verify_chain(const TrustAnchor& anchor, std::span<const Certificate> presented,
                                  const VerifyOptions& options) {
  if (presented.empty()) return fail("certs.verify_empty_chain", "the server presented no certificate");
  if (anchor.kind() == TrustAnchor::Kind::kPinned) return verify_pinned(anchor, presented, options);

  std::vector<Link> chain{Link{&presented[0], 0, false, 0, {}}};
  size_t self_cnt = 0;
  for (;;) {
    Link& link = chain.back();
    const Certificate& child = *link.cert;
    link.flags |= time_flags(child, options.now);
    if (link.trusted) break;  // the trusted CA ends the chain
    if (!hash_acceptable(child)) link.flags |= kFlagBadMd;
    // x509_crt_check_ee_locally_trusted: the server sent the trusted self-issued certificate itself.
    if (anchor.kind() == TrustAnchor::Kind::kCa && chain.size() == 1 && child.is_self_issued() &&
        child.same_as(*anchor.certificate()))
      break;

    const size_t path_cnt = chain.size() - 1;
    std::optional<Candidate> parent;
    if (anchor.kind() == TrustAnchor::Kind::kCa) {
      const Candidate trusted[] = {Candidate{anchor.certificate(), std::nullopt, true, false}};
      parent = find_parent_in(child, trusted, path_cnt, self_cnt, options.now);
    }
    if (!parent) {
      std::vector<Candidate> later;
      for (size_t i = *link.presented_index + 1; i < presented.size(); ++i)
        later.push_back(Candidate{&presented[i], i, false, false});
      parent = find_parent_in(child, later, path_cnt, self_cnt, options.now);
    }
    if (!parent) {
      link.flags |= kFlagNotTrusted;
      break;
    }
    if (chain.size() != 1 && child.is_self_issued()) ++self_cnt;
    if (!parent->trusted && chain.size() > kMaxIntermediates)
      return fail("certs.verify_chain_too_long", "the presented chain has more than {} intermediate certificates",
                  kMaxIntermediates);
    if (!parent->signature_good) link.flags |= kFlagNotTrusted;
    if (!key_acceptable(X509_get0_pubkey(parent->cert->native()))) link.flags |= kFlagBadKey;
    chain.push_back(Link{parent->cert, parent->presented_index, parent->trusted, 0, {}});
  }
  chain.front().flags |= leaf_flags(presented[0], options);

  if (anchor.kind() == TrustAnchor::Kind::kBundle) {
    // esp_crt_verify_callback, called from the top of the chain down.
    const ParsedBundle& bundle = *anchor.bundle();
    for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
      if ((it->flags & ~static_cast<uint32_t>(kFlagBadMd)) != kFlagNotTrusted) continue;
      const Bytes issuer = it->cert->issuer_der();
      const std::optional<size_t> entry = find_issuer(bundle, issuer);
      if (!entry)
        return fail("certs.verify_no_issuer", "no certificate in the bundle is the issuer '{}' of '{}'",
                    it->cert->issuer_text(), it->cert->subject_text());
      if (!bundle_signature_ok(*it->cert, bundle.entries[*entry].entry.public_key))
        return fail("certs.verify_signature", "bundle entry {} is named '{}', the issuer of '{}', but its key "
                    "does not verify that certificate's signature (forged or re-keyed issuer)",
                    *entry, it->cert->issuer_text(), it->cert->subject_text());
      it->flags = 0;
      it->bundle_entry = entry;
    }
  }
  for (const Link& l : chain)
    if (l.flags != 0) return std::unexpected(failure(chain, anchor, options));
  return report(chain);
}

Result<Verification> verify_pem_chain(const TrustAnchor& anchor, ByteSpan pem, const VerifyOptions& options) {
  ESPSEC_ASSIGN_OR_RETURN(std::vector<Certificate> presented, Certificate::load_all(pem));
  return verify_chain(anchor, presented, options);
}

ServerVerifier::ServerVerifier(std::shared_ptr<const TrustAnchor> anchor, const Clock& clock, std::string hostname)
    : anchor_(std::move(anchor)), clock_(clock), hostname_(std::move(hostname)) {}

void ServerVerifier::install(SSL_CTX* ctx) {
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_cert_verify_callback(ctx, &ServerVerifier::openssl_callback, this);
}

Result<Verification> ServerVerifier::verify_store_ctx(X509_STORE_CTX* ctx) const {
  X509* target = X509_STORE_CTX_get0_cert(ctx);
  if (!target) return fail("certs.verify_empty_chain", "the server presented no certificate");
  std::vector<Certificate> presented{Certificate::from_native(target)};
  // A client's peer chain starts with the leaf itself.
  if (STACK_OF(X509)* untrusted = X509_STORE_CTX_get0_untrusted(ctx)) {
    for (int i = 0; i < sk_X509_num(untrusted); ++i) {
      X509* x = sk_X509_value(untrusted, i);
      if (i == 0 && X509_cmp(x, target) == 0) continue;
      presented.push_back(Certificate::from_native(x));
    }
  }
  return verify_chain(*anchor_, presented, VerifyOptions{clock_.unix_seconds(), hostname_});
}

int ServerVerifier::openssl_callback(X509_STORE_CTX* ctx, void* self) {
  auto* verifier = static_cast<ServerVerifier*>(self);
  auto result = verifier->verify_store_ctx(ctx);
  if (result) {
    verifier->last_error_.reset();
    verifier->last_verification_ = std::move(*result);
    X509_STORE_CTX_set_error(ctx, X509_V_OK);
    return 1;
  }
  const std::string& code = result.error().code;
  int err = X509_V_ERR_CERT_REJECTED;
  if (code == "certs.verify_expired") err = X509_V_ERR_CERT_HAS_EXPIRED;
  else if (code == "certs.verify_not_yet_valid") err = X509_V_ERR_CERT_NOT_YET_VALID;
  else if (code == "certs.verify_hostname") err = X509_V_ERR_HOSTNAME_MISMATCH;
  else if (code == "certs.verify_no_issuer" || code == "certs.verify_untrusted")
    err = X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY;
  else if (code == "certs.verify_signature") err = X509_V_ERR_CERT_SIGNATURE_FAILURE;
  else if (code == "certs.verify_weak_key") err = X509_V_ERR_CA_KEY_TOO_SMALL;
  else if (code == "certs.verify_weak_hash") err = X509_V_ERR_CA_MD_TOO_WEAK;
  else if (code == "certs.verify_key_usage") err = X509_V_ERR_INVALID_PURPOSE;
  else if (code == "certs.verify_chain_too_long") err = X509_V_ERR_CERT_CHAIN_TOO_LONG;
  verifier->last_verification_.reset();
  verifier->last_error_ = result.error();
  X509_STORE_CTX_set_error(ctx, err);
  return 0;
}

}  // namespace espsec::certs
