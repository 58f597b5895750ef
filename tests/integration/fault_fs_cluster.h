// A process-test fixture for brokers whose stores sit on a fault-injecting file system
// (fault_fs.h): a comet-faultfs mount under the test's directory, a LocalCluster and its name
// server. Skipped without root or /dev/fuse. The brokers stop before the mount goes.
#pragma once

#include <memory>

#include <gtest/gtest.h>

#include "integration/cluster.h"
#include "integration/fault_fs.h"

namespace comet::testing {

class FaultFsClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (auto reason = FaultFs::skip_reason(); !reason.empty()) GTEST_SKIP() << reason;
    auto mounted = FaultFs::mount(dir_.path() + "/fs");
    ASSERT_TRUE(mounted.is_ok()) << mounted.status().to_string();
    fs_ = std::move(mounted).value();
    cluster_ = std::make_unique<LocalCluster>(dir_.path());
    ASSERT_TRUE(cluster_->start_namesrv().is_ok());
  }
  void TearDown() override {
    if (HasFailure() && cluster_) cluster_->print_log_tails();
    cluster_.reset();  // the brokers stop before their file system goes
  }

  TempDir dir_;
  std::unique_ptr<FaultFs> fs_;  // after dir_, before cluster_: unmounted after the brokers stop
  std::unique_ptr<LocalCluster> cluster_;
};

}  // namespace comet::testing
