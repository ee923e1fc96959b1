#include "ota/server.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>
#include <optional>

#include <httplib.h>
#include <nlohmann/json.hpp>
#include <openssl/ssl.h>

#include "ota/manifest.hpp"

namespace espsec::ota {
namespace {

using nlohmann::json;

void reply_error(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_content(json{{"error", message}}.dump(), "application/json");
}

void reply_json(httplib::Response& res, const json& body) { res.set_content(body.dump(), "application/json"); }

std::string iso_time(int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// An open image file shared by the chunks of one response.
struct OpenFile {
  int fd = -1;
  ~OpenFile() {
    if (fd >= 0) ::close(fd);
  }
};

// The byte window a Range header asks for, clamped to the file (RFC 9110 14.1.2): an end at or
// past the length means "to the end", as esp_https_ota's first partial request can send.
// Several ranges are refused rather than answered as multipart, which no ESP client sends.
struct Window {
  size_t offset = 0;
  size_t length = 0;
  bool partial = false;
};

std::optional<Window> requested_window(const httplib::Request& req, size_t size) {
  if (req.ranges.empty()) return Window{0, size, false};
  if (req.ranges.size() != 1) return std::nullopt;
  const auto [first, last] = req.ranges.front();
  if (first < 0) {
    if (last <= 0 || size == 0) return std::nullopt;
    const size_t n = std::min(size, static_cast<size_t>(last));
    return Window{size - n, n, true};
  }
  if (static_cast<size_t>(first) >= size) return std::nullopt;
  if (last >= 0 && last < first) return std::nullopt;
  const size_t end = last < 0 ? size - 1 : std::min(size - 1, static_cast<size_t>(last));
  return Window{static_cast<size_t>(first), end - static_cast<size_t>(first) + 1, true};
}

json parse_body(const httplib::Request& req) { return json::parse(req.body, nullptr, false); }

bool string_field(const json& j, const char* key, std::string& out, size_t max_len) {
  if (!j.contains(key) || !j[key].is_string()) return false;
  out = j[key].get<std::string>();
  return out.size() <= max_len;
}

}  // namespace

namespace {

struct State {
  Store& store;
  ServerOptions options;
  const Clock& clock;
  LogSink log;
  std::unique_ptr<httplib::SSLServer> http;
  int port = 0;

  State(Store& s, ServerOptions o, const Clock& c, LogSink l) : store(s), options(std::move(o)), clock(c), log(std::move(l)) {}

  void routes() {
    auto& svr = *http;
    svr.Get(R"(/v1/products/([^/]+)/channels/([^/]+)/manifest)",
            [this](const httplib::Request& req, httplib::Response& res) { manifest(req, res); });
    svr.Get(R"(/v1/images/([^/]+)\.bin)", [this](const httplib::Request& req, httplib::Response& res) { image(req, res); });
    svr.Post(R"(/v1/devices/([^/]+)/checkin)",
             [this](const httplib::Request& req, httplib::Response& res) { checkin(req, res); });
    svr.Post(R"(/v1/devices/([^/]+)/report)",
             [this](const httplib::Request& req, httplib::Response& res) { report(req, res); });
    svr.Get("/v1/devices", [this](const httplib::Request&, httplib::Response& res) { devices(res); });
    svr.set_error_handler([](const httplib::Request&, httplib::Response& res) {
      if (res.body.empty()) reply_error(res, res.status, fmt::format("HTTP status {}", res.status));
    });
    svr.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
      reply_error(res, 500, "internal error");
    });
    svr.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
      if (!log) return;
      log(fmt::format("{} {} {} {} {} {}", iso_time(clock.unix_seconds()), req.remote_addr, req.method, req.path,
                      res.status, req.has_header("Range") ? req.get_header_value("Range") : "-"));
    });
  }

  void manifest(const httplib::Request& req, httplib::Response& res) {
    const std::string product = req.matches[1], channel = req.matches[2];
    if (!valid_name(product) || !valid_name(channel)) return reply_error(res, 400, "malformed product or channel name");
    auto latest = store.latest(product, channel);
    if (!latest) return reply_error(res, 500, latest.error().message);
    if (!*latest) return reply_error(res, 404, "no release on this channel");
    reply_json(res, to_json(**latest));
  }

  void image(const httplib::Request& req, httplib::Response& res) {
    const std::string sha = req.matches[1];
    if (!valid_sha256_hex(sha)) return reply_error(res, 400, "malformed image name");
    auto file = std::make_shared<OpenFile>();
    file->fd = ::open(store.image_path(sha).c_str(), O_RDONLY | O_CLOEXEC);
    struct stat st {};
    if (file->fd < 0 || ::fstat(file->fd, &st) != 0) return reply_error(res, 404, "no such image");
    const auto size = static_cast<size_t>(st.st_size);
    const auto window = requested_window(req, size);
    if (!window) {
      reply_error(res, 416, "requested range not satisfiable");
      res.set_header("Content-Range", fmt::format("bytes */{}", size));
      return;
    }
    if (window->partial) {
      res.status = 206;
      res.set_header("Content-Range",
                     fmt::format("bytes {}-{}/{}", window->offset, window->offset + window->length - 1, size));
      // httplib 0.11 would apply the range again without clamping it; the window is already
      // applied, so its parsed copy is dropped (the request object is httplib's own, non-const).
      const_cast<httplib::Request&>(req).ranges.clear();
    }
    res.set_content_provider(window->length, "application/octet-stream",
                             [file, base = window->offset](size_t offset, size_t length, httplib::DataSink& sink) {
                               char buf[64 * 1024];
                               const size_t want = std::min(length, sizeof buf);
                               const ssize_t n = ::pread(file->fd, buf, want, static_cast<off_t>(base + offset));
                               if (n <= 0) return false;
                               return sink.write(buf, static_cast<size_t>(n));
                             });
  }

  void checkin(const httplib::Request& req, httplib::Response& res) {
    DeviceRecord d;
    d.id = req.matches[1];
    if (!valid_name(d.id)) return reply_error(res, 400, "malformed device id");
    const json body = parse_body(req);
    if (!body.is_object() || !string_field(body, "product", d.product, 64) ||
        !string_field(body, "channel", d.channel, 64) || !string_field(body, "version", d.version, 31) ||
        !body.contains("secure_version") || !body["secure_version"].is_number_unsigned() ||
        !valid_name(d.product) || !valid_name(d.channel))
      return reply_error(res, 400, "check-in needs product, channel, version and secure_version");
    d.secure_version = body["secure_version"].get<uint32_t>();
    d.last_seen = clock.unix_seconds();
    if (auto s = store.check_in(d); !s) return reply_error(res, 500, s.error().message);
    auto latest = store.latest(d.product, d.channel);
    if (!latest) return reply_error(res, 500, latest.error().message);
    const bool update = *latest && (*latest)->version != d.version && (*latest)->secure_version >= d.secure_version;
    reply_json(res, json{{"update", update}, {"manifest", *latest ? to_json(**latest) : json(nullptr)}});
  }

  void report(const httplib::Request& req, httplib::Response& res) {
    Report r;
    r.device = req.matches[1];
    if (!valid_name(r.device)) return reply_error(res, 400, "malformed device id");
    const json body = parse_body(req);
    if (!body.is_object() || !string_field(body, "status", r.status, 32) || !valid_status(r.status))
      return reply_error(res, 400, "report needs a status: downloading, installed, valid, rolled_back or failed");
    if (body.contains("version") && !string_field(body, "version", r.version, 31))
      return reply_error(res, 400, "report version must be a string of at most 31 bytes");
    if (body.contains("reason") && !string_field(body, "reason", r.reason, 512))
      return reply_error(res, 400, "report reason must be a string of at most 512 bytes");
    r.time = clock.unix_seconds();
    if (auto s = store.add_report(r); !s) return reply_error(res, 500, s.error().message);
    reply_json(res, json{{"recorded", true}});
  }

  void devices(httplib::Response& res) {
    auto all = store.devices();
    if (!all) return reply_error(res, 500, all.error().message);
    json out = json::array();
    for (const auto& d : *all)
      out.push_back(json{{"id", d.id}, {"product", d.product}, {"channel", d.channel}, {"version", d.version},
                         {"secure_version", d.secure_version}, {"last_seen", d.last_seen},
                         {"last_status", d.last_status}, {"last_reason", d.last_reason}});
    reply_json(res, out);
  }
};

