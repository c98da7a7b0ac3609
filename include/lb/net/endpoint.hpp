#pragma once

#include <asio/ip/tcp.hpp>
#include <string>
#include <system_error>
#include <vector>

namespace lb::net {

// Resolves host:port to addresses (blocking; start-up only). Empty with ec set on failure.
std::vector<asio::ip::tcp::endpoint> resolve(const std::string& host, std::uint16_t port,
                                             std::error_code& ec);

// "1.2.3.4" or "::1": the address alone, as X-Forwarded-For wants it.
std::string address_text(const asio::ip::tcp::endpoint& ep);
// "1.2.3.4:80" or "[::1]:80".
std::string endpoint_text(const asio::ip::tcp::endpoint& ep);

// A listening socket on address:port (port 0 = OS chooses), SO_REUSEADDR, backlog `backlog`.
// IPv6 "::" also accepts IPv4 (dual stack). Throws std::system_error naming the address.
asio::ip::tcp::acceptor listen(asio::io_context& io, const std::string& address, std::uint16_t port,
                               int backlog = 4096);

}  // namespace lb::net
