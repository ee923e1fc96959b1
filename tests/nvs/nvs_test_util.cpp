#include "nvs/nvs_test_util.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "test_util.hpp"

namespace espsec::nvs::test {

std::vector<ExpectedItem> read_expected(const std::filesystem::path& path) {
  std::vector<ExpectedItem> out;
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto j = nlohmann::json::parse(line);
    ExpectedItem e;
    e.ns = j.at("ns").get<std::string>();
    e.key = j.at("key").get<std::string>();
    e.type = j.at("type").get<int>();
    e.kind = j.at("kind").get<std::string>();
    if (e.kind == "int") {
      const auto& v = j.at("value");
      e.int_value = v.is_number_unsigned() ? static_cast<int64_t>(v.get<uint64_t>()) : v.get<int64_t>();
    } else {
      e.hex = j.at("value").get<std::string>();
    }
    if (j.contains("iterable")) e.iterable = j.at("iterable").get<bool>();
    out.push_back(e);
  }
  return out;
}

namespace {

Result<int64_t> read_int(Handle& h, ItemType type, const std::string& key) {
  switch (type) {
    case ItemType::kU8: { ESPSEC_ASSIGN_OR_RETURN(auto v, h.get<uint8_t>(key)); return int64_t(v); }
    case ItemType::kI8: { ESPSEC_ASSIGN_OR_RETURN(auto v, h.get<int8_t>(key)); return int64_t(v); }
    case ItemType::kU16: { ESPSEC_ASSIGN_OR_RETURN(auto v, h.get<uint16_t>(key)); return int64_t(v); }
    case ItemType::kI16: { ESPSEC_ASSIGN_OR_RETURN(auto v, h.get<int16_t>(key)); return int64_t(v); }
    case ItemType::kU32: { ESPSEC_ASSIGN_OR_RETURN(auto v, h.get<uint32_t>(key)); return int64_t(v); }
    case ItemType::kI32: { ESPSEC_ASSIGN_OR_RETURN(auto v, h.get<int32_t>(key)); return int64_t(v); }
    case ItemType::kU64: { ESPSEC_ASSIGN_OR_RETURN(auto v, h.get<uint64_t>(key)); return static_cast<int64_t>(v); }
    case ItemType::kI64: { ESPSEC_ASSIGN_OR_RETURN(auto v, h.get<int64_t>(key)); return v; }
    default: return fail("test.type", "not an integer type");
  }
}

}  // namespace

void expect_contents(Storage& storage, const std::vector<ExpectedItem>& expected) {
  std::map<std::pair<std::string, std::string>, int> want_iterated;
  for (const auto& e : expected) {
    SCOPED_TRACE(e.ns + ":" + e.key);
    auto h = storage.open_namespace(e.ns, OpenMode::kReadOnly);
    ASSERT_TRUE(h) << h.error().message;
    const auto type = static_cast<ItemType>(e.type);
    if (e.kind == "int") {
      auto v = read_int(*h, type, e.key);
      ASSERT_TRUE(v) << v.error().message;
      EXPECT_EQ(*v, e.int_value);
    } else if (e.kind == "string") {
      auto v = h->get_string(e.key);
      ASSERT_TRUE(v) << v.error().message;
      std::string with_nul = *v;
      with_nul.push_back('\0');
      EXPECT_EQ(to_hex(as_bytes(with_nul)), e.hex);
    } else {
      auto v = h->get_blob(e.key);
      ASSERT_TRUE(v) << v.error().message;
      EXPECT_EQ(to_hex(*v), e.hex);
    }
    if (e.iterable) want_iterated[{e.ns, e.key}] = e.type;
  }
  auto listed = storage.entries();
  ASSERT_TRUE(listed) << listed.error().message;
  std::map<std::pair<std::string, std::string>, int> got;
  for (const auto& info : *listed) got[{info.ns, info.key}] = static_cast<int>(info.type);
  EXPECT_EQ(got, want_iterated);
}

Status apply_ops(Storage& storage, const std::filesystem::path& script, const std::filesystem::path& base) {
  std::ifstream in(script);
  if (!in) return fail("test.ops", "cannot open {}", script.string());
  std::optional<Handle> h;
  std::string line;
  auto need = [&]() -> Status {
    if (!h) return fail("test.ops", "operation before any ns line");
    return {};
  };
  auto number = [](const std::string& s) { return std::stoull(s, nullptr, 0); };
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream words(line);
    std::string op, key;
    words >> op;
    if (op == "ns") {
      words >> key;
      ESPSEC_ASSIGN_OR_RETURN(auto opened, storage.open_namespace(key, OpenMode::kReadWrite));
      h.emplace(std::move(opened));
      continue;
    }
    ESPSEC_TRY(need());
    words >> key;
    std::string arg;
    if (op == "str") {
      std::getline(words, arg);
      if (!arg.empty() && arg[0] == ' ') arg.erase(0, 1);
      ESPSEC_TRY(h->set_string(key, arg));
    } else if (op == "blobfile") {
      words >> arg;
      ESPSEC_TRY(h->set_blob(key, espsec::test::read_bytes(base / arg)));
    } else if (op == "erase") {
      ESPSEC_TRY(h->erase_key(key));
    } else if (op == "u8") {
      words >> arg;
      ESPSEC_TRY(h->set<uint8_t>(key, static_cast<uint8_t>(number(arg))));
    } else if (op == "i8") {
      words >> arg;
      ESPSEC_TRY(h->set<int8_t>(key, static_cast<int8_t>(std::stoll(arg, nullptr, 0))));
    } else if (op == "u16") {
      words >> arg;
      ESPSEC_TRY(h->set<uint16_t>(key, static_cast<uint16_t>(number(arg))));
    } else if (op == "u32") {
      words >> arg;
      ESPSEC_TRY(h->set<uint32_t>(key, static_cast<uint32_t>(number(arg))));
    } else if (op == "i32") {
      words >> arg;
      ESPSEC_TRY(h->set<int32_t>(key, static_cast<int32_t>(std::stoll(arg, nullptr, 0))));
    } else if (op == "u64") {
      words >> arg;
      ESPSEC_TRY(h->set<uint64_t>(key, number(arg)));
    } else if (op == "keys_u32") {
      // keys_u32 PREFIX N: PREFIX000.. = 1000 + i
      std::string count;
      words >> count;
      for (uint32_t i = 0; i < std::stoul(count); ++i)
        ESPSEC_TRY(h->set<uint32_t>(fmt::format("{}{:03d}", key, i), 1000 + i));
    } else if (op == "loop_u32") {
      std::string start, count;
      words >> start >> count;
      for (uint32_t i = 0; i < std::stoul(count); ++i)
        ESPSEC_TRY(h->set<uint32_t>(key, static_cast<uint32_t>(std::stoul(start) + i)));
    } else {
      return fail("test.ops", "unknown operation '{}'", op);
    }
  }
  return {};
}

Result<std::unique_ptr<Storage>> open_whole(chip::Flash& flash, std::optional<Keys> keys, OpenOptions options) {
  return Storage::open(flash, 0, flash.size(), std::move(keys), options);
}

std::string first_difference(ByteSpan a, ByteSpan b) {
  if (a.size() != b.size()) return fmt::format("sizes differ: {} vs {}", a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i] != b[i])
      return fmt::format("first difference at 0x{:x} (page {}, entry {}): {:02x} vs {:02x}", i, i / 4096,
                         (static_cast<int>(i % 4096) - 64) / 32, a[i], b[i]);
  return "identical";
}

}  // namespace espsec::nvs::test