class HttpsServer final : public Server {
 public:
  explicit HttpsServer(std::unique_ptr<State> state) : state_(std::move(state)) {}
  ~HttpsServer() override { stop(); }

  Result<int> bind() override {
    auto& http = *state_->http;
    if (state_->options.port == 0) {
      const int port = http.bind_to_any_port(state_->options.host);
      if (port <= 0) return fail("ota.bind", "cannot listen on {}", state_->options.host);
      state_->port = port;
    } else {
      if (!http.bind_to_port(state_->options.host, state_->options.port))
        return fail("ota.bind", "cannot listen on {}:{}", state_->options.host, state_->options.port);
      state_->port = state_->options.port;
    }
    return state_->port;
  }

  void run() override { state_->http->listen_after_bind(); }
  void stop() override { state_->http->stop(); }

 private:
  std::unique_ptr<State> state_;
};

}  // namespace

Result<std::unique_ptr<Server>> Server::create(Store& store, const ServerOptions& options, const Clock& clock,
                                               LogSink log) {
  auto impl = std::make_unique<State>(store, options, clock, std::move(log));
  std::string tls_error;
  const auto cert = options.certificate.string();
  const auto key = options.private_key.string();
  impl->http = std::make_unique<httplib::SSLServer>([&](SSL_CTX& ctx) {
    if (SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION) != 1) tls_error = "cannot require TLS 1.2";
    else if (SSL_CTX_use_certificate_chain_file(&ctx, cert.c_str()) != 1)
      tls_error = fmt::format("cannot load the server certificate {}", cert);
    else if (SSL_CTX_use_PrivateKey_file(&ctx, key.c_str(), SSL_FILETYPE_PEM) != 1)
      tls_error = fmt::format("cannot load the server key {}", key);
    else if (SSL_CTX_check_private_key(&ctx) != 1)
      tls_error = "the server key does not match its certificate";
    return tls_error.empty();
  });
  if (!tls_error.empty() || !impl->http->is_valid())
    return fail("ota.tls", "{}", tls_error.empty() ? "cannot set up TLS" : tls_error);
  impl->http->set_payload_max_length(options.max_request_bytes);
  impl->http->set_read_timeout(10, 0);
  impl->http->set_write_timeout(30, 0);
  // A reply goes out as several TLS records; with Nagle on, each small reply waits for the
  // client's delayed ACK (40 ms on Linux) before its last record leaves.
  impl->http->set_tcp_nodelay(true);
  const size_t threads = options.worker_threads;
  impl->http->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  impl->routes();
  return std::unique_ptr<Server>(std::make_unique<HttpsServer>(std::move(impl)));
}

}  // namespace espsec::ota
