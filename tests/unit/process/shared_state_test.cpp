#include "lb/process/shared_state.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

namespace lb::process {
namespace {

TEST(SharedState, WhatAForkedChildWritesTheParentSees) {
  SharedState shared(2, 3);
  EXPECT_EQ(shared.metrics().workers(), 2u);
  EXPECT_EQ(shared.metrics().backends(), 3u);
  EXPECT_FALSE(shared.health(2).down.load());
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    shared.health(2).down.store(true);
    shared.health(2).set_reason("seen by the child");
    shared.rotation().fetch_add(5);
    metrics::add(shared.metrics().backend(1, 2).bytes_sent, 42);
    metrics::add(shared.metrics().header().worker_restarts);
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_TRUE(shared.health(2).down.load());
  EXPECT_EQ(shared.health(2).reason(), "seen by the child");
  EXPECT_FALSE(shared.health(1).down.load());
  EXPECT_EQ(shared.rotation().load(), 5u);
  EXPECT_EQ(shared.metrics().backend(1, 2).bytes_sent.load(), 42u);
  EXPECT_EQ(shared.metrics().backend(0, 2).bytes_sent.load(), 0u);
  EXPECT_EQ(shared.metrics().header().worker_restarts.load(), 1u);
}

TEST(SharedState, RegionsDoNotOverlap) {
  SharedState shared(4, 2);
  auto* cell_end =
      reinterpret_cast<const std::byte*>(&shared.health(1)) + sizeof(balancer::HealthCell);
  EXPECT_LE(cell_end, reinterpret_cast<const std::byte*>(&shared.metrics().header()));
  EXPECT_GE(shared.bytes(), metrics::Region::bytes_for(4, 2) + 2 * sizeof(balancer::HealthCell));
}

}  // namespace
}  // namespace lb::process
