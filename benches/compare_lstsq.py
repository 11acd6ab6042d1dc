#!/usr/bin/env python3
"""linfit's closed form against numpy and scikit-learn, on identical data, in one run.

    python3 benches/compare_lstsq.py [--rows 1000000] [--cols 32]

Writes the seeded design to target/lstsq_compare.bin, times scikit-learn's LinearRegression,
numpy's lstsq (on [1, X]) and numpy's normal equations (A.T @ A, A.T @ y, solve), then runs
`cargo run --release --example lstsq_timing` on the same file, and prints medians and ratios.
Needs numpy and scikit-learn (`pip install numpy scikit-learn`). For a fair numpy, unset
OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE for this command only (see the machine notes).
"""
import argparse
import os
import struct
import subprocess
import sys
import time

import numpy as np
from sklearn.linear_model import LinearRegression


def median_time(fn, repeats=5):
    times = []
    out = None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    times.sort()
    return times[len(times) // 2], out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--cols", type=int, default=32)
    args = ap.parse_args()
    n, m = args.rows, args.cols
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    rng = np.random.default_rng(0)
    X = rng.uniform(-1.0, 1.0, (n, m))
    y = 0.5 + X @ rng.uniform(-1.0, 1.0, m) + rng.uniform(-0.1, 0.1, n)
    path = os.path.join(root, "target", "lstsq_compare.bin")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(struct.pack("<QQ", n, m))
        f.write(np.ascontiguousarray(X, dtype="<f8").tobytes())
        f.write(np.ascontiguousarray(y, dtype="<f8").tobytes())

    A = np.column_stack([np.ones(n), X])
    results = {}
    results["sklearn LinearRegression"], lr = median_time(lambda: LinearRegression().fit(X, y))
    results["numpy lstsq"], _ = median_time(lambda: np.linalg.lstsq(A, y, rcond=None))
    results["numpy A.T@A + solve"], _ = median_time(lambda: np.linalg.solve(A.T @ A, A.T @ y))

    out = subprocess.run(
        ["cargo", "run", "--release", "-q", "--example", "lstsq_timing", "--", path],
        cwd=root, check=True, capture_output=True, text=True,
    ).stdout
    for line in out.splitlines():
        _, name, secs, w0 = line.split()
        results[f"linfit {name}"] = float(secs)
        if abs(float(w0) - lr.coef_[0]) > 1e-9 * max(1.0, abs(lr.coef_[0])):
            print(f"warning: linfit {name} w0 {w0} differs from scikit-learn's {lr.coef_[0]}", file=sys.stderr)

    print(f"{n} x {m} float64, one target; median of 5 runs (seconds)")
    for name, secs in results.items():
        print(f"  {name:<26} {secs:8.4f}")
    qr, ne = results["linfit qr"], results["linfit normal_equations"]
    print(f"  QR vs scikit-learn:          {results['sklearn LinearRegression'] / qr:6.2f}x faster (goal 4x)")
    print(f"  QR vs numpy lstsq:           {results['numpy lstsq'] / qr:6.2f}x faster (goal 2x)")
    print(f"  normal eq. vs numpy A.T@A:   {results['numpy A.T@A + solve'] / ne:6.2f}x faster (goal >= 1x)")


if __name__ == "__main__":
    main()
