#!/usr/bin/env python3
"""Autograd check of the engine's hand-written gradients.

Reads a gradient dump written by `Samples/Train --dump-grads FILE` (or GradientDump.Write): one
instance's parameters, the step-0 batch x, the importance, the engine's loss and gradients, all
float32 in a .safetensors file. Rebuilds the model of the project's README in float64 PyTorch,
differentiates it with autograd and compares every tensor:

    |engine - autograd| <= 1e-5 * max|autograd| + 1e-9   (per tensor)

Prints one line per tensor and exits 0 when all agree, 1 otherwise, 2 on an unreadable file.
Needs python3-torch and python3-numpy (Debian packages); reads safetensors without the safetensors package.
"""
import json
import struct
import sys

import numpy as np
import torch


def read_safetensors(path):
    with open(path, "rb") as f:
        blob = f.read()
    (size,) = struct.unpack_from("<Q", blob, 0)
    header = json.loads(blob[8:8 + size])
    data = blob[8 + size:]
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        array = np.frombuffer(data[begin:end], dtype="<f4").reshape(entry["shape"])
        tensors[name] = torch.from_numpy(array.astype(np.float64))
    return tensors


def main(path):
    try:
        t = read_safetensors(path)
    except (OSError, ValueError, KeyError) as error:
        print(f"cannot read {path}: {error}")
        return 2
    tied = "W" in t
    names = ["W"] if tied else ["W_in", "W_out"]
    if "b" in t:
        names.append("b")
    params = {name: t[name].clone().requires_grad_(True) for name in names}
    x, importance = t["x"], t["importance"]
    batch, n = x.shape

    w_in = params["W"] if tied else params["W_in"]
    w_out = w_in.T if tied else params["W_out"]
    h = x @ w_in.T                      # [B, m]
    z = h @ w_out.T                     # [B, n]
    if "b" in params:
        z = z + params["b"]
    y = torch.relu(z)
    loss = (importance * (y - x) ** 2).sum() / (batch * n)
    loss.backward()

    checks = [("loss", loss.detach().reshape(1), t["loss"].reshape(1))]
    checks += [("grad." + name, params[name].grad, t["grad." + name]) for name in names]
    agree = True
    for name, expected, actual in checks:
        error = float((expected - actual).abs().max())
        bound = 1e-5 * float(expected.abs().max()) + 1e-9
        ok = error <= bound
        agree = agree and ok
        print(f"{name:12s} max|engine - autograd| {error:.3e}  bound {bound:.3e}  {'ok' if ok else 'MISMATCH'}")
    print("autograd check: " + ("agree" if agree else "DISAGREE"))
    return 0 if agree else 1


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: torch_gradcheck.py DUMP.safetensors")
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
