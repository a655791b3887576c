#!/usr/bin/env python3
"""The BLAS peer for Benchmarks/compare-sgemm.sh: C (n x B) = A (n x m) . B (m x B) in float32, the shape of the
engine's decoder product z = W_out h, timed with OpenBLAS cblas_sgemm called directly (the library torch loads)
and with torch.matmul. Prints one JSON line: median and best seconds and GFLOP/s of each.
"""
import argparse
import ctypes
import json
import statistics
import time

import torch

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--n", type=int, default=4096)
parser.add_argument("--m", type=int, default=512)
parser.add_argument("--batch", type=int, default=1024)
parser.add_argument("--reps", type=int, default=15)
parser.add_argument("--threads", type=int, default=2)
args = parser.parse_args()

torch.set_num_threads(args.threads)
torch.manual_seed(0)
a = torch.rand(args.n, args.m) - 0.5
b = torch.rand(args.m, args.batch)
c = torch.empty(args.n, args.batch)
flops = 2.0 * args.n * args.m * args.batch


def openblas():
    """libopenblas as torch loaded it (found in /proc/self/maps), with its thread count set."""
    with open("/proc/self/maps") as maps:
        paths = sorted({line.split()[-1] for line in maps if "libopenblas" in line.split()[-1]})
    if not paths:
        raise SystemExit("sgemm.py: torch has no OpenBLAS loaded here (see torch.__config__.show())")
    lib = ctypes.CDLL(paths[0])
    lib.openblas_set_num_threads(ctypes.c_int(args.threads))
    lib.openblas_get_config.restype = ctypes.c_char_p
    return lib, paths[0]


lib, path = openblas()
CblasRowMajor, CblasNoTrans = 101, 111


def sgemm():
    lib.cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, args.n, args.batch, args.m, ctypes.c_float(1.0),
                    ctypes.c_void_p(a.data_ptr()), args.m, ctypes.c_void_p(b.data_ptr()), args.batch,
                    ctypes.c_float(0.0), ctypes.c_void_p(c.data_ptr()), args.batch)


def matmul():
    torch.matmul(a, b, out=c)


def timed(run):
    for _ in range(3):
        run()
    seconds = []
    for _ in range(args.reps):
        start = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds), min(seconds)


sgemm()
expected = a @ b
assert torch.allclose(c, expected, rtol=1e-4, atol=1e-3), "cblas_sgemm disagrees with torch.matmul"
result = {"n": args.n, "m": args.m, "batch": args.batch, "reps": args.reps, "threads": args.threads,
          "torch": torch.__version__, "openblas": path, "openblas_config": lib.openblas_get_config().decode(),
          "openblas_threads": lib.openblas_get_num_threads()}
for name, run in (("sgemm", sgemm), ("torch", matmul)):
    median, best = timed(run)
    result.update({f"{name}_median_s": median, f"{name}_best_s": best,
                   f"{name}_median_gflops": round(flops / median / 1e9, 2), f"{name}_best_gflops": round(flops / best / 1e9, 2)})
print(json.dumps(result))
