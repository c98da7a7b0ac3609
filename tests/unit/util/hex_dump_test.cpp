#include "lb/util/hex_dump.hpp"

#include <gtest/gtest.h>

#include <string>

namespace lb::util {
namespace {

std::string dump(std::string_view data, std::size_t offset = 0) {
  std::string out;
  append_hex_dump(data, out, offset);
  return out;
}

// Expected lines are what `hexdump -C` prints for the same bytes.
TEST(HexDump, MatchesHexdumpC) {
  EXPECT_EQ(dump(std::string_view("GET / HTTP/1.1\r\n\r\nab")),
            "00000000  47 45 54 20 2f 20 48 54  54 50 2f 31 2e 31 0d 0a  |GET / HTTP/1.1..|\n"
            "00000010  0d 0a 61 62                                       |..ab|\n");
}

TEST(HexDump, ShortLinesKeepTheBarsAligned) {
  EXPECT_EQ(dump("x"), "00000000  78                                                |x|\n");
  EXPECT_EQ(dump("12345678"),
            "00000000  31 32 33 34 35 36 37 38                           |12345678|\n");
  EXPECT_EQ(dump("123456789"),
            "00000000  31 32 33 34 35 36 37 38  39                       |123456789|\n");
}

TEST(HexDump, NonPrintableBytesShowAsDots) {
  std::string bytes{'\0', '\x1f', '\x7f', '\x80', '\xff', ' ', '~'};
  EXPECT_EQ(dump(bytes), "00000000  00 1f 7f 80 ff 20 7e                              |..... ~|\n");
}

TEST(HexDump, OffsetsCountFromTheGivenStart) {
  std::string out = dump(std::string(17, 'a'), 0xfff0);
  EXPECT_EQ(out,
            "0000fff0  61 61 61 61 61 61 61 61  61 61 61 61 61 61 61 61  |aaaaaaaaaaaaaaaa|\n"
            "00010000  61                                                |a|\n");
}

TEST(HexDump, EmptyInputWritesNothing) { EXPECT_EQ(dump(""), ""); }

}  // namespace
}  // namespace lb::util
