#!/usr/bin/env bash
# Builds, on a machine with the crates, what scripts/gpu-run-prebuilt.sh runs on a GPU machine
# that has no Rust toolchain and no network: every test binary and examples/bench_report, in
# release, stripped, with the GPU features, packed into .gpubin/linfit-gpu.tar.xz (x86-64 only:
# build where the GPU machine's architecture matches). Ignore .gpubin in .git/info/exclude and
# carry it (and .gl, the Vulkan loader packages; see the device notes) in the GPU call.
#
#   scripts/gpu-pack.sh                       # --features wgpu
#   LINFIT_GPU_FEATURES=cuda,wgpu scripts/gpu-pack.sh
set -euo pipefail
cd "$(dirname "$0")/.."
features=${LINFIT_GPU_FEATURES:-wgpu}
json=$(mktemp)
CARGO_PROFILE_RELEASE_STRIP=symbols cargo build --release --tests --examples \
    --features "$features" --message-format=json >"$json"
stage=$(mktemp -d)
mkdir -p "$stage/tests" "$stage/examples"
# Test executables are named <target>-<hash>; keep the target name.
python3 - "$json" "$stage" <<'PY'
import json, os, shutil, sys
src, stage = sys.argv[1], sys.argv[2]
for line in open(src):
    msg = json.loads(line)
    exe = msg.get("executable") if msg.get("reason") == "compiler-artifact" else None
    if not exe:
        continue
    target = msg["target"]
    if msg["profile"]["test"] and "test" in target["kind"]:
        shutil.copy2(exe, os.path.join(stage, "tests", target["name"]))
    elif target["name"] == "bench_report":
        shutil.copy2(exe, os.path.join(stage, "examples", "bench_report"))
PY
pwd >"$stage/manifest_dir"
git rev-parse --short HEAD >"$stage/commit" 2>/dev/null || echo '?' >"$stage/commit"
echo "$features" >"$stage/features"
mkdir -p .gpubin
tar -cJf .gpubin/linfit-gpu.tar.xz -C "$stage" .
rm -rf "$stage" "$json"
ls -l .gpubin/linfit-gpu.tar.xz
