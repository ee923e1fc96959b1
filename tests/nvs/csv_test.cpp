#include "nvs/csv.hpp"

#include <gtest/gtest.h>

namespace espsec::nvs {
namespace {

std::vector<CsvRow> rows(std::string_view text) {
  auto r = parse_csv(text, "t.csv");
  EXPECT_TRUE(r) << r.error().message;
  return r.value_or(std::vector<CsvRow>{});
}

TEST(NvsCsv, ColumnsAreFoundByNameAndExtraColumnsIgnored) {
  const auto r = rows("value,encoding,note,type,key\n5,u8,whatever,data,k\n");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].key, "k");
  EXPECT_EQ(r[0].type, "data");
  EXPECT_EQ(r[0].encoding, "u8");
  EXPECT_EQ(r[0].value, "5");
  EXPECT_EQ(r[0].line, 2u);
}

TEST(NvsCsv, QuotingFollowsPythonsExcelDialect) {
  const auto r = rows(
      "key,type,encoding,value\n"
      "a,data,string,\"hello, world\"\n"
      "b,data,string,\"say \"\"hi\"\"\"\n"
      "c,data,string,\"two\nlines\"\n"
      "d,data,string,\"ab\"cd\n"
      "e,data,string,x\"y\n"
      "f,data,string, spaced \n");
  ASSERT_EQ(r.size(), 6u);
  EXPECT_EQ(r[0].value, "hello, world");
  EXPECT_EQ(r[1].value, "say \"hi\"");
  EXPECT_EQ(r[2].value, "two\nlines");
  EXPECT_EQ(r[3].value, "abcd");
  EXPECT_EQ(r[4].value, "x\"y");
  EXPECT_EQ(r[5].value, " spaced ") << "no trimming";
  EXPECT_EQ(r[3].line, 6u) << "line numbers count physical lines";
}

TEST(NvsCsv, CommentLinesAreDroppedBeforeParsingEvenInsideQuotes) {
  const auto r = rows(
      "# leading comment\n"
      "key,type,encoding,value\n"
      "# between rows\n"
      "a,data,string,\"first\n"
      "#dropped\n"
      "second\"\n"
      "\n"
      "b,data,u8,1\n");
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].value, "first\nsecond");
  EXPECT_EQ(r[0].line, 4u);
  EXPECT_EQ(r[1].line, 8u);
}

TEST(NvsCsv, LineEndingsAndByteOrderMarkAreAccepted) {
  const auto r = rows("\xEF\xBB\xBFkey,type,encoding,value\r\nns,namespace,,\r\nk,data,u8,1\rz,data,u8,2");
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[1].value, "1");
  EXPECT_EQ(r[2].key, "z");
  EXPECT_EQ(r[2].line, 4u);
}

TEST(NvsCsv, ShortRowsLeaveFieldsMissing) {
  const auto r = rows("key,type,encoding,value\nns,namespace\nk,data,u8\n");
  ASSERT_EQ(r.size(), 2u);
  EXPECT_FALSE(r[0].encoding);
  EXPECT_FALSE(r[0].value);
  EXPECT_EQ(r[1].encoding, "u8");
  EXPECT_FALSE(r[1].value);
}

TEST(NvsCsv, MalformedInputIsReportedWithTheLine) {
  struct Case {
    std::string text;
    const char* code;
    const char* message;
  } cases[] = {
      {"", "csv.header", "t.csv: the file is empty"},
      {"# only a comment\n", "csv.header", "t.csv: the file is empty"},
      {"key,type,value\nk,data,1\n", "csv.header", "t.csv:1: the header must name"},
      {"key,type,encoding,value\nk,data,string,\"open\n", "csv.unterminated", "t.csv:2: a quoted field is never closed"},
      {"key,type,encoding,value\nk,data,string,a,b\n", "csv.extra_fields", "t.csv:2: 5 fields but the header names 4"},
      {"key,type,encoding,value\nk\n", "csv.missing_key", "t.csv:2: the line has no key or type field"},
      {std::string("key,type,encoding,value\nk,data,string,a\0b\n", 40), "csv.nul", "t.csv:2: the line contains a NUL"},
      {"key,type,encoding,value\nk,data,string,\xC3\x28\n", "csv.encoding", "t.csv: the file is not valid UTF-8"},
  };
  for (const auto& c : cases) {
    auto r = parse_csv(c.text, "t.csv");
    ASSERT_FALSE(r) << c.text;
    EXPECT_EQ(r.error().code, c.code) << c.text;
    EXPECT_NE(r.error().message.find(c.message), std::string::npos) << r.error().message;
  }
}

TEST(NvsCsv, Utf8ValidationRejectsWhatPythonRejects) {
  EXPECT_TRUE(is_valid_utf8("h\xC3\xA9llo \xF0\x9F\x98\x80"));
  EXPECT_FALSE(is_valid_utf8("\xC0\xAF"));          // overlong
  EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(is_valid_utf8("\xE2\x82"));          // truncated
}

}  // namespace
}  // namespace espsec::nvs
