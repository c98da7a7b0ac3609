#include "lb/net/endpoint.hpp"

#include <asio/ip/v6_only.hpp>

namespace lb::net {

std::vector<asio::ip::tcp::endpoint> resolve(const std::string& host, std::uint16_t port,
                                             std::error_code& ec) {
  asio::io_context io;
  asio::ip::tcp::resolver resolver(io);
  auto results = resolver.resolve(host, std::to_string(port), ec);
  std::vector<asio::ip::tcp::endpoint> out;
  if (ec) return out;
  for (const auto& r : results) out.push_back(r.endpoint());
  return out;
}

std::string address_text(const asio::ip::tcp::endpoint& ep) {
  auto addr = ep.address();
  if (addr.is_v6() && addr.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6()).to_string();
  }
  return addr.to_string();
}

std::string endpoint_text(const asio::ip::tcp::endpoint& ep) {
  std::string a = address_text(ep);
  if (a.find(':') != std::string::npos) a = "[" + a + "]";
  return a + ":" + std::to_string(ep.port());
}

asio::ip::tcp::acceptor listen(asio::io_context& io, const std::string& address, std::uint16_t port,
                               int backlog) {
  asio::ip::tcp::endpoint ep(asio::ip::make_address(address), port);
  asio::ip::tcp::acceptor acceptor(io);
  acceptor.open(ep.protocol());
  acceptor.set_option(asio::ip::tcp::acceptor::reuse_address(true));
  if (ep.address().is_v6() && ep.address().is_unspecified()) {
    acceptor.set_option(asio::ip::v6_only(false));
  }
  acceptor.bind(ep);
  acceptor.listen(backlog);
  return acceptor;
}

}  // namespace lb::net
