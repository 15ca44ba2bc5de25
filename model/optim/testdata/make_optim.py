#!/usr/bin/python3
"""Trajectories of torch.optim's SGD, Adam and AdamW, for optim_test.go.

Run from the repository root with Debian's torch:

    /usr/bin/python3 model/optim/testdata/make_optim.py

It writes model/optim/testdata/optim_parity.safetensors holding `w0` (37
float32 weights), `grads` (6 x 37 gradients, one row per step) and, for
every configuration below, `<name>` = the weights after the 6 steps.
The configuration of each name is in the file's __metadata__ as JSON.
"""
import json
import os
import struct

import numpy as np
import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "optim_parity.safetensors")

CONFIGS = {
    "sgd": ("sgd", dict(lr=0.1)),
    "sgd_momentum_wd": ("sgd", dict(lr=0.05, momentum=0.9, weight_decay=1e-2)),
    "sgd_nesterov": ("sgd", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-4)),
    "sgd_dampening": ("sgd", dict(lr=0.05, momentum=0.8, dampening=0.1)),
    "adam": ("adam", dict(lr=1e-2)),
    "adam_wd": ("adam", dict(lr=1e-2, weight_decay=1e-2, betas=(0.8, 0.99), eps=1e-6)),
    "adamw": ("adamw", dict(lr=1e-2, weight_decay=1e-1)),
}
OPTS = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}


def write(path, tensors, metadata):
    header, blobs, off = {}, [], 0
    for name, a in tensors.items():
        a = np.ascontiguousarray(a, dtype="<f4")
        b = a.tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    header["__metadata__"] = metadata
    h = json.dumps(header).encode()
    h += b" " * ((8 - (8 + len(h)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def main():
    torch.manual_seed(7)
    w0 = torch.randn(37)
    grads = torch.randn(6, 37)
    out = {"w0": w0.numpy(), "grads": grads.numpy()}
    meta = {}
    for name, (kind, kw) in CONFIGS.items():
        w = torch.nn.Parameter(w0.clone())
        opt = OPTS[kind]([w], **kw)
        for g in grads:
            w.grad = g.clone()
            opt.step()
        out[name] = w.detach().numpy().copy()
        meta[name] = json.dumps({"kind": kind, **{k: (list(v) if isinstance(v, tuple) else v) for k, v in kw.items()}})
    meta["torch"] = torch.__version__
    write(OUT, out, meta)
    print(OUT, os.path.getsize(OUT), "bytes")


if __name__ == "__main__":
    main()
