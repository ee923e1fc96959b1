// Entry point of libespsec_https.so (see ota/https_api.hpp).
#include "ota/https_api.hpp"

extern "C" __attribute__((visibility("default"))) const espsec::ota::HttpsApi* espsec_https_api() {
  static const espsec::ota::HttpsApi api{&espsec::ota::Server::create, &espsec::ota::connect_https};
  return &api;
}
