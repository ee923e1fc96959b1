#include "certs/x509.hpp"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <charconv>
#include <ctime>

namespace espsec::certs {
namespace {

struct BioFree { void operator()(BIO* b) const { BIO_free(b); } };
using BioPtr = std::unique_ptr<BIO, BioFree>;
struct PkeyFree { void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); } };

std::shared_ptr<X509> own(X509* x) { return std::shared_ptr<X509>(x, X509_free); }

BioPtr mem_bio(ByteSpan data) { return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size()))); }

template <class T, class Encode>
Bytes encode(const T* object, Encode encode_fn) {
  unsigned char* der = nullptr;
  const int len = encode_fn(object, &der);
  if (len <= 0) return {};
  Bytes out(der, der + len);
  OPENSSL_free(der);
  return out;
}

Bytes name_der(const X509_NAME* name) {
  return encode(name, [](const X509_NAME* n, unsigned char** out) { return i2d_X509_NAME(n, out); });
}

std::string name_text(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  // RFC 2253/4514 order and escaping, but UTF-8 printed as is (pyca's rfc4514_string does too).
  const unsigned long flags = XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB;
  if (X509_NAME_print_ex(bio.get(), name, 0, flags) < 0) return {};
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

int64_t asn1_time_unix(const ASN1_TIME* t) {
  std::tm tm{};
  if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return static_cast<int64_t>(timegm(&tm));
}

bool is_pem_text(ByteSpan data) { return as_chars(data).find("-----BEGIN ") != std::string_view::npos; }

}  // namespace

Result<Certificate> Certificate::from_der(ByteSpan der) {
  ERR_clear_error();
  const unsigned char* p = der.data();
  X509* x = d2i_X509(nullptr, &p, static_cast<long>(der.size()));
  ERR_clear_error();
  if (!x) return fail("certs.parse", "not a DER X.509 certificate");
  auto owned = own(x);
  if (p != der.data() + der.size())
    return fail("certs.trailing_data", "{} bytes follow the DER certificate", der.data() + der.size() - p);
  return Certificate(std::move(owned));
}

Result<Certificate> Certificate::from_pem(ByteSpan pem) {
  ERR_clear_error();
  auto bio = mem_bio(pem);
  X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
  ERR_clear_error();
  if (!x) return fail("certs.parse", "no valid PEM CERTIFICATE block");
  return Certificate(own(x));
}

Result<std::vector<Certificate>> Certificate::load_all(ByteSpan data) {
  std::vector<Certificate> out;
  if (!is_pem_text(data)) {
    ESPSEC_ASSIGN_OR_RETURN(Certificate c, from_der(data));
    out.push_back(std::move(c));
    return out;
  }
  ERR_clear_error();
  auto bio = mem_bio(data);
  for (;;) {
    X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
    if (x) {
      out.push_back(Certificate(own(x)));
      continue;
    }
    const unsigned long err = ERR_peek_last_error();
    ERR_clear_error();
    // Running out of BEGIN lines ends the file; anything else is a broken block.
    if (ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE) break;
    return fail("certs.parse", "PEM certificate {} is not a valid X.509 certificate", out.size() + 1);
  }
  if (out.empty()) return fail("certs.no_certificate", "no CERTIFICATE block found");
  return out;
}

Certificate Certificate::from_native(X509* x509) {
  X509_up_ref(x509);
  return Certificate(own(x509));
}

Bytes Certificate::der() const {
  return encode(x509_.get(), [](const X509* x, unsigned char** out) { return i2d_X509(x, out); });
}

Bytes Certificate::subject_der() const { return name_der(X509_get_subject_name(x509_.get())); }
Bytes Certificate::issuer_der() const { return name_der(X509_get_issuer_name(x509_.get())); }

Bytes Certificate::public_key_der() const {
  EVP_PKEY* key = X509_get0_pubkey(x509_.get());
  if (!key) return {};
  return encode(key, [](const EVP_PKEY* k, unsigned char** out) { return i2d_PUBKEY(k, out); });
}

