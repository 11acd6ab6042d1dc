#!/usr/bin/env bash
# Builds, on a machine with the crates, what scripts/gpu-run-prebuilt.sh runs on a GPU machine
# that has no Rust toolchain and no network: every test binary and examples/bench_report, in
# release, stripped, with the GPU features, packed into .gpubin/linfit-gpu.tar.xz (x86-64 only:
# build where the GPU machine's architecture matches). Ignore .gpubin in .git/info/exclude and
# carry it (and .gl, the Vulkan loader packages; see the device notes) in the GPU call.
#
#   scripts/gpu-pack.sh                       # --features wgpu, every test binary
#   LINFIT_GPU_FEATURES=cuda,wgpu scripts/gpu-pack.sh
#   LINFIT_GPU_TESTS="gpu seed lstsq" scripts/gpu-pack.sh   # only these test targets
#   LINFIT_GPU_TESTS=none LINFIT_GPU_EXAMPLES="bench_report gpu_probe" scripts/gpu-pack.sh
#   scripts/gpu-pack.sh --no-archive          # leave the binaries in .gpubin/stage (gpu-check.sh)
#
# Each binary is ~54 MB stripped (Burn's backends); xz with a 64 MiB window finds what they
# share, so the archive grows by little per extra binary (one alone packs to ~8 MB).
set -euo pipefail
cd "$(dirname "$0")/.."
features=${LINFIT_GPU_FEATURES:-wgpu}
json=$(mktemp)
CARGO_PROFILE_RELEASE_STRIP=symbols cargo build --release --tests --examples \
    --features "$features" --message-format=json >"$json"
stage=.gpubin/stage
rm -rf "$stage"
mkdir -p "$stage/tests" "$stage/examples"
# Test executables are named <target>-<hash>; keep the target name.
python3 - "$json" "$stage" "${LINFIT_GPU_TESTS:-}" "${LINFIT_GPU_EXAMPLES:-bench_report}" <<'PY'
import json, os, shutil, sys
src, stage, only, examples = sys.argv[1], sys.argv[2], sys.argv[3].split(), sys.argv[4].split()
for line in open(src):
    msg = json.loads(line)
    exe = msg.get("executable") if msg.get("reason") == "compiler-artifact" else None
    if not exe:
        continue
    target = msg["target"]
    if msg["profile"]["test"] and "test" in target["kind"] and (not only or target["name"] in only):
        shutil.copy2(exe, os.path.join(stage, "tests", target["name"]))
    elif "example" in target["kind"] and target["name"] in examples:
        shutil.copy2(exe, os.path.join(stage, "examples", target["name"]))
PY
pwd >"$stage/manifest_dir"
git rev-parse --short HEAD >"$stage/commit" 2>/dev/null || echo '?' >"$stage/commit"
echo "$features" >"$stage/features"
if [ "${1:-}" = --no-archive ]; then
    rm -f "$json"
    echo "$stage"
    exit 0
fi
tar -cf - -C "$stage" . | xz -9 -T1 >.gpubin/linfit-gpu.tar.xz
rm -rf "$stage" "$json"
ls -l .gpubin/linfit-gpu.tar.xz
