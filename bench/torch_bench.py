#!/usr/bin/python3
"""PyTorch's figures for `make bench` (bench/ runs this with Debian's
/usr/bin/python3, which has python3-torch and python3-torchvision).

torchvision's resnet50 (random weights, 1000 classes) at 224x224, for
each thread count (torch.set_num_threads) and batch:
  - forward: eval mode, under torch.no_grad();
  - forward, oneDNN: the same network through torch.utils.mkldnn.to_mkldnn
    on an mkldnn input (PyTorch's fastest CPU inference path here);
  - train step: train mode, forward, mean cross-entropy, backward (the
    gradients are set to None first; no optimizer step), as our benchmark.
Each figure: --warmup untimed steps, then --reps timed steps. One JSON
object a line on stdout: {"op", "mode", "threads", "batch", "ms": [...]}.
With --serve it reads the figures to measure from stdin, so that bench/
can measure each right after ours.
"""

import argparse
import json
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--batches", default="1,8")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--serve", action="store_true",
                    help="read requests from stdin, one JSON object a line: "
                         '{"mode": "eval"|"mkldnn"|"train", "threads": T, "batch": B}; '
                         "answer each with its figure (bench/ interleaves them with ours)")
    args = ap.parse_args()

    import torch
    import torchvision
    from torch.utils import mkldnn as mkldnn_utils

    torch.manual_seed(0)
    print(json.dumps({"info": {
        "torch": torch.__version__, "torchvision": torchvision.__version__,
        "mkldnn": torch.backends.mkldnn.is_available(),
        "config": torch.__config__.parallel_info().splitlines()[-1].strip(),
    }}), flush=True)

    net = torchvision.models.resnet50()
    net_mkldnn = mkldnn_utils.to_mkldnn(torchvision.models.resnet50().eval())
    loss_fn = torch.nn.CrossEntropyLoss()

    def figure(mode, threads, batch):
        torch.set_num_threads(threads)
        x = torch.randn(batch, 3, args.size, args.size)
        labels = torch.tensor([i * 7 % 1000 for i in range(batch)])
        if mode == "eval":
            net.eval()

            def step():
                with torch.no_grad():
                    net(x)
        elif mode == "mkldnn":
            xm = x.to_mkldnn()

            def step():
                with torch.no_grad():
                    net_mkldnn(xm).to_dense()
        elif mode == "train":
            net.train()

            def step():
                for p in net.parameters():
                    p.grad = None
                loss = loss_fn(net(x), labels)
                loss.backward()
        else:
            raise ValueError("mode %r: want eval, mkldnn or train" % mode)
        for _ in range(args.warmup):
            step()
        ms = []
        for _ in range(args.reps):
            t0 = time.perf_counter()
            step()
            ms.append((time.perf_counter() - t0) * 1e3)
        return {"op": "train" if mode == "train" else "forward", "mode": mode, "threads": threads,
                "batch": batch, "ms": ms, "actual_threads": torch.get_num_threads()}

    if args.serve:
        for line in sys.stdin:
            if not line.strip():
                continue
            req = json.loads(line)
            try:
                out = figure(req["mode"], req["threads"], req["batch"])
            except Exception as e:  # answered, not fatal: the harness reports it
                out = {"error": "%s: %s" % (type(e).__name__, e)}
            print(json.dumps(out), flush=True)
        return
    for threads in [int(t) for t in args.threads.split(",")]:
        for batch in [int(b) for b in args.batches.split(",")]:
            for mode in ("eval", "mkldnn", "train"):
                print(json.dumps(figure(mode, threads, batch)), flush=True)


if __name__ == "__main__":
    try:
        main()
    except ImportError as e:
        print(json.dumps({"error": "import: %s" % e}), flush=True)
        sys.exit(3)
