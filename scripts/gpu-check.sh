#!/usr/bin/env bash
# One-call GPU check: build with the GPU features, run every test (the ignored single-precision
# GPU tests included) on the device, and time the 1 000 000 x 32 workloads on the CPU and on the
# device. Writes a short report to $OUT/gpu-report.md (or target/gpu-check/ without $OUT).
#
#   scripts/gpu-check.sh                         # CUDA device 0 (features cuda,wgpu)
#   LINFIT_TEST_DEVICE=wgpu scripts/gpu-check.sh # the wgpu adapter
#   LINFIT_TEST_DEVICE=cpu scripts/gpu-check.sh  # the same run on the CPU, when there is no GPU
#
# Sized for one 10-minute call on a 16-core GPU machine, build included. It needs cargo and the
# crates (network, or a vendored copy configured in .cargo/config.toml).
set -uo pipefail
cd "$(dirname "$0")/.."

device=${LINFIT_TEST_DEVICE:-cuda}
case "$device" in
    cpu|flex) features="" ;;
    wgpu) features="--features wgpu" ;;
    *) features="--features cuda,wgpu" ;;
esac
rows=${LINFIT_CHECK_ROWS:-1000000}
out=${OUT:-target/gpu-check}
mkdir -p "$out"
report="$out/gpu-report.md"
log="$out/gpu-check.log"
: >"$log"
status=0

run() { echo "+ $*" >>"$log"; "$@" >>"$log" 2>&1; }

{
    echo "# linfit GPU check"
    echo
    echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
    echo "- device under test: \`$device\`, cargo features: \`${features:-default}\`"
    command -v nvidia-smi >/dev/null && echo "- GPU: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | head -1)"
    echo "- CPU: $(nproc) cores"
} >"$report"

t0=$(date +%s)
# shellcheck disable=SC2086
if run cargo build --release --tests --examples $features; then
    echo "- build: $(( $(date +%s) - t0 )) s" >>"$report"
else
    echo "- build: FAILED (see gpu-check.log)" >>"$report"; cp "$log" "$out/" 2>/dev/null; exit 1
fi

echo >>"$report"; echo "## Tests on \`$device\` (f64 suites and the f32 GPU suite)" >>"$report"
# shellcheck disable=SC2086
if LINFIT_TEST_DEVICE=$device run cargo test --release $features -- --include-ignored; then
    echo "all passed" >>"$report"
else
    status=1; echo "FAILURES: see gpu-check.log" >>"$report"
fi
grep -E "^test result|FAILED|panicked" "$log" | sed 's/^/    /' >>"$report"

echo >>"$report"; echo "## Timings, $rows x 32 (examples/bench_report.rs)" >>"$report"
devices="cpu"
[ "$device" != cpu ] && [ "$device" != flex ] && devices="cpu $device"
for precision in f32 f64; do
    for dev in $devices; do
        echo '```' >>"$report"
        # shellcheck disable=SC2086
        cargo run --release -q $features --example bench_report -- \
            --device "$dev" --precision "$precision" --rows "$rows" >>"$report" 2>>"$log" \
            || { echo "bench_report on $dev $precision FAILED" >>"$report"; status=1; }
        echo '```' >>"$report"
    done
done
echo >>"$report"; echo "total: $(( $(date +%s) - t0 )) s" >>"$report"
cat "$report"
exit $status
