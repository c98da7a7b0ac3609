#include "lb/net/watchdog.hpp"

#include <gtest/gtest.h>

#include <asio/io_context.hpp>

namespace lb::net {
namespace {

using asio::ip::tcp;

TEST(Watchdog, CancelsThePendingReadWhenTheDeadlinePasses) {
  asio::io_context io;
  tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  tcp::socket client(io);
  client.connect(acceptor.local_endpoint());
  tcp::socket server = acceptor.accept();

  Watchdog dog(io.get_executor());
  dog.arm(server, std::chrono::hours(1));
  dog.arm(server, std::chrono::milliseconds(20));  // sooner: re-armed
  char byte;
  std::error_code result;
  server.async_read_some(asio::buffer(&byte, 1),
                         [&](const std::error_code& ec, std::size_t) { result = ec; });
  io.run_for(std::chrono::seconds(10));
  EXPECT_EQ(result, asio::error::operation_aborted);
  EXPECT_TRUE(dog.expired());
}

TEST(Watchdog, LaterDeadlineAndDisarmDoNotFire) {
  asio::io_context io;
  tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  tcp::socket client(io);
  client.connect(acceptor.local_endpoint());
  tcp::socket server = acceptor.accept();

  Watchdog dog(io.get_executor());
  dog.arm(server, std::chrono::milliseconds(10));
  dog.arm(server, std::chrono::hours(1));  // moved later before it fired
  asio::steady_timer t(io);
  t.expires_after(std::chrono::milliseconds(50));
  bool read_done = false;
  char byte;
  server.async_read_some(asio::buffer(&byte, 1), [&](const std::error_code&, std::size_t) {
    read_done = true;
    dog.stop();  // lets run_for return: nothing left pending
  });
  t.async_wait([&](const std::error_code&) {
    EXPECT_FALSE(read_done);
    EXPECT_FALSE(dog.expired());
    dog.disarm();
    client.close();  // completes the read with EOF
  });
  io.run_for(std::chrono::seconds(10));
  EXPECT_TRUE(read_done);
  EXPECT_FALSE(dog.expired());
}

}  // namespace
}  // namespace lb::net
