#!/usr/bin/env python3
"""Self-check of the recorded reference cases (test/fixtures/reference/{torch,next}).

For every file: strict JSON (no NaN/Infinity tokens, no duplicate keys), the exact layout the
recorder writes (so floats are in shortest round-trip form), float32 cases' recorded values
exactly representable in float32, and consistent lengths/shapes/step numbers. index.json must
list exactly the case files of its folder, with fields that agree with each file.

    /work/venv/bin/python scripts/reference/check.py
"""

import json
import math
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from common import OUT_NEXT, OUT_TORCH, dumps_case  # noqa: E402

errors = []


def err(where, msg):
    errors.append(f"{where}: {msg}")


def _no_constants(name):
    raise ValueError(f"non-standard JSON token {name}")


def _no_dupes(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError(f"duplicate key in {keys}")
    return dict(pairs)


def load_strict(path):
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    data = json.loads(text, parse_constant=_no_constants, object_pairs_hook=_no_dupes)
    if dumps_case(data) != text:
        err(path, "layout/number form differs from the recorder's canonical serialization")
    return data


def is_f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0] == x


def numbers(v):
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return
    if isinstance(v, (int, float)):
        yield v
    elif isinstance(v, list):
        for x in v:
            yield from numbers(x)
    elif isinstance(v, dict):
        for x in v.values():
            yield from numbers(x)


def check_f32(where, value):
    bad = [x for x in numbers(value) if isinstance(x, float) and not is_f32(x)]
    if bad:
        err(where, f"{len(bad)} value(s) not exact float32, e.g. {bad[0]!r}")


def check_finite(where, value):
    for x in numbers(value):
        if isinstance(x, float) and not math.isfinite(x):
            err(where, "non-finite number")
            return


def numel(shape):
    n = 1
    for s in shape:
        n *= s
    return n


def check_tensor_list(where, value, shapes):
    if not isinstance(value, list) or len(value) != len(shapes):
        err(where, f"expected {len(shapes)} tensors, got {len(value) if isinstance(value, list) else value!r}")
        return
    for i, (t, s) in enumerate(zip(value, shapes)):
        if not isinstance(t, list) or len(t) != numel(s):
            err(f"{where}[{i}]", f"expected {numel(s)} values for shape {s}")
        elif not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in t):
            err(f"{where}[{i}]", "non-numeric element")


def check_optimizer(path, c):
    shapes = c["shapes"]
    f32 = c["dtype"] == "float32"
    if c["num_params"] != len(shapes):
        err(path, "num_params != len(shapes)")
    if c["id"].endswith("-f32") != f32:
        err(path, "-f32 suffix and dtype disagree")
    if len(c["steps"]) != c["num_steps"]:
        err(path, "len(steps) != num_steps")
    check_tensor_list(f"{path} initial_params", c["initial_params"], shapes)
    clip = c.get("clip")
    tensor_fields = ["grads", "params", "clipped_grads", "eval_params", "slow_params"]
    for k, st in enumerate(c["steps"]):
        w = f"{path} steps[{k}]"
        if st["step"] != k + 1:
            err(w, "step number")
        for key in ("lr", "loss", "grads", "params"):
            if key not in st:
                err(w, f"missing {key}")
        for key in tensor_fields:
            if key in st:
                check_tensor_list(f"{w}.{key}", st[key], shapes)
        if clip is not None and "clipped_grads" not in st:
            err(w, "clip without clipped_grads")
        if clip is not None and clip["kind"] == "norm" and "total_norm" not in st:
            err(w, "norm clip without total_norm")
        if clip is None and ("clipped_grads" in st or "total_norm" in st):
            err(w, "clipped_grads without clip")
        if "slow_params" in st and not isinstance(st.get("synced"), bool):
            err(w, "slow_params without boolean synced")
        if f32:
            check_f32(w, {k2: st[k2] for k2 in tensor_fields + ["loss", "total_norm"] if k2 in st})
        check_finite(w, st)
    if clip is not None and clip["kind"] == "norm":
        nt = clip["norm_type"]
        if not (nt == "inf" or isinstance(nt, float)):
            err(path, f"norm_type {nt!r}")
    fs = c["final_state"]
    if not isinstance(fs, list) or len(fs) != len(shapes):
        err(path, "final_state is not one object per tensor")
    else:
        for i, entry in enumerate(fs):
            for key, v in entry.items():
                if isinstance(v, list) and len(v) != numel(shapes[i]):
                    # Adafactor's factored row_var/col_var are smaller than the tensor
                    if key not in ("row_var", "col_var"):
                        err(f"{path} final_state[{i}].{key}", "length differs from the tensor's numel")
    if f32:
        check_f32(f"{path} initial_params", c["initial_params"])
        check_f32(f"{path} final_state", fs)
        shared = {k: v for k, v in c.get("final_state_shared", {}).items()
                  if not k.endswith("ns_coeffs")}  # hyperparameter copy Optax keeps in float64
        check_f32(f"{path} final_state_shared", shared)
    if "tolerance" in c:
        t = c["tolerance"]
        if not (isinstance(t["params"]["atol"], float) and t["params"]["atol"] > 0):
            err(path, "bad tolerance")


