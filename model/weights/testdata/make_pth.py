#!/usr/bin/python3
"""Write the PyTorch .pth fixtures for model/weights (torch.save, as
torchvision publishes its weights).

What it makes (in model/weights/testdata/):

  resnet18_w8.pth
      the state_dict of the resnet18 width/8 parity fixture's network
      (model/resnet/testdata/parity_resnet18_w8.safetensors, initial
      weights: 7 classes), built with torchvision's own ResNet code and saved
      by torch.save in its default zip format (a zip holding data.pkl, the
      pickled OrderedDict, and one raw little-endian record per storage).
  resnet18_w8_legacy.pth
      the same state_dict saved with _use_new_zipfile_serialization=False:
      the format before PyTorch 1.6 (pickled magic number, protocol
      version and system info, the pickled object, the storage keys, then
      each storage as an 8-byte element count and its raw data), which older
      torchvision weights (e.g. resnet50-19c8e357.pth) use.
  odd.pth, odd_legacy.pth
      a small OrderedDict of tensors the Go reader must accept or refuse by
      name: "contiguous" float32 [2,3]; "offset", a contiguous view at
      storage offset 4 into a shared storage that "shared" (float32 [3,4])
      also views; "scalar", a 0-d float32; "long", int64 [3]; "transposed",
      a non-contiguous float32 view [3,2]; "double" float64 [2]; "half"
      float16 [2].
  checkpoint.pth
      a training checkpoint that nests a small state_dict:
      {"epoch": 3, "state_dict": OrderedDict(a=float32 [2], b=int64 [])}.
  dataparallel.pth
      a state_dict as nn.DataParallel names it: OrderedDict(module.a=float32
      [2], module.b.c=float32 [1]).

Run from the repository root (Debian's python3-torch and
python3-torchvision). The zip files come out byte for byte the same every
time; the legacy ones name their storages by Python object ids, so their
bytes (not their contents) change from run to run.

    /usr/bin/python3 model/weights/testdata/make_pth.py
"""

import collections
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "resnet", "testdata"))
import make_parity  # noqa: E402  (SlimResNet, read_safetensors)


def save(obj, name, **kw):
    path = os.path.join(HERE, name)
    torch.save(obj, path, **kw)
    back = torch.load(path)
    if isinstance(obj, dict) and all(isinstance(v, torch.Tensor) for v in obj.values()):
        assert list(back) == list(obj), name
        for k, v in obj.items():
            assert back[k].dtype == v.dtype and back[k].shape == v.shape and torch.equal(back[k], v), (name, k)
            assert back[k].stride() == v.stride(), (name, k)
    print("%-24s %8d bytes" % (name, os.path.getsize(path)))


def resnet18_state():
    tensors, meta = make_parity.read_safetensors(
        os.path.join(HERE, "..", "..", "resnet", "testdata", "parity_resnet18_w8.safetensors"))
    block, layers = make_parity.ARCH["resnet18"]
    model = make_parity.SlimResNet(block, layers, int(meta["classes"]), int(meta["width_div"]))
    sd = model.state_dict()
    init = collections.OrderedDict((k, torch.from_numpy(np.array(tensors[k]))) for k in sd)
    model.load_state_dict(init)
    sd = model.state_dict()
    for k, v in sd.items():
        assert torch.equal(v, init[k]), k
    return sd


def odd_state():
    torch.manual_seed(5)
    shared = torch.arange(16, dtype=torch.float32) / 7
    od = collections.OrderedDict()
    od["contiguous"] = torch.randn(2, 3)
    od["offset"] = shared[4:10]
    od["shared"] = shared[4:].view(3, 4)
    od["scalar"] = torch.tensor(2.5)
    od["long"] = torch.tensor([1, -2, 3], dtype=torch.int64)
    od["transposed"] = torch.randn(2, 3).t()
    od["double"] = torch.tensor([1.5, -2.0], dtype=torch.float64)
    od["half"] = torch.tensor([0.5, 1.0], dtype=torch.float16)
    assert not od["transposed"].is_contiguous() and od["offset"].storage_offset() == 4
    return od


def main():
    print("torch", torch.__version__)
    sd = resnet18_state()
    save(sd, "resnet18_w8.pth")
    save(sd, "resnet18_w8_legacy.pth", _use_new_zipfile_serialization=False)
    od = odd_state()
    save(od, "odd.pth")
    save(od, "odd_legacy.pth", _use_new_zipfile_serialization=False)
    ck = {"epoch": 3, "state_dict": collections.OrderedDict(
        a=torch.tensor([1.0, 2.0]), b=torch.tensor(7, dtype=torch.int64))}
    save(ck, "checkpoint.pth")
    dp = collections.OrderedDict()
    dp["module.a"] = torch.tensor([3.0, 4.0])
    dp["module.b.c"] = torch.tensor([5.0])
    save(dp, "dataparallel.pth")


if __name__ == "__main__":
    main()
