"""Gradient cases (the format of /work/shared/gradients/README.md) recorded from PyTorch autograd.

The shared folder has six cases; these cover what they leave out: every activation with every
loss and both reductions, deeper stacks, and the points where the reference's derivative is a
convention rather than a limit: relu and leaky_relu at exactly 0 (torch: 0 and the slope), mae at
a zero difference (sign(0) = 0), huber at |difference| = delta exactly (the quadratic branch),
bce with large logits. Recorded in float64, like the shared cases.
"""

import torch

from common import flat, pyfloat

ACT = {
    "identity": lambda z: z,
    "relu": torch.relu,
    "leaky_relu": lambda z: torch.nn.functional.leaky_relu(z, 0.01),
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "gelu": lambda z: torch.nn.functional.gelu(z),  # exact (erf) form, torch's default
}


def _loss(loss, out, y):
    F = torch.nn.functional
    name, red = loss["name"], loss["reduction"]
    if name == "mse":
        return F.mse_loss(out, y, reduction=red)
    if name == "mae":
        return F.l1_loss(out, y, reduction=red)
    if name == "huber":
        return F.huber_loss(out, y, reduction=red, delta=loss["delta"])
    if name == "bce_with_logits":
        return F.binary_cross_entropy_with_logits(out, y, reduction=red)
    if name == "softmax_cross_entropy":
        return F.cross_entropy(out, y, reduction=red)
    raise ValueError(name)


def _targets(loss, gen, batch, out):
    name = loss["name"]
    if name == "softmax_cross_entropy":
        return torch.randint(0, out, (batch,), generator=gen)
    if name == "bce_with_logits":
        return torch.randint(0, 2, (batch, out), generator=gen).to(torch.float64)
    return torch.randn(batch, out, generator=gen, dtype=torch.float64)


# (id, layers [(in, out, activation)], loss, batch, seed, edit)
# `edit(params, x, y)` sets exact values for the convention cases (below).
def _zero_rows(params, x, y):
    # Hidden unit 0 of layer 0 gets a zero weight row and a zero bias: its pre-activation is
    # exactly 0 for every sample, where relu' = 0 and leaky_relu' = 0.01 in torch.
    params[0][0].zero_()
    params[1][0] = 0.0


def _exact_diffs(params, x, y):
    # The last layer's first output unit is its bias alone (zero weight row), 0.5: targets set to
    # 0.5 give a zero difference (mae: sign(0) = 0), to 0.25 a difference of exactly delta = 0.25
    # (huber: the quadratic branch, |d| <= delta).
    w, b = params[-2], params[-1]
    w[0].zero_()
    b[0] = 0.5
    y[0::2, 0] = 0.5
    y[1::2, 0] = 0.25


def _large_logits(params, x, y):
    # Weights x25: logits of tens, where exp would overflow without the stable form.
    params[0].mul_(25.0)


CASES = [
    ("grad-mlp-relu-mse-sum", [(4, 7, "relu"), (7, 3, "identity")], {"name": "mse", "reduction": "sum"}, 9, 1, None),
    ("grad-mlp-leaky-relu-mae", [(5, 6, "leaky_relu"), (6, 2, "identity")], {"name": "mae", "reduction": "mean"}, 8, 2, None),
    ("grad-mlp-sigmoid-huber-sum", [(3, 8, "sigmoid"), (8, 2, "identity")],
     {"name": "huber", "reduction": "sum", "delta": 1.5}, 10, 3, None),
    ("grad-mlp-gelu-bce-mean", [(6, 5, "gelu"), (5, 3, "identity")], {"name": "bce_with_logits", "reduction": "mean"}, 7, 4, None),
    ("grad-mlp-tanh-ce-sum", [(5, 9, "tanh"), (9, 4, "identity")],
     {"name": "softmax_cross_entropy", "reduction": "sum"}, 11, 5, None),
    ("grad-deep-mixed-bce-sum", [(4, 6, "sigmoid"), (6, 5, "leaky_relu"), (5, 4, "gelu"), (4, 2, "identity")],
     {"name": "bce_with_logits", "reduction": "sum"}, 6, 6, None),
    ("grad-deep-relu-tanh-ce", [(7, 8, "relu"), (8, 6, "tanh"), (6, 5, "identity")],
     {"name": "softmax_cross_entropy", "reduction": "mean"}, 12, 7, None),
    ("grad-activation-on-output-mse", [(3, 5, "tanh"), (5, 2, "sigmoid")], {"name": "mse", "reduction": "mean"}, 6, 8, None),
    ("grad-relu-zero-preactivation-mae-sum", [(4, 5, "relu"), (5, 2, "identity")],
     {"name": "mae", "reduction": "sum"}, 6, 9, _zero_rows),
    ("grad-leaky-zero-preactivation-huber", [(4, 5, "leaky_relu"), (5, 2, "identity")],
     {"name": "huber", "reduction": "mean", "delta": 0.8}, 6, 10, _zero_rows),
    ("grad-mae-zero-difference", [(3, 4, "tanh"), (4, 2, "identity")], {"name": "mae", "reduction": "mean"}, 6, 11, _exact_diffs),
    ("grad-huber-at-delta", [(3, 4, "gelu"), (4, 2, "identity")],
     {"name": "huber", "reduction": "sum", "delta": 0.25}, 6, 12, _exact_diffs),
    ("grad-bce-large-logits", [(3, 2, "identity")], {"name": "bce_with_logits", "reduction": "mean"}, 8, 13,
     _large_logits),
]


def gradient_case(spec, torch_version):
    cid, layers, loss, batch, seed, edit = spec
    gen = torch.Generator().manual_seed(20261206 + seed)
    dt = torch.float64
    params = []
    for i, o, _ in layers:
        params.append(torch.randn(o, i, generator=gen, dtype=dt) * (1.0 / i) ** 0.5)
        params.append(torch.randn(o, generator=gen, dtype=dt) * 0.1)
    x = torch.randn(batch, layers[0][0], generator=gen, dtype=dt)
    y = _targets(loss, gen, batch, layers[-1][1])
    if edit is not None:
        edit(params, x, y)
    leaves = [p.clone().requires_grad_(True) for p in params]
    xl = x.clone().requires_grad_(True)
    h = xl
    for k, (_, _, act) in enumerate(layers):
        h = ACT[act](h @ leaves[2 * k].T + leaves[2 * k + 1])
    value = _loss(loss, h, y)
    value.backward()
    names = []
    for k in range(len(layers)):
        names += [f"layer{k}.weight", f"layer{k}.bias"]
    return {
        "id": cid,
        "kind": "gradient",
        "torch_version": torch_version,
        "dtype": "float64",
        "layers": [{"in": i, "out": o, "activation": a} for i, o, a in layers],
        "loss": loss,
        "params": [{"name": n, "shape": list(p.shape), "value": flat(p)} for n, p in zip(names, params)],
        "x": {"shape": list(x.shape), "value": flat(x)},
        "y": {"shape": list(y.shape), "value": [int(v) for v in y.reshape(-1).tolist()]
              if loss["name"] == "softmax_cross_entropy" else flat(y)},
        "loss_value": pyfloat(value.detach()),
        "grads": [flat(p.grad) for p in leaves],
        "grad_x": flat(xl.grad),
    }
