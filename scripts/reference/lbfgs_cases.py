"""torch.optim.LBFGS cases (kind "lbfgs", conformance-next format), with the `tolerance` object
measured on 18 reruns that differ from the recorded run only by rounding:

  1 run with ATEN_CPU_CAPABILITY=default (torch's non-vectorized kernels; a subprocess),
  1 run with a hand-written gradient instead of autograd,
  16 runs whose objective value and gradient are perturbed by up to 4 ulps (seeds 0..15: each
     element moved by k ulps, k uniform in -4..4, at every evaluation).

Rule (that of shared/conformance-next/README.md, "What is compared"): counts_steps = leading steps
on which every rerun has the recorded func_evals and n_iter; params/loss atol[k] = 10x the largest
deviation at step k+1 over the reruns, rounded up to one significant digit, never below the
conformance atol (1e-12 / 1e-6), over the leading steps where that atol stays <= 1e-6 (float64) /
1e-3 (float32) (the loss: times max(1, |loss|)); rtol = the conformance rtol; final_state
compared only when every step is (counts, params and loss), with per-key rtol = 10x the largest
deviation relative to the largest |value| of its unit, rounded up, at least the conformance rtol.
"""

import json
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from common import GENERATOR, TORCH_PACKAGE, flat, jsonable_hparam, pyfloat, round_up_1sig  # noqa: E402

LSTSQ_X = [
    [1.0, 0.5, -0.3],
    [0.2, -1.1, 0.8],
    [-0.7, 0.3, 1.5],
    [1.4, -0.6, 0.1],
    [0.0, 0.9, -1.2],
    [-1.3, -0.4, 0.6],
    [0.8, 1.2, 0.4],
    [-0.5, -0.8, -0.9],
]
LSTSQ_Y = [
    [0.5, -1.0],
    [1.2, 0.3],
    [-0.4, 0.8],
    [0.9, -0.2],
    [-1.1, 0.6],
    [0.3, 1.4],
    [1.0, -0.7],
    [-0.6, 0.2],
]

ROSEN_GRADIENT = (
    "df/dx[i] = -4*b*x[i]*(x[i+1] - x[i]^2) - 2*(a - x[i])   (term present for i <= n-2) + "
    "2*b*(x[i] - x[i-1]^2)   (term present for i >= 1)"
)
LSTSQ_GRADIENT = (
    "with R = X W + v - Y (N x M): df/dW = X^T R / N (K x M), df/dv[j] = sum_n R[n,j] / N"
)
QUAD_GRADIENT = "df/dx[i] = a[i]*x[i] - b[i]"
GRADIENTS = {"rosenbrock": ROSEN_GRADIENT, "lstsq_affine": LSTSQ_GRADIENT, "diag_quadratic": QUAD_GRADIENT}

