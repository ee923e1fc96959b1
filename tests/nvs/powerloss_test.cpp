// Power loss at every flash operation (the MCUboot simulator / ESP-IDF host-test method): a
// seeded random workload of sets, overwrites, type changes, erases, multi-page blobs and
// namespace creation, sized to force garbage collection again and again, is replayed once per
// flash program/erase with the power cut right there (FaultInjectingFlash), optionally with the
// cut operation half applied. After each cut the partition is reopened and every key must read
// exactly its last committed value, or for the key of the interrupted operation the value it
// was being given; nothing else. Then more writes must succeed and survive another reopen.
//
// Scale: ESPSEC_NVS_POWERLOSS_SEEDS (default 8 plain workloads, each cut both cleanly and
// torn) and ESPSEC_NVS_POWERLOSS_ENCRYPTED_SEEDS (default 2); every seed is its own test case.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <variant>

#include "chip/flash.hpp"
#include "nvs/storage.hpp"

namespace espsec::nvs {
namespace {

constexpr uint32_t kPages = 4;
// The live data the workload keeps, in entries: well below what the partition holds with
// room for a blob rewrite and garbage collection.
constexpr size_t kLiveBudget = 120;

struct Value {
  ItemType type;  // kU8, kU32, kI64, kString, kBlob
  Bytes bytes;    // little-endian scalar, string without NUL, or blob
  bool operator==(const Value&) const = default;
};

size_t entries_of(const Value& v) {
  switch (v.type) {
    case ItemType::kString: return span_for_size(v.bytes.size() + 1);
    case ItemType::kBlob: return span_for_size(v.bytes.size()) + 2;  // chunks may split, plus the index
    default: return 1;
  }
}

struct Op {
  enum Kind { kSet, kErase } kind;
  std::string ns;
  std::string key;
  Value value;
};

using Model = std::map<std::pair<std::string, std::string>, Value>;

uint32_t env_count(const char* name, uint32_t fallback) {
  const char* v = std::getenv(name);
  return v ? static_cast<uint32_t>(std::strtoul(v, nullptr, 10)) : fallback;
}

std::vector<Op> make_workload(uint32_t seed, size_t length) {
  std::mt19937 rng(seed);
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  const std::vector<std::string> namespaces = {"app", "wifi", "calib"};
  const std::vector<std::string> keys = {"boot", "count", "name", "cfg", "blob", "big", "mac", "pin", "serial"};
  Model model;
  std::vector<Op> ops;
  auto live = [&] {
    size_t n = 0;
    for (const auto& [k, v] : model) n += entries_of(v);
    return n;
  };
  while (ops.size() < length) {
    Op op;
    op.ns = namespaces[pick(namespaces.size())];
    op.key = keys[pick(keys.size())];
    const auto id = std::make_pair(op.ns, op.key);
    if (model.count(id) && pick(6) == 0) {
      op.kind = Op::kErase;
      model.erase(id);
      ops.push_back(op);
      continue;
    }
    op.kind = Op::kSet;
    const size_t roll = pick(100);
    if (roll < 20) {
      op.value = {ItemType::kU32, Bytes(4)};
      store_le32(op.value.bytes.data(), static_cast<uint32_t>(rng()));
    } else if (roll < 25) {
      op.value = {ItemType::kU8, Bytes{static_cast<uint8_t>(rng())}};
    } else if (roll < 30) {
      op.value = {ItemType::kI64, Bytes(8)};
      store_le64(op.value.bytes.data(), (uint64_t{rng()} << 32) | rng());
    } else if (roll < 75) {
      std::string s(pick(300), 'a');
      for (char& c : s) c = static_cast<char>('a' + pick(26));
      op.value = {ItemType::kString, Bytes(s.begin(), s.end())};
    } else {
      // Mostly small blobs; one in five spans pages (a chunk per page plus the index).
      const size_t size = pick(5) == 0 ? 1000 + pick(1500) : pick(400);
      op.value = {ItemType::kBlob, Bytes(size)};
      for (auto& b : op.value.bytes) b = static_cast<uint8_t>(rng());
    }
    auto before = model.find(id) == model.end() ? std::nullopt : std::optional<Value>(model[id]);
    model[id] = op.value;
    // Keep the live set small enough that garbage collection always finds room.
    if (live() + entries_of(op.value) > kLiveBudget) {
      if (before) model[id] = *before; else model.erase(id);
      continue;
    }
    ops.push_back(op);
  }
  return ops;
}

Status apply(Storage& storage, const Op& op) {
  ESPSEC_ASSIGN_OR_RETURN(Handle h, storage.open_namespace(op.ns, OpenMode::kReadWrite));
  if (op.kind == Op::kErase) return h.erase_key(op.key);
  const Bytes& b = op.value.bytes;
  switch (op.value.type) {
    case ItemType::kU8: return h.set<uint8_t>(op.key, b[0]);
    case ItemType::kU32: return h.set<uint32_t>(op.key, load_le32(b.data()));
    case ItemType::kI64: return h.set<int64_t>(op.key, static_cast<int64_t>(load_le64(b.data())));
    case ItemType::kString: return h.set_string(op.key, as_chars(b));
    default: return h.set_blob(op.key, b);
  }
}

// Every value the key has, by type. A correct partition has at most one.
std::vector<Value> observe(Storage& storage, const std::string& ns, const std::string& key) {
  std::vector<Value> out;
  auto h = storage.open_namespace(ns, OpenMode::kReadOnly);
  if (!h) {
    EXPECT_EQ(h.error().code, "nvs.not_found") << h.error().message;
    return out;
  }
  if (auto v = h->get<uint8_t>(key)) out.push_back({ItemType::kU8, Bytes{*v}});
  if (auto v = h->get<uint32_t>(key)) {
    Value val{ItemType::kU32, Bytes(4)};
    store_le32(val.bytes.data(), *v);
    out.push_back(val);
  }
  if (auto v = h->get<int64_t>(key)) {
    Value val{ItemType::kI64, Bytes(8)};
    store_le64(val.bytes.data(), static_cast<uint64_t>(*v));
    out.push_back(val);
  }
  if (auto v = h->get_string(key)) out.push_back({ItemType::kString, Bytes(v->begin(), v->end())});
  if (auto v = h->get_blob(key)) out.push_back({ItemType::kBlob, *v});
  return out;
}

std::string describe(const std::vector<Value>& values) {
  std::string s = "{";
  for (const auto& v : values)
    s += fmt::format(" {}:{}", item_type_name(v.type), to_hex(ByteSpan(v.bytes).first(std::min<size_t>(v.bytes.size(), 8))));
  return s + " }";
}

struct Universe {
  std::set<std::pair<std::string, std::string>> ids;
  explicit Universe(const std::vector<Op>& ops) {
    for (const auto& op : ops) ids.insert({op.ns, op.key});
  }
};

// Reads every key and checks it against the model; `pending` is the interrupted operation.
void verify(Storage& storage, const Universe& u, const Model& model, const Op* pending, const std::string& where) {
  for (const auto& id : u.ids) {
    const auto seen = observe(storage, id.first, id.second);
    std::vector<std::vector<Value>> allowed;
    auto committed = model.find(id);
    allowed.push_back(committed == model.end() ? std::vector<Value>{} : std::vector<Value>{committed->second});
    if (pending && pending->ns == id.first && pending->key == id.second)
      allowed.push_back(pending->kind == Op::kErase ? std::vector<Value>{} : std::vector<Value>{pending->value});
    EXPECT_TRUE(std::find(allowed.begin(), allowed.end(), seen) != allowed.end())
        << where << ": " << id.first << ":" << id.second << " reads " << describe(seen) << ", allowed "
        << describe(allowed.front()) << (allowed.size() > 1 ? " or " + describe(allowed.back()) : "");
  }
}

struct RunResult {
  bool cut_happened = false;
  uint64_t operations = 0;
};

// One replay with the power cut after `cut` flash operations; checks recovery and returns
// whether the cut fell inside the workload.
RunResult run_with_cut(const std::vector<Op>& ops, const Universe& u, std::optional<Keys>& keys, uint64_t cut,
                       bool torn, uint32_t seed) {
  chip::MemoryFlash mem(kPages * kPageSize);
  chip::FaultInjectingFlash flash(mem);
  flash.cut_power_after(cut, torn);
  Model model;
  const Op* pending = nullptr;
  {
    auto storage = Storage::open(flash, 0, flash.size(), keys ? std::optional(keys->clone()) : std::nullopt);
    if (storage) {
      for (const auto& op : ops) {
        auto s = apply(**storage, op);
        if (!s) {
          EXPECT_TRUE(flash.power_lost()) << "seed " << seed << ": " << s.error().message;
          pending = &op;
          break;
        }
        if (op.kind == Op::kErase) model.erase({op.ns, op.key});
        else model[{op.ns, op.key}] = op.value;
      }
    } else {
      EXPECT_TRUE(flash.power_lost()) << storage.error().message;
    }
  }
  RunResult result{flash.power_lost(), flash.operations()};
  if (!result.cut_happened) return result;

  const std::string where = fmt::format("seed {} cut {}{}", seed, cut, torn ? " (torn)" : "");
  auto reopened = Storage::open(mem, 0, mem.size(), keys ? std::optional(keys->clone()) : std::nullopt);
  EXPECT_TRUE(reopened) << where << ": " << reopened.error().message;
  if (!reopened) return result;
  verify(**reopened, u, model, pending, where);

  // Whatever the interrupted operation left, the partition must take new writes.
  for (const auto& id : u.ids) {
    const auto seen = observe(**reopened, id.first, id.second);
    if (seen.size() == 1) model[id] = seen.front(); else model.erase(id);
  }
  std::mt19937 rng(static_cast<uint32_t>(cut));
  for (int i = 0; i < 3; ++i) {
    const auto& base = ops[rng() % ops.size()];
    Op op{Op::kSet, base.ns, base.key, {ItemType::kU32, Bytes(4)}};
    store_le32(op.value.bytes.data(), static_cast<uint32_t>(rng()));
    auto s = apply(**reopened, op);
    EXPECT_TRUE(s) << where << ": write after recovery failed: " << s.error().message;
    model[{op.ns, op.key}] = op.value;
  }
  verify(**reopened, u, model, nullptr, where + " after new writes");
  reopened->reset();
  auto third = Storage::open(mem, 0, mem.size(), keys ? std::optional(keys->clone()) : std::nullopt);
  EXPECT_TRUE(third) << where << ": " << third.error().message;
  if (third) verify(**third, u, model, nullptr, where + " after another reopen");
  return result;
}

// Counts the sector erases of an uninterrupted run: each one is a garbage collection.
class EraseCounter final : public chip::Flash {
 public:
  explicit EraseCounter(chip::Flash& inner) : inner_(inner) {}
  uint32_t size() const override { return inner_.size(); }
  Status read(uint32_t a, MutableByteSpan out) override { return inner_.read(a, out); }
  Status program(uint32_t a, ByteSpan d) override { return inner_.program(a, d); }
  Status erase_sector(uint32_t a) override {
    ++erases;
    return inner_.erase_sector(a);
  }
  uint64_t erases = 0;

