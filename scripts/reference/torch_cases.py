"""PyTorch optimizer cases: the 1.13 format (25 steps, folder torch/) and torch 2.x optimizers in
the conformance-next format (12 steps, folder next/)."""

import torch

import objectives as obj
from common import (
    GENERATOR,
    TORCH_PACKAGE,
    flat,
    jsonable_hparam,
    pyfloat,
    scalar,
)

# Hyperparameter keys of the 1.13 format, in its order (shared/conformance/README.md).
TORCH_FORMAT_KEYS = {
    "SGD": ["lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize"],
    "Adam": ["lr", "betas", "eps", "weight_decay", "amsgrad", "maximize"],
    "AdamW": ["lr", "betas", "eps", "weight_decay", "amsgrad", "maximize"],
    "Adagrad": ["lr", "lr_decay", "eps", "weight_decay", "initial_accumulator_value", "maximize"],
    "RMSprop": ["lr", "momentum", "alpha", "eps", "centered", "weight_decay", "maximize"],
    "Adadelta": ["lr", "rho", "eps", "weight_decay", "maximize"],
    "Adamax": ["lr", "betas", "eps", "weight_decay", "maximize"],
    "NAdam": ["lr", "betas", "eps", "weight_decay", "momentum_decay"],
    "RAdam": ["lr", "betas", "eps", "weight_decay"],
}
# Param-group entries that select an implementation, not the algorithm (left out of
# `hyperparameters` in the next format, as the shared cases do).
IMPL_KEYS = {"params", "foreach", "capturable", "differentiable", "fused"}
INT_KEYS = {"ns_steps", "max_iter", "max_eval", "history_size"}


def torch_version():
    return torch.__version__


def _state_entry(state):
    out = {}
    for key in sorted(state):
        v = state[key]
        if v is None:
            continue
        if torch.is_tensor(v) and v.dim() > 0:
            out[key] = flat(v)
        else:
            out[key] = scalar(v)
    return out


def radam_switch_step(beta2, num_steps):
    """First step t whose rho_t > 5 (RAdam's rectified phase), or None."""
    rho_inf = 2 / (1 - beta2) - 1
    for t in range(1, num_steps + 1):
        rho_t = rho_inf - 2 * t * beta2**t / (1 - beta2**t)
        if rho_t > 5:
            return t
    return None


def run_torch(cls_name, kwargs, dtype, num_steps, objective, init, shapes, clip=None,
              maximize_objective=False):
    """Run a torch optimizer on the objective; return the pieces of a case."""
    tdt = torch.float64 if dtype == "float64" else torch.float32
    prev = torch.get_default_dtype()
    torch.set_default_dtype(tdt)
    try:
        params = [
            torch.tensor(v, dtype=tdt).reshape(s).requires_grad_(True) for v, s in zip(init, shapes)
        ]
        opt = getattr(torch.optim, cls_name)(params, **kwargs)
        steps = []
        for k in range(num_steps):
            opt.zero_grad(set_to_none=True)
            loss = objective(params)
            if maximize_objective:
                loss = -loss
            loss.backward()
            rec = {"step": k + 1, "lr": pyfloat(opt.param_groups[0]["lr"]),
                   "loss": pyfloat(loss.detach()), "grads": [flat(p.grad) for p in params]}
            if clip is not None:
                if clip["kind"] == "norm":
                    nt = clip["norm_type"]
                    nt = float("inf") if nt == "inf" else nt
                    total = torch.nn.utils.clip_grad_norm_(params, clip["max_norm"], norm_type=nt)
                    rec["total_norm"] = pyfloat(total)
                else:
                    torch.nn.utils.clip_grad_value_(params, clip["clip_value"])
                rec["clipped_grads"] = [flat(p.grad) for p in params]
            opt.step()
            rec["params"] = [flat(p) for p in params]
            steps.append(rec)
        final_state = [_state_entry(opt.state[p]) for p in params]
        group = {k: v for k, v in opt.param_groups[0].items()}
        return {
            "initial_params": [flat(torch.tensor(v, dtype=tdt)) for v in init],
            "steps": steps,
            "final_state": final_state,
            "group": group,
        }
    finally:
        torch.set_default_dtype(prev)


def hyperparameters_torch_format(cls_name, group):
    return {k: jsonable_hparam(group[k]) for k in TORCH_FORMAT_KEYS[cls_name]}