# (id, objective_id, objective_params, shapes, initial_params, constructor kwargs, num_steps)
CASES = [
    ("torch-lbfgs-lstsq-affine-default", "lstsq_affine", {"X": LSTSQ_X, "Y": LSTSQ_Y},
     [[3, 2], [2]], [[0.3, -0.2, 0.1, 0.4, -0.5, 0.2], [0.0, 0.0]], {}, 5),
    ("torch-lbfgs-lstsq-affine-strong-wolfe", "lstsq_affine", {"X": LSTSQ_X, "Y": LSTSQ_Y},
     [[3, 2], [2]], [[0.3, -0.2, 0.1, 0.4, -0.5, 0.2], [0.0, 0.0]],
     {"line_search_fn": "strong_wolfe"}, 5),
    ("torch-lbfgs-lstsq-affine-maxiter4", "lstsq_affine", {"X": LSTSQ_X, "Y": LSTSQ_Y},
     [[3, 2], [2]], [[0.3, -0.2, 0.1, 0.4, -0.5, 0.2], [0.0, 0.0]],
     {"max_iter": 4, "history_size": 3}, 6),
    ("torch-lbfgs-rosenbrock4-strong-wolfe-h5", "rosenbrock", {"n": 4, "a": 1.0, "b": 100.0},
     [[4]], [[-1.2, 1.0, -1.2, 1.0]], {"line_search_fn": "strong_wolfe", "history_size": 5}, 6),
    # The shared public cases' objectives in the other variant (the shared README: held-out cases
    # use the same objectives, both variants), and non-default a, b, lr and tolerances.
    ("torch-lbfgs-quadratic6-strong-wolfe", "diag_quadratic",
     {"a": [1.0, 3.0, 10.0, 30.0, 100.0, 1000.0], "b": [1.0] * 6},
     [[6]], [[0.0] * 6], {"line_search_fn": "strong_wolfe"}, 4),
    ("torch-lbfgs-rosenbrock2-strong-wolfe", "rosenbrock", {"n": 2, "a": 1.0, "b": 100.0},
     [[2]], [[-1.2, 1.0]], {"line_search_fn": "strong_wolfe"}, 4),
    ("torch-lbfgs-rosenbrock10-default", "rosenbrock", {"n": 10, "a": 1.0, "b": 100.0},
     [[10]], [[-1.2, 1.0] * 5], {"history_size": 10}, 4),
    ("torch-lbfgs-rosenbrock3-ab-strong-wolfe-h3", "rosenbrock", {"n": 3, "a": 2.0, "b": 50.0},
     [[3]], [[0.5, -0.5, 1.5]], {"line_search_fn": "strong_wolfe", "history_size": 3, "max_iter": 8}, 5),
    ("torch-lbfgs-quadratic4-lr-tolerances", "diag_quadratic",
     {"a": [2.0, 5.0, 7.0, 11.0], "b": [1.0, -1.0, 2.0, 0.5]},
     [[4]], [[0.3, 0.2, -0.1, 0.0]], {"lr": 0.5, "tolerance_grad": 1e-5, "tolerance_change": 1e-6}, 4),
]


# ------------------------------------------------------------------------- objectives


def make_objective(objective_id, oparams, dtype):
    import torch

    if objective_id == "rosenbrock":
        a, b = oparams["a"], oparams["b"]

        def value(ps):
            x = ps[0]
            return (b * (x[1:] - x[:-1] ** 2) ** 2 + (a - x[:-1]) ** 2).sum()

        def grad(ps):
            x = ps[0]
            g = torch.zeros_like(x)
            inner = x[1:] - x[:-1] ** 2
            g[:-1] += -4 * b * x[:-1] * inner - 2 * (a - x[:-1])
            g[1:] += 2 * b * inner
            return [g]

        return value, grad
    if objective_id == "lstsq_affine":
        X = torch.tensor(oparams["X"], dtype=dtype)
        Y = torch.tensor(oparams["Y"], dtype=dtype)
        N = X.shape[0]

        def value(ps):
            W, v = ps
            return ((X @ W + v - Y) ** 2).sum() / (2 * N)

        def grad(ps):
            W, v = ps
            R = X @ W + v - Y
            return [X.T @ R / N, R.sum(0) / N]

        return value, grad
    if objective_id == "diag_quadratic":
        a = torch.tensor(oparams["a"], dtype=dtype)
        b = torch.tensor(oparams["b"], dtype=dtype)

        def value(ps):
            x = ps[0]
            return 0.5 * (a * x * x).sum() - (b * x).sum()

        def grad(ps):
            return [a * ps[0] - b]

        return value, grad
    raise ValueError(objective_id)


def _perturb(t, rng):
    """Move each element of tensor t by k ulps, k uniform in -4..4 (in t's dtype)."""
    import torch

    arr = t.detach().cpu().numpy().copy()
    k = rng.integers(-4, 5, size=arr.shape)
    for s in range(4):
        m = np.abs(k) > s
        toward = np.where(k > 0, np.inf, -np.inf).astype(arr.dtype)
        arr = np.where(m, np.nextafter(arr, toward), arr)
    return torch.from_numpy(arr.astype(arr.dtype))


