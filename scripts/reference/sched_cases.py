"""Learning-rate scheduler cases (torch.optim.lr_scheduler, PyTorch 2.15), 60 steps, in the
scheduler format of shared/conformance (written to torch/)."""

import inspect
import warnings

import torch
from torch.optim import lr_scheduler as LS

from common import TORCH_PACKAGE, pyfloat

NUM_STEPS = 60


def _arg_value(value, annotation):
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        return [_arg_value(v, annotation) for v in value]
    if isinstance(value, int) and "float" in str(annotation) and "int" not in str(annotation):
        return float(value)
    return value


def arguments(cls_name, kwargs, nested=False):
    """Constructor arguments with defaults written out (signature order; no `optimizer`;
    sub-schedulers of a composite leave out `last_epoch`, as the shared cases do)."""
    sig = inspect.signature(getattr(LS, cls_name).__init__)
    out = {}
    for name, p in sig.parameters.items():
        if name in ("self",):
            continue
        if name == "optimizer" and cls_name != "ChainedScheduler":
            continue
        if nested and name == "last_epoch":
            continue
        if name == "schedulers":
            out[name] = [{"name": n, "args": arguments(n, a, nested=True)} for n, a in kwargs[name]]
            continue
        v = kwargs[name] if name in kwargs else p.default
        if v is inspect.Parameter.empty:
            raise ValueError(f"{cls_name}: {name} is required")
        out[name] = _arg_value(v, p.annotation)
    return out


def _plateau_max_metrics():
    m = []
    for t in range(NUM_STEPS):
        if t < 6:
            v = 0.1 * (t + 1)  # clear improvements
        elif t < 14:
            v = 0.6 + 0.004 * (t - 5)  # gains of 0.004 < threshold 0.01: they add up
        elif t < 32:
            v = 0.632 + 0.003 * ((-1) ** t)  # plateau with noise: cuts + cooldowns
        else:
            v = 0.7 + 0.002 * ((-1) ** t)  # one jump (during a cooldown), then plateau again
        m.append(round(v, 6))
    return m


def _plateau_min_metrics():
    m = []
    for t in range(NUM_STEPS):
        if t < 8:
            v = 0.9**t  # 10% improvements > threshold 5% (rel)
        else:
            v = 0.9**7 * 0.99 ** (t - 7)  # 1% improvements: not better under rel threshold 0.05
        m.append(v)
    return m


SGD = ("SGD", {"lr": 0.1})
SGD_M = ("SGD", {"lr": 0.1, "momentum": 0.9})
ADAM = ("Adam", {"lr": 0.001, "betas": (0.9, 0.999)})

# (id, class, kwargs (composites: schedulers as [(name, kwargs)]), optimizer, momentum_key, notes)
CASES = [
    ("lr-step-7", "StepLR", {"step_size": 7, "gamma": 0.5}, SGD, None, None),
    ("lr-multistep-adjacent", "MultiStepLR", {"milestones": [5, 20, 21], "gamma": 0.3}, SGD, None,
     "milestones 20 and 21 are adjacent: two cuts on consecutive steps"),
    ("lr-cosine-tmax13-etamin", "CosineAnnealingLR", {"T_max": 13, "eta_min": 0.01}, SGD, None,
     "runs past T_max (60 steps, T_max 13): PyTorch's recursive form climbs back to the initial lr at 2*T_max, and so on"),
    ("lr-cosine-restarts-t5", "CosineAnnealingWarmRestarts", {"T_0": 5, "T_mult": 1}, SGD, None,
     "scheduler.step() called without an epoch argument; restarts every 5 steps"),
    ("lr-linear-decay", "LinearLR", {"start_factor": 1.0, "end_factor": 0.2, "total_iters": 30}, SGD, None,
     "decay from lr0 to 0.2*lr0 over 30 steps, then constant"),
    ("lr-constant-0.25-9", "ConstantLR", {"factor": 0.25, "total_iters": 9}, SGD, None, None),
    ("lr-polynomial-power1", "PolynomialLR", {"total_iters": 40, "power": 1.0}, SGD, None,
     "reaches 0 at step 40 and stays there"),
    ("lr-onecycle-linear-three-phase", "OneCycleLR",
     {"max_lr": 0.5, "total_steps": 60, "anneal_strategy": "linear", "three_phase": True,
      "base_momentum": 0.8, "max_momentum": 0.95, "div_factor": 10.0, "final_div_factor": 100.0},
     SGD_M, "momentum",
     "three_phase with linear annealing on SGD with momentum, whose 'momentum' OneCycleLR cycles; OneCycleLR overrides the optimizer's lr (max_lr/div_factor) and momentum (max_momentum) at construction; phases end at pct_start*T - 1 = 17, 2*pct_start*T - 2 = 34 and T - 1 = 59; lr_after[59] is one step past the end (the last phase extrapolated)"),
    ("lr-onecycle-adam-betas", "OneCycleLR",
     {"max_lr": 0.01, "total_steps": 60, "pct_start": 0.25, "div_factor": 10.0, "final_div_factor": 1000.0},
     ADAM, "betas[0]",
     "the dummy optimizer is Adam: OneCycleLR cycles betas[0] (momentum_key 'betas[0]'), betas[1] untouched; lr overridden at construction"),
    ("lr-cyclic-triangular2-momentum", "CyclicLR",
     {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 4, "step_size_down": 3, "mode": "triangular2",
      "cycle_momentum": True, "base_momentum": 0.8, "max_momentum": 0.9},
     SGD_M, "momentum",
     "CyclicLR sets lr to base_lr and the optimizer's momentum to max_momentum at construction; momentum moves inversely to lr with the same triangular2 amplitude (halved each cycle); asymmetric cycle: 4 steps up, 3 down"),
    ("lr-cyclic-triangular-adam", "CyclicLR",
     {"base_lr": 0.001, "max_lr": 0.006, "step_size_up": 7, "step_size_down": 5, "mode": "triangular",
      "cycle_momentum": False},
     ADAM, None,
     "the dummy optimizer is Adam with cycle_momentum False (betas untouched); CyclicLR sets lr to base_lr at construction; 7 steps up, 5 down"),
    ("lr-sequential-constant-exp-cosine", "SequentialLR",
     {"schedulers": [("ConstantLR", {"factor": 0.5, "total_iters": 10}), ("ExponentialLR", {"gamma": 0.9}),
                     ("CosineAnnealingLR", {"T_max": 30, "eta_min": 0.001})],
      "milestones": [6, 20]},
     SGD, None,
     "sub-schedulers are constructed on the same optimizer, in list order, before SequentialLR; the ConstantLR (10 iters) is handed over at step 6 before it finished, ExponentialLR at 20 to CosineAnnealingLR, each new scheduler starting from its own step 0"),
    ("lr-chained-step-exp-constant", "ChainedScheduler",
     {"schedulers": [("StepLR", {"step_size": 10, "gamma": 0.5}), ("ExponentialLR", {"gamma": 0.98}),
                     ("ConstantLR", {"factor": 0.4, "total_iters": 6})]},
     SGD, None,
     "sub-schedulers are constructed on the same optimizer, in list order, before ChainedScheduler; each step applies each sub-scheduler's factor in turn"),
    ("lr-plateau-max-abs-cooldown", "ReduceLROnPlateau",
     {"mode": "max", "factor": 0.5, "patience": 3, "threshold": 0.01, "threshold_mode": "abs",
      "cooldown": 2, "min_lr": 0.004},
     SGD, None,
     "scheduler.step(metrics[t]) is called after optimizer step t. mode max, threshold_mode abs: better means metric > best + 0.01; metrics rise (steps 0-5), creep by 0.004 (gains that add up: every third counts), plateau with noise (cuts every patience+1 bad steps, then 2 cooldown steps), jump once at step 32, during the cooldown that follows the cut at step 30, plateau again; lr reaches min_lr 0.004 and later cuts keep it there (they still start a cooldown)"),
    ("lr-plateau-min-rel-eps", "ReduceLROnPlateau",
     {"mode": "min", "factor": 0.5, "patience": 2, "threshold": 0.05, "threshold_mode": "rel",
      "cooldown": 0, "min_lr": 0.0, "eps": 0.01},
     SGD, None,
     "scheduler.step(metrics[t]) is called after optimizer step t. mode min, rel threshold 0.05: better means metric < best*(1 - 0.05); after step 7 the metric improves by 1% a step only; cuts 0.1 -> 0.05 -> 0.025 -> 0.0125, then eps 0.01 suppresses every further cut (0.0125 - 0.00625 <= eps)"),
]


