"""Optax cases in the conformance-next format (12 steps, folder next/).

JAX runs eagerly (no jit) on CPU with jax_enable_x64 on, so float64 cases are float64 throughout
and float32 cases hold float32 arrays (Python-float hyperparameters meet them as weak types)."""

import inspect
import platform

import jax

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_platforms", "cpu")

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402
import optax.contrib  # noqa: E402

import objectives as obj  # noqa: E402
from common import GENERATOR, flat, jsonable_hparam, scalar  # noqa: E402

NUM_STEPS = 12
NP = len(obj.NEXT_SHAPES)


def reference():
    return "optax " + optax.__version__


def reference_versions():
    import jaxlib

    return {"optax": optax.__version__, "jax": jax.__version__, "jaxlib": jaxlib.__version__,
            "numpy": np.__version__, "python": platform.python_version()}


def _resolve(name):
    fn = optax
    for part in name.split(".")[1:]:
        fn = getattr(fn, part)
    return fn


def hyperparameters(name, kwargs):
    """Every argument of the Optax function, defaults written out, in signature order."""
    sig = inspect.signature(_resolve(name))
    out = {}
    for pname, p in sig.parameters.items():
        if pname == "fast_optimizer":
            continue
        v = kwargs[pname] if pname in kwargs else p.default
        if v is inspect.Parameter.empty:
            raise ValueError(f"{name}: required argument {pname} not given")
        out[pname] = jsonable_hparam(v, keep_int=True)
    return out


# ------------------------------------------------------------------------- state flattening


def _is_masked_node(x):
    return type(x).__name__ == "MaskedNode"


def flatten_state(state):
    """Optax state -> (per-tensor dicts, shared dict), keys = dotted paths of field names, dict
    keys and tuple indices. A list with one entry per parameter tensor is a per-tensor leaf (the
    tensor index is dropped from the path); every other leaf is shared."""
    per = [dict() for _ in range(NP)]
    shared = {}

    def walk(node, path):
        if _is_masked_node(node):
            return
        if hasattr(node, "_fields"):  # NamedTuple
            for f in node._fields:
                walk(getattr(node, f), path + [f])
        elif isinstance(node, dict):
            for k in sorted(node):  # JAX orders dict children by sorted key
                walk(node[k], path + [str(k)])
        elif isinstance(node, list) and len(node) == NP:
            for i, leaf in enumerate(node):
                if leaf is None or _is_masked_node(leaf):
                    continue
                per[i][".".join(path)] = flat(leaf)
        elif isinstance(node, (tuple, list)):
            for i, child in enumerate(node):
                walk(child, path + [str(i)])
        elif node is None:
            return
        else:
            arr = np.asarray(node)
            key = ".".join(path)
            shared[key] = scalar(arr) if arr.ndim == 0 else flat(arr)

    walk(state, [])  # keys in the order of the state's structure, as the shared files have them
    return per, shared


def _find_schedule_count(state):
    """The count of the ScaleByScheduleState inside `state` (warmup schedule), else None."""
    found = []

    def walk(node):
        if type(node).__name__ == "ScaleByScheduleState":
            found.append(int(node.count))
            return
        if _is_masked_node(node):
            return
        if hasattr(node, "_fields"):
            for f in node._fields:
                walk(getattr(node, f))
        elif isinstance(node, dict):
            for v in node.values():
                walk(v)
        elif isinstance(node, (tuple, list)):
            for v in node:
                walk(v)

    walk(state)
    return found[0] if found else None


# ------------------------------------------------------------------------------- the cases

T, F = True, False