def hyperparameters_next_format(group):
    return {
        k: jsonable_hparam(v, keep_int=k in INT_KEYS) for k, v in group.items() if k not in IMPL_KEYS
    }


# ------------------------------------------------------------------ torch format (1.13 layout)

# (id, class, constructor kwargs, clip, maximize, notes)
TORCH_FORMAT_CASES = [
    ("sgd-momentum-dampening", "SGD", {"lr": 0.01, "momentum": 0.9, "dampening": 0.3}, None, False,
     "dampening 0.3: the first step sets the momentum buffer to the gradient itself (no (1 - dampening) factor); later steps buf = 0.9*buf + 0.7*g"),
    ("sgd-nesterov-wd", "SGD", {"lr": 0.01, "momentum": 0.9, "nesterov": True, "weight_decay": 0.05}, None, False,
     "weight decay is added to the gradient before the momentum buffer; the Nesterov direction is g + momentum*buf with that decayed g"),
    ("sgd-maximize-momentum", "SGD", {"lr": 0.01, "momentum": 0.8, "maximize": True}, None, True,
     "maximize: records the gradients of the maximized objective g = -f, and loss is g; the optimizer negates the gradient first"),
    ("adam-amsgrad", "Adam", {"lr": 0.01, "betas": (0.9, 0.9), "amsgrad": True}, None, False,
     "amsgrad with beta2 0.9, so exp_avg_sq falls below its running maximum on many elements: max_exp_avg_sq != exp_avg_sq in the final state. denominator = sqrt(max_exp_avg_sq)/sqrt(1 - beta2^t) + eps"),
    ("adam-maximize", "Adam", {"lr": 0.01, "maximize": True}, None, True,
     "maximize: records the gradients of the maximized objective g = -f, and loss is g; the optimizer negates the gradient first"),
    ("adam-amsgrad-wd", "Adam", {"lr": 0.01, "betas": (0.8, 0.9), "weight_decay": 0.05, "amsgrad": True}, None, False,
     "L2 weight decay (added to the gradient) with amsgrad"),
    ("adamw-amsgrad", "AdamW", {"lr": 0.01, "betas": (0.9, 0.85), "amsgrad": True}, None, False,
     "decoupled weight decay (default 0.01) with amsgrad"),
    ("adamw-wd0.1", "AdamW", {"lr": 0.01, "weight_decay": 0.1}, None, False,
     "param *= 1 - lr*weight_decay before the Adam step; b1 (d here) starts at zero"),
    ("adagrad-lrdecay-init-wd", "Adagrad", {"lr": 0.1, "lr_decay": 0.01, "initial_accumulator_value": 0.1, "weight_decay": 0.01}, None, False,
     "clr = lr / (1 + (t-1)*lr_decay); sum starts at initial_accumulator_value; L2 weight decay added to the gradient"),
    ("adagrad-maximize", "Adagrad", {"lr": 0.05, "maximize": True}, None, True,
     "maximize: records the gradients of the maximized objective g = -f, and loss is g; the optimizer negates the gradient first"),
    ("rmsprop-centered-momentum-wd", "RMSprop", {"lr": 0.001, "momentum": 0.9, "centered": True, "weight_decay": 0.01}, None, False,
     "centered (grad_avg) + momentum buffer + L2 weight decay"),
    ("rmsprop-alpha0.9", "RMSprop", {"lr": 0.01, "alpha": 0.9}, None, False, None),
    ("adadelta-wd-lr-rho", "Adadelta", {"lr": 0.5, "rho": 0.8, "weight_decay": 0.01}, None, False,
     "L2 weight decay added to the gradient; delta scaled by lr 0.5"),
    ("adamax-wd", "Adamax", {"lr": 0.01, "weight_decay": 0.05}, None, False,
     "L2 weight decay added to the gradient before exp_avg / exp_inf"),
    ("nadam-momentum-decay-wd", "NAdam", {"lr": 0.002, "momentum_decay": 0.002, "weight_decay": 0.01, "foreach": False}, None, False,
     "recorded with PyTorch 2.15's single-tensor NAdam (foreach=False), which computes the documented algorithm (the same as 1.13's multi-tensor NAdam, see shared README); L2 weight decay added to the gradient; PyTorch 2.15's param group also holds decoupled_weight_decay=false and maximize=false, left out here as in the 1.13 format"),
    ("radam-wd-betas", "RAdam", {"lr": 0.01, "betas": (0.8, 0.75), "weight_decay": 0.01}, None, False, None),
    ("clip-norm1-sgd-momentum", "SGD", {"lr": 0.01, "momentum": 0.9}, {"kind": "norm", "max_norm": 20.0, "norm_type": 1.0}, False,
     "clip_grad_norm_(norm_type=1) is applied to all parameter tensors together before each step; total_norm is what it returned (PyTorch 2.15: foreach per-tensor norms, then the norm of those)"),
    ("clip-norminf-adam", "Adam", {"lr": 0.05}, {"kind": "norm", "max_norm": 2.0, "norm_type": "inf"}, False,
     "clip_grad_norm_(norm_type=inf) is applied to all parameter tensors together before each step: total_norm = max |g| over all elements"),
    ("clip-norm3-sgd", "SGD", {"lr": 0.02}, {"kind": "norm", "max_norm": 5.0, "norm_type": 3.0}, False,
     "clip_grad_norm_(norm_type=3) is applied to all parameter tensors together before each step; total_norm is what it returned"),
    ("clip-value-adam", "Adam", {"lr": 0.05, "betas": (0.8, 0.99)}, {"kind": "value", "clip_value": 1.5}, False,
     "clip_grad_value_ is applied to all parameter tensors before each step"),
]