def _make_optimizer(spec):
    name, kw = spec
    p = torch.nn.Parameter(torch.zeros(2))
    opt = getattr(torch.optim, name)([p], **kw)
    return opt, p


def _momentum(opt, key):
    g = opt.param_groups[0]
    return pyfloat(g["momentum"] if key == "momentum" else g["betas"][0])


def sched_case(spec):
    cid, cls_name, kwargs, optspec, mkey, notes = spec
    opt, p = _make_optimizer(optspec)
    initial_lr = pyfloat(opt.param_groups[0]["lr"])
    if cls_name in ("SequentialLR", "ChainedScheduler"):
        subs = [getattr(LS, n)(opt, **a) for n, a in kwargs["schedulers"]]
        rest = {k: v for k, v in kwargs.items() if k != "schedulers"}
        sched = getattr(LS, cls_name)(schedulers=subs, optimizer=opt, **rest) \
            if cls_name == "ChainedScheduler" else getattr(LS, cls_name)(opt, schedulers=subs, **rest)
    else:
        sched = getattr(LS, cls_name)(opt, **kwargs)
    metrics = None
    if cls_name == "ReduceLROnPlateau":
        metrics = _plateau_max_metrics() if kwargs["mode"] == "max" else _plateau_min_metrics()
    lr, lr_after, mom, mom_after = [], [], [], []
    for t in range(NUM_STEPS):
        lr.append(pyfloat(opt.param_groups[0]["lr"]))
        if mkey:
            mom.append(_momentum(opt, mkey))
        p.grad = torch.zeros_like(p)
        opt.step()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if metrics is not None:
                sched.step(metrics[t])
            else:
                sched.step()
        lr_after.append(pyfloat(opt.param_groups[0]["lr"]))
        if mkey:
            mom_after.append(_momentum(opt, mkey))
    args = arguments(cls_name, kwargs)
    if cls_name == "ChainedScheduler":
        args["optimizer"] = None  # passed positionally-optional; the shared 2.15 case writes null
    oname, okw = optspec
    case = {
        "format_version": 1,
        "id": cid,
        "kind": "scheduler",
        "scheduler": cls_name,
        "arguments": args,
        "optimizer": {"name": oname, "hyperparameters": {k: (list(v) if isinstance(v, tuple) else v)
                                                         for k, v in okw.items()}},
        "initial_lr": initial_lr,
        "torch_version": torch.__version__,
        "torch_package": TORCH_PACKAGE,
        "num_steps": NUM_STEPS,
        "notes": notes,
    }
    if metrics is not None:
        case["metrics"] = metrics
    case["lr"] = lr
    case["lr_after"] = lr_after
    if mkey:
        case["momentum_key"] = mkey
        case["momentum"] = mom
        case["momentum_after"] = mom_after
    index = {"id": cid, "file": cid + ".json", "kind": "scheduler", "class": cls_name}
    return case, index
