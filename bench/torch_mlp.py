"""PyTorch row of downhill's MLP throughput benchmark (ts/bench/mlp.ts).

`python torch_mlp.py THREADS SECONDS BATCH` trains the 784-256-10 MLP (ReLU, cross-entropy,
Adam with fused=True, the fastest CPU Adam) on random rows gathered per step, the same work as the
downhill and TensorFlow.js rows, and prints one JSON line with the mean milliseconds per step and
its split: forward (gather, model, loss), backward, optimizer step.
"""

import json
import sys
import time

import torch


def main() -> None:
    threads, seconds, batch = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
    torch.set_num_threads(threads)
    torch.manual_seed(7)
    rows = 8192
    x = torch.rand(rows, 784)
    y = torch.arange(rows) % 10
    model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
    try:
        opt = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
    except (RuntimeError, TypeError):
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    batches = [torch.randint(0, rows, (batch,)) for _ in range(64)]
    parts = [0.0, 0.0, 0.0]

    def step(i: int, timed: bool) -> None:
        idx = batches[i % 64]
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x[idx]), y[idx])
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        opt.step()
        t3 = time.perf_counter()
        if timed:
            parts[0] += t1 - t0
            parts[1] += t2 - t1
            parts[2] += t3 - t2

    start = time.perf_counter()
    i = 0
    while time.perf_counter() - start < min(0.5, seconds / 4):
        step(i, False)
        i += 1
    steps = 0
    start = time.perf_counter()
    while steps < 3 or time.perf_counter() - start < seconds:
        step(i, True)
        i += 1
        steps += 1
    fwd, bwd, opt_ms = (p * 1000 / steps for p in parts)
    print(
        json.dumps(
            {
                "steps": steps,
                "stepMs": fwd + bwd + opt_ms,
                "forwardMs": fwd,
                "backwardMs": bwd,
                "optimizerMs": opt_ms,
                "version": torch.__version__,
            }
        )
    )


if __name__ == "__main__":
    main()