def torch_format_case(spec, dtype):
    cid, cls_name, kwargs, clip, maximize_obj, notes = spec
    kwargs = dict(kwargs)
    kwargs.setdefault("foreach", False)
    res = run_torch(cls_name, kwargs, dtype, 25, obj.torch_objective, obj.TORCH_INIT,
                    obj.TORCH_SHAPES, clip=clip, maximize_objective=maximize_obj)
    if cls_name == "RAdam":
        t0 = radam_switch_step(kwargs["betas"][1], 25)
        notes = (f"RAdam uses the un-rectified update while rho_t <= 5 and the rectified one when "
                 f"rho_t > 5; with beta2 {kwargs['betas'][1]} steps 1-{t0 - 1} are un-rectified and "
                 f"steps {t0}-25 rectified; L2 weight decay added to the gradient; PyTorch 2.15's "
                 "param group also holds decoupled_weight_decay=false and maximize=false, left "
                 "out here as in the 1.13 format")
    suffix = "" if dtype == "float64" else "-f32"
    ckw = {k: jsonable_hparam(v, keep_int=True) for k, v in kwargs.items()}
    case = {
        "format_version": 1,
        "id": cid + suffix,
        "kind": "optimizer",
        "optimizer": cls_name,
        "hyperparameters": hyperparameters_torch_format(cls_name, res["group"]),
        "constructor_kwargs": ckw,
        "dtype": dtype,
        "torch_version": torch_version(),
        "torch_package": TORCH_PACKAGE,
        "torch_settings": {"foreach": False, "default_dtype": dtype},
        "num_steps": 25,
        "num_params": len(obj.TORCH_SHAPES),
        "shapes": obj.TORCH_SHAPES,
        "clip": clip,
        "objective": obj.TORCH_OBJECTIVE_MAX if maximize_obj else obj.TORCH_OBJECTIVE,
        "notes": notes,
        "initial_params": res["initial_params"],
        "steps": res["steps"],
        "final_state": res["final_state"],
    }
    index = {"id": case["id"], "file": case["id"] + ".json", "kind": "optimizer",
             "class": cls_name, "dtype": dtype, "clip": None if clip is None else clip["kind"]}
    return case, index


# ------------------------------------------------------------------ torch 2.x, next format

