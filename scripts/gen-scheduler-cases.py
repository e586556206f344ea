#!/usr/bin/env python3
"""Records extra PyTorch scheduler cases for downhill's tests (test/fixtures/schedulers/).

The shared folders hold one case per scheduler class; these cover the arguments and combinations
they do not (milestones at 0 or repeated, decaying LinearLR, cosine over several periods, Adam's
beta1 cycling, three-phase linear OneCycleLR, hand-overs before a member finished, chains with
closed-form members, ReduceLROnPlateau in max/abs mode, ...). Same format and loop as
shared/conformance/README.md "Scheduler cases". LambdaLR / MultiplicativeLR cases name their
lambda in `lr_lambda` (a key of LAMBDAS below, mirrored by the test).

Run with a Python that has torch (2.x): /work/venv/bin/python scripts/gen-scheduler-cases.py
"""
import json
import math
import os
import sys

import torch
from torch.optim import SGD, Adam
from torch.optim import lr_scheduler as S
from torch.optim.swa_utils import SWALR

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures", "schedulers")
NUM_STEPS = 60

LAMBDAS = {
    "exp_0.97": lambda t: 0.97**t,
    "inv_sqrt": lambda t: 1.0 / math.sqrt(t + 1),
    "const_0.95": lambda t: 0.95,
    "step_down_0.9_every_4": lambda t: 0.9 if t % 4 == 0 else 1.0,
}

OPTIMIZERS = {
    "SGD": lambda p, h: SGD(p, **h),
    "Adam": lambda p, h: Adam(p, **h),
}


def build(opt, name, args):
    args = dict(args)
    if "lr_lambda" in args:
        args["lr_lambda"] = LAMBDAS[args["lr_lambda"]]
    if name in ("SequentialLR", "ChainedScheduler"):
        members = [build(opt, m["name"], m["args"]) for m in args.pop("schedulers")]
        if name == "SequentialLR":
            return S.SequentialLR(opt, members, **args)
        return S.ChainedScheduler(members, **args)
    if name == "SWALR":
        return SWALR(opt, **args)
    return getattr(S, name)(opt, **args)


def record(case_id, name, args, optimizer=("SGD", {"lr": 0.1}), metrics=None, momentum_key=None):
    opt_name, hyper = optimizer
    param = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    opt = OPTIMIZERS[opt_name]([param], dict(hyper))
    initial_lr = opt.param_groups[0]["lr"]
    sched = build(opt, name, args)
    group = opt.param_groups[0]

    def momentum():
        return group["betas"][0] if momentum_key == "betas[0]" else group["momentum"]

    lr, lr_after, mom, mom_after = [], [], [], []
    for t in range(NUM_STEPS):
        lr.append(float(group["lr"]))
        if momentum_key:
            mom.append(float(momentum()))
        opt.step()
        if metrics is not None:
            sched.step(metrics[t])
        else:
            sched.step()
        lr_after.append(float(group["lr"]))
        if momentum_key:
            mom_after.append(float(momentum()))
    case = {
        "format_version": 1,
        "id": case_id,
        "kind": "scheduler",
        "scheduler": name,
        "reference": f"torch {torch.__version__.split('+')[0]}",
        "generator": "scripts/gen-scheduler-cases.py",
        "arguments": args,
        "optimizer": {"name": opt_name, "hyperparameters": hyper},
        "initial_lr": initial_lr,
        "num_steps": NUM_STEPS,
        "lr": lr,
        "lr_after": lr_after,
    }
    if metrics is not None:
        case["metrics"] = metrics
    if momentum_key:
        case.update({"momentum_key": momentum_key, "momentum": mom, "momentum_after": mom_after})
    return case


def plateau_metrics():
    # Falls, then stalls with small gains (that add up under an absolute threshold), then noise.
    m = [1.0 / (1 + 0.5 * t) for t in range(12)]
    m += [m[-1] - 0.004 * k for k in range(1, 13)]
    m += [m[-1] + 0.05 * math.sin(1.7 * k) for k in range(36)]
    return m


