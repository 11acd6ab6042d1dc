#!/usr/bin/env python3
"""linfit's gradient-descent training against PyTorch, on identical data and workloads, in one run.

    python3 benches/compare_torch.py [--rows 1000000] [--cols 32] [--rounds 5]

Writes the seeded design to target/train_compare.bin, times PyTorch (CPU, its default threads)
on the workloads below, then runs `cargo run --release --example training_timing` on the same
file (once per precision) and prints medians and ratios. Needs torch and numpy
(`pip install torch numpy`).

Workloads (PyTorch written as the seed notebook does: a vector w and a scalar b that require
gradients, `torch.optim.SGD`, `zero_grad(); loss.backward(); step()`):
- full-batch step, 1e6 x 32, mean squared error, lr 0.1, from zero, f64 and f32: ms per step
  (median of `rounds` runs of 10 steps);
- one pass over X (`X @ w` in numpy): the memory limit of a step;
- mini-batch epoch, f32, batch 256, shuffled (`torch.randperm` + index), lr 0.01: samples/s;
- the seed notebook's run (data/seed: 10 x 3, 10 000 steps, sum of squares): the loop alone,
  Python's start-up not counted.
"""
import argparse
import json
import os
import struct
import subprocess
import sys
import time

import numpy as np
import torch


def median_time(fn, rounds):
    fn()  # warm-up
    times, out = [], None
    for _ in range(rounds):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    times.sort()
    return times[len(times) // 2], out


def full_batch(X, y, steps=10, lr=0.1):
    w = torch.zeros(X.shape[1], dtype=X.dtype, requires_grad=True)
    b = torch.zeros((), dtype=X.dtype, requires_grad=True)
    opt = torch.optim.SGD([w, b], lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        loss = ((X @ w + b - y) ** 2).mean()
        loss.backward()
        opt.step()
    return w[0].item()


def minibatch_epoch(X, y, batch=256, lr=0.01):
    n = X.shape[0]
    w = torch.zeros(X.shape[1], dtype=X.dtype, requires_grad=True)
    b = torch.zeros((), dtype=X.dtype, requires_grad=True)
    opt = torch.optim.SGD([w, b], lr=lr)
    perm = torch.randperm(n)
    for start in range(0, n, batch):
        idx = perm[start:start + batch]
        xb, yb = X[idx], y[idx]
        opt.zero_grad()
        loss = ((xb @ w + b - yb) ** 2).mean()
        loss.backward()
        opt.step()
    return w[0].item()


def seed_run(seed):
    X = torch.tensor(seed["X"], dtype=torch.float64)
    y = torch.tensor(seed["y"], dtype=torch.float64)
    w = torch.tensor(seed["w0"], dtype=torch.float64, requires_grad=True)
    b = torch.tensor(seed["b0"], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([w, b], lr=seed["lr"])
    for _ in range(seed["n_iter"]):
        opt.zero_grad()
        loss = ((X @ w + b - y) ** 2).sum()
        loss.backward()
        opt.step()
    return w[0].item()


def linfit(root, path, precision, rounds):
    out = subprocess.run(
        ["cargo", "run", "--release", "-q", "--example", "training_timing", "--",
         path, "--precision", precision, "--rounds", str(rounds)],
        cwd=root, check=True, capture_output=True, text=True,
    ).stdout
    results = {}
    for line in out.splitlines():
        _, name, value, unit, check = line.split()
        results[name] = (float(value), unit, float(check))
    return results


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--cols", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    n, m, rounds = args.rows, args.cols, args.rounds
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    rng = np.random.default_rng(0)
    X = rng.uniform(-1.0, 1.0, (n, m))
    y = 0.5 + X @ rng.uniform(-1.0, 1.0, m) + rng.uniform(-0.1, 0.1, n)
    path = os.path.join(root, "target", "train_compare.bin")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(struct.pack("<QQ", n, m))
        f.write(np.ascontiguousarray(X, dtype="<f8").tobytes())
        f.write(np.ascontiguousarray(y, dtype="<f8").tobytes())
    with open(os.path.join(root, "data", "seed", "seed_notebook.json")) as f:
        seed = json.load(f)

    torch_res = {}
    w = np.full(m, 0.5)
    for precision, dtype in (("f64", torch.float64), ("f32", torch.float32)):
        Xt, yt = torch.tensor(X, dtype=dtype), torch.tensor(y, dtype=dtype)
        Xn = Xt.numpy()
        wn = w.astype(Xn.dtype)
        torch_res[f"one_pass_{precision}"], _ = median_time(lambda: Xn @ wn, rounds)
        secs, w0 = median_time(lambda: full_batch(Xt, yt), rounds)
        torch_res[f"full_batch_step_{precision}"] = (secs / 10, w0)
        if precision == "f32":
            torch.manual_seed(0)
            secs, _ = median_time(lambda: minibatch_epoch(Xt, yt), rounds)
            torch_res["minibatch_epoch_f32"] = n / secs
    secs, w0 = median_time(lambda: seed_run(seed), rounds)
    torch_res["seed_run"] = (secs, w0)

    lf = linfit(root, path, "f64", rounds)
    lf.update(linfit(root, path, "f32", rounds))

    # The same numbers from both sides: full-batch weights after 10 steps, the seed run's w0.
    for key in ("full_batch_step_f64", "full_batch_step_f32"):
        a, b = torch_res[key][1], lf[key][2]
        tol = 1e-9 if key.endswith("f64") else 1e-4
        if abs(a - b) > tol * max(1.0, abs(a)):
            print(f"warning: {key}: PyTorch w0 {a} vs linfit {b}", file=sys.stderr)
    if abs(torch_res["seed_run"][1] - lf["seed_run_fit"][2]) > 1e-9 * abs(torch_res["seed_run"][1]):
        print(f"warning: seed run w0 differs: {torch_res['seed_run'][1]} vs {lf['seed_run_fit'][2]}",
              file=sys.stderr)

    print(f"{n} x {m}; PyTorch {torch.__version__} on {torch.get_num_threads()} threads; "
          f"medians of {rounds} runs")
    for p in ("f64", "f32"):
        ms_t = torch_res[f"full_batch_step_{p}"][0] * 1e3
        ms_l = lf[f"full_batch_step_{p}"][0]
        limit_np = torch_res[f"one_pass_{p}"] * 1e3
        limit_l = lf[f"one_pass_{p}"][0]
        print(f"  full-batch step {p}: linfit {ms_l:7.2f} ms, PyTorch {ms_t:7.2f} ms "
              f"(linfit/PyTorch {ms_l / ms_t:.2f}); one pass over X: numpy {limit_np:.2f} ms, "
              f"Rust {limit_l:.2f} ms (linfit/limit {ms_l / min(limit_np, limit_l):.2f})")
    sl, st = lf["minibatch_epoch_f32"][0], torch_res["minibatch_epoch_f32"]
    print(f"  mini-batch f32, batch 256, shuffled: linfit {sl / 1e6:.2f} M samples/s, "
          f"PyTorch {st / 1e6:.2f} M samples/s (linfit {sl / st:.1f}x)")
    st = torch_res["seed_run"][0]
    for key, label in (("seed_run_fit", "Trainer::fit"), ("seed_run_loop", "explicit loop")):
        s = lf[key][0]
        print(f"  seed run, 10 000 steps of 10 x 3 f64: linfit {label} {s * 1e3:.1f} ms, "
              f"PyTorch loop {st * 1e3:.0f} ms (linfit {st / s:.1f}x)")


if __name__ == "__main__":
    main()
