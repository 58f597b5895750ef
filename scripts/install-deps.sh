#!/usr/bin/env bash
# Installs every Debian 12 package comet needs to build, test and benchmark. Idempotent:
# packages already present are skipped without touching the network.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libasio-dev libflatbuffers-dev flatbuffers-compiler librocksdb-dev
  libspdlog-dev libfmt-dev libgtest-dev libgmock-dev libbenchmark-dev
  rapidjson-dev zlib1g-dev  # the RocketMQ codecs (remoting/rocketmq_*)
  openssl libssl-dev  # TLS (remoting/tls_*), scripts/make-certs.sh
  libyaml-cpp-dev  # plain_acl.yml and credentials files (remoting/plain_acl.h, credentials.h)
  clang-format iproute2 procps
  fuse3 libfuse3-dev  # comet-faultfs (tests/faultfs): the storage-fault tests
  e2fsprogs mount  # the disk-full process tests: mkfs.ext4 and a loop mount (run as root)
  clang libclang-rt-14-dev  # scripts/fuzz.sh: libFuzzer and the sanitizer runtimes
)
# The RocketMQ client tests run ali-ons (tests/rocketmq_client) on Node.js 18 or later: Debian's
# nodejs and npm, unless a node is already installed (e.g. from nodesource, whose npm Debian's
# would conflict with).
if ! command -v node >/dev/null 2>&1; then packages+=(nodejs npm); fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