def run(spec, dtype, mode="autograd"):
    """One torch.optim.LBFGS run. mode: 'autograd', 'handgrad' or 'perturb:<seed>'."""
    import torch

    torch.set_num_threads(1)
    cid, oid, oparams, shapes, init, kwargs, num_steps = spec
    tdt = torch.float64 if dtype == "float64" else torch.float32
    torch.set_default_dtype(tdt)
    value, grad = make_objective(oid, oparams, tdt)
    params = [torch.tensor(v, dtype=tdt).reshape(s).requires_grad_(True) for v, s in zip(init, shapes)]
    opt = torch.optim.LBFGS(params, **kwargs)
    rng = np.random.default_rng(int(mode.split(":")[1])) if mode.startswith("perturb") else None

    def closure():
        opt.zero_grad()
        if mode == "handgrad":
            with torch.no_grad():
                f = value(params)
                for p, g in zip(params, grad(params)):
                    p.grad = g.clone()
            return f
        f = value(params)
        f.backward()
        if rng is not None:
            with torch.no_grad():
                f = _perturb(f, rng)
                for p in params:
                    p.grad.copy_(_perturb(p.grad, rng))
        return f

    steps = []
    for k in range(num_steps):
        loss = opt.step(closure)
        st = opt.state[opt._params[0]]
        steps.append({"step": k + 1, "loss": pyfloat(loss), "func_evals": int(st["func_evals"]),
                      "n_iter": int(st["n_iter"]), "params": [flat(p) for p in params]})
    st = opt.state[opt._params[0]]
    fs = {"func_evals": int(st["func_evals"]), "n_iter": int(st["n_iter"])}
    if "d" in st:
        fs["d"] = flat(st["d"])
        fs["t"] = pyfloat(st["t"])
        fs["old_dirs"] = [flat(y) for y in st["old_dirs"]]
        fs["old_stps"] = [flat(s) for s in st["old_stps"]]
        fs["ro"] = [pyfloat(r) for r in st["ro"]]
        fs["H_diag"] = pyfloat(st["H_diag"])
        fs["prev_flat_grad"] = flat(st["prev_flat_grad"])
        fs["prev_loss"] = pyfloat(st["prev_loss"])
    group = dict(opt.param_groups[0])
    return {"steps": steps, "final_state": fs,
            "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "group": {k: v for k, v in group.items() if k != "params"}}


def run_default_capability(spec, dtype):
    env = dict(os.environ, ATEN_CPU_CAPABILITY="default")
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker",
                          json.dumps({"id": spec[0], "dtype": dtype})],
                         env=env, check=True, capture_output=True, text=True)
    res = json.loads(out.stdout)
    assert res["cpu_capability"] == "DEFAULT", res["cpu_capability"]
    return res


# ------------------------------------------------------------------------- tolerance


def tolerance(rec, reruns, dtype):
    conf_atol, conf_rtol = (1e-12, 1e-10) if dtype == "float64" else (1e-6, 1e-5)
    limit = 1e-6 if dtype == "float64" else 1e-3
    steps = rec["steps"]
    n = len(steps)
    counts = 0
    for k in range(n):
        if all(r["steps"][k]["func_evals"] == steps[k]["func_evals"]
               and r["steps"][k]["n_iter"] == steps[k]["n_iter"] for r in reruns):
            counts += 1
        else:
            break
    p_atol = []
    for k in range(n):
        ref = np.concatenate([np.asarray(v) for v in steps[k]["params"]])
        dev = max(float(np.max(np.abs(np.concatenate([np.asarray(v) for v in r["steps"][k]["params"]]) - ref)))
                  for r in reruns)
        a = max(round_up_1sig(10 * dev), conf_atol)
        if a > limit:
            break
        p_atol.append(a)
    l_atol = []
    for k in range(n):
        ref = steps[k]["loss"]
        dev = max(abs(r["steps"][k]["loss"] - ref) for r in reruns)
        a = max(round_up_1sig(10 * dev), conf_atol)
        if a > limit * max(1.0, abs(ref)):
            break
        l_atol.append(a)
    fs_tol = None
    why_no_state = None
    if counts == n and len(p_atol) == n and len(l_atol) == n:
        fs_tol, why_no_state = _state_tolerance(rec["final_state"], [r["final_state"] for r in reruns],
                                                conf_atol, conf_rtol)
    tol = {"counts_steps": counts, "params_steps": len(p_atol), "loss_steps": len(l_atol),
           "params": {"rtol": conf_rtol, "atol": p_atol},
           "loss": {"rtol": conf_rtol, "atol": l_atol},
           "final_state": fs_tol,
           "basis": (
               "measured on 18 torch runs that differ from the recorded one only by rounding "
               "(ATEN_CPU_CAPABILITY=default; hand-written gradient instead of autograd; 16 runs "
               "with the objective value and gradient perturbed by up to 4 ulps): counts_steps = "
               "leading steps on which all had the recorded func_evals and n_iter; params/loss "
               "atol[k] = 10 x their largest deviation at step k+1, rounded up, at least the "
               f"conformance atol, over the leading steps where that stays <= {limit:g} (loss: "
               "relative to max(1, |loss|)); final_state only when every step is compared. "
               "Values outside these prefixes are informative: rounding decides them.")}
    return tol, why_no_state


