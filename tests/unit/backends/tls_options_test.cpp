#include "common/tls_options.hpp"

#include <gtest/gtest.h>

#include "backends/usage_error_of.hpp"

namespace lb::backends {
namespace {

// The options these arguments give; flags parse_tls_flag does not know are a test error.
TlsOptions parse(std::vector<std::string_view> args) {
  TlsOptions opt;
  ArgCursor cursor(std::move(args));
  while (cursor.next()) {
    if (!parse_tls_flag(cursor, opt)) {
      ADD_FAILURE() << "not a TLS flag: " << cursor.raw();
    }
  }
  check_tls_options(opt);
  return opt;
}

// The UsageError text for these arguments ("" when they parse).
std::string error_of(std::vector<std::string_view> args) {
  return usage_error_of(parse, std::move(args));
}

TEST(TlsOptions, OffByDefault) {
  TlsOptions o = parse({});
  EXPECT_FALSE(o.enabled);
  EXPECT_EQ(o.cert_file, "");
  EXPECT_EQ(o.key_file, "");
}

TEST(TlsOptions, AllThreeInAnyOrderAndEitherSpelling) {
  TlsOptions o = parse({"--key=k.pem", "--tls", "--cert", "c.pem"});
  EXPECT_TRUE(o.enabled);
  EXPECT_EQ(o.cert_file, "c.pem");
  EXPECT_EQ(o.key_file, "k.pem");
}

TEST(TlsOptions, LeavesOtherFlagsAlone) {
  TlsOptions o;
  ArgCursor args({"--port", "0"});
  ASSERT_TRUE(args.next());
  EXPECT_FALSE(parse_tls_flag(args, o));
  EXPECT_EQ(args.raw(), "--port");  // the value was not consumed
}

TEST(TlsOptions, TlsNeedsBothFiles) {
  EXPECT_EQ(error_of({"--tls"}), "--tls needs --cert FILE and --key FILE");
  EXPECT_EQ(error_of({"--tls", "--cert", "c.pem"}), "--tls needs --key FILE");
  EXPECT_EQ(error_of({"--tls", "--key", "k.pem"}), "--tls needs --cert FILE");
}

TEST(TlsOptions, FilesNeedTls) {
  EXPECT_EQ(error_of({"--cert", "c.pem"}), "--cert needs --tls");
  EXPECT_EQ(error_of({"--key", "k.pem"}), "--key needs --tls");
  EXPECT_EQ(error_of({"--cert", "c.pem", "--key", "k.pem"}), "--cert and --key need --tls");
}

TEST(TlsOptions, BadValues) {
  EXPECT_EQ(error_of({"--tls", "--cert"}), "--cert needs a value");
  EXPECT_EQ(error_of({"--tls", "--cert="}), "--cert needs a file name");
  EXPECT_EQ(error_of({"--tls=yes"}), "--tls takes no value");
}

TEST(TlsOptions, HelpNamesEveryFlag) {
  std::string help = tls_flags_help();
  for (const char* flag : {"--tls", "--cert FILE", "--key FILE"}) {
    EXPECT_NE(help.find(flag), std::string::npos) << flag;
  }
  EXPECT_EQ(help.back(), '\n');
  EXPECT_NE(help.find("ALPN http/1.1)"), std::string::npos) << help;
  EXPECT_NE(tls_flags_help("h2 or http/1.1").find("ALPN h2 or http/1.1)"), std::string::npos);
}

}  // namespace
}  // namespace lb::backends
