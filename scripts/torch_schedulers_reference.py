#!/usr/bin/env python3
"""Reference learning-rate sequences from PyTorch's `torch.optim.lr_scheduler`, for linfit's schedulers.

    pip install torch
    python3 scripts/torch_schedulers_reference.py > tests/data/torch_schedulers_reference.json

For each case: `p = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))`,
`opt = torch.optim.SGD([p], lr=base_lr)`, the scheduler built on `opt`; `lrs[0]` is
`opt.param_groups[0]['lr']` right after the scheduler's constructor (which, for most schedulers,
already runs one internal step: LinearLR scales by start_factor there), then N times
`opt.step(); scheduler.step()` (ReduceLROnPlateau: `scheduler.step(metrics[i])`) and the lr after
each, so `lrs` has N + 1 entries. Warnings are silenced. Every parameter, defaults included, is
written out under `params` (snake_case: step_size, gamma, milestones, t_max, eta_min,
start_factor, end_factor, total_iters, factor, patience, threshold, cooldown, min_lr; the
ReduceLROnPlateau cases also carry mode, threshold_mode and eps). The values are torch's own:
Python floats (f64), computed by the recursive ("chainable") get_lr() formulas, not the closed forms.
See docs/notes/torch_schedulers.md for the exact rules.
"""
import json
import sys
import warnings

import torch
from torch.optim import lr_scheduler as S

N = 40


def run(kind, base_lr, params, n=N, metrics=None):
    p = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    opt = torch.optim.SGD([p], lr=base_lr)
    if kind == "StepLR":
        sched = S.StepLR(opt, step_size=params["step_size"], gamma=params["gamma"])
    elif kind == "MultiStepLR":
        sched = S.MultiStepLR(opt, milestones=params["milestones"], gamma=params["gamma"])
    elif kind == "ExponentialLR":
        sched = S.ExponentialLR(opt, gamma=params["gamma"])
    elif kind == "CosineAnnealingLR":
        sched = S.CosineAnnealingLR(opt, T_max=params["t_max"], eta_min=params["eta_min"])
    elif kind == "LinearLR":
        sched = S.LinearLR(
            opt,
            start_factor=params["start_factor"],
            end_factor=params["end_factor"],
            total_iters=params["total_iters"],
        )
    elif kind == "ReduceLROnPlateau":
        sched = S.ReduceLROnPlateau(
            opt,
            mode=params["mode"],
            factor=params["factor"],
            patience=params["patience"],
            threshold=params["threshold"],
            threshold_mode=params["threshold_mode"],
            cooldown=params["cooldown"],
            min_lr=params["min_lr"],
            eps=params["eps"],
        )
        assert metrics is not None and len(metrics) == n
    else:
        raise ValueError(kind)
    lrs = [float(opt.param_groups[0]["lr"])]
    for i in range(n):
        opt.step()
        if kind == "ReduceLROnPlateau":
            sched.step(metrics[i])
        else:
            sched.step()
        lrs.append(float(opt.param_groups[0]["lr"]))
    return lrs


def plateau(factor=0.1, patience=10, threshold=1e-4, cooldown=0, min_lr=0.0, eps=1e-8):
    return {
        "mode": "min",
        "factor": factor,
        "patience": patience,
        "threshold": threshold,
        "threshold_mode": "rel",
        "cooldown": cooldown,
        "min_lr": min_lr,
        "eps": eps,
    }


# patience 2, threshold 1e-2 (rel), cooldown 1, min_lr 1e-3: improvements smaller than 1 %
# (0.9 -> 0.895), rises (0.9 after 0.894, 0.6 after 0.497), bad epochs inside the cooldown that
# are forgotten (steps 17, 22, 27, 35), seven reductions from 0.1 (steps 5, 9, 16, 21, 26, 30, 34),
# the last one clamped to min_lr (0.0015625 * 0.5 < 1e-3), then a reduction attempt at min_lr
# (step 38) that changes nothing but still starts a cooldown (step 39).
METRICS_PLATEAU = [
    1.0, 0.9, 0.895, 0.894, 0.9,          # 1-5: good, good, bad, bad, bad -> reduce (0.05)
    0.7, 0.7, 0.7, 0.7,                   # 6 good (cooldown), 7-9 bad -> reduce (0.025)
    0.69, 0.6935, 0.695,                  # 10 good (0.69 < 0.693), 11-12 bad
    0.5, 0.499, 0.498, 0.497,             # 13 good, 14-16 bad (< 1 %) -> reduce (0.0125)
    0.6,                                  # 17 rise, but in cooldown: forgotten
    0.45, 0.46, 0.47, 0.48,               # 18 good, 19-21 bad -> reduce (0.00625)
    0.446,                                # 22 bad (0.446 > 0.4455), cooldown: forgotten
    0.4, 0.4, 0.4, 0.4,                   # 23 good, 24-26 bad -> reduce (0.003125)
    0.4, 0.4, 0.4, 0.4,                   # 27 cooldown, 28-30 bad -> reduce (0.0015625)
    0.39, 0.39, 0.39, 0.39,               # 31 good (0.39 < 0.396) in cooldown, 32-34 bad -> 0.001 (min_lr)
    0.39, 0.39, 0.39, 0.39,               # 35 cooldown, 36-38 bad -> reduce attempt at min_lr: no change
    0.3, 0.3,                             # 39 good (cooldown after the no-op attempt), 40 bad
]

