#include "common/tls_server_context.hpp"

#include <gtest/gtest.h>

namespace lb::backends {
namespace {

using namespace std::string_view_literals;

TEST(PickAlpn, Http11WhenOffered) {
  std::string_view offer = "\x02h2\x08http/1.1"sv;
  std::string_view picked = pick_alpn(offer);
  EXPECT_EQ(picked, "http/1.1");
  // A view into the client's list, as OpenSSL's select callback requires.
  EXPECT_EQ(picked.data(), offer.data() + 4);
  EXPECT_EQ(pick_alpn("\x08http/1.1"sv), "http/1.1");
}

TEST(PickAlpn, NothingWithoutHttp11) {
  EXPECT_EQ(pick_alpn(""sv), "");
  EXPECT_EQ(pick_alpn("\x02h2"sv), "");
  EXPECT_EQ(pick_alpn("\x08http/1.0"sv), "");
  EXPECT_EQ(pick_alpn("\x09http/1.1x"sv), "");  // a longer name is another protocol
}

TEST(PickAlpn, MalformedListsSelectNothing) {
  EXPECT_EQ(pick_alpn("\x00\x08http/1.1"sv), "");  // empty name
  EXPECT_EQ(pick_alpn("\x09http/1.1"sv), "");      // length past the end
  EXPECT_EQ(pick_alpn("\x02h2\x20http/1.1"sv), "");
}

TEST(PickAlpn, Http2PolicyPrefersH2WhateverTheClientsOrder) {
  constexpr auto kH2 = AlpnPolicy::h2_then_http11;
  std::string_view offer = "\x08http/1.1\x02h2"sv;
  std::string_view picked = pick_alpn(offer, kH2);
  EXPECT_EQ(picked, "h2");
  EXPECT_EQ(picked.data(), offer.data() + 10);
  EXPECT_EQ(pick_alpn("\x02h2\x08http/1.1"sv, kH2), "h2");
  EXPECT_EQ(pick_alpn("\x02h2"sv, kH2), "h2");
  EXPECT_EQ(pick_alpn("\x08http/1.1"sv, kH2), "http/1.1");
  EXPECT_EQ(pick_alpn("\x03h2c\x08http/1.1"sv, kH2), "http/1.1");
  EXPECT_EQ(pick_alpn("\x03h2c\x08http/1.0"sv, kH2), "");
  EXPECT_EQ(pick_alpn(""sv, kH2), "");
  EXPECT_EQ(pick_alpn("\x08http/1.1\x05h2"sv, kH2), "");  // malformed after http/1.1
  // The default stays what backend1 and backend2 select.
  EXPECT_EQ(pick_alpn("\x02h2\x08http/1.1"sv), "http/1.1");
  EXPECT_EQ(pick_alpn("\x02h2\x08http/1.1"sv, AlpnPolicy::http11_only), "http/1.1");
  EXPECT_EQ(pick_alpn("\x02h2"sv, AlpnPolicy::http11_only), "");
}

TEST(TlsServerContext, MissingFilesNameTheFile) {
  TlsOptions opt{true, "/nonexistent/cert.pem", "/nonexistent/key.pem"};
  try {
    make_tls_server_context(opt);
    ADD_FAILURE() << "no error";
  } catch (const TlsSetupError& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("/nonexistent/cert.pem"), std::string::npos) << what;
    EXPECT_NE(what.find("No such file or directory"), std::string::npos) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace lb::backends