 private:
  chip::Flash& inner_;
};

uint64_t count_collections(const std::vector<Op>& ops, std::optional<Keys>& keys) {
  chip::MemoryFlash mem(kPages * kPageSize);
  EraseCounter flash(mem);
  auto storage = Storage::open(flash, 0, flash.size(), keys ? std::optional(keys->clone()) : std::nullopt);
  EXPECT_TRUE(storage);
  for (const auto& op : ops) EXPECT_TRUE(apply(**storage, op));
  return flash.erases;
}

uint64_t sweep(uint32_t seed, size_t length, std::optional<Keys> keys) {
  const auto ops = make_workload(seed, length);
  const uint64_t collections = count_collections(ops, keys);
  std::printf("[ powerloss ] seed %u: %zu operations, %llu garbage collections\n", seed, ops.size(),
              static_cast<unsigned long long>(collections));
  EXPECT_GE(collections, 3u) << "the workload must force garbage collection repeatedly";
  const Universe u(ops);
  uint64_t cuts = 0;
  for (bool torn : {false, true}) {
    for (uint64_t cut = 0;; ++cut) {
      const RunResult r = run_with_cut(ops, u, keys, cut, torn, seed);
      if (!r.cut_happened) break;
      ++cuts;
      if (::testing::Test::HasFailure()) return cuts;
    }
  }
  return cuts;
}

class NvsPowerLoss : public ::testing::TestWithParam<uint32_t> {};

TEST_P(NvsPowerLoss, EveryCutRecoversCommittedValuesAndStaysWritable) {
  const uint64_t cuts = sweep(GetParam(), 400, std::nullopt);
  RecordProperty("cut_points", static_cast<int>(cuts));
  std::printf("[ powerloss ] seed %u: %llu cut points\n", GetParam(), static_cast<unsigned long long>(cuts));
  EXPECT_GT(cuts, 500u) << "the workload must be long enough to be interesting";
}

INSTANTIATE_TEST_SUITE_P(Seeds, NvsPowerLoss,
                         ::testing::Range(1u, 1u + env_count("ESPSEC_NVS_POWERLOSS_SEEDS", 8)));

class NvsPowerLossEncrypted : public ::testing::TestWithParam<uint32_t> {};

TEST_P(NvsPowerLossEncrypted, EveryCutRecoversCommittedValuesAndStaysWritable) {
  SecretBytes key(kXtsKeySize);
  for (size_t i = 0; i < key.size(); ++i) key.expose_mutable()[i] = static_cast<uint8_t>(i * 7 + GetParam());
  auto keys = Keys::from_xts_key(std::move(key));
  ASSERT_TRUE(keys);
  const uint64_t cuts = sweep(1000 + GetParam(), 250, std::move(*keys));
  RecordProperty("cut_points", static_cast<int>(cuts));
  std::printf("[ powerloss ] encrypted seed %u: %llu cut points\n", GetParam(), static_cast<unsigned long long>(cuts));
  EXPECT_GT(cuts, 200u);
}

INSTANTIATE_TEST_SUITE_P(Seeds, NvsPowerLossEncrypted,
                         ::testing::Range(1u, 1u + env_count("ESPSEC_NVS_POWERLOSS_ENCRYPTED_SEEDS", 2)));

}  // namespace
}  // namespace espsec::nvs
