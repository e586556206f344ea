#!/usr/bin/env python3
"""Load a downhill checkpoint into PyTorch and continue training.

A downhill checkpoint folder (written by ``fit(..., {checkpoint: {dir}})`` or
``saveCheckpoint``) holds:

  model.safetensors   tensors ``layer{i}.weight`` [out, in] and ``layer{i}.bias`` [out]
                      (torch.nn.Linear's layout)
  optimizer.json      ``optimizer.stateDict()``: PyTorch's keys (state[i].exp_avg, exp_avg_sq,
                      max_exp_avg_sq, momentum_buffer, step; param_groups[g].lr, betas, eps,
                      weight_decay, ...); tensors as {"$tensor": "float32"|"float64", "data": base64
                      of the little-endian bytes}, flat
  checkpoint.json     the model spec, dtype, and ``optimizer.paramNames``: the tensor name of each
                      positional index of optimizer.json's state

This script builds ``torch.nn.Sequential`` (Linear, then the layer's activation module, then
Dropout when the layer has one), copies the weights, builds the optimizer (AdamW, Adam or SGD)
over the parameters in the same positional order with the saved param groups, maps each state
tensor onto its parameter's shape, and, given data, continues training a few full steps.

Usage:
  python python/load_downhill.py CHECKPOINT [--data DATA.safetensors] [--steps N]
                                 [--batch-size B] [--out OUT.safetensors] [--json]

DATA.safetensors holds ``x`` [rows, inputs] and ``y``: class indices [rows] (softmax
cross-entropy) or targets [rows, outputs]. Steps take rows in order, B at a time (default: all
rows), wrapping around. OUT receives the weights afterwards under downhill's names, so downhill
can load them back. Needs torch and safetensors.

Differences from downhill you may see: dropout masks (torch draws its own), and the last bits of
float32 results (summation order of matrix products; downhill computes float32 activations and
losses in float64 and rounds once).
"""
import argparse
import base64
import json
import os
import sys

import numpy as np
import torch
from safetensors.torch import load_file, save_file

ACTIVATIONS = {
    "identity": lambda: None,
    "relu": lambda: torch.nn.ReLU(),
    "leaky_relu": lambda: torch.nn.LeakyReLU(0.01),
    "tanh": lambda: torch.nn.Tanh(),
    "sigmoid": lambda: torch.nn.Sigmoid(),
    "gelu": lambda: torch.nn.GELU(approximate="none"),
}

OPTIMIZERS = {"AdamW": torch.optim.AdamW, "Adam": torch.optim.Adam, "SGD": torch.optim.SGD}


def decode_tensor(v):
    """downhill's exact JSON tensor encoding -> a 1-D torch tensor."""
    if isinstance(v, dict) and "$tensor" in v:
        dtype = {"float32": "<f4", "float64": "<f8"}[v["$tensor"]]
        return torch.from_numpy(np.frombuffer(base64.b64decode(v["data"]), dtype=dtype).copy())
    return torch.tensor(v)


def build_model(spec, dtype):
    modules, names = [], []
    fan_in = spec["inputs"]
    for i, layer in enumerate(spec["layers"]):
        modules.append(torch.nn.Linear(fan_in, layer["out"]))
        names.append((f"layer{i}", len(modules) - 1))
        act = ACTIVATIONS[layer.get("activation", "identity")]()
        if act is not None:
            modules.append(act)
        if layer.get("dropout", 0):
            modules.append(torch.nn.Dropout(layer["dropout"]))
        fan_in = layer["out"]
    return torch.nn.Sequential(*modules).to(dtype), dict(names)