NEXT_TORCH_CASES = [
    ("torch-adam-decoupled-wd-amsgrad", "Adam",
     {"lr": 0.01, "betas": (0.9, 0.9), "weight_decay": 0.05, "amsgrad": True, "decoupled_weight_decay": True, "foreach": False},
     False, "decoupled_weight_decay=True (param *= 1 - lr*weight_decay, gradient unchanged) with amsgrad; beta2 0.9 so max_exp_avg_sq departs from exp_avg_sq"),
    ("torch-nadam-decoupled-wd-betas", "NAdam",
     {"lr": 0.005, "betas": (0.8, 0.95), "weight_decay": 0.02, "momentum_decay": 0.006, "decoupled_weight_decay": True, "foreach": False},
     False, "decoupled_weight_decay=True: param *= 1 - lr * weight_decay, the gradient is not changed; betas (0.8, 0.95), momentum_decay 0.006"),
    ("torch-radam-decoupled-wd-betas", "RAdam",
     {"lr": 0.005, "betas": (0.85, 0.7), "weight_decay": 0.02, "decoupled_weight_decay": True, "foreach": False},
     False, None),
    ("torch-adamw-amsgrad-group-key", "AdamW",
     {"lr": 0.01, "betas": (0.85, 0.9), "weight_decay": 0.1, "amsgrad": True, "foreach": False},
     False, "torch 2.x AdamW is Adam with decoupled_weight_decay=True, and its param group says so: hyperparameters carry decoupled_weight_decay true, a key AdamW's constructor does not take (the 1.13 format drops it)"),
    ("torch-adafactor-eps1-wd", "Adafactor",
     {"lr": 0.05, "beta2_decay": -0.5, "eps": (1e-3, 1e-3), "d": 1.2, "weight_decay": 0.01, "foreach": False},
     False, "eps = (eps1, eps2) = (1e-3, 1e-3): eps1 given (not null) clamps sqrt(V) and the row-mean of row_var from below; d 1.2 (torch 2.15 rejects d < 1) divides U by max(1, RMS(U)/1.2); beta2_decay -0.5; weight_decay: param *= 1 - lr*weight_decay (before the update, after RMS(p) is taken)"),
    ("torch-adafactor-maximize", "Adafactor",
     {"lr": 0.05, "beta2_decay": -0.5, "eps": (None, 1e-3), "d": 1.0, "weight_decay": 0.01, "maximize": True, "foreach": False},
     True, "maximize: records the gradients of the maximized objective g = -f, and loss is g; the optimizer negates the gradient first. eps1 null = torch.finfo(dtype).eps"),
]

MUON_CASES = [
    ("torch-muon-match-rms-adamw",
     {"lr": 0.02, "weight_decay": 0.0, "nesterov": False, "ns_steps": 3, "adjust_lr_fn": "match_rms_adamw"},
     "nesterov False (the update is the momentum buffer itself), weight_decay 0, ns_steps 3; adjust_lr_fn 'match_rms_adamw': adjusted lr = 0.2*lr*sqrt(max(rows, cols)) = 0.2*lr*2 for both W1 (3x4) and W2 (4x2)"),
    ("torch-muon-spectral-unclamped",
     {"lr": 0.02, "weight_decay": 0.0, "nesterov": False, "ns_steps": 3, "adjust_lr_fn": "spectral_unclamped"},
     "nesterov False, weight_decay 0, ns_steps 3; adjust_lr_fn 'spectral_unclamped': adjusted lr = lr*sqrt(rows/cols), not clamped at 1: lr*sqrt(3/4) for W1 (3x4), lr*sqrt(2) for W2 (4x2)"),
]


def _next_torch_common(cid, cls_name, res, kwargs, dtype, shapes, objective, notes, settings):
    suffix = "" if dtype == "float64" else "-f32"
    case = {
        "format_version": 1,
        "id": cid + suffix,
        "kind": "optimizer",
        "optimizer": cls_name,
        "reference": "torch " + torch_version().split("+")[0],
        "hyperparameters": hyperparameters_next_format(res["group"]),
        "constructor_kwargs": {k: jsonable_hparam(v, keep_int=True) for k, v in kwargs.items()},
        "dtype": dtype,
        "torch_version": torch_version(),
        "torch_package": TORCH_PACKAGE,
        "torch_settings": settings,
        "generator": GENERATOR,
        "num_steps": 12,
        "num_params": len(shapes),
        "shapes": shapes,
        "clip": None,
        "objective": objective,
        "notes": notes,
        "initial_params": res["initial_params"],
    }
    return case


