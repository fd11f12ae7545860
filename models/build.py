#!/usr/bin/python3
"""edgecnn model zoo: one entry point for every model and data file under models/.

    /usr/bin/python3 models/build.py data     # Fashion-MNIST test + calibration PNG sets
    /usr/bin/python3 models/build.py micro    # train + export the four micro models (~25 min, 2 threads)
    /usr/bin/python3 models/build.py full     # torchvision full-size exports into models/cache (+ MANIFEST.sha256)
    /usr/bin/python3 models/build.py photos   # real 224x224 RGB photos from scikit-image's bundled data
    /usr/bin/python3 models/build.py all      # all of the above, in that order

    micro accepts model names to build only some: `build.py micro micro_resnet8`.
    `build.py stats` prints params / MACs / file sizes of every model (for README.md).

Needs: Debian python3-torch python3-torchvision (torch 1.13 / torchvision 0.14),
dataset-fashion-mnist, and the pip extras pinned in models/requirements.txt.
Everything is seeded; the same machine and library versions give the same files.
"""

import argparse
import gzip
import hashlib
import json
import os
import struct
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")
MICRO = os.path.join(HERE, "micro")
CACHE = os.path.join(HERE, "cache")
FASHION_DIR = os.environ.get("FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")

# Input normalisation of the micro models: x = (pixel / 255 - MEAN) / STD
# (mean and std of the Fashion-MNIST training pixels, scaled to [0, 1]).
MEAN = 0.2860
STD = 0.3530
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
SEED = 20240601
N_TEST_PER_CLASS = 30
N_CALIB_PER_CLASS = 10
OPSET = 13


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def die(msg):
    print(f"error: {msg}", file=sys.stderr, flush=True)
    sys.exit(1)


def need_torch():
    try:
        import torch  # noqa: F401
        import torchvision  # noqa: F401
    except ImportError as e:
        die(f"{e}. Install the Debian packages: apt-get install python3-torch python3-torchvision "
            "and run this script with /usr/bin/python3 (PyPI torch works too but is 5 GB).")


def need(module, pip_name):
    try:
        return __import__(module)
    except ImportError:
        die(f"python module '{module}' missing: /usr/bin/python3 -m pip install "
            f"--break-system-packages -r models/requirements.txt  (provides {pip_name})")


# --------------------------------------------------------------------------- Fashion-MNIST