def load(checkpoint):
    meta = json.load(open(os.path.join(checkpoint, "checkpoint.json")))
    if meta.get("format") != "downhill-checkpoint":
        sys.exit(f"{checkpoint}: not a downhill checkpoint")
    dtype = {"float32": torch.float32, "float64": torch.float64}[meta["dtype"]]
    model, index = build_model(meta["model"], dtype)
    weights = load_file(os.path.join(checkpoint, "model.safetensors"))
    by_name = {}
    for prefix, at in index.items():
        lin = model[at]
        with torch.no_grad():
            lin.weight.copy_(weights[f"{prefix}.weight"])
            lin.bias.copy_(weights[f"{prefix}.bias"])
        by_name[f"{prefix}.weight"] = lin.weight
        by_name[f"{prefix}.bias"] = lin.bias

    optimizer = None
    opt_meta = meta.get("optimizer")
    if opt_meta:
        saved = json.load(open(os.path.join(checkpoint, "optimizer.json")))
        cls = OPTIMIZERS.get(opt_meta["name"])
        if cls is None:
            sys.exit(f"optimizer {opt_meta['name']}: this script maps {', '.join(OPTIMIZERS)}")
        names = opt_meta["paramNames"]
        params = [by_name[n] for n in names]
        groups = [{"params": [params[i] for i in g["params"]]} for g in saved["param_groups"]]
        optimizer = cls(groups)
        sd = optimizer.state_dict()
        for mine, theirs in zip(sd["param_groups"], saved["param_groups"]):
            for k, v in theirs.items():
                if k == "params" or k not in mine:
                    continue
                mine[k] = tuple(v) if isinstance(mine[k], tuple) else v
        state = {}
        for key, entry in saved["state"].items():
            p = params[int(key)]
            s = {}
            for k, v in entry.items():
                if k == "step":
                    s["step"] = torch.tensor(float(v), dtype=torch.float32)
                else:
                    t = decode_tensor(v)
                    s[k] = t.reshape(p.shape).to(p.dtype) if t.numel() == p.numel() else t
            state[int(key)] = s
        sd["state"] = state
        optimizer.load_state_dict(sd)
    return meta, model, index, optimizer


def loss_fn(spec):
    loss = spec["loss"]
    red = loss.get("reduction", "mean")
    name = loss["name"]
    if name == "softmax_cross_entropy":
        return lambda out, y: torch.nn.functional.cross_entropy(out, y.long(), reduction=red)
    if name == "mse":
        return lambda out, y: torch.nn.functional.mse_loss(out, y, reduction=red)
    if name == "mae":
        return lambda out, y: torch.nn.functional.l1_loss(out, y, reduction=red)
    if name == "huber":
        return lambda out, y: torch.nn.functional.huber_loss(out, y, reduction=red, delta=loss.get("delta", 1.0))
    if name == "bce_with_logits":
        return lambda out, y: torch.nn.functional.binary_cross_entropy_with_logits(out, y, reduction=red)
    sys.exit(f"loss {name}: unknown")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint")
    ap.add_argument("--data")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--batch-size", type=int, default=0)
    ap.add_argument("--out")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    meta, model, index, optimizer = load(args.checkpoint)
    report = {
        "model": str(model),
        "optimizer": type(optimizer).__name__ if optimizer else None,
        "param_groups": [
            {k: v for k, v in g.items() if k != "params"} for g in optimizer.state_dict()["param_groups"]
        ]
        if optimizer
        else [],
        "losses": [],
    }
    if args.data:
        if optimizer is None:
            sys.exit("the checkpoint has no optimizer state to continue with")
        data = load_file(args.data)
        x = data["x"].to(next(model.parameters()).dtype)
        y = data["y"]
        if meta["model"]["loss"]["name"] != "softmax_cross_entropy":
            y = y.to(x.dtype)
        rows = x.shape[0]
        b = args.batch_size or rows
        crit = loss_fn(meta["model"])
        model.train()
        at = 0
        for _ in range(args.steps):
            idx = torch.arange(at, at + b) % rows
            at = (at + b) % rows
            optimizer.zero_grad()
            loss = crit(model(x[idx]), y[idx])
            loss.backward()
            optimizer.step()
            report["losses"].append(loss.item())
    if args.out:
        tensors = {}
        for prefix, at in index.items():
            tensors[f"{prefix}.weight"] = model[at].weight.detach().contiguous()
            tensors[f"{prefix}.bias"] = model[at].bias.detach().contiguous()
        save_file(tensors, args.out, metadata={"format": "pt"})
    if args.json:
        print(json.dumps(report))
    else:
        print(report["model"])
        print(f"optimizer: {report['optimizer']} {report['param_groups']}")
        for i, l in enumerate(report["losses"]):
            print(f"step {i + 1}: loss {l:.6f}")


if __name__ == "__main__":
    main()
