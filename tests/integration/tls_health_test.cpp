// Active health checks of TLS backends: the probe speaks TLS, verifies like a request does,
// and a verification failure marks the backend down with the reason.
#include <gtest/gtest.h>

#include "tls_support.hpp"

namespace it {
namespace {

TEST(TlsHealth, ProbesGoOverTlsAndPass) {
  const TestPki& pki = test_pki();
  auto up = https_upstream(pki.good, "ok");
  auto lb = start_balancer({https_backend(up->port())}, {"--ca", pki.ca_file(), "--health-interval",
                                                         "50ms", "--health-path", "/health"});
  // Several probes, each a TLS connection of its own.
  ASSERT_TRUE(wait_until([&] { return up->requests().size() >= 3; })) << lb->log();
  for (const auto& m : up->requests()) EXPECT_EQ(m.target, "/health");
  EXPECT_GE(up->connections(), 3u);
  EXPECT_EQ(up->handshake_failures(), 0u);
  // Later probes resume the session the first one got.
  EXPECT_GE(up->resumed_handshakes(), 1u);
  EXPECT_EQ(lb->log().find("is down"), std::string::npos) << lb->log();
}

TEST(TlsHealth, CertificateFailureMarksTheBackendDownWithTheReason) {
  const TestPki& pki = test_pki();
  auto up = https_upstream(pki.wrong_host, "never");
  auto lb = start_balancer({https_backend(up->port())},
                           {"--ca", pki.ca_file(), "--health-interval", "50ms", "--fall", "2"});
  EXPECT_TRUE(lb->wait_for_log("backend " + std::string("localhost:") + std::to_string(up->port()) +
                               " is down: 2 consecutive failures: health check: TLS: host name "
                               "mismatch: certificate is for other.test, wanted localhost"))
      << lb->log();
  EXPECT_TRUE(up->requests().empty());
}

}  // namespace
}  // namespace it