# defaults (factor 0.1, patience 10, threshold 1e-4 rel, no cooldown, min_lr 0): 1.0 is the best,
# then values within 1e-4 of it (not improvements), a rise, 11 bad epochs -> 0.01, 11 more -> 0.001,
# an improvement just larger than the threshold (0.9998 < 0.9999), values within 1e-4 of that,
# 11 bad epochs -> 1e-4, then a large improvement.
METRICS_PLATEAU_DEFAULT = (
    [1.0]
    + [0.99995, 0.99992, 1.0, 1.2, 0.99991, 0.99995, 0.99999, 1.0, 0.99991, 0.99993, 0.99994]  # 2-12 bad -> reduce
    + [0.99991] * 5 + [1.5] + [0.99996] * 5                                                       # 13-23 bad -> reduce
    + [0.9998]                                                                                     # 24 good
    + [0.99971, 0.99975, 0.9998, 0.99979, 0.99971, 0.9999, 1.1, 0.99972, 0.99973, 0.99974, 0.99975]  # 25-35 bad -> reduce
    + [0.5, 0.5, 0.49996, 0.4999, 0.6]                                                             # 36-40
)

# eps: with min_lr just below 0.0125, the reduction from 0.0125 would be to 0.012499995, a
# change of 5e-9 < eps = 1e-8, so it is skipped: lr stays at 0.0125 and never reaches min_lr.
METRICS_CONSTANT = [1.0] * N

CASES = [
    ("step_lr_3_half", "StepLR", 0.1, {"step_size": 3, "gamma": 0.5}, N, None),
    ("step_lr_1_default_gamma", "StepLR", 0.1, {"step_size": 1, "gamma": 0.1}, N, None),
    ("multistep_lr_repeated_milestone", "MultiStepLR", 0.1, {"milestones": [2, 5, 5, 11], "gamma": 0.3}, N, None),
    ("multistep_lr_default_gamma", "MultiStepLR", 0.1, {"milestones": [3, 8], "gamma": 0.1}, N, None),
    ("exponential_lr", "ExponentialLR", 0.1, {"gamma": 0.93}, N, None),
    ("cosine_t10_eta_min_past_t_max", "CosineAnnealingLR", 0.1, {"t_max": 10, "eta_min": 0.001}, 45, None),
    ("cosine_t7_eta_min_0", "CosineAnnealingLR", 0.1, {"t_max": 7, "eta_min": 0.0}, N, None),
    ("linear_lr_defaults", "LinearLR", 0.1, {"start_factor": 1.0 / 3, "end_factor": 1.0, "total_iters": 5}, N, None),
    ("linear_lr_decay", "LinearLR", 0.1, {"start_factor": 1.0, "end_factor": 0.05, "total_iters": 12}, N, None),
    ("linear_lr_quarter_to_three_quarters", "LinearLR", 0.1, {"start_factor": 0.25, "end_factor": 0.75, "total_iters": 4}, N, None),
    # end_factor 0: the recursive formula does not land on exactly 0 (about 1.2e-18 here)
    ("linear_lr_to_zero", "LinearLR", 0.1, {"start_factor": 1.0 / 3, "end_factor": 0.0, "total_iters": 3}, N, None),
    ("plateau_cooldown_min_lr", "ReduceLROnPlateau", 0.1,
     plateau(factor=0.5, patience=2, threshold=1e-2, cooldown=1, min_lr=1e-3), N, METRICS_PLATEAU),
    ("plateau_defaults", "ReduceLROnPlateau", 0.1, plateau(), N, METRICS_PLATEAU_DEFAULT),
    ("plateau_eps_near_min_lr", "ReduceLROnPlateau", 0.1,
     plateau(factor=0.5, patience=1, threshold=1e-4, cooldown=0, min_lr=0.012499995), N, METRICS_CONSTANT),
    # eps with min_lr 0: 1e-7 -> 5e-8 -> 2.5e-8 -> 1.25e-8, then 1.25e-8 -> 6.25e-9 changes by less than 1e-8: stuck
    ("plateau_eps_tiny_lr", "ReduceLROnPlateau", 1e-7,
     plateau(factor=0.5, patience=0, threshold=1e-4, cooldown=0, min_lr=0.0), N, METRICS_CONSTANT),
]


def main():
    warnings.simplefilter("ignore")
    cases = []
    for name, kind, base_lr, params, n, metrics in CASES:
        case = {"name": name, "kind": kind, "base_lr": base_lr, "params": params}
        if metrics is not None:
            case["metrics"] = metrics
        case["lrs"] = run(kind, base_lr, params, n, metrics)
        assert len(case["lrs"]) == n + 1
        cases.append(case)
    out = {
        "generator": f"scripts/torch_schedulers_reference.py, torch {torch.__version__}",
        "cases": cases,
    }
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