def check_lbfgs(path, c):
    shapes = c["shapes"]
    f32 = c["dtype"] == "float32"
    if len(c["steps"]) != c["num_steps"]:
        err(path, "len(steps) != num_steps")
    check_tensor_list(f"{path} initial_params", c["initial_params"], shapes)
    prev = (0, 0)
    for k, st in enumerate(c["steps"]):
        w = f"{path} steps[{k}]"
        if st["step"] != k + 1:
            err(w, "step number")
        check_tensor_list(f"{w}.params", st["params"], shapes)
        if (st["func_evals"], st["n_iter"]) < prev or st["func_evals"] < prev[0] or st["n_iter"] < prev[1]:
            err(w, "counts decrease")
        prev = (st["func_evals"], st["n_iter"])
        if f32:
            check_f32(w, {"params": st["params"], "loss": st["loss"]})
    fs = c["final_state"]
    n = sum(numel(s) for s in shapes)
    for key in ("d", "prev_flat_grad"):
        if key in fs and len(fs[key]) != n:
            err(path, f"final_state.{key} length")
    if "old_dirs" in fs:
        if not (len(fs["old_dirs"]) == len(fs["old_stps"]) == len(fs["ro"])):
            err(path, "history lengths differ")
        if len(fs["old_dirs"]) > c["hyperparameters"]["history_size"]:
            err(path, "history longer than history_size")
        for u in fs["old_dirs"] + fs["old_stps"]:
            if len(u) != n:
                err(path, "history vector length")
    if (fs["func_evals"], fs["n_iter"]) != (c["steps"][-1]["func_evals"], c["steps"][-1]["n_iter"]):
        err(path, "final counts differ from the last step's")
    if f32:
        check_f32(f"{path} final_state", fs)
        check_f32(f"{path} initial_params", c["initial_params"])
    t = c["tolerance"]
    for key in ("params", "loss"):
        if len(t[key]["atol"]) != t[f"{key}_steps"] or t[f"{key}_steps"] > c["num_steps"]:
            err(path, f"tolerance.{key} prefix length")
    if t["counts_steps"] > c["num_steps"]:
        err(path, "tolerance.counts_steps")


def check_scheduler(path, c):
    n = c["num_steps"]
    for key in ("lr", "lr_after"):
        if len(c[key]) != n:
            err(path, f"len({key}) != num_steps")
    if c["lr"][1:] != c["lr_after"][:-1]:
        err(path, "lr_after[t] != lr[t+1]")
    if "metrics" in c and len(c["metrics"]) != n:
        err(path, "len(metrics)")
    if "momentum_key" in c:
        if c["momentum_key"] not in ("momentum", "betas[0]"):
            err(path, "momentum_key")
        if len(c["momentum"]) != n or len(c["momentum_after"]) != n:
            err(path, "momentum lengths")
        if c["momentum"][1:] != c["momentum_after"][:-1]:
            err(path, "momentum_after[t] != momentum[t+1]")
    elif "momentum" in c or "momentum_after" in c:
        err(path, "momentum without momentum_key")
    check_finite(path, c)


def check_folder(folder):
    names = sorted(n for n in os.listdir(folder) if n.endswith(".json") and n != "index.json")
    index = load_strict(os.path.join(folder, "index.json"))
    listed = {e["file"]: e for e in index["cases"]}
    if sorted(listed) != names:
        err(folder, f"index.json lists {sorted(set(listed) ^ set(names))} inconsistently")
    ids = [e["id"] for e in index["cases"]]
    if len(ids) != len(set(ids)):
        err(folder, "duplicate ids in index.json")
    counts = {}
    for name in names:
        path = os.path.join(folder, name)
        try:
            c = load_strict(path)
        except ValueError as e:
            err(path, str(e))
            continue
        if c.get("format_version") != 1 or c["id"] + ".json" != name:
            err(path, "format_version / id / file name")
        kind = c["kind"]
        counts[kind] = counts.get(kind, 0) + 1
        e = listed.get(name, {})
        if e.get("id") != c["id"] or e.get("kind") != kind:
            err(path, "index entry disagrees")
        if kind == "optimizer":
            check_optimizer(path, c)
            if (e.get("class"), e.get("dtype")) != (c["optimizer"], c["dtype"]):
                err(path, "index class/dtype disagree")
            if e.get("clip") != (None if c["clip"] is None else c["clip"]["kind"]):
                err(path, "index clip disagrees")
        elif kind == "lbfgs":
            check_lbfgs(path, c)
            if (e.get("class"), e.get("dtype"), e.get("objective_id")) != ("LBFGS", c["dtype"], c["objective_id"]):
                err(path, "index entry disagrees")
        elif kind == "scheduler":
            check_scheduler(path, c)
            if e.get("class") != c["scheduler"]:
                err(path, "index class disagrees")
        else:
            err(path, f"unknown kind {kind}")
        if os.path.getsize(path) > 60000:
            err(path, f"large file ({os.path.getsize(path)} bytes)")
        # float64/float32 twins have the same hyperparameters and shapes
        if c["id"].endswith("-f32"):
            twin = os.path.join(folder, name[: -len("-f32.json")] + ".json")
            if not os.path.exists(twin):
                err(path, "no float64 twin")
            else:
                with open(twin, encoding="utf-8") as fh:
                    t = json.load(fh)
                if t.get("hyperparameters") != c.get("hyperparameters") or t.get("shapes") != c.get("shapes"):
                    err(path, "float64 twin has other hyperparameters or shapes")
    return counts


def main():
    for folder in (OUT_TORCH, OUT_NEXT):
        counts = check_folder(folder)
        print(f"{os.path.relpath(folder)}: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())))
    if errors:
        print(f"{len(errors)} problem(s):")
        for e in errors:
            print("  " + e)
        sys.exit(1)
    print("all files OK")


if __name__ == "__main__":
    main()
