#!/usr/bin/env python3
"""The BLAS peer of the engine's decoder product: C (n x B) = A (n x m) . B (m x B) in float32, the shape of
z = W_out h. On the CPU (Benchmarks/compare-sgemm.sh) it times OpenBLAS cblas_sgemm called directly (the library
torch loads) and torch.matmul; with --device cuda (scripts/gpu/verify.sh) torch.matmul on the GPU in strict FP32
(no TF32), each repetition --inner products then a synchronize, as `measure decoder` times a GPU backend.
Prints one JSON line: median and best seconds and GFLOP/s of each.
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
parser.add_argument("--inner", type=int, default=1, help="products per timed repetition (time per product = repetition / inner)")
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--device", default="cpu", help="cpu (OpenBLAS and torch.matmul) or cuda (torch.matmul, FP32 without TF32)")
args = parser.parse_args()
device = torch.device(args.device)
gpu = device.type == "cuda"
if gpu:
    # FP32 as the engine computes it: no TF32 tensor-core rounding of the inputs.
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")

torch.set_num_threads(args.threads)
torch.manual_seed(0)
a = (torch.rand(args.n, args.m) - 0.5).to(device)
b = torch.rand(args.m, args.batch).to(device)
c = torch.empty(args.n, args.batch, device=device)
flops = 2.0 * args.n * args.m * args.batch


def openblas():
    """libopenblas as torch loaded it (found in /proc/self/maps), with its thread count set; None when torch has none."""
    with open("/proc/self/maps") as maps:
        paths = sorted({line.split()[-1] for line in maps if "libopenblas" in line.split()[-1]})
    if not paths:
        return None, None
    lib = ctypes.CDLL(paths[0])
    lib.openblas_set_num_threads(ctypes.c_int(args.threads))
    lib.openblas_get_config.restype = ctypes.c_char_p
    return lib, paths[0]


CblasRowMajor, CblasNoTrans = 101, 111


def sgemm():
    lib.cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, args.n, args.batch, args.m, ctypes.c_float(1.0),
                    ctypes.c_void_p(a.data_ptr()), args.m, ctypes.c_void_p(b.data_ptr()), args.batch,
                    ctypes.c_float(0.0), ctypes.c_void_p(c.data_ptr()), args.batch)


def matmul():
    for _ in range(args.inner):
        torch.matmul(a, b, out=c)
    if gpu:
        torch.cuda.synchronize()


def timed(run, inner):
    for _ in range(3):
        run()
    seconds = []
    for _ in range(args.reps):
        start = time.perf_counter()
        run()
        seconds.append((time.perf_counter() - start) / inner)
    return statistics.median(seconds), min(seconds)


result = {"n": args.n, "m": args.m, "batch": args.batch, "reps": args.reps, "inner": args.inner, "threads": args.threads,
          "torch": torch.__version__, "device": torch.cuda.get_device_name(device) if gpu else "cpu"}
runs = [("torch", matmul, args.inner)]
if gpu:
    result["allow_tf32"] = torch.backends.cuda.matmul.allow_tf32
elif (blas := openblas())[0] is None:
    result["openblas"] = "torch has no OpenBLAS loaded here (see torch.__config__.show()): torch.matmul only"
else:
    lib, path = blas
    sgemm()
    assert torch.allclose(c, a @ b, rtol=1e-4, atol=1e-3), "cblas_sgemm disagrees with torch.matmul"
    result.update({"openblas": path, "openblas_config": lib.openblas_get_config().decode(), "openblas_threads": lib.openblas_get_num_threads()})
    runs.insert(0, ("sgemm", sgemm, 1))
for name, run, inner in runs:
    median, best = timed(run, inner)
    result.update({f"{name}_median_s": median, f"{name}_best_s": best,
                   f"{name}_median_gflops": round(flops / median / 1e9, 2), f"{name}_best_gflops": round(flops / best / 1e9, 2)})
print(json.dumps(result))
