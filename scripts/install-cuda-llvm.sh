#!/usr/bin/env bash
# Installs the LLVM 23.1 that Burn's `cuda` feature needs at build time, without network access
# beyond PyPI and Debian's packages: cubecl-cuda -> cubecl-llvm -> tracel-llvm-bundler, whose
# build script would download LLVM unless an install marked `.tracel-llvm-installed` sits in
# ${XDG_DATA_HOME:-~/.local/share}/tracel/tracel-llvm-23.1.0-4 (its build.rs). The PyPI wheels
# mlc-llvm-static and mlc-llvm-static-extra-targets (the NVPTX target) hold that LLVM's SDK
# (bin/llvm-config, include, lib). Idempotent: does nothing when the marker is there.
#
#   scripts/install-cuda-llvm.sh && cargo check --features cuda
#
# Checked on 2026-11-27 (../shared/notes/gpu.md): llvm-config 23.1.1 with NVPTX; a cold release
# build of examples/bench_report with --features cuda took 11.5 min on 2 cores. At run time CUDA
# needs only the NVIDIA driver (libcuda, loaded dynamically).
set -euo pipefail
dest=${XDG_DATA_HOME:-$HOME/.local/share}/tracel/tracel-llvm-23.1.0-4
if [ -f "$dest/.tracel-llvm-installed" ]; then
    echo "LLVM for Burn's cuda feature already in $dest"
    exit 0
fi
venv=${LINFIT_LLVM_VENV:-${TMPDIR:-/tmp}/linfit-llvm-venv}
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet mlc-llvm-static==23.1.1.post0 \
    mlc-llvm-static-extra-targets==23.1.1.post0
sdk=$("$venv/bin/python" -c \
    "import mlc_llvm_static, os; print(os.path.join(os.path.dirname(mlc_llvm_static.__file__), 'static'))")
[ -x "$sdk/bin/llvm-config" ] || { echo "no llvm-config in $sdk" >&2; exit 1; }
mkdir -p "$(dirname "$dest")"
rm -rf "$dest"
cp -a "$sdk" "$dest"
touch "$dest/.tracel-llvm-installed"
# The LLVM libraries link against zstd; g++ and zlib1g-dev are on the machine already.
if ! dpkg -s libzstd-dev >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then apt-get install -y -q libzstd-dev >/dev/null; else sudo apt-get install -y -q libzstd-dev >/dev/null; fi
fi
echo "LLVM $("$dest/bin/llvm-config" --version) for Burn's cuda feature in $dest"