# (id, optax name, kwargs, notes, extra)
CASES = [
    ("optax-lamb-wd-mask", "optax.lamb",
     {"learning_rate": 0.01, "weight_decay": 0.01, "mask": [T, F, T, T]},
     "weight decay 0.01 on W1, W2, T (mask false on b1): u = adam_direction + wd*p inside the trust-ratio norm where the mask is true; the trust ratio itself applies to every tensor (b1 starts at zero: ratio 1 at step 1).",
     {}),
    ("optax-lars-nesterov-masks", "optax.lars",
     {"learning_rate": 0.5, "weight_decay": 1e-4, "weight_decay_mask": [T, F, T, T],
      "trust_coefficient": 0.02, "trust_ratio_mask": [T, T, F, T], "nesterov": True},
     "weight_decay_mask [W1, b1, W2, T] = [true, false, true, true]; trust_ratio_mask = [true, true, false, true]: W2 takes plain momentum SGD on g + wd*p (ratio 1); b1 starts at zero, so its ratio is 1 at step 1; nesterov: update = lr*ratio*u + momentum*buf_new with buf_new = lr*ratio*u + momentum*buf.",
     {}),
    ("optax-lion-wd-mask", "optax.lion",
     {"learning_rate": 0.003, "b1": 0.95, "b2": 0.98, "weight_decay": 0.1, "mask": [T, F, T, F]},
     "weight decay 0.1 on W1 and W2 only (mask [true, false, true, false]); b1 0.95 for the sign direction, b2 0.98 for the stored moment.",
     {}),
    ("optax-adabelief-nesterov", "optax.adabelief",
     {"learning_rate": 0.01, "nesterov": True},
     "nesterov: m_hat = b1*m/(1-b1^(t+1)) + (1-b1)*g/(1-b1^t); s includes eps_root every step.",
     {}),
    ("optax-yogi-betas-eps", "optax.yogi",
     {"learning_rate": 0.01, "b1": 0.8, "b2": 0.99, "eps": 1e-4},
     "m and v start at 1e-6 (initial_accumulator_value), bias corrections still 1 - b^t.",
     {}),
    ("optax-schedule-free-adamw-warmup-wd", "optax.contrib.schedule_free_adamw",
     {"learning_rate": 0.01, "warmup_steps": 4, "weight_decay": 0.01},
     "warmup_steps 4: steps[k].lr is the inner (AdamW-without-momentum) rate, the warmup at count t-1 (0 at step 1); steps[k].lr_weight is the rate at count t used for max_lr and the averaging weight. Both are float32 values (the schedule is evaluated at an int32 count). Weight decay 0.01 is taken at y.",
     {"schedule_free": True}),
    ("optax-schedule-free-sgd-warmup-wd", "optax.contrib.schedule_free_sgd",
     {"learning_rate": 0.1, "warmup_steps": 3, "weight_decay": 1e-3},
     "warmup_steps 3 and weight_decay 1e-3 (d = g + wd*y, taken at y, before the warmup-scaled sgd step): steps[k].lr is the inner rate (warmup at count t-1, 0 at step 1), steps[k].lr_weight the rate at count t used for max_lr and the averaging weight.",
     {"schedule_free": True}),
    ("optax-lookahead-sgd-momentum-reset", "optax.lookahead",
     {"sync_period": 3, "slow_step_size": 0.5, "reset_state": True},
     "fast optimizer optax.sgd(0.05, momentum=0.9); reset_state: the fast optimizer's momentum trace is reset to zeros at each sync (steps 3, 6, 9, 12), so final_state's trace is all zeros after step 12.",
     {"fast": ("optax.sgd", {"learning_rate": 0.05, "momentum": 0.9})}),
    ("optax-lookahead-adam-sync4", "optax.lookahead",
     {"sync_period": 4, "slow_step_size": 0.3, "reset_state": False},
     "fast optimizer optax.adam(0.01); sync every 4 steps (4, 8, 12) with slow_step_size 0.3; the Adam state (count, mu, nu) carries across syncs.",
     {"fast": ("optax.adam", {"learning_rate": 0.01})}),
    ("optax-muon-consistent-rms", "optax.contrib.muon",
     {"learning_rate": 0.02, "nesterov": False, "consistent_rms": 0.2, "adam_weight_decay": 0.01},
     "2-D tensors (W1, W2) take the Muon branch with nesterov False (m_hat = bias-corrected m) and consistent_rms 0.2: scale = 0.2*sqrt(max(rows, cols)) = 0.4 for both; b1 and T take the built-in AdamW branch, also without Nesterov, with adam_weight_decay 0.01 (u = m_hat/(sqrt(v_hat)+eps) + 0.01*p, times lr).",
     {}),
    ("optax-lamb-mask-false", "optax.lamb",
     {"learning_rate": 0.01, "weight_decay": 0.1, "mask": False},
     "mask false (one boolean for the whole tree): no tensor takes weight decay, the trust ratio still applies to every tensor.",
     {}),
    ("optax-lars-masks-false", "optax.lars",
     {"learning_rate": 0.2, "weight_decay": 1e-2, "weight_decay_mask": False, "trust_ratio_mask": False},
     "both masks false: no weight decay and no trust ratio anywhere, so LARS is momentum SGD on g (trace of updates, lr inside).",
     {}),
    ("optax-muon-adaptive-adam-options", "optax.contrib.muon",
     {"learning_rate": 0.02, "adaptive": True, "adam_b1": 0.8, "adam_b2": 0.99, "adam_eps_root": 1e-10,
      "adam_weight_decay": 0.01, "adam_learning_rate": 0.005, "weight_decay": 0.02, "weight_decay_mask": [T, F, T, F]},
     "adaptive: the orthogonalized update is scaled by <m, O> (Frobenius inner product); the AdamW branch for b1 and T has its own b1, b2, eps_root, weight decay and learning rate; weight_decay 0.02 with weight_decay_mask true on W1, W2.",
     {}),
    ("optax-muon-spectral-coeffs", "optax.contrib.muon",
     {"learning_rate": 0.02, "preconditioning": "spectral", "ns_coeffs": (3.0, -3.2, 1.2), "ns_steps": 4},
     "preconditioning 'spectral' and non-default Newton-Schulz coefficients (3, -3.2, 1.2) with 4 iterations.",
     {}),
    ("optax-lookahead-adamw", "optax.lookahead",
     {"sync_period": 5, "slow_step_size": 0.4, "reset_state": False},
     "fast optimizer optax.adamw(0.01, weight_decay=0.05) (default mask None: decay on every tensor); sync at steps 5 and 10.",
     {"fast": ("optax.adamw", {"learning_rate": 0.01, "weight_decay": 0.05})}),
    ("optax-lookahead-lion-reset", "optax.lookahead",
     {"sync_period": 3, "slow_step_size": 0.6, "reset_state": True},
     "fast optimizer optax.lion(0.003); reset_state: Lion's mu and count restart at every sync (steps 3, 6, 9, 12).",
     {"fast": ("optax.lion", {"learning_rate": 0.003})}),
    ("optax-lookahead-lamb", "optax.lookahead",
     {"sync_period": 4, "slow_step_size": 0.5, "reset_state": False},
     "fast optimizer optax.lamb(0.01, weight_decay=0.01): the trust ratio is taken on the fast weights.",
     {"fast": ("optax.lamb", {"learning_rate": 0.01, "weight_decay": 0.01})}),
]


