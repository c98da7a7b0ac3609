#include "lb/http1/head_reader.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

namespace lb::http1 {
namespace {

void append(util::Buffer& b, std::string_view bytes) {
  ASSERT_GE(b.free_space().size(), bytes.size());
  std::memcpy(b.free_space().data(), bytes.data(), bytes.size());
  b.commit(bytes.size());
}

TEST(AdvanceHead, CompletesAcrossReadsAndGrowsUpToTheLimit) {
  Parser p(MessageKind::request, {});
  p.start();
  util::Buffer buf(16);
  std::size_t pos = 0;
  std::string head = "GET /abc HTTP/1.1\r\nHost: h\r\n\r\nrest";
  std::size_t fed = 0;
  HeadProgress step = HeadProgress::need_more;
  while (step == HeadProgress::need_more) {
    std::size_t n = std::min(buf.free_space().size(), head.size() - fed);
    append(buf, std::string_view(head).substr(fed, n));
    fed += n;
    step = advance_head(p, buf, pos, 64);
  }
  EXPECT_EQ(step, HeadProgress::complete);
  EXPECT_EQ(pos, head.size() - 4);  // the bytes after the head are not consumed
  EXPECT_EQ(buf.capacity(), 32u);   // the 30-byte head grew it once, 16 -> 32
  EXPECT_EQ(p.head().target.in(buf.base()), "/abc");
}

TEST(AdvanceHead, ReportsTooLargeAndParserErrors) {
  Parser p(MessageKind::request, {});
  p.start();
  util::Buffer buf(16);
  std::size_t pos = 0;
  append(buf, "GET /aaaaaaaaaaa");
  EXPECT_EQ(advance_head(p, buf, pos, 16), HeadProgress::too_large);

  Parser q(MessageKind::request, {});
  q.start();
  util::Buffer bad(64);
  pos = 0;
  append(bad, "GET / HTTP/1.1\r\nHost : h\r\n\r\n");
  EXPECT_EQ(advance_head(q, bad, pos, 64), HeadProgress::error);
  EXPECT_EQ(q.error(), make_error_code(errc::bad_request));
}

}  // namespace
}  // namespace lb::http1