def cases():
    adam = ("Adam", {"lr": 0.01, "betas": [0.9, 0.999]})
    sgd_m = ("SGD", {"lr": 0.1, "momentum": 0.9})
    yield record("fx-step-adam", "StepLR", {"step_size": 7, "gamma": 0.3}, adam)
    yield record("fx-multistep-zero-repeat", "MultiStepLR", {"milestones": [0, 5, 5, 20], "gamma": 0.5})
    yield record("fx-exponential-adam", "ExponentialLR", {"gamma": 0.9}, adam)
    yield record("fx-constant-default", "ConstantLR", {})
    yield record("fx-constant-total0", "ConstantLR", {"factor": 0.25, "total_iters": 0})
    yield record("fx-linear-decay", "LinearLR", {"start_factor": 0.5, "end_factor": 0.1, "total_iters": 20})
    yield record("fx-linear-total0", "LinearLR", {"start_factor": 0.5, "total_iters": 0})
    yield record("fx-polynomial-0.9", "PolynomialLR", {"total_iters": 40, "power": 0.9})
    yield record("fx-cosine-periods", "CosineAnnealingLR", {"T_max": 7, "eta_min": 0.02})
    yield record("fx-cosine-tmax1", "CosineAnnealingLR", {"T_max": 1})
    yield record("fx-restarts-tmult3", "CosineAnnealingWarmRestarts", {"T_0": 3, "T_mult": 3, "eta_min": 0.001})
    yield record(
        "fx-cyclic-triangular2-adam",
        "CyclicLR",
        {"base_lr": 0.001, "max_lr": 0.01, "step_size_up": 3, "step_size_down": 7, "mode": "triangular2",
         "base_momentum": 0.85, "max_momentum": 0.95},
        adam,
        momentum_key="betas[0]",
    )
    yield record(
        "fx-cyclic-exprange-nomomentum",
        "CyclicLR",
        {"base_lr": 0.02, "max_lr": 0.2, "step_size_up": 6, "mode": "exp_range", "gamma": 0.9, "cycle_momentum": False},
    )
    yield record(
        "fx-cyclic-scalemode-ignored",
        "CyclicLR",
        {"base_lr": 0.02, "max_lr": 0.2, "step_size_up": 4, "mode": "triangular2", "scale_mode": "iterations"},
        sgd_m,
        momentum_key="momentum",
    )
    yield record(
        "fx-onecycle-three-linear-adam",
        "OneCycleLR",
        {"max_lr": 0.05, "total_steps": 60, "anneal_strategy": "linear", "three_phase": True},
        adam,
        momentum_key="betas[0]",
    )
    yield record(
        "fx-onecycle-epochs",
        "OneCycleLR",
        {"max_lr": 0.5, "epochs": 6, "steps_per_epoch": 10, "pct_start": 0.25, "div_factor": 10.0,
         "final_div_factor": 100.0, "base_momentum": 0.8, "max_momentum": 0.9},
        sgd_m,
        momentum_key="momentum",
    )
    yield record(
        "fx-onecycle-long-nomomentum",
        "OneCycleLR",
        {"max_lr": 0.3, "total_steps": 80, "cycle_momentum": False, "three_phase": True},
    )
    yield record(
        "fx-sequential-early-handover",
        "SequentialLR",
        {"schedulers": [{"name": "ConstantLR", "args": {"factor": 0.1, "total_iters": 20}},
                        {"name": "ExponentialLR", "args": {"gamma": 0.9}}], "milestones": [10]},
    )
    yield record(
        "fx-sequential-three",
        "SequentialLR",
        {"schedulers": [{"name": "LinearLR", "args": {"start_factor": 0.2, "total_iters": 4}},
                        {"name": "StepLR", "args": {"step_size": 5, "gamma": 0.5}},
                        {"name": "CosineAnnealingLR", "args": {"T_max": 10, "eta_min": 0.01}}],
         "milestones": [4, 30]},
    )
    yield record(
        "fx-sequential-milestone0",
        "SequentialLR",
        {"schedulers": [{"name": "ExponentialLR", "args": {"gamma": 0.9}},
                        {"name": "StepLR", "args": {"step_size": 10, "gamma": 0.5}}], "milestones": [0]},
    )
    yield record(
        "fx-sequential-exp-then-cyclic",
        "SequentialLR",
        {"schedulers": [{"name": "ExponentialLR", "args": {"gamma": 0.95}},
                        {"name": "CyclicLR", "args": {"base_lr": 0.01, "max_lr": 0.05, "step_size_up": 5}}],
         "milestones": [15]},
        sgd_m,
        momentum_key="momentum",
    )
    yield record(
        "fx-sequential-linear-then-onecycle",
        "SequentialLR",
        {"schedulers": [{"name": "LinearLR", "args": {"start_factor": 0.1, "total_iters": 10}},
                        {"name": "OneCycleLR", "args": {"max_lr": 0.4, "total_steps": 60}}],
         "milestones": [10]},
        sgd_m,
        momentum_key="momentum",
    )
    yield record(
        "fx-sequential-restarts-second",
        "SequentialLR",
        {"schedulers": [{"name": "MultiStepLR", "args": {"milestones": [3, 6], "gamma": 0.5}},
                        {"name": "CosineAnnealingWarmRestarts", "args": {"T_0": 6, "T_mult": 2}}],
         "milestones": [8]},
    )
    yield record(
        "fx-chained-cosine-etamin-exp",
        "ChainedScheduler",
        {"schedulers": [{"name": "CosineAnnealingLR", "args": {"T_max": 10, "eta_min": 0.01}},
                        {"name": "ExponentialLR", "args": {"gamma": 0.97}}]},
    )
    yield record(
        "fx-chained-step-restarts",
        "ChainedScheduler",
        {"schedulers": [{"name": "StepLR", "args": {"step_size": 5, "gamma": 0.5}},
                        {"name": "CosineAnnealingWarmRestarts", "args": {"T_0": 8}}]},
    )
    yield record(
        "fx-chained-restarts-multistep",
        "ChainedScheduler",
        {"schedulers": [{"name": "CosineAnnealingWarmRestarts", "args": {"T_0": 8}},
                        {"name": "MultiStepLR", "args": {"milestones": [10, 20], "gamma": 0.5}}]},
    )
    yield record(
        "fx-chained-cyclic-exp",
        "ChainedScheduler",
        {"schedulers": [{"name": "ExponentialLR", "args": {"gamma": 0.99}},
                        {"name": "CyclicLR", "args": {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 5}},
                        {"name": "ExponentialLR", "args": {"gamma": 0.98}}]},
        sgd_m,
        momentum_key="momentum",
    )
    metrics = plateau_metrics()
    yield record(
        "fx-plateau-max-abs",
        "ReduceLROnPlateau",
        {"mode": "max", "factor": 0.5, "patience": 2, "threshold": 0.01, "threshold_mode": "abs", "cooldown": 2,
         "min_lr": 0.02},
        metrics=[-m for m in metrics],
    )
    yield record(
        "fx-plateau-min-abs-eps",
        "ReduceLROnPlateau",
        {"mode": "min", "factor": 0.7, "patience": 0, "threshold": 0.001, "threshold_mode": "abs", "min_lr": 0.03,
         "eps": 0.004},
        metrics=metrics,
    )
    yield record(
        "fx-plateau-max-rel",
        "ReduceLROnPlateau",
        {"mode": "max", "patience": 1, "threshold": 0.02, "cooldown": 0},
        adam,
        metrics=[1 - m for m in metrics],
    )
    yield record("fx-lambda-exp", "LambdaLR", {"lr_lambda": "exp_0.97"})
    yield record("fx-lambda-inv-sqrt", "LambdaLR", {"lr_lambda": "inv_sqrt"}, adam)
    yield record("fx-multiplicative-const", "MultiplicativeLR", {"lr_lambda": "const_0.95"})
    yield record(
        "fx-sequential-step-multiplicative",
        "SequentialLR",
        {"schedulers": [{"name": "StepLR", "args": {"step_size": 3, "gamma": 0.5}},
                        {"name": "MultiplicativeLR", "args": {"lr_lambda": "step_down_0.9_every_4"}}],
         "milestones": [7]},
    )