def _make(name, kwargs, extra):
    if "fast" in extra:
        fast_name, fast_kwargs = extra["fast"]
        fast = _resolve(fast_name)(**fast_kwargs)
        return _resolve(name)(fast, **kwargs)
    return _resolve(name)(**kwargs)


def run_case(spec, dtype):
    cid, name, kwargs, notes, extra = spec
    jdt = jnp.float64 if dtype == "float64" else jnp.float32
    opt = _make(name, kwargs, extra)
    params = [jnp.asarray(v, dtype=jdt).reshape(s) for v, s in zip(obj.NEXT_INIT, obj.NEXT_SHAPES)]
    lookahead = "fast" in extra
    sf = extra.get("schedule_free", False)
    if lookahead:
        lp = optax.LookaheadParams(fast=params, slow=params)
        state = opt.init(lp)
        base_lr = extra["fast"][1]["learning_rate"]
    else:
        state = opt.init(params)
        base_lr = kwargs["learning_rate"]
    sched = None
    if sf and kwargs.get("warmup_steps") is not None:
        sched = optax.warmup_constant_schedule(
            init_value=0, peak_value=kwargs["learning_rate"], warmup_steps=kwargs["warmup_steps"])
    vg = jax.value_and_grad(obj.next_objective_jax)
    steps = []
    for k in range(NUM_STEPS):
        at = lp.fast if lookahead else params
        loss, grads = vg(at)
        rec = {"step": k + 1}
        if sched is not None:
            inner_count = _find_schedule_count(state)
            rec["lr"] = scalar(sched(jnp.asarray(inner_count, dtype=jnp.int32)))
            w_rate = jnp.asarray(sched(state.step_count), dtype=state.max_lr.dtype)
            rec["lr_weight"] = scalar(w_rate)
        else:
            rec["lr"] = float(base_lr)
        rec["loss"] = scalar(loss)
        rec["grads"] = [flat(g) for g in grads]
        if lookahead:
            updates, state = opt.update(grads, state, lp)
            lp = optax.apply_updates(lp, updates)
            rec["params"] = [flat(p) for p in lp.fast]
            rec["slow_params"] = [flat(p) for p in lp.slow]
            rec["synced"] = (k + 1) % kwargs["sync_period"] == 0
        else:
            updates, state = opt.update(grads, state, params)
            params = optax.apply_updates(params, updates)
            rec["params"] = [flat(p) for p in params]
            if sf:
                ev = optax.contrib.schedule_free_eval_params(state, params)
                rec["eval_params"] = [flat(p) for p in ev]
        steps.append(rec)
    per, shared = flatten_state(state)

    if lookahead:
        fast_name, fast_kwargs = extra["fast"]
        hp = {"fast_optimizer": {"name": fast_name,
                                 "hyperparameters": hyperparameters(fast_name, fast_kwargs),
                                 "constructor_kwargs": jsonable_hparam_dict(fast_kwargs)}}
        hp.update(hyperparameters(name, kwargs))
        ckw = {"fast_optimizer": {"name": fast_name, "kwargs": jsonable_hparam_dict(fast_kwargs)}}
        ckw.update(jsonable_hparam_dict(kwargs))
    else:
        hp = hyperparameters(name, kwargs)
        ckw = jsonable_hparam_dict(kwargs)
    suffix = "" if dtype == "float64" else "-f32"
    case = {
        "format_version": 1,
        "id": cid + suffix,
        "kind": "optimizer",
        "optimizer": name,
        "reference": reference(),
        "hyperparameters": hp,
        "constructor_kwargs": ckw,
        "dtype": dtype,
        "reference_versions": reference_versions(),
        "reference_settings": {"jax_enable_x64": True, "backend": "cpu", "jit": False},
        "generator": GENERATOR,
        "num_steps": NUM_STEPS,
        "num_params": NP,
        "shapes": obj.NEXT_SHAPES,
        "clip": None,
        "objective": obj.NEXT_OBJECTIVE,
        "notes": notes,
        "initial_params": [flat(jnp.asarray(v, dtype=jdt)) for v in obj.NEXT_INIT],
        "steps": steps,
        "final_state": per,
        "final_state_shared": shared,
    }
    index = {"id": case["id"], "file": case["id"] + ".json", "kind": "optimizer", "class": name,
             "dtype": dtype, "clip": None, "reference": case["reference"]}
    return case, index


def jsonable_hparam_dict(d):
    return {k: jsonable_hparam(v, keep_int=True) for k, v in d.items()}
