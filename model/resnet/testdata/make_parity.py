#!/usr/bin/python3
"""Generate small PyTorch parity fixtures for the Go ResNet implementation.

What it makes (all in model/resnet/testdata/):

  parity_resnet50_w8.safetensors
      torchvision resnet50 layout ([3,4,6,3], Bottleneck), width divisor 8,
      10 classes, input 4x3x64x64.
  parity_resnet18_w8.safetensors
      torchvision resnet18 layout ([2,2,2,2], BasicBlock), width divisor 8,
      7 classes, input 3x3x96x64 (non-square on purpose).
  parity_resnet18_w8_notebook.safetensors
      resnet18, width divisor 8, 5 classes, input 2x3x96x96, with the
      "notebook head" instead of avgpool+fc:
          AvgPool2d(2, stride=2, ceil_mode=True, count_include_pad=False)
          (== Keras AveragePooling2D((2,2), padding='same') here: 3x3 -> 2x2,
          partial windows averaged over their valid elements only),
          Dropout(0.0), torch.flatten(x, 1) (C,H,W order), Linear(C*h*w, 5).
  param_counts.json
      Full-width torchvision resnet18/34/50/101/152 (1000 classes): total
      number of parameter elements ("params") and of buffer elements
      excluding num_batches_tracked ("buffers").

"Width divisor d": stem conv 64/d channels, stage planes 64/d, 128/d, 256/d,
512/d (Bottleneck expansion 4 still applies), fc in-features 512/d*expansion.
Everything else is torchvision's v1.5 layout, built with torchvision's own
ResNet._make_layer, BasicBlock/Bottleneck and ResNet.forward, so parameter and
buffer names are exactly torchvision's.

Weights: torch.manual_seed, torchvision's init, then every BatchNorm gets
weight ~ U(0.5,1.5), bias ~ N(0,0.1), running_mean ~ N(0,0.1),
running_var ~ U(0.5,1.5), num_batches_tracked = 3.

The reference outputs (out.*, grad.*, eval.*, smooth.*) are computed in
float64 from the float32 weights and input (model.double()), then stored as
float32: in training mode a deep network amplifies float32 rounding through
batch norm (PyTorch's own float32 gradients differ from its float64 ones by
up to 9e-3 on the resnet50 fixture; the script prints this figure), and an
implementation is best compared with the exact result. The resnet50 fixture
keeps no eval.grad.* (its eval mode saturates the softmax, and it keeps the
file small).

Contents of each .safetensors file (floats F32, labels/num_batches_tracked I64):
  <name>              every state_dict entry, initial values (before any forward)
  input, labels       NCHW float32 input, int64 labels of shape [N]
  out.logits          train-mode logits (model.train(); BN uses batch stats)
  out.loss            mean cross-entropy of out.logits (0-d tensor)
  grad.<name>         d out.loss / d parameter, for every named parameter
  out.<buffer>        every buffer after the train-mode forward (updated
                      running_mean / running_var (momentum 0.1, unbiased var),
                      num_batches_tracked == 4)
  eval.logits         eval-mode logits from the initial weights
  eval.loss           mean cross-entropy of eval.logits (0-d tensor)
  eval.grad.<name>    d eval.loss / d parameter (eval mode)
  smooth.loss         cross_entropy(out.logits, labels, label_smoothing=0.1)
  __metadata__        arch, width_div, classes, head, input_shape, torch,
                      torchvision, generator

The safetensors files are written by hand (no safetensors package needed):
8-byte little-endian header length N, N bytes of JSON header padded with
spaces so that 8+N is a multiple of 8, then the raw little-endian C-order
data packed back to back. All I64 tensors are placed first so that every
I64 tensor starts 8-byte aligned (F32 tensors are then 4-byte aligned).
Every file is re-read with the small reader below and checked for exact
round-trip equality.

Run from the repository root:

    /usr/bin/python3 model/resnet/testdata/make_parity.py

(Debian's python3-torch / python3-torchvision; the script is deterministic:
fixed seeds, torch.set_num_threads(1), torch.use_deterministic_algorithms(True)
when available on CPU.) It prints each file's size.
"""

import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from torchvision.models import resnet as tvr

OUT_DIR = os.path.dirname(os.path.abspath(__file__))
GENERATOR = "model/resnet/testdata/make_parity.py"

torch.set_num_threads(1)
try:
    torch.use_deterministic_algorithms(True)
    DETERMINISTIC = True
except Exception as e:  # pragma: no cover - informational only
    print("warning: use_deterministic_algorithms(True) failed:", e, file=sys.stderr)
    DETERMINISTIC = False


