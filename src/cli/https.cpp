#include "cli/https.hpp"

#include <dlfcn.h>

#include <filesystem>

namespace espsec::cli {

Result<const ota::HttpsApi*> https() {
  static const ota::HttpsApi* api = nullptr;
  if (api) return api;
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  const auto module = (ec ? std::filesystem::path(".") : exe.parent_path()) / ota::kHttpsModuleFile;
  void* handle = dlopen(module.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle)
    return fail("cli.https_module", "cannot load the HTTPS module {} (it belongs beside the espsec binary): {}",
                module.string(), dlerror());
  using Entry = const ota::HttpsApi* (*)();
  auto entry = reinterpret_cast<Entry>(dlsym(handle, ota::kHttpsApiSymbol));
  if (!entry) return fail("cli.https_module", "{} has no {} entry point", module.string(), ota::kHttpsApiSymbol);
  api = entry();
  return api;
}

}  // namespace espsec::cli
