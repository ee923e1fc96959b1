#include "efuse/virtual_file.hpp"

namespace espsec::efuse {

Result<RegisterWindow> parse_virtual_file(ByteSpan file, size_t window_bytes) {
  RegisterWindow window(window_bytes);
  if (file.empty()) return window;
  if (file.size() != window_bytes)
    return fail("efuse.file_size",
                "virtual eFuse file is {} bytes; an espefuse virtual eFuse file is exactly {} bytes "
                "(empty or missing means a fresh chip)",
                file.size(), window_bytes);
  for (size_t offset = 0; offset < window_bytes; offset += 4)
    window.set_reg(offset, load_be32(file.data() + (window_bytes - 4 - offset)));
  return window;
}

Bytes serialize_virtual_file(const RegisterWindow& window) {
  const size_t n = window.size_bytes();
  Bytes file(n);
  for (size_t offset = 0; offset < n; offset += 4) store_be32(file.data() + (n - 4 - offset), window.reg(offset));
  return file;
}

}  // namespace espsec::efuse