# ---------------------------------------------------------------------------
# safetensors writer / reader
# ---------------------------------------------------------------------------

_DTYPES = {np.dtype("<f4"): "F32", np.dtype("<i8"): "I64"}
_NP_DTYPES = {"F32": np.dtype("<f4"), "I64": np.dtype("<i8")}


def _to_numpy(t):
    if isinstance(t, torch.Tensor):
        t = t.detach().cpu()
        if t.dtype in (torch.float32, torch.float64):
            # float64 references are stored as float32, like everything else
            a = t.numpy().astype("<f4", copy=False)
        elif t.dtype == torch.int64:
            a = t.numpy().astype("<i8", copy=False)
        else:
            raise TypeError("unsupported dtype %s" % t.dtype)
    else:
        a = np.asarray(t)
    # np.ascontiguousarray would turn 0-d arrays into shape (1,); keep 0-d.
    a = np.array(a, order="C", copy=True)
    if a.dtype not in _DTYPES:
        raise TypeError("unsupported numpy dtype %s" % a.dtype)
    return a


def write_safetensors(path, tensors, metadata):
    """tensors: dict name -> torch.Tensor / np.ndarray (F32 or I64).

    I64 tensors are written first (each is a multiple of 8 bytes) so that all
    of them are 8-byte aligned; the rest keep their insertion order."""
    arrays = {k: _to_numpy(v) for k, v in tensors.items()}
    order = [k for k, a in arrays.items() if _DTYPES[a.dtype] == "I64"]
    order += [k for k, a in arrays.items() if _DTYPES[a.dtype] != "I64"]
    header = {"__metadata__": {str(k): str(v) for k, v in metadata.items()}}
    off = 0
    for k in order:
        a = arrays[k]
        n = a.nbytes
        header[k] = {
            "dtype": _DTYPES[a.dtype],
            "shape": list(a.shape),
            "data_offsets": [off, off + n],
        }
        off += n
    hb = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hb += b" " * ((-(8 + len(hb))) % 8)
    assert (8 + len(hb)) % 8 == 0
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for k in order:
            f.write(arrays[k].tobytes(order="C"))
    return arrays


def read_safetensors(path):
    """Returns (dict name -> np.ndarray, metadata dict). Validates layout."""
    with open(path, "rb") as f:
        buf = f.read()
    (n,) = struct.unpack("<Q", buf[:8])
    assert (8 + n) % 8 == 0, "header not padded to 8"
    header = json.loads(buf[8 : 8 + n].decode("utf-8"))
    data = memoryview(buf)[8 + n :]
    meta = header.pop("__metadata__", {})
    assert all(isinstance(v, str) for v in meta.values())
    spans = sorted((v["data_offsets"][0], v["data_offsets"][1], k) for k, v in header.items())
    pos = 0
    for b, e, k in spans:
        assert b == pos, "gap/overlap before %s" % k
        pos = e
    assert pos == len(data), "data section size mismatch"
    out = {}
    for k, v in header.items():
        dt = _NP_DTYPES[v["dtype"]]
        b, e = v["data_offsets"]
        shape = tuple(v["shape"])
        assert e - b == int(np.prod(shape, dtype=np.int64)) * dt.itemsize, k
        out[k] = np.frombuffer(data[b:e], dtype=dt).reshape(shape)
    return out, meta


def write_and_verify(path, tensors, metadata):
    written = write_safetensors(path, tensors, metadata)
    for k, v in tensors.items():
        assert tuple(written[k].shape) == tuple(v.shape), (k, written[k].shape, v.shape)
    got, meta = read_safetensors(path)
    assert meta == {str(k): str(v) for k, v in metadata.items()}
    assert set(got) == set(written), set(got) ^ set(written)
    for k, a in written.items():
        b = got[k]
        assert b.dtype == a.dtype and b.shape == a.shape, k
        assert np.array_equal(a, b), k
        # bitwise too (covers -0.0 / NaN payloads)
        assert a.tobytes() == b.tobytes(), k
    return os.path.getsize(path)


# ---------------------------------------------------------------------------
# model
# ---------------------------------------------------------------------------


class NotebookHead(nn.Sequential):
    """Replaces ResNet.avgpool; ResNet.forward then does flatten + fc."""

    def __init__(self):
        super().__init__(
            nn.AvgPool2d(2, stride=2, ceil_mode=True, count_include_pad=False),
            nn.Dropout(0.0),
        )