def next_torch_case(spec, dtype):
    cid, cls_name, kwargs, maximize_obj, notes = spec
    res = run_torch(cls_name, kwargs, dtype, 12, obj.next_objective_torch, obj.NEXT_INIT,
                    obj.NEXT_SHAPES, maximize_objective=maximize_obj)
    if cls_name == "RAdam":
        t0 = radam_switch_step(kwargs["betas"][1], 12)
        notes = (f"decoupled_weight_decay=True (param *= 1 - lr*weight_decay); RAdam uses the "
                 f"un-rectified update while rho_t <= 5 and the rectified one when rho_t > 5; with "
                 f"beta2 {kwargs['betas'][1]} steps 1-{t0 - 1} are un-rectified and steps {t0}-12 "
                 "rectified")
    case = _next_torch_common(cid, cls_name, res, kwargs, dtype, obj.NEXT_SHAPES,
                              obj.NEXT_OBJECTIVE_MAX if maximize_obj else obj.NEXT_OBJECTIVE,
                              notes, {"foreach": False, "default_dtype": dtype})
    case["steps"] = res["steps"]
    case["final_state"] = res["final_state"]
    index = {"id": case["id"], "file": case["id"] + ".json", "kind": "optimizer",
             "class": cls_name, "dtype": dtype, "clip": None, "reference": case["reference"]}
    return case, index


# --------------------------------------------------------------- Muon: float64 Newton-Schulz


def _muon_full_precision(case, dtype):
    """Replay a Muon case with Newton-Schulz in the parameter dtype (numpy, no bfloat16) and
    return the largest |param - recorded| over all steps."""
    import numpy as np

    npdt = np.float64 if dtype == "float64" else np.float32
    hp = case["hyperparameters"]
    a, b, c = hp["ns_coefficients"]
    lr, wd, mom, eps = hp["lr"], hp["weight_decay"], hp["momentum"], hp["eps"]
    params = [np.array(v, dtype=npdt).reshape(s) for v, s in zip(case["initial_params"], case["shapes"])]
    bufs = [np.zeros_like(p) for p in params]
    worst = 0.0
    for st in case["steps"]:
        for i, p in enumerate(params):
            g = np.array(st["grads"][i], dtype=npdt).reshape(p.shape)
            bufs[i] = mom * bufs[i] + (1 - mom) * g
            u = (1 - mom) * g + mom * bufs[i] if hp["nesterov"] else bufs[i]
            x = u.T if u.shape[0] > u.shape[1] else u
            x = x / max(np.linalg.norm(x), eps)
            for _ in range(hp["ns_steps"]):
                A = x @ x.T
                x = a * x + (b * A + c * A @ A) @ x
            o = x.T if u.shape[0] > u.shape[1] else x
            rows, cols = p.shape
            fn = hp["adjust_lr_fn"]
            if fn in (None, "original"):
                ratio = max(1.0, rows / cols) ** 0.5
            elif fn == "match_rms_adamw":
                ratio = 0.2 * max(rows, cols) ** 0.5
            else:
                ratio = (rows / cols) ** 0.5
            params[i] = (p * (1 - lr * wd) - lr * ratio * o).astype(npdt)
            ref = np.array(st["params"][i]).reshape(p.shape)
            worst = max(worst, float(np.max(np.abs(params[i] - ref))))
    return worst


def muon_case(spec, dtype):
    from common import round_up_1sig

    cid, kwargs, notes = spec
    res = run_torch("Muon", kwargs, dtype, 12, obj.muon_objective_torch, obj.MUON_INIT, obj.MUON_SHAPES)
    case = _next_torch_common(cid, "Muon", res, kwargs, dtype, obj.MUON_SHAPES, obj.MUON_OBJECTIVE,
                              "torch.optim.Muon runs its Newton-Schulz iteration in bfloat16 whatever the parameter dtype, so its updates carry bfloat16 rounding: see tolerance. " + notes,
                              {"default_dtype": dtype})
    case["steps"] = res["steps"]
    case["final_state"] = res["final_state"]
    dev = _muon_full_precision(case, dtype)
    atol = max(round_up_1sig(2 * dev), 1e-12 if dtype == "float64" else 1e-6)
    conf = {"rtol": 1e-10, "atol": 1e-12} if dtype == "float64" else {"rtol": 1e-05, "atol": 1e-06}
    case["tolerance"] = {
        "params": {"rtol": 0.0, "atol": atol},
        "final_state": conf,
        "why": (f"Newton-Schulz runs in bfloat16 inside torch.optim.Muon; momentum_buffer is exact. "
                f"A replay with Newton-Schulz in {dtype} (no bfloat16) deviates from the recorded "
                f"params by at most {dev:.3g}; params atol = 2x that, rounded up to one digit"),
    }
    # Same key order as the shared Muon cases: tolerance after final_state.
    index = {"id": case["id"], "file": case["id"] + ".json", "kind": "optimizer",
             "class": "Muon", "dtype": dtype, "clip": None, "reference": case["reference"]}
    return case, index, dev
