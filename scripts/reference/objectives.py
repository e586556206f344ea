"""The fixed smooth objectives whose gradients the optimizer cases record.

Torch format (4 tensors): a [5], B [3,4], C [2,1,3] as in shared/conformance, plus a bias d [3]
that starts at zero. The first three terms are the shared cases' objective (same formula, same
initial values), so step 1's gradients of a, B, C equal the shared ones.

Next format (4 tensors): W1 [3,4], b1 [4] (starts at zero), W2 [4,2], T [2,3,2]: a small tanh
network plus a separable quartic, in the style of shared/conformance-next, with our own X, Y.
torch.optim.Muon cases use the 2-D part only (W1, W2, no bias).
"""

# ---------------------------------------------------------------- torch format (25 steps)

TORCH_SHAPES = [[5], [3, 4], [2, 1, 3], [3]]
TORCH_INIT = [
    [0.5, -1.2, 2.0, 0.03, -0.7],
    [0.1, -0.4, 0.9, 1.3, -1.1, 0.25, 0.6, -0.05, 0.8, -0.9, 0.0, 0.45],
    [0.6, -0.35, 1.1, -0.8, 0.2, -1.4],
    [0.0, 0.0, 0.0],
]
TORCH_D_TARGET = [0.4, -0.3, 0.2]
TORCH_D_WEIGHT = [0.5, 1.0, 1.5]
TORCH_OBJECTIVE = (
    "f(a,B,C,d) = sum_i w_i (a_i - c_i)^2 + 0.1 sum_i sin(a_i)  [w = linspace(0.5,3,5), "
    "c = linspace(-1,1,5)] + sum_j 0.5 (1 - b_j)^2 + 2 (b_{j+1} - b_j^2)^2  [b = B flattened "
    "row-major, j = 0..10] + 0.05 a_0 sum(B) + sum_k 0.25 c_k^4 + 0.3 (c_k - 0.2)^2  [c = C "
    "flattened] + 0.1 mean(a) sum(C) + sum_m u_m (d_m - e_m)^2 + 0.1 d_m^4  [u = (0.5, 1, 1.5), "
    "e = (0.4, -0.3, 0.2)] + 0.05 sum(d) sum(C). The terms in a, B, C are those of "
    "shared/conformance; d is a bias that starts at zero. Informative only: the gradients are "
    "recorded."
)
TORCH_OBJECTIVE_MAX = (
    "g = -f, maximized, with f(a,B,C,d) as follows. " + TORCH_OBJECTIVE
)


def torch_objective(params):
    import torch

    a, B, C, d = params
    dt = a.dtype
    w = torch.linspace(0.5, 3.0, 5, dtype=dt)
    c = torch.linspace(-1.0, 1.0, 5, dtype=dt)
    b = B.reshape(-1)
    cc = C.reshape(-1)
    u = torch.tensor(TORCH_D_WEIGHT, dtype=dt)
    e = torch.tensor(TORCH_D_TARGET, dtype=dt)
    f = (w * (a - c) ** 2).sum() + 0.1 * torch.sin(a).sum()
    f = f + (0.5 * (1 - b[:-1]) ** 2 + 2 * (b[1:] - b[:-1] ** 2) ** 2).sum()
    f = f + 0.05 * a[0] * B.sum()
    f = f + (0.25 * cc**4 + 0.3 * (cc - 0.2) ** 2).sum()
    f = f + 0.1 * a.mean() * C.sum()
    f = f + (u * (d - e) ** 2 + 0.1 * d**4).sum() + 0.05 * d.sum() * C.sum()
    return f


# ---------------------------------------------------------------- next format (12 steps)

