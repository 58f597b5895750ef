#!/usr/bin/env bash
# Fails when any C++ source differs from what clang-format (the repo's .clang-format) makes of it.
# Installs the packages first (clang-format among them), as scripts/test.sh does.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
mapfile -t files < <(git ls-files '*.h' '*.cc')
clang-format --dry-run --Werror "${files[@]}"
echo "check-format: ${#files[@]} files formatted"
