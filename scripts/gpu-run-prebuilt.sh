#!/usr/bin/env bash
# Runs the binaries packed by scripts/gpu-pack.sh on a GPU machine without a Rust toolchain:
# every test (the ignored f32 GPU suite included) against LINFIT_TEST_DEVICE (default wgpu),
# then examples/bench_report on the CPU and on the device, in f32 and f64. Writes
# $OUT/gpu-report.md and $OUT/gpu-check.log (or target/gpu-check/ without $OUT).
set -uo pipefail
cd "$(dirname "$0")/.."
device=${LINFIT_TEST_DEVICE:-wgpu}
rows=${LINFIT_CHECK_ROWS:-1000000}
out=${OUT:-target/gpu-check}
mkdir -p "$out"
report="$out/gpu-report.md"
log="$out/gpu-check.log"
: >"$log"
bins=$(mktemp -d)
tar -xJf .gpubin/linfit-gpu.tar.xz -C "$bins" || { echo "no .gpubin/linfit-gpu.tar.xz: run scripts/gpu-pack.sh" >&2; exit 2; }
# The tests find their data files through the directory they were built in.
built_in=$(cat "$bins/manifest_dir")
if [ "$built_in" != "$PWD" ] && [ ! -e "$built_in" ]; then
    mkdir -p "$(dirname "$built_in")" && ln -s "$PWD" "$built_in"
fi
status=0
{
    echo "# linfit GPU check (prebuilt binaries)"
    echo
    echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(cat "$bins/commit"), features \`$(cat "$bins/features")\`"
    echo "- device under test: \`$device\`"
    command -v nvidia-smi >/dev/null && echo "- GPU: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | head -1)"
    echo "- CPU: $(nproc) cores"
    echo
    echo "## Tests on \`$device\` (f64 suites and the f32 GPU suite)"
} >"$report"
for t in "$bins"/tests/*; do
    name=$(basename "$t")
    echo "+ $name" >>"$log"
    if LINFIT_TEST_DEVICE=$device timeout 600 "$t" --include-ignored >>"$log" 2>&1; then
        line=$(grep "^test result" "$log" | tail -1)
    else
        status=1; line="FAILED: $(grep -E "^test result|panicked" "$log" | tail -1)"
    fi
    echo "- $name: $line" >>"$report"
done
echo >>"$report"; echo "## Timings, $rows x 32 (examples/bench_report)" >>"$report"
for precision in f32 f64; do
    for dev in cpu "$device"; do
        echo '```' >>"$report"
        timeout 300 "$bins/examples/bench_report" --device "$dev" --precision "$precision" \
            --rows "$rows" >>"$report" 2>>"$log" \
            || { echo "bench_report on $dev $precision FAILED (see gpu-check.log)" >>"$report"; status=1; }
        echo '```' >>"$report"
    done
done
cat "$report"
exit $status
