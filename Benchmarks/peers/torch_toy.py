#!/usr/bin/env python3
"""The speed peer for Benchmarks/compare-pytorch.sh: the toy model of superposition trained with PyTorch.

Same model and optimizer as Samples/Train: h = W_in x, y = ReLU(W_out h + b), loss = mean over batch and
features of (y - x)^2 (uniform importance), Adam (eps 1e-7), untied unless --tied, nn.Linear's uniform
initialisation. Data: each feature active with probability p, value U[0, 1), drawn with torch.rand.
Runs --warmup steps, then times --steps steps and prints one JSON line with steps_per_s.
"""
import argparse
import json
import math
import time

import torch

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--n", type=int, default=512)
parser.add_argument("--m", type=int, default=128)
parser.add_argument("--p", type=float, default=0.045)
parser.add_argument("--batch", type=int, default=1024)
parser.add_argument("--warmup", type=int, default=100)
parser.add_argument("--steps", type=int, default=200)
parser.add_argument("--lr", type=float, default=None, help="default 3e-3 / sqrt(n), as Samples/Train")
parser.add_argument("--tied", action="store_true")
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--device", default="cpu", help="cpu or cuda (float32; the clock stops after a synchronize)")
args = parser.parse_args()
device = torch.device(args.device)

torch.set_num_threads(args.threads)
torch.manual_seed(0)
lr = args.lr if args.lr is not None else 3e-3 / math.sqrt(args.n)


def blas_libraries():
    """The BLAS shared libraries this process has loaded (torch's BUILD settings say only 'generic')."""
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "blas" in line.split()[-1].lower()}
    except OSError:
        return "unknown"
    return ", ".join(sorted(paths)) or "none loaded"


def uniform(*shape, fan_in):
    bound = 1.0 / math.sqrt(fan_in)
    return torch.nn.Parameter(torch.empty(*shape, device=device).uniform_(-bound, bound))


w_in = uniform(args.m, args.n, fan_in=args.n)
params = [w_in]
if not args.tied:
    w_out = uniform(args.n, args.m, fan_in=args.m)
    params.append(w_out)
bias = uniform(args.n, fan_in=args.m)
params.append(bias)
optimizer = torch.optim.Adam(params, lr=lr, eps=1e-7)


def step():
    x = torch.rand(args.batch, args.n, device=device) * (torch.rand(args.batch, args.n, device=device) < args.p)
    h = x @ w_in.T
    z = h @ (w_in if args.tied else w_out.T) + bias
    loss = ((torch.relu(z) - x) ** 2).mean()
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss


def synchronize():
    if device.type == "cuda":
        torch.cuda.synchronize()


for _ in range(args.warmup):
    step()
synchronize()
start = time.perf_counter()
for _ in range(args.steps):
    loss = step()
synchronize()
seconds = time.perf_counter() - start
print(json.dumps({
    "peer": "pytorch", "torch": torch.__version__, "device": str(device), "threads": torch.get_num_threads(),
    "n": args.n, "m": args.m, "p": args.p, "batch": args.batch, "tied": args.tied,
    "warmup": args.warmup, "steps": args.steps, "seconds": round(seconds, 3),
    "steps_per_s": round(args.steps / seconds, 3), "loss": float(loss), "blas": blas_libraries(),
}))
