"""Shared helpers of the reference recorder: JSON layout, number conversion, versions.

The layout reproduces the shared conformance files byte for byte: one top-level key per line,
compact separators inside a value, and one line per element of `steps` (index.json: `cases`).
Floats are written by Python's float repr (the shortest string that reads back to the same
double); NaN and infinities are refused (`allow_nan=False`).
"""

import json
import math
import os

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
OUT_TORCH = os.path.join(REPO, "test", "fixtures", "reference", "torch")
OUT_NEXT = os.path.join(REPO, "test", "fixtures", "reference", "next")
OUT_GRAD = os.path.join(REPO, "test", "fixtures", "reference", "gradients")
GENERATOR = "scripts/reference/record.py"

TORCH_PACKAGE = "torch 2.15.0 from PyPI (manylinux x86_64 wheel), run on CPU"

# Keys whose list value is written one element per line.
_LINE_LISTS = ("steps", "cases")


def _dump(value):
    return json.dumps(value, separators=(",", ":"), allow_nan=False, ensure_ascii=False)


def dumps_case(obj):
    """Serialize a case (or index) dict in the layout of the shared files."""
    parts = []
    for key, value in obj.items():
        if key in _LINE_LISTS and isinstance(value, list):
            inner = ",\n".join("  " + _dump(v) for v in value)
            parts.append(" " + _dump(key) + ":[\n" + inner + "\n ]")
        else:
            parts.append(" " + _dump(key) + ":" + _dump(value))
    return "{\n" + ",\n".join(parts) + "\n}\n"


def write_case(folder, obj, name=None):
    os.makedirs(folder, exist_ok=True)
    name = name or obj["id"] + ".json"
    text = dumps_case(obj)
    json.loads(text)  # must parse back
    with open(os.path.join(folder, name), "w", encoding="utf-8") as fh:
        fh.write(text)
    return name


def pyfloat(x):
    """A finite Python float (refuses NaN/inf: they have no place in the files)."""
    x = float(x)
    if not math.isfinite(x):
        raise ValueError("non-finite value in a recorded case")
    return x


def flat(values):
    """Row-major flat list of Python floats from a torch tensor / numpy / jax array."""
    import numpy as np

    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    arr = np.asarray(values)
    return [pyfloat(v) for v in arr.reshape(-1).tolist()]


def scalar(value):
    """A 0-dim tensor/array or Python number as a Python int/float (bool stays bool)."""
    import numpy as np

    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    arr = np.asarray(value)
    if arr.dtype == np.bool_:
        return bool(arr.item())
    if np.issubdtype(arr.dtype, np.integer):
        return int(arr.item())
    return pyfloat(arr.item())


def jsonable_hparam(value, keep_int=False):
    """Hyperparameter value as JSON: tuples become lists, None stays None, numbers are doubles
    unless keep_int (PyTorch style: `0` written as `0.0`)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        return [jsonable_hparam(v, keep_int) for v in value]
    if isinstance(value, int):
        return value if keep_int else float(value)
    if isinstance(value, float):
        return pyfloat(value)
    return scalar(value)


def round_up_1sig(x):
    """Round a positive number up to one significant digit (8.2e-12 -> 9e-12)."""
    if x <= 0:
        return 0.0
    e = math.floor(math.log10(x))
    m = x / 10.0**e
    d = math.ceil(m - 1e-9)
    if d >= 10:
        d, e = 1, e + 1
    return float(f"{d}e{e}")
