// Test-only certificates made at run time with OpenSSL: validity windows around a fixed clock,
// SANs, CA flags, path lengths, EKU, weak keys and hashes. Nothing generated is committed.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "certs/x509.hpp"
#include "crypto/pkey.hpp"

namespace espsec::test {

struct CertSpec {
  std::string cn = "device.test";
  int64_t not_before = 0;
  int64_t not_after = 0;
  bool ca = false;
  std::optional<int> pathlen;
  std::vector<std::string> dns;    // subjectAltName DNS entries
  std::vector<std::string> ips;    // subjectAltName IP entries
  std::string eku = "serverAuth";  // extendedKeyUsage value; empty = no extension
  const char* digest = "SHA256";
  long serial = 1;

  CertSpec& named(std::string v) { cn = std::move(v); return *this; }
  CertSpec& valid(int64_t from, int64_t to) { not_before = from; not_after = to; return *this; }
  CertSpec& as_ca(std::optional<int> max_path = std::nullopt) { ca = true; pathlen = max_path; return *this; }
  CertSpec& dns_names(std::vector<std::string> v) { dns = std::move(v); return *this; }
  CertSpec& ip_addresses(std::vector<std::string> v) { ips = std::move(v); return *this; }
  CertSpec& ext_key_usage(std::string v) { eku = std::move(v); return *this; }
  CertSpec& hash(const char* v) { digest = v; return *this; }
  CertSpec& serial_number(long v) { serial = v; return *this; }
};

struct Issued {
  certs::Certificate cert;
  crypto::PrivateKey key;
};

// Signed by `issuer`, or self-signed when it is null.
Issued issue(const CertSpec& spec, const crypto::PrivateKey& key, const Issued* issuer);
crypto::PrivateKey p256_key();

}  // namespace espsec::test
