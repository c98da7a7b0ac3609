#include <gtest/gtest.h>

#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "lb/config/cli.hpp"

namespace lb::config {
namespace {

std::string backend_error(std::string_view text) {
  try {
    parse_backend(text);
  } catch (const UsageError& e) {
    return e.what();
  } catch (...) {
    return "<exception other than UsageError>";
  }
  return "<no error>";
}

struct ProtocolCase {
  const char* text;
  const char* host;
  std::uint16_t port;
  bool tls;
  Protocol protocol;
};

TEST(BackendProtocol, SchemeAndProtoOptionChooseTheProtocol) {
  const ProtocolCase cases[] = {
      {"h2c://127.0.0.1:9003", "127.0.0.1", 9003, false, Protocol::h2},
      {"h2c://host", "host", 80, false, Protocol::h2},
      {"H2C://host:8080/", "host", 8080, false, Protocol::h2},
      {"h2c://[::1]:9003", "::1", 9003, false, Protocol::h2},
      // An explicit scheme wins over port 443, as for http://.
      {"h2c://host:443", "host", 443, false, Protocol::h2},
      {"h2c://host,proto=h2", "host", 80, false, Protocol::h2},
      {"h2c://host,proto=auto", "host", 80, false, Protocol::h2},
      {"h2c://host,tls=off", "host", 80, false, Protocol::h2},
      {"host:9001", "host", 9001, false, Protocol::automatic},
      {"host:9001,proto=auto", "host", 9001, false, Protocol::automatic},
      {"host:9001,proto=h1", "host", 9001, false, Protocol::h1},
      {"host:9001,proto=h2", "host", 9001, false, Protocol::h2},
      {"http://host,proto=h2", "host", 80, false, Protocol::h2},
      {"http://host,proto=h1", "host", 80, false, Protocol::h1},
      {"https://host", "host", 443, true, Protocol::automatic},
      {"https://host,proto=h1", "host", 443, true, Protocol::h1},
      {"https://host:8443,proto=h2", "host", 8443, true, Protocol::h2},
      {"host:443,proto=h2", "host", 443, true, Protocol::h2},
      {"https://host,proto=auto,weight=3", "host", 443, true, Protocol::automatic},
      {"host:8443,tls=on,proto=h1,sni=api.test", "host", 8443, true, Protocol::h1},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    BackendSpec b = parse_backend(c.text);
    EXPECT_EQ(b.host, c.host);
    EXPECT_EQ(b.port, c.port);
    EXPECT_EQ(b.tls.enabled, c.tls);
    EXPECT_EQ(b.protocol, c.protocol) << to_string(b.protocol);
  }
}

TEST(BackendProtocol, H2cAuthorityOmitsPort80) {
  EXPECT_EQ(parse_backend("h2c://host").authority(), "host");
  EXPECT_EQ(parse_backend("h2c://host").name(), "host:80");
  EXPECT_EQ(parse_backend("h2c://127.0.0.1:9003").authority(), "127.0.0.1:9003");
  EXPECT_EQ(parse_backend("h2c://host:443").authority(), "host:443");
}

TEST(BackendProtocol, OtherOptionsStillApplyWithH2c) {
  BackendSpec b = parse_backend("h2c://10.0.0.5:9003,weight=7");
  EXPECT_EQ(b.weight, 7u);
  EXPECT_EQ(b.protocol, Protocol::h2);
  EXPECT_FALSE(b.tls.enabled);
}

TEST(BackendProtocol, RefusedFormsSayWhy) {
  const std::pair<const char*, const char*> cases[] = {
      {"h2c://x:1,proto=h1", "h2c:// and proto=h1 contradict each other"},
      {"H2C://x,proto=h1", "h2c:// and proto=h1 contradict each other"},
      {"h2c://x:1,tls=on", "h2c:// is HTTP/2 without TLS (for HTTP/2 over TLS write https://"},
      {"host,proto=h3", R"(proto "h3" is not valid (expected auto, h1 or h2))"},
      {"host,proto=", R"(proto "" is not valid (expected auto, h1 or h2))"},
      {"host,proto=H2", R"(proto "H2" is not valid)"},
      {"host,proto=http/1.1", R"(proto "http/1.1" is not valid)"},
      {"host,proto=h2,proto=h1", R"(option "proto" is given twice)"},
      {"host,proto", R"(unknown option "proto")"},
      {"h2c://host/path", "paths are not supported (expected h2c://HOST:PORT)"},
      {"h2://host", R"(scheme "h2" is not supported (use http://, https://, h2c:// or none))"},
      {"ftp://host", R"(scheme "ftp" is not supported (use http://, https://, h2c:// or none))"},
      {"host,w=2",
       R"(unknown option "w=2" (expected weight=N, tls=on|off, sni=NAME, verify=on|off, )"
       "ca=FILE or proto=auto|h1|h2)"},
  };
  for (const auto& [text, why] : cases) {
    std::string msg = backend_error(text);
    SCOPED_TRACE(msg);
    EXPECT_EQ(msg.rfind("backend \"" + std::string(text) + "\": ", 0), 0u);
    EXPECT_NE(msg.find(why), std::string::npos) << "should contain " << why;
    EXPECT_EQ(msg.find('\n'), std::string::npos);
  }
}

TEST(BackendProtocol, ErrorThroughTheCommandLine) {
  std::vector<const char*> args = {"-b", "h2c://x:1,proto=h1"};
  try {
    parse_cli(args);
    ADD_FAILURE() << "no error";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("h2c:// and proto=h1 contradict each other"),
              std::string::npos)
        << e.what();
  }
  std::vector<const char*> ok = {"-b", "h2c://127.0.0.1:9003", "-b", "127.0.0.1:9004,proto=h1"};
  auto cfg = parse_cli(ok).config;
  ASSERT_EQ(cfg.backends.size(), 2u);
  EXPECT_EQ(cfg.backends[0].protocol, Protocol::h2);
  EXPECT_EQ(cfg.backends[1].protocol, Protocol::h1);
}

TEST(BackendProtocol, DefaultBackendsAreAutomatic) {
  std::vector<const char*> none;
  auto cfg = parse_cli(none).config;
  for (const auto& b : cfg.backends) EXPECT_EQ(b.protocol, Protocol::automatic);
  EXPECT_EQ(BackendSpec{}.protocol, Protocol::automatic);
}

TEST(BackendProtocol, AlpnListPerProtocol) {
  BackendSpec b;
  EXPECT_STREQ(b.alpn(), "h2,http/1.1");
  b.protocol = Protocol::h1;
  EXPECT_STREQ(b.alpn(), "http/1.1");
  b.protocol = Protocol::h2;
  EXPECT_STREQ(b.alpn(), "h2");
  EXPECT_STREQ(parse_backend("https://host").alpn(), "h2,http/1.1");
  EXPECT_STREQ(parse_backend("https://host,proto=h1").alpn(), "http/1.1");
  EXPECT_STREQ(parse_backend("https://host,proto=h2").alpn(), "h2");
}

TEST(BackendProtocol, ToStringMatchesTheOptionSpelling) {
  EXPECT_STREQ(to_string(Protocol::automatic), "auto");
  EXPECT_STREQ(to_string(Protocol::h1), "h1");
  EXPECT_STREQ(to_string(Protocol::h2), "h2");
}

TEST(BackendProtocol, HelpTextDescribesH2cAndProtoWithinEightyColumns) {
  std::string help(help_text());
  for (const char* s : {"h2c", "h2c://127.0.0.1:9003", "proto=auto|h1|h2", "prior knowledge",
                        "(HTTP/2 over plain TCP, default port 80)"}) {
    EXPECT_NE(help.find(s), std::string::npos) << s;
  }
  std::istringstream lines(help);
  for (std::string line; std::getline(lines, line);) {
    EXPECT_LE(line.size(), 80u) << line;
  }
}

}  // namespace
}  // namespace lb::config
