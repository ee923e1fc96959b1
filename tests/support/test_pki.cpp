#include "support/test_pki.hpp"

#include <openssl/pem.h>

#include "core/rng.hpp"
#include "test_util.hpp"

namespace espsec::test {

std::string pem_of(const certs::Certificate& cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert.native());
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(len));
  BIO_free(bio);
  return out;
}

Issued make_ca(const std::string& common_name) {
  const int64_t now = SystemClock().unix_seconds();
  return issue(CertSpec().named(common_name).valid(now - 3600, now + 365L * 86400).as_ca(), p256_key(), nullptr);
}

Issued make_server_cert(const Issued& ca, const std::string& common_name, std::vector<std::string> dns,
                        std::vector<std::string> ips, int64_t from_s, int64_t to_s) {
  static long serial = 100;
  const int64_t now = SystemClock().unix_seconds();
  return issue(CertSpec()
                   .named(common_name)
                   .valid(now + from_s, now + to_s)
                   .dns_names(std::move(dns))
                   .ip_addresses(std::move(ips))
                   .serial_number(++serial),
               p256_key(), &ca);
}

PemFiles write_pem_files(const std::filesystem::path& dir, const std::string& stem, const Issued& issued) {
  PemFiles files{dir / (stem + ".crt.pem"), dir / (stem + ".key.pem")};
  write_bytes(files.cert, as_bytes(pem_of(issued.cert)));
  const auto key = issued.key.to_pem_pkcs8();
  write_bytes(files.key, key.expose());
  return files;
}

}  // namespace espsec::test
