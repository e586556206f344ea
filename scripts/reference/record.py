#!/usr/bin/env python3
"""Record downhill's own reference cases (PyTorch 2.15 and Optax 0.2.8) in the formats of
/work/shared/conformance (torch format) and /work/shared/conformance-next (next format).

Usage (from the repository root, with the venv that has torch, jax and optax):

    /work/venv/bin/python scripts/reference/record.py            # everything
    /work/venv/bin/python scripts/reference/record.py torch next # only some groups

Groups: torch (1.13-format optimizer + clipping cases), sched (scheduler cases, torch folder),
next-torch (torch 2.x optimizers, next format), optax, lbfgs, grad (gradient cases in the format
of /work/shared/gradients, folder test/fixtures/reference/gradients). Each run rewrites the index.json of
the folders it touched from the case files present there.
"""

import json
import os
import sys
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

warnings.filterwarnings("ignore", message=".*Converting a tensor with requires_grad=True.*")

from common import GENERATOR, OUT_GRAD, OUT_NEXT, OUT_TORCH, TORCH_PACKAGE, dumps_case, write_case  # noqa: E402

DTYPES = ("float64", "float32")


def record_torch(log):
    import torch_cases as tc

    for spec in tc.TORCH_FORMAT_CASES:
        for dt in DTYPES:
            case, _ = tc.torch_format_case(spec, dt)
            write_case(OUT_TORCH, case)
            log(f"  torch/{case['id']}")


def record_sched(log):
    import sched_cases as sc

    for spec in sc.CASES:
        case, _ = sc.sched_case(spec)
        write_case(OUT_TORCH, case)
        log(f"  torch/{case['id']}")


def record_next_torch(log):
    import torch_cases as tc

    for spec in tc.NEXT_TORCH_CASES:
        for dt in DTYPES:
            case, _ = tc.next_torch_case(spec, dt)
            write_case(OUT_NEXT, case)
            log(f"  next/{case['id']}")
    for spec in tc.MUON_CASES:
        for dt in DTYPES:
            case, _, dev = tc.muon_case(spec, dt)
            write_case(OUT_NEXT, case)
            log(f"  next/{case['id']}  (full-precision Newton-Schulz deviates by {dev:.3g})")


def record_optax(log):
    import optax_cases as oc

    for spec in oc.CASES:
        for dt in DTYPES:
            case, _ = oc.run_case(spec, dt)
            write_case(OUT_NEXT, case)
            log(f"  next/{case['id']}")


def record_lbfgs(log):
    import lbfgs_cases as lc

    for spec in lc.CASES:
        for dt in DTYPES:
            case, _ = lc.lbfgs_case(spec, dt, log=log)
            write_case(OUT_NEXT, case)


def record_grad(log):
    import torch

    import gradient_cases as gc

    for spec in gc.CASES:
        case = gc.gradient_case(spec, torch.__version__)
        write_case(OUT_GRAD, case)
        log(f"  gradients/{case['id']}")


def _index_entry(case):
    e = {"id": case["id"], "file": case["id"] + ".json", "kind": case["kind"]}
    if case["kind"] == "gradient":
        return e
    if case["kind"] == "scheduler":
        e["class"] = case["scheduler"]
        if "reference" in case:
            e["reference"] = case["reference"]
        return e
    e["class"] = case["optimizer"]
    e["dtype"] = case["dtype"]
    if case["kind"] == "lbfgs":
        e["objective_id"] = case["objective_id"]
    else:
        e["clip"] = None if case["clip"] is None else case["clip"]["kind"]
    if "reference" in case:
        e["reference"] = case["reference"]
    return e


def _cases_in(folder):
    out = []
    for name in os.listdir(folder):
        if name.endswith(".json") and name != "index.json":
            with open(os.path.join(folder, name), encoding="utf-8") as fh:
                out.append(json.load(fh))
    return sorted(out, key=lambda c: c["id"])


def write_indexes(folders):
    import torch

    def write(folder, head):
        cases = _cases_in(folder)
        idx = {"format_version": 1, **head(cases), "generator": GENERATOR,
               "cases": [_index_entry(c) for c in cases]}
        with open(os.path.join(folder, "index.json"), "w", encoding="utf-8") as fh:
            fh.write(dumps_case(idx))

    torch_head = lambda cases: {"torch_version": torch.__version__, "torch_package": TORCH_PACKAGE}  # noqa: E731
    for folder in (OUT_TORCH, OUT_GRAD):
        if folder in folders:
            write(folder, torch_head)
    if OUT_NEXT in folders:
        write(OUT_NEXT, lambda cases: {"references": sorted({c["reference"] for c in cases})})


GROUPS = {
    "torch": (record_torch, OUT_TORCH),
    "sched": (record_sched, OUT_TORCH),
    "next-torch": (record_next_torch, OUT_NEXT),
    "optax": (record_optax, OUT_NEXT),
    "lbfgs": (record_lbfgs, OUT_NEXT),
    "grad": (record_grad, OUT_GRAD),
}


def main(argv):
    groups = argv or list(GROUPS)
    unknown = [g for g in groups if g not in GROUPS]
    if unknown:
        sys.exit(f"unknown group(s) {unknown}; known: {list(GROUPS)}")
    touched = set()
    for g in groups:
        print(f"[{g}]", flush=True)
        fn, folder = GROUPS[g]
        fn(lambda s: print(s, flush=True))
        touched.add(folder)
    write_indexes(touched)
    print("index.json written for: " + ", ".join(sorted(os.path.relpath(f) for f in touched)))


if __name__ == "__main__":
    main(sys.argv[1:])
