#include "lb/util/strings.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "lb/util/buffer.hpp"

namespace lb::util {
namespace {

TEST(Strings, CaseInsensitiveEqualsAndTrim) {
  EXPECT_TRUE(iequals("Content-Length", "content-length"));
  EXPECT_FALSE(iequals("Content-Length", "content-lengt"));
  EXPECT_EQ(trim_ows(" \t a b \t"), "a b");
  EXPECT_EQ(trim_ows("   "), "");
}

TEST(Strings, ListItemsAreTrimmedAndEmptyOnesSkipped) {
  std::vector<std::string> items;
  for_each_list_item(" close ,, X-A,x-b , ", [&](std::string_view s) {
    items.emplace_back(s);
    return true;
  });
  EXPECT_EQ(items, (std::vector<std::string>{"close", "X-A", "x-b"}));
}

TEST(Strings, FormatHex) {
  char buf[32];
  EXPECT_EQ(std::string(buf, format_hex(0, buf)), "0");
  EXPECT_EQ(std::string(buf, format_hex(255, buf)), "ff");
  EXPECT_EQ(std::string(buf, format_hex(0x10000, buf)), "10000");
}

TEST(Buffer, CommitConsumeCompactGrow) {
  Buffer b(8);
  auto space = b.free_space();
  ASSERT_EQ(space.size(), 8u);
  std::memcpy(space.data(), "abcdef", 6);
  b.commit(6);
  b.consume(4);
  EXPECT_EQ(std::string(b.data(), b.size()), "ef");
  EXPECT_EQ(b.free_space().size(), 2u);
  b.compact();
  EXPECT_EQ(b.free_space().size(), 6u);
  b.grow(16);
  EXPECT_EQ(std::string(b.data(), b.size()), "ef");
  EXPECT_EQ(b.capacity(), 16u);
  b.consume(2);
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.free_space().size(), 16u);
}

}  // namespace
}  // namespace lb::util
