#include "bench/bench_cluster.h"

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

#include <fmt/format.h>

#include "admin/admin_client.h"
#include "bench/bench_security.h"

namespace comet::bench {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

bool executable(const std::string& path) {
  return ::access(path.c_str(), X_OK) == 0;
}

std::string self_dir() {
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return ".";
  std::string path(buf, static_cast<size_t>(n));
  return path.substr(0, path.rfind('/'));
}

long elapsed_ms(Clock::time_point since) {
  return static_cast<long>(
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - since).count());
}

}  // namespace

std::string_view mode_name(Mode mode) {
  switch (mode) {
    case Mode::kSingle:
      return "single";
    case Mode::kAsync:
      return "async";
    case Mode::kSync:
      return "sync";
    case Mode::kDLedger:
      return "dledger";
  }
  return "?";
}

std::string_view mode_layout(Mode mode) {
  switch (mode) {
    case Mode::kSingle:
      return "1 broker";
    case Mode::kAsync:
      return "ASYNC_MASTER + SLAVE";
    case Mode::kSync:
      return "SYNC_MASTER + SLAVE";
    case Mode::kDLedger:
      return "DLedger group of 3";
  }
  return "?";
}

Result<Mode> parse_mode(std::string_view name) {
  for (Mode m : {Mode::kSingle, Mode::kAsync, Mode::kSync, Mode::kDLedger}) {
    if (name == mode_name(m)) return m;
  }
  return Status::invalid_argument("unknown mode '" + std::string(name) +
                                  "' (single, async, sync, dledger)");
}

std::vector<std::string> split_commas(std::string_view list) {
  std::vector<std::string> out;
  for (size_t at = 0; at <= list.size();) {
    const size_t comma = std::min(list.find(',', at), list.size());
    out.emplace_back(list.substr(at, comma - at));
    at = comma + 1;
  }
  return out;
}

Result<std::vector<Mode>> parse_modes(std::string_view list) {
  std::vector<Mode> modes;
  for (const std::string& name : split_commas(list)) {
    COMET_ASSIGN_OR_RETURN(Mode m, parse_mode(name));
    modes.push_back(m);
  }
  return modes;
}

Result<std::string> make_run_dir(std::string_view what) {
  std::string tmpl =
      (std::filesystem::temp_directory_path() / fmt::format("comet-{}-XXXXXX", what)).string();
  if (::mkdtemp(tmpl.data()) == nullptr) return Status::from_errno("mkdtemp " + tmpl, errno);
  return tmpl;
}