Result<crypto::PublicKey> Certificate::public_key() const {
  const Bytes der = public_key_der();
  if (der.empty()) return fail("certs.public_key", "the certificate's public key cannot be decoded");
  return crypto::PublicKey::load(der);
}

std::string Certificate::subject_text() const { return name_text(X509_get_subject_name(x509_.get())); }
std::string Certificate::issuer_text() const { return name_text(X509_get_issuer_name(x509_.get())); }
int64_t Certificate::not_before() const { return asn1_time_unix(X509_get0_notBefore(x509_.get())); }
int64_t Certificate::not_after() const { return asn1_time_unix(X509_get0_notAfter(x509_.get())); }

bool Certificate::is_self_issued() const {
  return X509_NAME_cmp(X509_get_issuer_name(x509_.get()), X509_get_subject_name(x509_.get())) == 0;
}

bool Certificate::same_as(const Certificate& other) const { return der() == other.der(); }

std::string name_der_text(ByteSpan name_der) {
  const unsigned char* p = name_der.data();
  X509_NAME* name = d2i_X509_NAME(nullptr, &p, static_cast<long>(name_der.size()));
  ERR_clear_error();
  if (!name) return "<invalid name>";
  std::string text = name_text(name);
  X509_NAME_free(name);
  return text;
}

std::string key_description(ByteSpan spki_der) {
  const unsigned char* p = spki_der.data();
  std::unique_ptr<EVP_PKEY, PkeyFree> key(d2i_PUBKEY(nullptr, &p, static_cast<long>(spki_der.size())));
  ERR_clear_error();
  if (!key) return "invalid";
  switch (EVP_PKEY_get_base_id(key.get())) {
    case EVP_PKEY_RSA: return fmt::format("RSA-{}", EVP_PKEY_get_bits(key.get()));
    case EVP_PKEY_EC: {
      char group[80] = {};
      size_t len = 0;
      if (EVP_PKEY_get_utf8_string_param(key.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &len) != 1)
        return "EC";
      const std::string_view name(group, len);
      // SEC 2 names, as pyca/cryptography prints curves.
      if (name == "prime256v1") return "EC-secp256r1";
      if (name == "prime192v1") return "EC-secp192r1";
      return fmt::format("EC-{}", name);
    }
    case EVP_PKEY_ED25519: return "Ed25519";
    case EVP_PKEY_ED448: return "Ed448";
    default: return "unknown";
  }
}

std::string format_utc(int64_t unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                     tm.tm_min, tm.tm_sec);
}

Result<int64_t> parse_utc(std::string_view text) {
  auto bad = [&] {
    return fail("certs.date", "'{}' is not a date: use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC)", text);
  };
  auto number = [&](size_t at, size_t width, int& out) {
    if (at + width > text.size()) return false;
    for (size_t i = at; i < at + width; ++i)
      if (text[i] < '0' || text[i] > '9') return false;
    return std::from_chars(text.data() + at, text.data() + at + width, out).ec == std::errc{};
  };
  std::tm tm{};
  int year = 0, month = 0, day = 0;
  if (!number(0, 4, year) || text.size() < 10 || text[4] != '-' || !number(5, 2, month) || text[7] != '-' ||
      !number(8, 2, day))
    return bad();
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  if (text.size() != 10) {
    if (text.size() != 20 || text[10] != 'T' || text[13] != ':' || text[16] != ':' || text[19] != 'Z' ||
        !number(11, 2, tm.tm_hour) || !number(14, 2, tm.tm_min) || !number(17, 2, tm.tm_sec))
      return bad();
  }
  const std::tm given = tm;
  const std::time_t t = timegm(&tm);
  // timegm normalises out-of-range fields (Feb 30 -> Mar 2); a real date survives unchanged.
  if (tm.tm_year != given.tm_year || tm.tm_mon != given.tm_mon || tm.tm_mday != given.tm_mday ||
      tm.tm_hour != given.tm_hour || tm.tm_min != given.tm_min || tm.tm_sec != given.tm_sec)
    return bad();
  return static_cast<int64_t>(t);
}

}  // namespace espsec::certs
