#!/usr/bin/env python3
"""linfit's SgdRegressor against scikit-learn's SGDRegressor, the same fits, in one run.

    python3 benches/compare_sklearn_sgd.py [--rounds 200]

For every case of tests/data/sklearn_sgd_reference.json (standardised diabetes, 442 x 10, and a
30 x 3 design; every loss, penalty and schedule, averaging, sample weights; shuffle=False), times
`SGDRegressor(**params).fit(X, y, sample_weight=w)` (median of `rounds` fits), then runs
`cargo run --release --example sgd_regressor -- --time ROUNDS` (linfit's `fit` on the same data
and settings, the data already on the CPU device) and prints both medians and their ratio per
case, and the geometric mean of the ratios. Needs scikit-learn and numpy.
"""
import argparse
import json
import math
import os
import subprocess
import time
import warnings

import numpy as np
import sklearn
from sklearn.linear_model import SGDRegressor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def median_time(fn, rounds):
    fn()
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    times.sort()
    return times[len(times) // 2]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    with open(os.path.join(ROOT, "tests", "data", "sklearn_sgd_reference.json")) as f:
        reference = json.load(f)
    sets = {
        name: (np.array(d["x"]), np.array(d["y"]), np.array(d["weights"]))
        for name, d in reference["datasets"].items()
    }
    sk = {}
    warnings.simplefilter("ignore")
    for case in reference["cases"]:
        x, y, w = sets[case["dataset"]]
        params = dict(case["params"])
        params["average"] = params["average"] or False
        params["random_state"] = 0
        weights = w if case["sample_weight"] else None
        sk[case["name"]] = median_time(
            lambda: SGDRegressor(**params).fit(x, y, sample_weight=weights), args.rounds
        )
    out = subprocess.run(
        ["cargo", "run", "--release", "--quiet", "--example", "sgd_regressor", "--",
         "--time", str(args.rounds)],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout
    linfit = {}
    for line in out.splitlines():
        if line.startswith("time "):
            _, name, secs = line.split()
            linfit[name] = float(secs)
    print(f"scikit-learn {sklearn.__version__}, numpy {np.__version__}; median of {args.rounds} fits")
    print(f"{'case':<58} {'sklearn ms':>10} {'linfit ms':>10} {'ratio':>7}")
    ratios = []
    for name, t in sk.items():
        ours = linfit[name]
        ratios.append(t / ours)
        print(f"{name:<58} {t * 1e3:>10.3f} {ours * 1e3:>10.3f} {t / ours:>7.1f}")
    geo = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
    print(f"linfit is {geo:.1f}x faster (geometric mean over {len(ratios)} cases; "
          f"min {min(ratios):.1f}x, max {max(ratios):.1f}x)")


if __name__ == "__main__":
    main()