class SlimResNet(tvr.ResNet):
    """torchvision ResNet with all widths divided by `width_div`.

    Mirrors torchvision.models.resnet.ResNet.__init__ (0.14) except for the
    widths (and the optional notebook head); uses torchvision's _make_layer,
    blocks and forward, so names match torchvision exactly."""

    def __init__(self, block, layers, num_classes, width_div, head="standard", fc_in=None):
        nn.Module.__init__(self)
        norm_layer = nn.BatchNorm2d
        self._norm_layer = norm_layer
        w = lambda c: c // width_div  # noqa: E731
        self.inplanes = w(64)
        self.dilation = 1
        self.groups = 1
        self.base_width = 64  # Bottleneck width == planes
        self.conv1 = nn.Conv2d(3, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = norm_layer(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, w(64), layers[0])
        self.layer2 = self._make_layer(block, w(128), layers[1], stride=2)
        self.layer3 = self._make_layer(block, w(256), layers[2], stride=2)
        self.layer4 = self._make_layer(block, w(512), layers[3], stride=2)
        if head == "standard":
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(w(512) * block.expansion, num_classes)
        elif head == "notebook":
            self.avgpool = NotebookHead()
            self.fc = nn.Linear(fc_in, num_classes)
        else:
            raise ValueError(head)

        # torchvision's init (zero_init_residual=False).
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)


