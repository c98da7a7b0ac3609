#include "fault/response_head.hpp"

#include <gtest/gtest.h>

namespace lb::fault {
namespace {

TEST(FaultResponseHead, LinesInOrder) {
  HeadSpec s;
  s.status = 503;
  s.server = "fb";
  s.request_number = 3;
  s.content_type = "text/plain";
  s.content_length = 24;
  s.connection = "close";
  s.extra = "Allow: GET\r\nX-A: b\r\n";
  std::vector<std::string> want{"HTTP/1.1 503 Service Unavailable\r\n",
                                "Server: fb\r\n",
                                "X-Fault-Request: 3\r\n",
                                "Content-Type: text/plain\r\n",
                                "Content-Length: 24\r\n",
                                "Connection: close\r\n",
                                "Allow: GET\r\n",
                                "X-A: b\r\n",
                                "\r\n"};
  EXPECT_EQ(head_lines(s), want);
}

TEST(FaultResponseHead, OptionalFieldsLeftOut) {
  HeadSpec s;
  s.server = "fb";
  s.chunked = true;
  EXPECT_EQ(head_text(s), "HTTP/1.1 200 OK\r\nServer: fb\r\nTransfer-Encoding: chunked\r\n\r\n");
  s.chunked = false;
  EXPECT_EQ(head_text(s), "HTTP/1.1 200 OK\r\nServer: fb\r\n\r\n");
}

TEST(FaultResponseHead, ReasonsAndBodies) {
  EXPECT_EQ(reason_phrase(200), "OK");
  EXPECT_EQ(reason_phrase(404), "Not Found");
  EXPECT_EQ(reason_phrase(429), "Too Many Requests");
  EXPECT_EQ(reason_phrase(599), "Unknown");
  EXPECT_FALSE(status_has_body(204));
  EXPECT_FALSE(status_has_body(304));
  EXPECT_FALSE(status_has_body(101));
  EXPECT_TRUE(status_has_body(200));
  EXPECT_TRUE(status_has_body(503));
}

}  // namespace
}  // namespace lb::fault
