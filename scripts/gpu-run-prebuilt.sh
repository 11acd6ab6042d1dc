#!/usr/bin/env bash
# Runs the binaries packed by scripts/gpu-pack.sh (on a GPU machine without a Rust toolchain,
# or in place after scripts/gpu-check.sh built them) against LINFIT_TEST_DEVICE (default wgpu):
# the f32 GPU suite (ignored by default, included here), bench_report on the device and on the
# CPU, then the other packed test binaries with their f64 suites on the device. Stops starting
# new steps after LINFIT_GPU_DEADLINE seconds (default 500), so that one call of a time-limited
# machine returns a report. Writes $OUT/gpu-report.md and $OUT/gpu-check.log (or target/gpu-check/ without $OUT).
set -uo pipefail
cd "$(dirname "$0")/.."
device=${LINFIT_TEST_DEVICE:-wgpu}
rows=${LINFIT_CHECK_ROWS:-1000000}
deadline=$(( $(date +%s) + ${LINFIT_GPU_DEADLINE:-500} ))
out=${OUT:-target/gpu-check}
mkdir -p "$out"
report="$out/gpu-report.md"
log="$out/gpu-check.log"
: >"$log"
# The binaries: LINFIT_GPU_BINS (a staged folder, as gpu-check.sh passes), else the archive.
bins=${LINFIT_GPU_BINS:-}
if [ -z "$bins" ]; then
    bins=$(mktemp -d)
    archive=.gpubin/linfit-gpu.tar.xz
    [ -f "$archive" ] || { echo "no $archive: run scripts/gpu-pack.sh" >&2; exit 2; }
    if command -v xz >/dev/null; then
        tar -xJf "$archive" -C "$bins"
    else
        python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$archive" "$bins"
    fi
fi
# The tests find their data files through the directory they were built in.
built_in=$(cat "$bins/manifest_dir")
if [ "$built_in" != "$PWD" ] && [ ! -e "$built_in" ]; then
    mkdir -p "$(dirname "$built_in")" && ln -s "$PWD" "$built_in"
fi
status=0
{
    echo "# linfit GPU check"
    echo
    echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(cat "$bins/commit"), features \`$(cat "$bins/features")\`"
    echo "- device under test: \`$device\`"
    command -v nvidia-smi >/dev/null && echo "- GPU: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | head -1)"
    echo "- CPU: $(nproc) cores"
} >"$report"

in_time() {
    if [ "$(date +%s)" -ge "$deadline" ]; then
        echo "- $1: SKIPPED (time budget spent)" >>"$report"; return 1
    fi
}

run_tests() { # name
    local t="$bins/tests/$1"
    [ -x "$t" ] || return 0
    in_time "tests $1" || return 0
    echo "+ tests $1 on $device" >>"$log"
    local start=$(date +%s) line
    if LINFIT_TEST_DEVICE=$device timeout 240 "$t" --include-ignored >>"$log" 2>&1; then
        line=$(grep "^test result" "$log" | tail -1)
    else
        status=1; line="FAILED: $(grep -E "^test result|panicked" "$log" | tail -1)"
    fi
    echo "- tests \`$1\` ($(( $(date +%s) - start )) s): $line" >>"$report"
}

bench() { # device precision
    in_time "bench_report $1 $2" || return 0
    echo '```' >>"$report"
    timeout 150 "$bins/examples/bench_report" --device "$1" --precision "$2" --rows "$rows" \
        >>"$report" 2>>"$log" || { echo "bench_report on $1 $2 FAILED (see gpu-check.log)" >>"$report"; status=1; }
    echo '```' >>"$report"
}

echo >>"$report"; echo "## Tests on \`$device\`" >>"$report"
run_tests gpu
echo >>"$report"; echo "## Timings, $rows x 32 (examples/bench_report)" >>"$report"
bench "$device" f32
bench cpu f32
bench "$device" f64
bench cpu f64
echo >>"$report"; echo "## f64 suites on \`$device\`" >>"$report"
for t in "$bins"/tests/*; do
    name=$(basename "$t")
    [ "$name" = gpu ] || run_tests "$name"
done
cat "$report"
exit $status