def randomize_bn(model):
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0.0, 0.1)
                m.running_mean.normal_(0.0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
                m.num_batches_tracked.fill_(3)


ARCH = {
    "resnet18": (tvr.BasicBlock, [2, 2, 2, 2]),
    "resnet50": (tvr.Bottleneck, [3, 4, 6, 3]),
}


def feature_hw(h, w):
    """Spatial size after layer4 for the torchvision stem + 3 stride-2 stages."""
    conv = lambda x, k, s, p: (x + 2 * p - k) // s + 1  # noqa: E731
    h, w = conv(h, 7, 2, 3), conv(w, 7, 2, 3)
    h, w = conv(h, 3, 2, 1), conv(w, 3, 2, 1)
    for _ in range(3):
        h, w = conv(h, 3, 2, 1), conv(w, 3, 2, 1)
    return h, w


def check_notebook_pool():
    """AvgPool2d(2,2,ceil,count_include_pad=False) on 3x3 == Keras 'same'."""
    x = torch.arange(9, dtype=torch.float32).reshape(1, 1, 3, 3)
    y = nn.AvgPool2d(2, stride=2, ceil_mode=True, count_include_pad=False)(x)
    want = torch.tensor([[[[(0 + 1 + 3 + 4) / 4, (2 + 5) / 2], [(6 + 7) / 2, 8.0]]]])
    assert torch.equal(y, want), y


# ---------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------


def make_fixture(fname, arch, width_div, classes, head, input_shape, seed, eval_grads=True):
    torch.manual_seed(seed)
    block, layers = ARCH[arch]
    fc_in = None
    if head == "notebook":
        fh, fw = feature_hw(input_shape[2], input_shape[3])
        ph, pw = -(-fh // 2), -(-fw // 2)
        fc_in = (512 // width_div) * block.expansion * ph * pw
    model = SlimResNet(block, layers, classes, width_div, head=head, fc_in=fc_in)
    randomize_bn(model)

    x = torch.randn(*input_shape)
    labels = torch.randint(0, classes, (input_shape[0],), dtype=torch.int64)

    initial = {k: v.detach().clone() for k, v in model.state_dict().items()}
    tensors = dict(initial)
    tensors["input"] = x.clone()
    tensors["labels"] = labels.clone()

    # PyTorch's own float32 gradients, only to report how far float32
    # rounding alone moves them from the float64 reference stored below.
    model.train()
    F.cross_entropy(model(x), labels).backward()
    f32_grads = {n: p.grad.detach().clone() for n, p in model.named_parameters()}
    model.load_state_dict(initial)
    model.zero_grad(set_to_none=True)

    # The reference is computed in float64 from the same float32 weights and
    # input (exactly representable), then stored as float32: a deep network
    # in training mode amplifies float32 rounding through batch norm, and an
    # implementation should be compared with the exact result, not with
    # PyTorch's particular float32 rounding.
    model = model.double()
    x = x.double()
    initial64 = {k: v.detach().clone() for k, v in model.state_dict().items()}

    # --- train mode ---
    model.train()
    model.zero_grad(set_to_none=True)
    logits = model(x)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    tensors["out.logits"] = logits.detach().clone()
    tensors["out.loss"] = loss.detach().clone().reshape(())
    for name, p in model.named_parameters():
        tensors["grad." + name] = p.grad.detach().clone()
    for name, b in model.named_buffers():
        tensors["out." + name] = b.detach().clone()
    with torch.no_grad():
        smooth = F.cross_entropy(logits.detach(), labels, label_smoothing=0.1)
    tensors["smooth.loss"] = smooth.clone().reshape(())

    f32_err = max(
        ((f32_grads[n].double() - p.grad).abs().max() / p.grad.abs().max().clamp_min(1e-30)).item()
        for n, p in model.named_parameters()
    )

    # sanity: buffers were updated as expected
    for name, b in model.named_buffers():
        if name.endswith("num_batches_tracked"):
            assert int(b) == 4, name

    # --- eval mode on the initial weights ---
    model.load_state_dict(initial64)
    model.zero_grad(set_to_none=True)
    model.eval()
    elogits = model(x)
    eloss = F.cross_entropy(elogits, labels)
    eloss.backward()
    tensors["eval.logits"] = elogits.detach().clone()
    tensors["eval.loss"] = eloss.detach().clone().reshape(())
    if eval_grads:
        for name, p in model.named_parameters():
            tensors["eval.grad." + name] = p.grad.detach().clone()
    # eval mode must not have touched the buffers
    for name, b in model.named_buffers():
        assert torch.equal(b, initial64[name]), name

    # determinism check: recompute train-mode forward/backward from scratch
    model.load_state_dict(initial64)
    model.zero_grad(set_to_none=True)
    model.train()
    l2 = model(x)
    F.cross_entropy(l2, labels).backward()
    assert torch.equal(l2.detach(), tensors["out.logits"]), "non-deterministic logits"  # noqa
    for name, p in model.named_parameters():
        assert torch.equal(p.grad, tensors["grad." + name]), "non-deterministic grad " + name

    meta = {
        "arch": arch,
        "width_div": str(width_div),
        "classes": str(classes),
        "head": head,
        "input_shape": "x".join(str(s) for s in input_shape),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "generator": GENERATOR,
        "reference": "float64 (stored as float32)",
    }
    path = os.path.join(OUT_DIR, fname)
    size = write_and_verify(path, tensors, meta)
    nparams = sum(p.numel() for p in model.parameters())
    nbuf = sum(b.numel() for n, b in model.named_buffers() if not n.endswith("num_batches_tracked"))
    print(
        "%-42s %9d bytes  params=%d buffers=%d tensors=%d  loss=%.7f eval.loss=%.7f smooth.loss=%.7f"
        "  torch-float32-vs-float64 grad error=%.2g"
        % (fname, size, nparams, nbuf, len(tensors), loss.item(), eloss.item(), smooth.item(), f32_err)
    )
    return size


def param_counts():
    counts = {}
    for name in ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152"]:
        m = getattr(tvr, name)(weights=None, num_classes=1000)
        params = sum(p.numel() for p in m.parameters())
        bufs = sum(b.numel() for n, b in m.named_buffers() if not n.endswith("num_batches_tracked"))
        counts[name] = {"params": params, "buffers": bufs}
        print("%-10s params=%d buffers=%d" % (name, params, bufs))
    assert counts["resnet50"]["params"] == 25557032, counts["resnet50"]
    # SlimResNet at width divisor 1 must be torchvision's model, name for name.
    for name, arch in [("resnet18", "resnet18"), ("resnet50", "resnet50")]:
        ref = getattr(tvr, name)(weights=None, num_classes=1000).state_dict()
        block, layers = ARCH[arch]
        mine = SlimResNet(block, layers, 1000, 1).state_dict()
        assert list(ref) == list(mine), name
        assert all(ref[k].shape == mine[k].shape for k in ref), name
    path = os.path.join(OUT_DIR, "param_counts.json")
    with open(path, "w") as f:
        json.dump(counts, f, indent=2)
        f.write("\n")
    print("%-42s %9d bytes" % ("param_counts.json", os.path.getsize(path)))


def main():
    print("torch", torch.__version__, "torchvision", torchvision.__version__,
          "deterministic_algorithms", DETERMINISTIC)
    check_notebook_pool()
    make_fixture("parity_resnet50_w8.safetensors", "resnet50", 8, 10, "standard", (4, 3, 64, 64), seed=50,
                 eval_grads=False)  # its eval mode saturates the softmax; keeps the file small
    make_fixture("parity_resnet18_w8.safetensors", "resnet18", 8, 7, "standard", (3, 3, 96, 64), seed=18)
    make_fixture("parity_resnet18_w8_notebook.safetensors", "resnet18", 8, 5, "notebook", (2, 3, 96, 96), seed=1805)
    param_counts()


if __name__ == "__main__":
    main()
