// The HTTPS update server (`espsec ota serve`): TLS 1.2+ only, one log line per request.
//
//   GET  /v1/products/{product}/channels/{channel}/manifest   latest release (JSON, see manifest.hpp)
//   GET  /v1/images/{sha256}.bin                              image bytes, with HTTP Range support
//   POST /v1/devices/{id}/checkin   {"product","channel","version","secure_version"}
//                                   -> {"update": bool, "manifest": {...} | null}
//   POST /v1/devices/{id}/report    {"status","version","reason"}
//   GET  /v1/devices                every device with its last status
//
// Names are validated before they reach the store or the file system (no path ever comes from
// a request), request bodies are capped, and every failure is a JSON {"error": "..."} reply.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "ota/store.hpp"

namespace espsec::ota {

struct ServerOptions {
  std::filesystem::path certificate;  // PEM chain, leaf first
  std::filesystem::path private_key;  // PEM
  std::string host = "127.0.0.1";
  int port = 8443;  // 0 = any free port
  size_t max_request_bytes = 16 * 1024;
  size_t worker_threads = 16;
};

using LogSink = std::function<void(const std::string& line)>;

class Server {
 public:
  [[nodiscard]] static Result<std::unique_ptr<Server>> create(Store& store, const ServerOptions& options,
                                                              const Clock& clock, LogSink log);
  virtual ~Server() = default;

  // Binds the listening socket; returns the port (useful with port 0).
  [[nodiscard]] virtual Result<int> bind() = 0;
  // Serves until stop(); call after bind().
  virtual void run() = 0;
  virtual void stop() = 0;
};

}  // namespace espsec::ota
