"""PyTorch on the workloads of `pnpm bench` (see workloads/shapes.ts and workloads/agrad.ts).

Run by main.ts as the `pytorch` system when Debian's python3-torch is installed; prints one JSON
object in the same form as the other systems. The shapes, inputs (the same LCG values), models,
losses and optimizers are those of agrad's workloads, so the rows compare like with like.

    /usr/bin/python3 pytorch.py [--quick] [--threads N]

main.ts sets OMP_WAIT_POLICY=PASSIVE: with OpenMP's default busy waiting, two threads on two
cores collapse whenever anything else runs. Which BLAS the process loaded is reported, because
Debian's torch uses whatever libblas.so.3 points to, and the reference BLAS is about 40x slower
than OpenBLAS.
"""

import argparse
import json
import os
import time

import torch
from torch import nn

MLP = {"batch": 128, "sizes": [784, 512, 256, 10]}
CNN = {"batch": 64, "image": 28}
TRANSFORMER = {"batch": 16, "sequence": 64, "width": 128, "heads": 4, "feedforward": 512}
MATMUL_SIZES = [128, 256, 512, 1024]


def fixed_values(count, seed):
    """shapes.ts's fixedValues: values in [-1, 1) from the same LCG, so inputs match bit for bit."""
    out = [0.0] * count
    state = seed & 0xFFFFFFFF
    for i in range(count):
        state = (state * 1664525 + 1013904223) & 0xFFFFFFFF
        out[i] = state / 2**31 - 1
    return torch.tensor(out, dtype=torch.float32)


def fixed_labels(count, classes, seed):
    values = fixed_values(count, seed).double()
    return (((values + 1) / 2 * classes).floor().long()) % classes


def measure(fn, budget_seconds, warmup=2, min_runs=5):
    """measure.ts's rule: warm up, then run until the budget is spent (at least min_runs); median."""
    for _ in range(warmup):
        fn()
    times = []
    start = time.perf_counter()
    while len(times) < min_runs or time.perf_counter() - start < budget_seconds:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if len(times) >= 1000:
            break
    times.sort()
    return times[len(times) // 2]


def trainer(model, x, y, loss_fn):
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        loss = loss_fn(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    return step


def mlp_model():
    i, h1, h2, o = MLP["sizes"]
    return nn.Sequential(nn.Linear(i, h1), nn.ReLU(), nn.Linear(h1, h2), nn.ReLU(), nn.Linear(h2, o))


def mlp_step():
    torch.manual_seed(0)
    x = fixed_values(MLP["batch"] * MLP["sizes"][0], 1).reshape(MLP["batch"], MLP["sizes"][0])
    y = fixed_labels(MLP["batch"], 10, 2)
    return trainer(mlp_model(), x, y, nn.functional.cross_entropy)


def cnn_step():
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 32, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(1600, 128),
        nn.ReLU(),
        nn.Linear(128, 10),
    )
    n, size = CNN["batch"], CNN["image"]
    x = fixed_values(n * size * size, 3).reshape(n, 1, size, size)
    y = fixed_labels(n, 10, 4)
    return trainer(model, x, y, nn.functional.cross_entropy)


def transformer_step():
    torch.manual_seed(0)
    t = TRANSFORMER
    block = nn.TransformerEncoderLayer(
        t["width"], t["heads"], dim_feedforward=t["feedforward"], dropout=0.0, batch_first=True, norm_first=True
    )
    x = fixed_values(t["batch"] * t["sequence"] * t["width"], 5).reshape(t["batch"], t["sequence"], t["width"])
    return trainer(block, x, None, lambda out, _: out.pow(2).mean())


def matmul(n):
    a, b = torch.randn(n, n), torch.randn(n, n)
    return lambda: a @ b


def optimizer_step():
    torch.manual_seed(0)
    model = mlp_model()
    for p in model.parameters():
        p.grad = torch.randn_like(p)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    return optimizer.step


def loaded_blas():
    """The BLAS library this process has mapped (after a matmul has loaded it)."""
    with open("/proc/self/maps") as maps:
        paths = {line.split()[-1] for line in maps if "blas" in line.lower() and "/" in line}
    return ", ".join(sorted(paths)) or "none found in /proc/self/maps"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    budget = 0.3 if args.quick else 1.5
    rows = []
    for n in MATMUL_SIZES:
        rows.append(2 * n**3 / 1e9 / measure(matmul(n), budget))
    rows.append(MLP["batch"] / measure(mlp_step(), budget))
    rows.append(CNN["batch"] / measure(cnn_step(), budget))
    rows.append(TRANSFORMER["batch"] / measure(transformer_step(), budget))
    adamw = measure(optimizer_step(), budget * 2, min_runs=20)
    print(
        json.dumps(
            {
                "figures": rows,
                "adamwMs": adamw * 1000,
                "torch": torch.__version__,
                "threads": torch.get_num_threads(),
                "ompWaitPolicy": os.environ.get("OMP_WAIT_POLICY", "(unset)"),
                "blas": loaded_blas(),
            }
        )
    )


if __name__ == "__main__":
    main()
