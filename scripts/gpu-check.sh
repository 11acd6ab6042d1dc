#!/usr/bin/env bash
# One-call GPU check on a machine with cargo and the crates: builds the test binaries and
# bench_report with the GPU features (scripts/gpu-pack.sh, no archive), then runs them as
# scripts/gpu-run-prebuilt.sh does: the f32 GPU suite, timings of the 1 000 000 x 32 workloads on
# the CPU and on the device, the f64 suites on the device. Report in $OUT/gpu-report.md (or
# target/gpu-check/ without $OUT).
#
#   scripts/gpu-check.sh                         # CUDA device 0 (features cuda,wgpu)
#   LINFIT_TEST_DEVICE=wgpu scripts/gpu-check.sh # the wgpu adapter
#   LINFIT_TEST_DEVICE=cpu scripts/gpu-check.sh  # the same run on the CPU, when there is no GPU
set -euo pipefail
cd "$(dirname "$0")/.."
device=${LINFIT_TEST_DEVICE:-cuda}
case "$device" in
    cpu|flex|wgpu) features=wgpu ;;
    *) features=cuda,wgpu ;;
esac
stage=$(LINFIT_GPU_FEATURES=$features scripts/gpu-pack.sh --no-archive | tail -1)
LINFIT_TEST_DEVICE=$device LINFIT_GPU_BINS=$stage exec scripts/gpu-run-prebuilt.sh
