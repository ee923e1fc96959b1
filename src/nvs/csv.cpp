#include "nvs/csv.hpp"

#include <algorithm>

namespace espsec::nvs {

namespace {

}  // namespace

bool is_valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t n;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (s.size() - i <= n) return false;
    for (size_t k = 1; k <= n; ++k) {
      const auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8 (Python refuses them).
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += n + 1;
  }
  return true;
}

namespace {

struct Line {
  std::string text;  // with its '\n' (universal newlines: "\r\n" and "\r" become "\n")
  size_t number;
};

std::vector<Line> split_lines(std::string_view text) {
  std::vector<Line> lines;
  std::string cur;
  size_t number = 1;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\r' || c == '\n') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      cur.push_back('\n');
      lines.push_back({std::move(cur), number++});
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (!cur.empty()) lines.push_back({std::move(cur), number});
  return lines;
}

struct Record {
  std::vector<std::string> fields;
  size_t line;
};

// CPython Modules/_csv.c parse_process_char, excel dialect, strict = False.
Result<std::vector<Record>> read_records(const std::vector<Line>& lines, std::string_view source) {
  enum class State { kStartRecord, kStartField, kInField, kInQuoted, kQuoteInQuoted, kEatCrnl };
  std::vector<Record> records;
  Record rec;
  std::string field;
  State state = State::kStartRecord;
  auto save = [&] {
    rec.fields.push_back(std::move(field));
    field.clear();
  };
  for (const Line& line : lines) {
    if (state == State::kStartRecord) rec = Record{{}, line.number};
    // Each character of the line, then the end-of-line step of the C reader.
    for (size_t i = 0; i <= line.text.size(); ++i) {
      const bool eol = i == line.text.size();
      const char c = eol ? '\0' : line.text[i];
      if (!eol && c == '\0') return fail("csv.nul", "{}:{}: the line contains a NUL byte", source, line.number);
      switch (state) {
        case State::kStartRecord:
          if (eol) break;
          if (c == '\n') {
            state = State::kEatCrnl;
            break;
          }
          state = State::kStartField;
          [[fallthrough]];
        case State::kStartField:
          if (eol || c == '\n') {
            save();
            state = eol ? State::kStartRecord : State::kEatCrnl;
          } else if (c == '"') {
            state = State::kInQuoted;
          } else if (c == ',') {
            save();
          } else {
            field.push_back(c);
            state = State::kInField;
          }
          break;
        case State::kInField:
          if (eol || c == '\n') {
            save();
            state = eol ? State::kStartRecord : State::kEatCrnl;
          } else if (c == ',') {
            save();
            state = State::kStartField;
          } else {
            field.push_back(c);
          }
          break;
        case State::kInQuoted:
          if (eol) break;
          if (c == '"') state = State::kQuoteInQuoted;
          else field.push_back(c);
          break;
        case State::kQuoteInQuoted:
          if (!eol && c == '"') {
            field.push_back('"');
            state = State::kInQuoted;
          } else if (!eol && c == ',') {
            save();
            state = State::kStartField;
          } else if (eol || c == '\n') {
            save();
            state = eol ? State::kStartRecord : State::kEatCrnl;
          } else {
            field.push_back(c);
            state = State::kInField;
          }
          break;
        case State::kEatCrnl:
          if (eol) state = State::kStartRecord;
          break;
      }
    }
    if (state == State::kStartRecord) {
      if (!rec.fields.empty()) records.push_back(std::move(rec));
      rec = Record{};
    }
  }
  // Every line ends in an end-of-line step, so only an open quote can be left over; Python
  // would silently take the rest of the file as the field's value.
  if (state == State::kInQuoted)
    return fail("csv.unterminated", "{}:{}: a quoted field is never closed", source, rec.line);
  return records;
}

}  // namespace

Result<std::vector<CsvRow>> parse_csv(std::string_view text, std::string_view source) {
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  if (!is_valid_utf8(text)) return fail("csv.encoding", "{}: the file is not valid UTF-8 text", source);
  std::vector<Line> lines = split_lines(text);
  std::erase_if(lines, [](const Line& l) { return l.text[0] == '#'; });
  ESPSEC_ASSIGN_OR_RETURN(std::vector<Record> records, read_records(lines, source));
  if (records.empty()) return fail("csv.header", "{}: the file is empty; it needs a header line key,type,encoding,value", source);

  const Record& header = records.front();
  auto column = [&](std::string_view name) -> std::optional<size_t> {
    // DictReader maps names to the last column that carries them.
    std::optional<size_t> at;
    for (size_t i = 0; i < header.fields.size(); ++i)
      if (header.fields[i] == name) at = i;
    return at;
  };
  const auto key_col = column("key"), type_col = column("type"), enc_col = column("encoding"),
             value_col = column("value");
  if (!key_col || !type_col || !enc_col || !value_col)
    return fail("csv.header", "{}:{}: the header must name the columns key,type,encoding,value", source, header.line);

  std::vector<CsvRow> rows;
  for (size_t r = 1; r < records.size(); ++r) {
    const Record& rec = records[r];
    if (rec.fields.size() > header.fields.size())
      return fail("csv.extra_fields",
                  "{}:{}: {} fields but the header names {}; quote values that contain commas", source, rec.line,
                  rec.fields.size(), header.fields.size());
    auto get = [&](size_t col) -> std::optional<std::string> {
      if (col < rec.fields.size()) return rec.fields[col];
      return std::nullopt;
    };
    CsvRow row;
    row.line = rec.line;
    const auto key = get(*key_col);
    const auto type = get(*type_col);
    if (!key || !type) return fail("csv.missing_key", "{}:{}: the line has no key or type field", source, rec.line);
    row.key = *key;
    row.type = *type;
    row.encoding = get(*enc_col);
    row.value = get(*value_col);
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace espsec::nvs