def _state_tolerance(ref, runs, conf_atol, conf_rtol):
    def units(fs, key):
        v = fs[key]
        if key in ("d", "prev_flat_grad"):
            return [np.asarray(v)]
        if key in ("old_dirs", "old_stps"):
            return [np.asarray(u) for u in v]
        if key == "ro":
            return [np.asarray([u]) for u in v]
        return [np.asarray([v])]

    if "d" not in ref:
        return {"atol": conf_atol, "rtol": {}}, None
    rt = {}
    for key in ("d", "prev_flat_grad", "old_dirs", "old_stps", "t", "H_diag", "prev_loss", "ro"):
        worst = 0.0
        ru = units(ref, key)
        for r in runs:
            if r["func_evals"] != ref["func_evals"] or r["n_iter"] != ref["n_iter"]:
                return None, "a rerun ends with other counts"
            uu = units(r, key)
            if len(uu) != len(ru):
                return None, f"a rerun ends with another number of {key}"
            for e, a in zip(ru, uu):
                scale = float(np.max(np.abs(e)))
                dev = float(np.max(np.abs(a - e)))
                if scale == 0.0:
                    if dev > conf_atol:
                        return None, f"{key}: a zero unit is not reproduced"
                    continue
                worst = max(worst, dev / scale)
        rt[key] = max(round_up_1sig(10 * worst), conf_rtol)
    return {"atol": conf_atol, "rtol": rt}, None


# ------------------------------------------------------------------------- case files


def objective_text(oid, oparams, shapes, init):
    if oid == "rosenbrock":
        n = oparams["n"]
        return (f"extended (chained) Rosenbrock: f(x) = sum_{{i=0}}^{{n-2}} [ b*(x[i+1] - x[i]^2)^2 + "
                f"(a - x[i])^2 ] with n = {n}, a = {oparams['a']:g}, b = {oparams['b']:g}, "
                f"x = params[0] (shape [{n}]), x0 = {init[0]}. Reference evaluation (torch): "
                "(b*(x[1:] - x[:-1]**2)**2 + (a - x[:-1])**2).sum(); gradient by autograd.")
    if oid == "diag_quadratic":
        n = len(oparams["a"])
        return (f"f(x) = 0.5 * x^T A x - b^T x with A = diag(a), a = {oparams['a']}, b = {oparams['b']}, "
                f"x = params[0] (shape [{n}]), x0 = {init[0]}. Reference evaluation (torch): "
                "0.5*(a*x*x).sum() - (b*x).sum(); gradient by autograd.")
    N = len(oparams["X"])
    K, M = shapes[0]
    return (f"affine least squares: f(W, v) = (1/(2N)) * sum_{{n,j}} (sum_k X[n,k]*W[k,j] + v[j] - "
            f"Y[n,j])^2 with N = {N}, K = {K}, M = {M}, W = params[0] (shape [{K}, {M}]), "
            f"v = params[1] (shape [{M}]), X and Y in objective_params; W0 = {init[0]} (row-major), "
            f"v0 = {init[1]}. Reference evaluation (torch): ((X @ W + v - Y)**2).sum() / (2*N); "
            "gradient by autograd.")