NEXT_SHAPES = [[3, 4], [4], [4, 2], [2, 3, 2]]
NEXT_INIT = [
    [1.01, -0.28, 0.02, 0.24, -0.47, 0.05, -0.13, -1.05, 0.61, 0.36, -0.38, -0.1],
    [0.0, 0.0, 0.0, 0.0],
    [0.3, -0.16, -0.15, -0.87, 0.33, 0.07, 0.16, -0.92],
    [1.25, 0.15, -0.39, 1.03, -0.05, -1.45, -0.41, -1.29, 1.05, -0.42, -0.74, 1.07],
]
NEXT_X = [
    [0.5, -1.0, 0.3],
    [1.2, 0.4, -0.7],
    [-0.6, 0.9, 1.1],
    [0.0, -0.5, 0.8],
    [1.5, -0.2, -1.3],
    [-0.9, -1.1, 0.2],
]
NEXT_Y = [[0.3, -0.8], [1.0, 0.2], [-0.5, 0.7], [0.4, 0.0], [-1.2, 0.6], [0.8, -0.3]]

_XY = f"X = {NEXT_X}, Y = {NEXT_Y}".replace(" ", "")
NEXT_OBJECTIVE = (
    "params [W1 (3x4), b1 (4), W2 (4x2), T (2x3x2)]; f = 0.5/6 * sum((tanh(X W1 + b1) W2 - Y)^2) "
    "+ sum_k 0.1 (t_k - c_k)^4 + 0.5 w_k (t_k - c_k)^2 + 0.05 sum(T) sum(b1), with fixed "
    f"X (6x3), Y (6x2): {_XY} (rows), t = T flattened, c = linspace(-1,1,12), "
    "w = linspace(0.5,2,12). b1 starts at zero. Informative only: the gradients are recorded."
)
NEXT_OBJECTIVE_MAX = "g = -f, maximized, with f as follows. " + NEXT_OBJECTIVE

MUON_SHAPES = [[3, 4], [4, 2]]
MUON_INIT = [NEXT_INIT[0], NEXT_INIT[2]]
MUON_OBJECTIVE = (
    "params [W1 (3x4), W2 (4x2)]; f = 0.5/6 * sum((tanh(X W1) W2 - Y)^2) with fixed X (6x3), "
    f"Y (6x2): {_XY} (rows). Informative only: the gradients are recorded."
)


def next_objective_torch(params):
    import torch

    W1, b1, W2, T = params
    dt = W1.dtype
    X = torch.tensor(NEXT_X, dtype=dt)
    Y = torch.tensor(NEXT_Y, dtype=dt)
    t = T.reshape(-1)
    c = torch.linspace(-1.0, 1.0, 12, dtype=dt)
    w = torch.linspace(0.5, 2.0, 12, dtype=dt)
    r = torch.tanh(X @ W1 + b1) @ W2 - Y
    f = 0.5 / 6 * (r**2).sum()
    f = f + (0.1 * (t - c) ** 4 + 0.5 * w * (t - c) ** 2).sum()
    f = f + 0.05 * T.sum() * b1.sum()
    return f


def next_objective_jax(params):
    import jax.numpy as jnp

    W1, b1, W2, T = params
    dt = W1.dtype
    X = jnp.asarray(NEXT_X, dtype=dt)
    Y = jnp.asarray(NEXT_Y, dtype=dt)
    t = T.reshape(-1)
    c = jnp.linspace(-1.0, 1.0, 12, dtype=dt)
    w = jnp.linspace(0.5, 2.0, 12, dtype=dt)
    r = jnp.tanh(X @ W1 + b1) @ W2 - Y
    f = 0.5 / 6 * jnp.sum(r**2)
    f = f + jnp.sum(0.1 * (t - c) ** 4 + 0.5 * w * (t - c) ** 2)
    f = f + 0.05 * jnp.sum(T) * jnp.sum(b1)
    return f


def muon_objective_torch(params):
    import torch

    W1, W2 = params
    dt = W1.dtype
    X = torch.tensor(NEXT_X, dtype=dt)
    Y = torch.tensor(NEXT_Y, dtype=dt)
    r = torch.tanh(X @ W1) @ W2 - Y
    return 0.5 / 6 * (r**2).sum()
