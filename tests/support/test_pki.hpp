// TLS material for tests that run real servers on loopback, built on the certificate factory
// (tests/certs/cert_factory.hpp): a CA, server certificates valid relative to now, PEM files.
#pragma once

#include <filesystem>
#include <string>

#include "certs/cert_factory.hpp"

namespace espsec::test {

std::string pem_of(const certs::Certificate& cert);
// A P-256 CA valid from an hour ago for a year.
Issued make_ca(const std::string& common_name);
// A P-256 server certificate for `dns` / `ips`, valid [now + from_s, now + to_s], signed by `ca`.
Issued make_server_cert(const Issued& ca, const std::string& common_name, std::vector<std::string> dns,
                        std::vector<std::string> ips, int64_t from_s = -3600, int64_t to_s = 30L * 86400);

struct PemFiles {
  std::filesystem::path cert;  // leaf certificate
  std::filesystem::path key;   // PKCS#8 private key
};
PemFiles write_pem_files(const std::filesystem::path& dir, const std::string& stem, const Issued& issued);

}  // namespace espsec::test