void finish_run_dir(const std::string& dir, bool keep, std::string_view label) {
  if (keep) {
    std::cerr << fmt::format("{}: stores and logs kept in {}\n", label, dir);
  } else {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
}

Result<Binaries> Binaries::find(const std::string& dir) {
  std::vector<std::string> roots;
  if (!dir.empty()) {
    roots.push_back(dir);
  } else {
    const std::string self = self_dir();
    roots = {self + "/..", self};
  }
  for (const auto& root : roots) {
    for (bool tree : {true, false}) {
      Binaries b;
      b.namesrv = root + (tree ? "/namesrv/comet-namesrv" : "/comet-namesrv");
      b.broker = root + (tree ? "/broker/comet-broker" : "/comet-broker");
      b.admin = root + (tree ? "/admin/comet-admin" : "/comet-admin");
      if (executable(b.namesrv) && executable(b.broker) && executable(b.admin)) return b;
    }
  }
  return Status::not_found("comet-namesrv, comet-broker and comet-admin not found " +
                           (dir.empty() ? "next to comet-bench (give --bin-dir)" : "in " + dir));
}

Result<std::unique_ptr<BenchCluster>> BenchCluster::start(
    Mode mode, const Binaries& bin, const std::string& dir,
    const std::vector<std::string>& broker_args, std::chrono::milliseconds timeout, NetnsLab* lab) {
  std::unique_ptr<BenchCluster> c(new BenchCluster(mode, bin, dir));
  c->timeout_ = timeout;
  c->lab_ = lab;
  COMET_RETURN_IF_ERROR(c->start_namesrv());
  const size_t members = mode == Mode::kSingle ? 1 : mode == Mode::kDLedger ? 3 : 2;
  if (lab && lab->hosts() < static_cast<int>(members)) {
    return Status::invalid_argument("the network lab has fewer hosts than the cluster brokers");
  }
  // On loopback the servers choose their ports; in a lab each broker has a host of its own.
  auto host = [&](size_t i) { return lab ? NetnsLab::host_addr(static_cast<int>(i)) : ""; };
  auto add = [&](std::string label, std::vector<std::string> extra) {
    const size_t i = c->brokers_.size();
    Broker b;
    b.label = std::move(label);
    b.argv = {bin.broker, "namesrvAddr=" + c->namesrv_addr_,
              std::string("brokerName=") + kBrokerName};
    if (lab) {
      b.netns = lab->host_ns(static_cast<int>(i));
      b.argv.insert(b.argv.end(),
                    {"listenPort=10911", "bindAddress=" + host(i), "brokerIP1=" + host(i)});
    } else {
      b.argv.insert(b.argv.end(), {"listenPort=0", "bindAddress=127.0.0.1"});
    }
    b.argv.push_back("storePathRootDir=" + store_dir_of(dir, b.label));
    b.argv.insert(b.argv.end(), extra.begin(), extra.end());
    const auto& secured = bench_security().server_args;
    b.argv.insert(b.argv.end(), secured.begin(), secured.end());
    b.argv.insert(b.argv.end(), broker_args.begin(), broker_args.end());
    c->brokers_.push_back(std::move(b));
  };
  const std::string ha_port = lab ? "haListenPort=10912" : "haListenPort=0";
  switch (mode) {
    case Mode::kSingle:
      add("master", {"brokerRole=ASYNC_MASTER", ha_port});
      break;
    case Mode::kAsync:
    case Mode::kSync:
      add("master",
          {mode == Mode::kSync ? "brokerRole=SYNC_MASTER" : "brokerRole=ASYNC_MASTER", ha_port});
      add("slave", {"brokerRole=SLAVE", "brokerId=1", ha_port});
      break;
    case Mode::kDLedger: {
      std::string peers;
      for (size_t i = 0; i < 3; ++i) {
        uint16_t port = 40911;
        if (!lab) {
          port = free_loopback_port();
          if (port == 0) return Status::unavailable("no free port on 127.0.0.1");
        }
        peers += (i ? ";n" : "n") + std::to_string(i) + "-" + (lab ? host(i) : "127.0.0.1") + ":" +
                 std::to_string(port);
      }
      for (int i = 0; i < 3; ++i) {
        add("n" + std::to_string(i),
            {"enableDLegerCommitLog=true", std::string("dLegerGroup=") + kBrokerName,
             "dLegerPeers=" + peers, "dLegerSelfId=n" + std::to_string(i)});
      }
      break;
    }
  }
  for (auto& b : c->brokers_)
    COMET_RETURN_IF_ERROR(c->start_broker(b));
  COMET_RETURN_IF_ERROR(c->wait_until_writable());
  return c;
}

BenchCluster::~BenchCluster() {
  stop();
}

Status BenchCluster::start_namesrv() {
  const std::string bind = lab_ ? NetnsLab::hub_addr() : "127.0.0.1";
  std::vector<std::string> argv = {bin_.namesrv, "listenPort=0", "bindAddress=" + bind};
  const auto& secured = bench_security().server_args;
  argv.insert(argv.end(), secured.begin(), secured.end());
  COMET_ASSIGN_OR_RETURN(namesrv_, ChildProcess::spawn(argv, dir_ + "/namesrv.log"));
  COMET_ASSIGN_OR_RETURN(std::string line, namesrv_->wait_for_line(" ready on ", timeout_));
  namesrv_addr_ = ChildProcess::address_in(line);
  return Status::ok();
}

Status BenchCluster::start_broker(Broker& b) {
  {
    // A child forked from this thread in the broker's namespace stays there.
    std::optional<InNetns> in;
    if (!b.netns.empty()) {
      in.emplace(b.netns);
      COMET_RETURN_IF_ERROR(in->status());
    }
    COMET_ASSIGN_OR_RETURN(b.proc, ChildProcess::spawn(b.argv, dir_ + "/" + b.label + ".log"));
  }
  auto line = b.proc->wait_for_line(" ready on ", timeout_);
  if (!line.is_ok()) {
    return Status(line.status().code(),
                  "broker " + b.label + " did not start: " + line.status().message());
  }
  b.addr = ChildProcess::address_in(*line);
  b.cpu_mark = 0;  // a new process: all its CPU time counts
  return Status::ok();
}

Status BenchCluster::wait_until_writable() {
  switch (mode_) {
    case Mode::kSingle:
      master_addr_ = brokers_[0].addr;
      return Status::ok();
    case Mode::kAsync:
    case Mode::kSync: {
      COMET_RETURN_IF_ERROR(
          brokers_[1].proc->wait_for_line("streaming from master", timeout_, true).status());
      COMET_RETURN_IF_ERROR(
          brokers_[0].proc->wait_for_line("in sync from offset", timeout_, true).status());
      master_addr_ = brokers_[0].addr;
      return Status::ok();
    }
    case Mode::kDLedger: {
      // Every member announces the leader it hears of; n0's announcement names it.
      COMET_ASSIGN_OR_RETURN(std::string line,
                             brokers_[0].proc->wait_for_line("is led by n", timeout_, true));
      const size_t at = line.find("is led by n") + 11;
      const size_t k = static_cast<size_t>(std::atoi(line.c_str() + at));
      if (k >= brokers_.size()) return Status::corruption("unexpected leader line: " + line);
      master_addr_ = brokers_[k].addr;
      return Status::ok();
    }
  }
  return Status::ok();
}

void BenchCluster::mark_cpu() {
  for (auto& b : brokers_) {
    b.cpu_banked = 0;
    b.cpu_mark = b.proc && b.proc->running() ? process_cpu_seconds(b.proc->pid()) : 0;
  }
}

double BenchCluster::broker_cpu_seconds() {
  double total = 0;
  for (auto& b : brokers_) {
    total += b.cpu_banked;
    if (b.proc && b.proc->running()) total += process_cpu_seconds(b.proc->pid()) - b.cpu_mark;
  }
  return total;
}

Result<std::string> BenchCluster::run_admin(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {bin_.admin};
  argv.insert(argv.end(), args.begin(), args.end());
  const auto& tool_args = bench_security().admin_tool_args;
  argv.insert(argv.end(), tool_args.begin(), tool_args.end());
  COMET_ASSIGN_OR_RETURN(auto proc, ChildProcess::spawn(argv, dir_ + "/admin.log"));
  if (!proc->wait_exit(timeout_)) {
    return Status::timeout("comet-admin " + args[0] + " did not finish within " +
                           std::to_string(timeout_.count()) + " ms");
  }
  std::string out = proc->read_rest(1000ms);
  while (!out.empty() && out.back() == '\n')
    out.pop_back();
  const int status = proc->stop();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::ifstream log(dir_ + "/admin.log");
    std::string err((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
    return Status::unavailable("comet-admin " + args[0] + " failed: " + out + " " + err);
  }
  return out;
}

Result<DrillReport> BenchCluster::fail_over() {
  // The victim: the master, or the member that leads now.
  size_t victim = 0;
  if (mode_ == Mode::kDLedger) {
    admin::AdminClient admin(bench_admin_config(namesrv_addr_), 2s);
    victim = brokers_.size();
    for (size_t i = 0; i < brokers_.size(); ++i) {
      auto s = admin.dledger_status(brokers_[i].addr);
      if (s.is_ok() && s->role == "LEADER") victim = i;
    }
    if (victim == brokers_.size()) return Status::unavailable("no member leads now");
  }
  Broker& b = brokers_[victim];
  DrillReport report;
  report.victim = b.label + " " + b.addr;
  // Bank the victim's CPU time, then kill it.
  b.cpu_banked += process_cpu_seconds(b.proc->pid()) - b.cpu_mark;
  b.cpu_mark = 0;
  // The drill goes on as soon as the signal is sent: a killed process runs no more code, though
  // the kernel may take a second to tear down its mappings (its sockets close only then).
  report.killed_at = Clock::now();
  b.proc->signal(SIGKILL);
  report.steps.push_back("SIGKILL " + report.victim);
  if (mode_ == Mode::kAsync || mode_ == Mode::kSync) {
    const long began = elapsed_ms(report.killed_at);
    auto promoted = run_admin({"promoteSlave", "-n", namesrv_addr_, "-b", kBrokerName, "-i", "1"});
    if (!promoted.is_ok()) return promoted.status();
    report.steps.push_back("comet-admin promoteSlave -b " + std::string(kBrokerName) + " -i 1 (+" +
                           std::to_string(began) + " to +" +
                           std::to_string(elapsed_ms(report.killed_at)) + " ms)");
    master_addr_ = brokers_[1].addr;
  }
  // The killed broker comes back on its store (a new port): as a slave of the promoted one, a
  // follower of the new leader, or the single broker again.
  b.proc->kill9();  // reaps it
  const long reaped = elapsed_ms(report.killed_at);
  b.proc.reset();
  const long restart_began = elapsed_ms(report.killed_at);
  COMET_RETURN_IF_ERROR(start_broker(b));
  if (mode_ == Mode::kSingle) master_addr_ = b.addr;
  report.steps.push_back("reaped it (+" + std::to_string(reaped) + " ms)");
  report.steps.push_back("restarted " + b.label + " on " + b.addr + " (+" +
                         std::to_string(restart_began) + " to +" +
                         std::to_string(elapsed_ms(report.killed_at)) + " ms)");
  return report;
}

Status BenchCluster::kill(size_t i) {
  Broker& b = brokers_[i];
  if (!b.proc) return Status::ok();
  b.cpu_banked += process_cpu_seconds(b.proc->pid()) - b.cpu_mark;
  b.cpu_mark = 0;
  b.proc->kill9();
  b.proc.reset();
  return Status::ok();
}

void BenchCluster::terminate(size_t i, std::chrono::milliseconds grace) {
  Broker& b = brokers_[i];
  if (!b.proc) return;
  b.cpu_banked += process_cpu_seconds(b.proc->pid()) - b.cpu_mark;
  b.cpu_mark = 0;
  b.proc->stop(grace);
  b.proc.reset();
}

Status BenchCluster::restart(size_t i) {
  if (brokers_[i].proc) return Status::ok();
  return start_broker(brokers_[i]);
}

void BenchCluster::pause(size_t i) {
  if (brokers_[i].proc) brokers_[i].proc->signal(SIGSTOP);
}

void BenchCluster::resume(size_t i) {
  if (brokers_[i].proc) brokers_[i].proc->signal(SIGCONT);
}

size_t BenchCluster::index_of_addr(const std::string& addr) const {
  for (size_t i = 0; i < brokers_.size(); ++i) {
    if (brokers_[i].proc && brokers_[i].addr == addr) return i;
  }
  return brokers_.size();
}

Result<size_t> BenchCluster::master_index() {
  admin::AdminClient admin(bench_admin_config(namesrv_addr_), 2s);
  if (mode_ == Mode::kDLedger) {
    for (size_t i = 0; i < brokers_.size(); ++i) {
      if (!brokers_[i].proc) continue;
      auto s = admin.dledger_status(brokers_[i].addr);
      if (s.is_ok() && s->role == "LEADER") return i;
    }
    return Status::not_found("no member leads now");
  }
  COMET_ASSIGN_OR_RETURN(auto info, admin.cluster_info());
  for (const auto& bd : info.broker_datas) {
    if (!bd || bd->broker_name != kBrokerName) continue;
    for (const auto& a : bd->broker_addrs) {
      if (a && a->broker_id == 0) {
        const size_t i = index_of_addr(a->addr);
        if (i < brokers_.size()) return i;
      }
    }
  }
  return Status::not_found("the name server names no live master");
}

Status BenchCluster::promote(size_t i) {
  admin::AdminClient admin(bench_admin_config(namesrv_addr_), 2s);
  COMET_ASSIGN_OR_RETURN(auto info, admin.cluster_info());
  for (const auto& bd : info.broker_datas) {
    if (!bd || bd->broker_name != kBrokerName) continue;
    for (const auto& a : bd->broker_addrs) {
      if (a && a->addr == brokers_[i].addr && a->broker_id > 0) {
        auto r = run_admin({"promoteSlave", "-n", namesrv_addr_, "-b", kBrokerName, "-i",
                            std::to_string(a->broker_id)});
        if (!r.is_ok()) return r.status();
        master_addr_ = brokers_[i].addr;
        return Status::ok();
      }
    }
  }
  return Status::not_found("broker " + brokers_[i].label + " is not a registered slave");
}

void BenchCluster::stop() {
  for (auto& b : brokers_) {
    if (b.proc) b.proc->signal(SIGCONT);  // a paused broker could not stop
    if (b.proc) b.proc->stop();
    b.proc.reset();
  }
  if (namesrv_) namesrv_->stop();
  namesrv_.reset();
}

}  // namespace comet::bench