def swa_cases():
    yield record("fx-swalr-cos", "SWALR", {"swa_lr": 0.05, "anneal_epochs": 5, "anneal_strategy": "cos"})
    yield record("fx-swalr-linear-adam", "SWALR", {"swa_lr": 0.002, "anneal_epochs": 3, "anneal_strategy": "linear"},
                 ("Adam", {"lr": 0.01}))
    yield record("fx-swalr-no-anneal", "SWALR", {"swa_lr": 0.03, "anneal_epochs": 0, "anneal_strategy": "cos"})


def main():
    os.makedirs(OUT, exist_ok=True)
    index = {"format_version": 1, "reference": f"torch {torch.__version__.split('+')[0]}",
             "generator": "scripts/gen-scheduler-cases.py", "cases": []}
    for case in [*cases(), *swa_cases()]:
        path = os.path.join(OUT, case["id"] + ".json")
        with open(path, "w") as f:
            json.dump(case, f, indent=1)
            f.write("\n")
        index["cases"].append({"id": case["id"], "file": case["id"] + ".json", "kind": "scheduler",
                               "class": case["scheduler"]})
    with open(os.path.join(OUT, "index.json"), "w") as f:
        json.dump(index, f, indent=1)
        f.write("\n")
    print(f"wrote {len(index['cases'])} cases to {os.path.relpath(OUT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