def variant_text(group):
    ls = group["line_search_fn"]
    head = ("line_search_fn 'strong_wolfe' (c1 1e-4, c2 0.9, max_ls = max_eval - evaluations "
            "already made in this step)" if ls == "strong_wolfe" else
            "no line search (fixed step t = lr, after a first step of min(1, 1/||g||_1)*lr)")
    return (f"{head}, lr {group['lr']:g}, max_iter {group['max_iter']}, max_eval "
            f"{group['max_eval']}, tolerance_grad {group['tolerance_grad']:g}, tolerance_change "
            f"{group['tolerance_change']:g}, history_size {group['history_size']}.")


def lbfgs_case(spec, dtype, log=print):
    import torch

    cid, oid, oparams, shapes, init, kwargs, num_steps = spec
    rec = run(spec, dtype, "autograd")
    reruns = [run_default_capability(spec, dtype), run(spec, dtype, "handgrad")]
    reruns += [run(spec, dtype, f"perturb:{s}") for s in range(16)]
    tol, why = tolerance(rec, reruns, dtype)
    group = rec["group"]
    per_step = []
    prev_e = prev_i = 0
    for s in rec["steps"]:
        per_step.append(f"{s['step']}:{s['func_evals'] - prev_e}/{s['n_iter'] - prev_i}")
        prev_e, prev_i = s["func_evals"], s["n_iter"]
    notes = variant_text(group) + " Per outer step, evaluations/iterations made: " + " ".join(per_step) + "."
    if why:
        notes += f" final_state not compared: {why}."
    hp = {k: jsonable_hparam(group[k], keep_int=k in ("max_iter", "max_eval", "history_size"))
          for k in ("lr", "max_iter", "max_eval", "tolerance_grad", "tolerance_change",
                    "history_size", "line_search_fn", "maximize")}
    tdt = torch.float64 if dtype == "float64" else torch.float32
    suffix = "" if dtype == "float64" else "-f32"
    case = {
        "format_version": 1,
        "id": cid + suffix,
        "kind": "lbfgs",
        "optimizer": "LBFGS",
        "reference": "torch " + torch.__version__.split("+")[0],
        "hyperparameters": hp,
        "constructor_kwargs": {k: jsonable_hparam(v, keep_int=True) for k, v in kwargs.items()},
        "dtype": dtype,
        "torch_version": torch.__version__,
        "torch_package": TORCH_PACKAGE,
        "torch_settings": {"default_dtype": dtype, "num_threads": 1,
                           "cpu_capability": rec["cpu_capability"]},
        "generator": GENERATOR,
        "num_steps": num_steps,
        "num_params": len(shapes),
        "shapes": shapes,
        "objective": objective_text(oid, oparams, shapes, init),
        "objective_id": oid,
        "objective_params": oparams,
        "objective_gradient": GRADIENTS[oid],
        "notes": notes,
        "tolerance": tol,
        "initial_params": [flat(torch.tensor(v, dtype=tdt)) for v in init],
        "steps": rec["steps"],
        "final_state": rec["final_state"],
    }
    index = {"id": case["id"], "file": case["id"] + ".json", "kind": "lbfgs", "class": "LBFGS",
             "dtype": dtype, "objective_id": oid, "reference": case["reference"]}
    log(f"  {case['id']}: counts/params/loss steps {tol['counts_steps']}/{tol['params_steps']}/"
        f"{tol['loss_steps']} of {num_steps}, final_state {'yes' if tol['final_state'] else 'no'}; "
        + " ".join(per_step))
    return case, index


if __name__ == "__main__" and len(sys.argv) == 3 and sys.argv[1] == "--worker":
    req = json.loads(sys.argv[2])
    spec = next(c for c in CASES if c[0] == req["id"])
    print(json.dumps(run(spec, req["dtype"], "autograd")))