def read_idx(path):
    """Read a (gzipped) IDX file: images -> uint8 [N, 28, 28], labels -> uint8 [N]."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype != 0x08:
        die(f"{path}: not an unsigned-byte IDX file")
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    arr = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if arr.size != int(np.prod(dims)):
        die(f"{path}: truncated ({arr.size} bytes of payload, header says {dims})")
    return arr.reshape(dims)


def load_fashion(split):
    """split 'train' or 't10k' -> (images uint8 [N,28,28], labels int64 [N])."""
    out = []
    for kind in ("images-idx3-ubyte", "labels-idx1-ubyte"):
        cands = [os.path.join(FASHION_DIR, f"{split}-{kind}{ext}") for ext in (".gz", "")]
        path = next((p for p in cands if os.path.exists(p)), None)
        if path is None:
            die(f"Fashion-MNIST file {cands[0]} not found. Install the Debian package "
                "'dataset-fashion-mnist' (apt-get install dataset-fashion-mnist) or set "
                "FASHION_MNIST_DIR to a folder holding the four *-ubyte.gz files.")
        out.append(read_idx(path))
    images, labels = out
    if images.shape[0] != labels.shape[0] or images.shape[1:] != (28, 28):
        die(f"unexpected Fashion-MNIST shapes {images.shape} / {labels.shape}")
    return images, labels.astype(np.int64)


def pick_per_class(labels, per_class, seed):
    """Seeded pick of `per_class` indices for every class, returned in ascending index order."""
    rng = np.random.default_rng(seed)
    chosen = []
    for c in range(10):
        idx = np.flatnonzero(labels == c)
        chosen.extend(rng.choice(idx, size=per_class, replace=False).tolist())
    return sorted(chosen)


def write_png_set(folder, images, labels, indices, split_name):
    from PIL import Image
    os.makedirs(folder, exist_ok=True)
    for f in os.listdir(folder):
        if f.endswith(".png") or f in ("labels.txt", "sources.txt"):
            os.remove(os.path.join(folder, f))
    lab_lines, src_lines = [], []
    for n, i in enumerate(indices):
        name = f"{n:04d}.png"
        Image.fromarray(images[i], mode="L").save(os.path.join(folder, name))
        lab_lines.append(f"{name} {int(labels[i])}\n")
        src_lines.append(f"{name} {split_name} {i}\n")
    with open(os.path.join(folder, "labels.txt"), "w") as f:
        f.writelines(lab_lines)
    with open(os.path.join(folder, "sources.txt"), "w") as f:
        f.write(f"# <file> <Fashion-MNIST file> <0-based index in that file>\n")
        f.writelines(src_lines)


def cmd_data(_args):
    log(f"data: reading Fashion-MNIST from {FASHION_DIR}")
    te_x, te_y = load_fashion("t10k")
    tr_x, tr_y = load_fashion("train")
    test_idx = pick_per_class(te_y, N_TEST_PER_CLASS, SEED)
    calib_idx = pick_per_class(tr_y, N_CALIB_PER_CLASS, SEED + 1)
    write_png_set(os.path.join(DATA, "fashion-test"), te_x, te_y, test_idx, "t10k-images-idx3-ubyte")
    write_png_set(os.path.join(DATA, "fashion-calib"), tr_x, tr_y, calib_idx, "train-images-idx3-ubyte")
    with open(os.path.join(DATA, "fashion-classes.txt"), "w") as f:
        f.write("".join(c + "\n" for c in CLASSES))
    log(f"data: wrote {len(test_idx)} test PNGs (models/data/fashion-test), "
        f"{len(calib_idx)} calibration PNGs (models/data/fashion-calib), fashion-classes.txt")


def read_png_set(folder):
    """Read a PNG set back exactly as a user of the runtime would: (uint8 [N,28,28], labels)."""
    from PIL import Image
    xs, ys = [], []
    with open(os.path.join(folder, "labels.txt")) as f:
        for line in f:
            name, c = line.split()
            xs.append(np.asarray(Image.open(os.path.join(folder, name)).convert("L")))
            ys.append(int(c))
    return np.stack(xs), np.array(ys, dtype=np.int64)


# --------------------------------------------------------------------------- micro models

def micro_definitions():
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    # AlexNet-style LRN. torch's own ONNX export of nn.LocalResponseNorm expands into a
    # sub-graph with an `If` node; this exports a single ONNX `LRN` node instead. Same maths:
    # y = x / (bias + alpha/size * sum_{c' in window(c)} x[c']^2) ^ beta   (ONNX LRN, opset 1+).
    class _LRNExport(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, size, alpha, beta, bias):
            return F.local_response_norm(x, size, alpha, beta, bias)

        @staticmethod
        def symbolic(g, x, size, alpha, beta, bias):
            return g.op("LRN", x, size_i=size, alpha_f=alpha, beta_f=beta, bias_f=bias)

    class LRN(nn.Module):
        def __init__(self, size, alpha, beta, bias):
            super().__init__()
            self.size, self.alpha, self.beta, self.bias = size, alpha, beta, bias

        def forward(self, x):
            if torch.onnx.is_in_onnx_export():
                return _LRNExport.apply(x, self.size, self.alpha, self.beta, self.bias)
            return F.local_response_norm(x, self.size, self.alpha, self.beta, self.bias)

    # LRN constants: size and beta as in AlexNet (5, 0.75); alpha 0.1 / bias 1 instead of
    # 1e-4 / 2 because this net's activations are O(1), not O(100): with the paper's alpha the
    # sum term would vanish and LRN would degenerate into a constant scale.
    LRN_ARGS = dict(size=5, alpha=0.1, beta=0.75, bias=1.0)

    class MicroAlexNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(
                # CaffeNet order (conv, ReLU, pool, LRN): the same ops as AlexNet, LRN on 4x fewer values
                nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(inplace=True),
                nn.MaxPool2d(3, 2), LRN(**LRN_ARGS),                  # 28 -> 13
                nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(inplace=True),
                nn.MaxPool2d(3, 2), LRN(**LRN_ARGS),                  # 13 -> 6
                nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(inplace=True),
                nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(inplace=True),
                nn.MaxPool2d(2, 2),                                   # 6 -> 3
            )
            self.classifier = nn.Sequential(
                nn.Dropout(0.3), nn.Linear(64 * 3 * 3, 128), nn.ReLU(inplace=True),
                nn.Dropout(0.3), nn.Linear(128, 10),
            )

        def forward(self, x):
            return self.classifier(torch.flatten(self.features(x), 1))

    class MicroVGG(nn.Module):
        def __init__(self):
            super().__init__()

            def block(cin, cout):
                return [nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(inplace=True),
                        nn.Conv2d(cout, cout, 3, padding=1), nn.ReLU(inplace=True),
                        nn.MaxPool2d(2, 2)]
            self.features = nn.Sequential(*block(1, 16), *block(16, 32), *block(32, 64))  # 28->14->7->3
            self.classifier = nn.Sequential(
                nn.Linear(64 * 3 * 3, 128), nn.ReLU(inplace=True), nn.Dropout(0.3), nn.Linear(128, 10),
            )

        def forward(self, x):
            return self.classifier(torch.flatten(self.features(x), 1))

    def conv_bn(cin, cout, k, stride=1):
        return nn.Sequential(nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, bias=False),
                             nn.BatchNorm2d(cout), nn.ReLU(inplace=True))

    class Inception(nn.Module):
        """GoogLeNet Inception (v1): 1x1 | 1x1->3x3 | 1x1->5x5 | 3x3 maxpool->1x1, concat on C."""

        def __init__(self, cin, c1, c3r, c3, c5r, c5, pp):
            super().__init__()
            self.b1 = conv_bn(cin, c1, 1)
            self.b2 = nn.Sequential(conv_bn(cin, c3r, 1), conv_bn(c3r, c3, 3))
            self.b3 = nn.Sequential(conv_bn(cin, c5r, 1), conv_bn(c5r, c5, 5))
            self.b4 = nn.Sequential(nn.MaxPool2d(3, 1, padding=1), conv_bn(cin, pp, 1))

        def forward(self, x):
            return torch.cat([self.b1(x), self.b2(x), self.b3(x), self.b4(x)], 1)

    class MicroGoogLeNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(conv_bn(1, 32, 3), nn.MaxPool2d(2, 2))   # 28 -> 14
            self.i3a = Inception(32, 16, 16, 24, 4, 8, 8)                      # -> 56 ch
            self.i3b = Inception(56, 24, 24, 32, 8, 16, 16)                    # -> 88 ch
            self.pool = nn.MaxPool2d(2, 2)                                     # 14 -> 7
            self.i4a = Inception(88, 32, 24, 48, 8, 16, 16)                    # -> 112 ch
            self.gap = nn.AdaptiveAvgPool2d(1)
            self.dropout = nn.Dropout(0.2)
            self.fc = nn.Linear(112, 10)

        def forward(self, x):
            x = self.i4a(self.pool(self.i3b(self.i3a(self.stem(x)))))
            return self.fc(self.dropout(torch.flatten(self.gap(x), 1)))

    class BasicBlock(nn.Module):
        """MLPerf-Tiny ResNet-8 block: conv-BN-ReLU-conv-BN + shortcut, ReLU after the Add.
        Downsampling blocks use a 1x1 stride-2 convolution (with bias, no BN) as shortcut."""

        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.shortcut = (nn.Conv2d(cin, cout, 1, stride=stride)
                             if stride != 1 or cin != cout else nn.Identity())

        def forward(self, x):
            y = F.relu(self.bn1(self.conv1(x)))
            y = self.bn2(self.conv2(y))
            return F.relu(y + self.shortcut(x))

    class MicroResNet8(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1, bias=False),
                                      nn.BatchNorm2d(16), nn.ReLU(inplace=True))
            self.stage1 = BasicBlock(16, 16, 1)    # 28x28
            self.stage2 = BasicBlock(16, 32, 2)    # 14x14
            self.stage3 = BasicBlock(32, 64, 2)    # 7x7
            self.gap = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(64, 10)

        def forward(self, x):
            x = self.stage3(self.stage2(self.stage1(self.stem(x))))
            return self.fc(torch.flatten(self.gap(x), 1))

    # name -> (constructor, epochs, peak learning rate, description). Epochs are few on purpose:
    # the whole `micro` run has to fit ~25 min on 2 shared CPU threads. resnet8 first: the demo model.
    return {
        "micro_resnet8": (MicroResNet8, 3, 3e-3,
                          "ResNet-8 (MLPerf Tiny layout, 16/32/64 ch, 3 stages, BN, residual Add, "
                          "1x1/2 projection shortcuts), global avg pool, FC"),
        "micro_alexnet": (MicroAlexNet, 3, 2e-3,
                          "AlexNet-style: 5x5 conv, ReLU, overlapping 3x3/2 max-pool, LRN (x2), 4 convs, "
                          "dropout, 2 FC"),
        "micro_googlenet": (MicroGoogLeNet, 2, 3e-3,
                            "GoogLeNet-style: conv stem, 3 Inception modules (1x1, 1x1->3x3, 1x1->5x5, "
                            "maxpool->1x1, Concat), BatchNorm, global avg pool, FC"),
        "micro_vgg": (MicroVGG, 2, 2e-3,
                      "VGG-style: 3 blocks of 2x(3x3 conv+ReLU)+2x2 max-pool (16/32/64 ch), 2 FC"),
    }


def normalize(x_uint8):
    import torch
    x = torch.from_numpy(x_uint8.astype(np.float32) / 255.0)
    return ((x - MEAN) / STD).unsqueeze(1)


def evaluate(model, x, y, batch=500):
    import torch
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            correct += (model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum().item()
    return correct / len(x)


def train(name, ctor, epochs, lr, tr_x, tr_y, te_x, te_y):
    import torch
    import torch.nn.functional as F
    torch.manual_seed(SEED)
    np.random.seed(SEED)
    model = ctor()
    gen = torch.Generator().manual_seed(SEED)
    batch = 128
    steps_per_epoch = (len(tr_x) + batch - 1) // batch
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, epochs=epochs,
                                                steps_per_epoch=steps_per_epoch, pct_start=0.25)
    t0 = time.time()
    for ep in range(epochs):
        model.train()
        perm = torch.randperm(len(tr_x), generator=gen)
        flip = torch.rand(len(tr_x), generator=gen) < 0.5   # horizontal-flip augmentation
        total, n = 0.0, 0
        for s in range(steps_per_epoch):
            idx = perm[s * batch:(s + 1) * batch]
            xb = tr_x[idx]
            fb = flip[idx]
            xb = torch.where(fb[:, None, None, None], xb.flip(3), xb)
            loss = F.cross_entropy(model(xb), tr_y[idx], label_smoothing=0.05)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
            n += len(idx)
        acc = evaluate(model, te_x[:2000], te_y[:2000])   # progress only; full 10k at the end
        log(f"  {name} epoch {ep + 1}/{epochs}: loss {total / n:.4f}, test acc (first 2k) {acc:.4f}, "
            f"{time.time() - t0:.0f} s")
    model.eval()
    return model, time.time() - t0


def export_onnx(model, path, shape):
    import torch
    dummy = torch.zeros(*shape)
    with torch.no_grad():
        torch.onnx.export(model, dummy, path, opset_version=OPSET, input_names=["input"],
                          output_names=["logits"], do_constant_folding=True,
                          training=torch.onnx.TrainingMode.EVAL)


def check_onnx(path, model, sample, expect_ops=()):
    """Structural check with `onnx`, numerical parity torch vs onnxruntime. Returns op histogram."""
    import torch
    onnx = need("onnx", "onnx")
    m = onnx.load(path)
    onnx.checker.check_model(m)
    ops = {}
    for node in m.graph.node:
        ops[node.op_type] = ops.get(node.op_type, 0) + 1
    for op in expect_ops:
        if op not in ops:
            die(f"{path}: expected ONNX op {op} missing (ops: {ops})")
    for bad in ("If", "Loop", "Dropout", "BatchNormalization"):
        if bad in ops:
            log(f"  warning: {os.path.basename(path)} contains {bad} nodes")
    ort = need("onnxruntime", "onnxruntime")
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    worst = 0.0
    for i in range(len(sample)):
        x = sample[i:i + 1]
        want = model(x).detach().numpy()
        got = sess.run(["logits"], {"input": x.numpy()})[0]
        worst = max(worst, float(np.abs(want - got).max()))
    if worst > 1e-3:
        die(f"{path}: onnxruntime differs from torch by {worst}")
    return ops, worst


def onnx_accuracy(path, x, y):
    ort = need("onnxruntime", "onnxruntime")
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    correct = 0
    for i in range(len(x)):
        out = sess.run(["logits"], {"input": x[i:i + 1].numpy()})[0]
        correct += int(out.argmax() == int(y[i]))
    return correct / len(x)


def cmd_micro(args):
    need_torch()
    need("onnx", "onnx")
    need("onnxruntime", "onnxruntime")
    import torch
    threads = getattr(args, "threads", None) or 2
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)
    defs = micro_definitions()
    names = args.models or list(defs)
    for n in names:
        if n not in defs:
            die(f"unknown micro model {n}; choose from {', '.join(defs)}")
    tr_x, tr_y = load_fashion("train")
    te_x, te_y = load_fashion("t10k")
    if getattr(args, "train_limit", None):
        tr_x, tr_y = tr_x[:args.train_limit], tr_y[:args.train_limit]
    tr_x, te_x = normalize(tr_x), normalize(te_x)
    tr_y, te_y = torch.from_numpy(tr_y), torch.from_numpy(te_y)
    test_dir = os.path.join(DATA, "fashion-test")
    if not os.path.exists(os.path.join(test_dir, "labels.txt")):
        die("models/data/fashion-test missing: run `build.py data` first")
    b_x, b_y = read_png_set(test_dir)
    b_x = normalize(b_x)
    os.makedirs(MICRO, exist_ok=True)
    acc_path = os.path.join(MICRO, "ACCURACY.json")
    results = json.load(open(acc_path)) if os.path.exists(acc_path) else {}
    for name in names:
        ctor, epochs, lr, desc = defs[name]
        epochs = getattr(args, "epochs", None) or epochs
        log(f"micro: training {name} ({desc}) for {epochs} epochs, seed {SEED}")
        model, secs = train(name, ctor, epochs, lr, tr_x, tr_y, te_x, te_y)
        path = os.path.join(HERE, f"{name}.onnx")
        export_onnx(model, path, (1, 1, 28, 28))
        ops, worst = check_onnx(path, model, b_x[:20],
                                expect_ops=("LRN",) if name == "micro_alexnet" else ())
        acc_full = evaluate(model, te_x, te_y)
        acc_300_torch = evaluate(model, b_x, torch.from_numpy(b_y))
        acc_300_onnx = onnx_accuracy(path, b_x, b_y)
        params = sum(p.numel() for p in model.parameters())
        results[name] = {
            "file": f"models/{name}.onnx",
            "description": desc,
            "test_accuracy_10k": round(acc_full, 4),
            "test_accuracy_bundled_300": round(acc_300_torch, 4),
            "test_accuracy_bundled_300_onnxruntime": round(acc_300_onnx, 4),
            "epochs": epochs,
            "seed": SEED,
            "optimizer": f"AdamW(wd=5e-4), OneCycle max_lr={lr}, batch 128, label smoothing 0.05, random h-flip",
            "train_seconds": round(secs, 1),
            "torch_threads": threads,
            "params": params,
            "macs": count_macs(model, (1, 1, 28, 28)),
            "onnx_bytes": os.path.getsize(path),
            "onnx_ops": dict(sorted(ops.items())),
            "max_abs_diff_torch_vs_onnxruntime": float(f"{worst:.3g}"),
            "torch": torch.__version__,
        }
        if os.path.exists(acc_path):   # merge: another `micro` run may have written meanwhile
            results = {**json.load(open(acc_path)), name: results[name]}
        with open(acc_path, "w") as f:
            json.dump(results, f, indent=2)
            f.write("\n")
        log(f"micro: {name}.onnx written ({os.path.getsize(path)} bytes): 10k test acc {acc_full:.4f}, "
            f"bundled 300 acc {acc_300_torch:.4f} (onnxruntime {acc_300_onnx:.4f}), "
            f"ops {dict(sorted(ops.items()))}")
        if os.path.getsize(path) > 2 * 1024 * 1024:
            die(f"{path} is over 2 MB")


def count_macs(model, shape):
    """Multiply-accumulates of Conv2d and Linear layers for one inference (batch 1)."""
    import torch
    import torch.nn as nn
    total = [0]

    def conv_hook(m, inp, out):
        k = m.kernel_size[0] * m.kernel_size[1] * (m.in_channels // m.groups)
        total[0] += out.numel() * k

    def lin_hook(m, inp, out):
        total[0] += out.numel() * m.in_features

    hooks = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(lin_hook))
    was_training = model.training
    model.eval()
    with torch.no_grad():
        model(torch.zeros(*shape))
    model.train(was_training)
    for h in hooks:
        h.remove()
    return total[0]


# --------------------------------------------------------------------------- full-size models

FULL = ["alexnet", "vgg11", "vgg16", "googlenet", "resnet18", "resnet50"]


def full_model(name):
    import torchvision.models as tvm
    if name == "googlenet":
        # transform_input stays False: torchvision only switches it on when loading ImageNet
        # weights (weights=...), so the random-weight model takes the usual normalised input.
        model = tvm.googlenet(weights=None, aux_logits=False, init_weights=True)
        # torchvision's GoogLeNet init (truncated normal, std 0.01) shrinks the signal ~0.4x
        # per conv, so after 57 convs the logits are the FC bias alone and every photo gets the
        # same answer: useless for a parity test. He init (as torchvision's ResNet) keeps it.
        import torch
        for m in model.modules():
            if isinstance(m, torch.nn.Conv2d):
                torch.nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        return model
    return getattr(tvm, name)(weights=None)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def cmd_full(args):
    need_torch()
    import torch
    torch.set_num_threads(2)
    os.makedirs(CACHE, exist_ok=True)
    names = args.models or FULL
    info = {}
    info_path = os.path.join(CACHE, "full-models.json")
    if os.path.exists(info_path):
        info = json.load(open(info_path))
    for name in names:
        if name not in FULL:
            die(f"unknown full model {name}; choose from {', '.join(FULL)}")
        i = FULL.index(name)   # the seed depends on the model only, not on the subset asked for
        t0 = time.time()
        torch.manual_seed(SEED + i)
        model = full_model(name).eval()
        if name == "googlenet":
            assert model.transform_input is False
        path = os.path.join(CACHE, f"{name}.onnx")
        export_onnx(model, path, (1, 3, 224, 224))
        info[name] = {
            "params": sum(p.numel() for p in model.parameters()),
            "macs": count_macs(model, (1, 3, 224, 224)),
            "onnx_bytes": os.path.getsize(path),
            "seed": SEED + i,
            "export_seconds": round(time.time() - t0, 1),
        }
        log(f"full: {name}.onnx {os.path.getsize(path) / 1e6:.1f} MB, {info[name]['params']} params, "
            f"{info[name]['macs'] / 1e6:.0f} M MACs, {time.time() - t0:.0f} s")
        del model
    with open(info_path, "w") as f:
        json.dump(info, f, indent=2)
        f.write("\n")
    lines = []
    for f in sorted(os.listdir(CACHE)):
        if f.endswith(".onnx"):
            lines.append(f"{sha256(os.path.join(CACHE, f))}  {f}\n")
    with open(os.path.join(CACHE, "MANIFEST.sha256"), "w") as f:
        f.writelines(lines)
    log(f"full: wrote models/cache/MANIFEST.sha256 ({len(lines)} files); check with "
        "`cd models/cache && sha256sum -c MANIFEST.sha256`")


# --------------------------------------------------------------------------- photos

# (file in skimage/data, output name, licence / source as documented by scikit-image)
PHOTOS = [
    ("astronaut.png", "astronaut", "NASA (Eileen Collins), public domain; https://flic.kr/p/r9qvLn"),
    ("chelsea.png", "chelsea", "Chelsea the cat, CC0, photographer Stefan van der Walt"),
    ("coffee.png", "coffee", "Coffee cup (Pikolo Espresso Bar), CC0, photographer Rachel Michetti"),
    ("rocket.jpg", "rocket", "SpaceX DSCOVR launch on Falcon 9, public domain (SpaceX)"),
    ("hubble_deep_field.jpg", "hubble_deep_field", "Hubble eXtreme Deep Field, NASA, public domain"),
    ("retina.jpg", "retina", "Fundus photograph, Mikael Haggstrom, CC0 1.0 (Wikimedia Commons)"),
    ("camera.png", "camera", "Gray-level cameraman-style photo, CC0, photographer Lav Varshney"),
    ("coins.png", "coins", "Greek coins from Pompeii, Brooklyn Museum, no known copyright restrictions"),
    ("brick.png", "brick", "Brick wall, CC0 (cc0textures.com Bricks25)"),
    ("grass.png", "grass", "Grass, CC0 (DeviantArt linolafett, Grass-01)"),
    ("gravel.png", "gravel", "Gravel, CC0 (cc0textures.com Gravel04)"),
]


# Calibration photos for the full-size models: real photos distinct from PHOTOS, so the parity
# tests never calibrate on the photos they evaluate.
CALIB_PHOTOS = [
    ("ihc.png", "ihc", "Immunohistochemistry (CMMI), no known copyright restrictions"),
    ("cell.png", "cell", "Cell microscopy, CC0"),
    ("clock_motion.png", "clock_motion", "Motion-blurred clock, public domain (Stefan van der Walt)"),
    ("microaneurysms.png", "microaneurysms", "Retina detail, CC0 (Andreas Maier)"),
    ("text.png", "text", "Text on a wall, public domain"),
    ("motorcycle_left.png", "motorcycle_left", "Motorcycle, left view (skimage.data.stereo_motorcycle), Middlebury 2014 stereo benchmark"),
    ("motorcycle_right.png", "motorcycle_right", "Motorcycle, right view (skimage.data.stereo_motorcycle), Middlebury 2014 stereo benchmark"),
    ("moon.png", "moon", "Surface of the moon (skimage.data.moon); licence as documented by scikit-image"),
    ("page.png", "page", "Scanned page of printed text (skimage.data.page); licence as documented by scikit-image"),
]


def cmd_photos(_args):
    write_photo_set("photos", PHOTOS)
    write_photo_set("photos-calib", CALIB_PHOTOS)


def write_photo_set(folder, photos):
    skimage = need("skimage", "scikit-image")
    from PIL import Image
    src_dir = os.path.join(os.path.dirname(skimage.__file__), "data")
    out_dir = os.path.join(DATA, folder)
    os.makedirs(out_dir, exist_ok=True)
    lines = ["# <file> <scikit-image file> <licence / source (as documented in skimage.data)>\n",
             f"# scikit-image {skimage.__version__}; center square crop, Lanczos resize to 224x224, RGB\n"]
    for src, name, lic in photos:
        p = os.path.join(src_dir, src)
        if not os.path.exists(p):
            die(f"{p} missing: /usr/bin/python3 -m pip install --break-system-packages scikit-image==0.22.0")
        im = Image.open(p).convert("RGB")
        w, h = im.size
        s = min(w, h)
        left, top = (w - s) // 2, (h - s) // 2
        im = im.crop((left, top, left + s, top + s)).resize((224, 224), Image.LANCZOS)
        im.save(os.path.join(out_dir, f"{name}.png"))
        lines.append(f"{name}.png skimage/data/{src} {lic}\n")
    with open(os.path.join(out_dir, "SOURCES.txt"), "w") as f:
        f.writelines(lines)
    log(f"photos: wrote {len(photos)} 224x224 RGB PNGs to models/data/{folder}")


# --------------------------------------------------------------------------- stats

def cmd_stats(_args):
    need_torch()
    for name, (ctor, *_rest) in micro_definitions().items():
        m = ctor()
        p = os.path.join(HERE, f"{name}.onnx")
        size = os.path.getsize(p) if os.path.exists(p) else None
        print(f"{name}: params {sum(x.numel() for x in m.parameters())}, "
              f"MACs {count_macs(m, (1, 1, 28, 28))}, onnx bytes {size}")
    for name in FULL:
        m = full_model(name)
        print(f"{name}: params {sum(x.numel() for x in m.parameters())}, "
              f"MACs {count_macs(m, (1, 3, 224, 224))}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("data", help="Fashion-MNIST test + calibration PNG sets")
    p = sub.add_parser("micro", help="train + export the micro models")
    p.add_argument("models", nargs="*", help="subset of micro models (default: all four)")
    p.add_argument("--epochs", type=int, help="override the epochs (smoke tests)")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    p.add_argument("--train-limit", type=int, help="train on the first N images only (smoke tests)")
    p = sub.add_parser("full", help="full-size torchvision exports into models/cache")
    p.add_argument("models", nargs="*", help="subset of full models (default: all six)")
    sub.add_parser("photos", help="224x224 RGB photos from scikit-image")
    sub.add_parser("stats", help="params / MACs of every model")
    sub.add_parser("all", help="data, micro, full, photos")
    args = ap.parse_args()
    t0 = time.time()
    if args.cmd == "all":
        args.models, args.epochs, args.train_limit, args.threads = [], None, None, 2
        for f in (cmd_data, cmd_micro, cmd_full, cmd_photos):
            f(args)
    else:
        {"data": cmd_data, "micro": cmd_micro, "full": cmd_full, "photos": cmd_photos,
         "stats": cmd_stats}[args.cmd](args)
    log(f"done in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
