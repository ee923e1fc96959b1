// Test-only X.509 material made at run time: a CA and leaf certificates with chosen names and
// validity, written as PEM files for TLS servers and clients on loopback.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "crypto/pkey.hpp"

namespace espsec::test {

struct IssuedCert {
  crypto::PrivateKey key;
  std::string cert_pem;
};

struct CertSpec {
  std::string common_name;
  std::vector<std::string> dns_names;  // subjectAltName DNS entries
  std::vector<std::string> ip_addresses;
  long not_before_offset_s = -3600;  // relative to now
  long not_after_offset_s = 30L * 24 * 3600;
  bool is_ca = false;
};

IssuedCert make_self_signed_ca(const std::string& common_name);
IssuedCert issue_cert(const IssuedCert& issuer, const CertSpec& spec);

// Writes key and certificate (leaf then issuer chain) as PEM files; returns {cert, key} paths.
std::pair<std::filesystem::path, std::filesystem::path> write_pem_pair(const std::filesystem::path& dir,
                                                                       const std::string& stem,
                                                                       const IssuedCert& cert,
                                                                       const std::string& chain_pem = {});

}  // namespace espsec::test
