#!/usr/bin/python3
"""Builds the small ONNX models the compiler tests use (committed next to this script).

Run from anywhere with Debian's python (torch 1.13, onnx):

    /usr/bin/python3 tests/data/onnx/make_models.py

Every model is tiny (a few KB), seeded, exported in eval mode with opset 13, and covers one
family of patterns torchvision-style exports contain:

* conv_bn_relu_fc   Conv+BN+ReLU, MaxPool, ReLU6 (Clip), Flatten of a 4x4 map, Gemm (column
                    permutation NCHW->NHWC), Dropout, BatchNorm1d after a Linear.
* residual          ResNet basic blocks: identity and 1x1 strided shortcut, Add+ReLU,
                    GlobalAveragePool, Flatten, Gemm.
* concat            Inception block: 1x1 / 3x3 / 5x5 / maxpool+1x1 branches, Concat,
                    AveragePool (ceil_mode, count_include_pad=False), MaxPool ceil_mode.
* lrn               AlexNet-style Conv+ReLU+LRN+MaxPool(3,2) then Gemm (ONNX LRN op).
* avgpool_pad       explicit Pad op before a conv, AveragePool with count_include_pad=True.
* softmax           conv, GlobalAveragePool, Gemm, Softmax.
* nhwc              a channels-last input (Transpose 0,3,1,2 first, as tf2onnx exports do),
                    depthwise conv, ReLU6.
* unsupported       a Sigmoid (not in the IR) -> CompileError::Unsupported.
* unknown_op        a node of an op type no ONNX runtime knows -> CompileError::Unsupported.
* torch_lrn         torch's own export of nn.LocalResponseNorm (with an `If` node).
* bn_after_pool     BatchNorm after a max pool (folded forward into the next unpadded conv),
                    `view(size(0), -1)` flatten, BatchNorm1d over the flattened map (per element,
                    folded forward into the Gemm).
* dynamic           height/width symbolic -> CompileError::DynamicInput without a shape.

Built with `onnx.helper` (the patterns other converters write, which torch never exports):

* caffe_opset8      a model-zoo Caffe conversion at opset 8 (also caffe_opset7, caffe_opset9): Conv, Relu, LRN, MaxPool with
                    asymmetric pads [0,0,1,1], Reshape to a shape *constant*, Gemm, Dropout
                    (ratio attribute), Softmax (axis=1 of a 2-D tensor).
* bn_mul_add        BatchNorm written as Mul + Add with per-channel constants ([1,C,1,1] and
                    [C,1,1]) after convolutions without bias.
* matmul_add        MatMul + Add (bias) instead of Gemm, twice, after a Flatten.
* shape_subgraph    Shape -> Gather -> Unsqueeze -> Concat(-1) -> Reshape: a flatten whose
                    target shape is computed from the activation's shape (folds to a constant).
* pad_conv          explicit zero Pad before convolutions: asymmetric ([0,0,1,1], TF "SAME"
                    for a stride 2 on an even size) and symmetric, Pad at opset 11 (pads input).

And with torch:

* transform_input   torchvision GoogLeNet's `transform_input=True` preamble (per-channel
                    `x[:, c] * a + b` on single-channel slices, then Concat) before a padded
                    7x7 stride 2 conv, max pool (ceil mode), global average pool, Linear.
"""
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))


class LrnFn(torch.autograd.Function):
    """LocalResponseNorm exported as the ONNX LRN op (torch's own export adds an `If`)."""

    @staticmethod
    def forward(ctx, x, size, alpha, beta, k):
        return F.local_response_norm(x, size, alpha, beta, k)

    @staticmethod
    def symbolic(g, x, size, alpha, beta, k):
        return g.op("LRN", x, size_i=size, alpha_f=alpha, beta_f=beta, bias_f=k)


class Lrn(nn.Module):
    def __init__(self, size=5, alpha=1e-4, beta=0.75, k=2.0):
        super().__init__()
        self.args = (size, alpha, beta, k)

    def forward(self, x):
        return LrnFn.apply(x, *self.args)


def randomize_bn(model):
    """Non-trivial BN statistics so folding is actually tested."""
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            with torch.no_grad():
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.3, 0.3)


class ConvBnReluFc(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.b1 = nn.BatchNorm2d(8)
        self.p1 = nn.MaxPool2d(2)
        self.c2 = nn.Conv2d(8, 16, 3, stride=2, padding=1)
        self.b2 = nn.BatchNorm2d(16)
        self.drop = nn.Dropout(0.5)
        self.fc1 = nn.Linear(16 * 4 * 4, 32)
        self.bn3 = nn.BatchNorm1d(32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        x = self.p1(F.relu(self.b1(self.c1(x))))
        x = F.relu6(self.b2(self.c2(x)))
        x = torch.flatten(x, 1)
        x = F.relu(self.bn3(self.fc1(self.drop(x))))
        return self.fc2(x)


class Basic(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.b1 = nn.BatchNorm2d(cout)
        self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.b2 = nn.BatchNorm2d(cout)
        self.short = None
        if stride != 1 or cin != cout:
            self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.b1(self.c1(x)))
        y = self.b2(self.c2(y))
        s = x if self.short is None else self.short(x)
        return F.relu(y + s)


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU())
        self.l1 = Basic(8, 8, 1)
        self.l2 = Basic(8, 16, 2)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.l2(self.l1(self.stem(x)))
        return self.fc(torch.flatten(self.pool(x), 1))


class Concat(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2, ceil_mode=True))
        self.b1 = nn.Sequential(nn.Conv2d(8, 4, 1), nn.ReLU())
        self.b2 = nn.Sequential(nn.Conv2d(8, 4, 1), nn.ReLU(), nn.Conv2d(4, 6, 3, padding=1), nn.ReLU())
        self.b3 = nn.Sequential(nn.Conv2d(8, 2, 1), nn.ReLU(), nn.Conv2d(2, 4, 5, padding=2), nn.ReLU())
        self.b4 = nn.Sequential(nn.MaxPool2d(3, 1, padding=1), nn.Conv2d(8, 4, 1), nn.ReLU())
        self.pool = nn.AvgPool2d(3, 2, padding=1, ceil_mode=True, count_include_pad=False)
        self.fc = nn.Linear(18 * 6 * 6, 10)

    def forward(self, x):
        x = self.stem(x)
        x = torch.cat([self.b1(x), self.b2(x), self.b3(x), self.b4(x)], 1)
        return self.fc(torch.flatten(self.pool(x), 1))


class LrnNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 16, 5, stride=2, padding=2)
        self.lrn = Lrn(5, 1e-4, 0.75, 2.0)
        self.p1 = nn.MaxPool2d(3, 2)
        self.c2 = nn.Conv2d(16, 16, 3, padding=1, groups=2)
        self.lrn2 = Lrn(3, 1e-2, 0.75, 1.0)
        self.fc = nn.Linear(16 * 3 * 3, 10)

    def forward(self, x):
        x = self.p1(self.lrn(F.relu(self.c1(x))))
        x = self.lrn2(F.relu(self.c2(x)))
        x = F.max_pool2d(x, 3, 2, ceil_mode=True)
        return self.fc(torch.flatten(x, 1))


class AvgPoolPad(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3)
        self.c2 = nn.Conv2d(8, 8, 3, dilation=2, padding=2)
        self.fc = nn.Linear(8 * 4 * 4, 10)

    def forward(self, x):
        x = F.relu(self.c1(F.pad(x, (1, 1, 1, 1))))
        x = F.avg_pool2d(x, 3, 2, padding=1, count_include_pad=True)
        x = F.relu(self.c2(x))
        x = F.avg_pool2d(x, 2, 2)
        return self.fc(torch.flatten(x, 1))


class SoftmaxNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 8, 3, stride=2, padding=1)
        self.fc = nn.Linear(8, 5)

    def forward(self, x):
        x = F.relu(self.c1(x))
        x = F.adaptive_avg_pool2d(x, 1)
        return F.softmax(self.fc(torch.flatten(x, 1)) * 2.0, dim=1)


class Nhwc(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.dw = nn.Conv2d(8, 8, 3, padding=1, groups=8)
        self.pw = nn.Conv2d(8, 12, 1)
        self.fc = nn.Linear(12, 6)

    def forward(self, x):
        x = x.permute(0, 3, 1, 2)
        x = F.relu6(self.c1(x))
        x = F.relu6(self.pw(F.relu6(self.dw(x))))
        x = torch.mean(x, dim=(2, 3))
        return self.fc(x)


class Unsupported(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 4, 3)

    def forward(self, x):
        return torch.sigmoid(self.c1(x))


def export(name, model, shape, dynamic=None):
    torch.manual_seed(1)
    model.eval()
    x = torch.randn(*shape)
    path = os.path.join(HERE, name + ".onnx")
    torch.onnx.export(
        model,
        x,
        path,
        opset_version=13,
        input_names=["input"],
        output_names=["output"],
        dynamic_axes=dynamic,
        do_constant_folding=True,
    )
    print(name, os.path.getsize(path), "bytes")


class BnAfterPool(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3, padding=1)
        self.b1 = nn.BatchNorm2d(8)
        self.c2 = nn.Conv2d(8, 8, 1)
        self.b2 = nn.BatchNorm1d(8 * 7 * 7)
        self.fc = nn.Linear(8 * 7 * 7, 10)

    def forward(self, x):
        x = self.b1(F.max_pool2d(F.relu(self.c1(x)), 2))
        x = F.relu(self.c2(x))
        return self.fc(self.b2(x.view(x.size(0), -1)))


def unknown_op():
    """Conv then a node of type `FancyNorm` (domain ai.onnx): tract cannot even load it."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    import numpy as np

    rng = np.random.default_rng(7)
    w = numpy_helper.from_array(rng.standard_normal((4, 1, 3, 3)).astype(np.float32), "w")
    nodes = [
        helper.make_node("Conv", ["input", "w"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("FancyNorm", ["c"], ["output"], name="fancy"),
    ]
    graph = helper.make_graph(
        nodes,
        "unknown_op",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 1, 8, 8])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 4, 8, 8])],
        [w],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    path = os.path.join(HERE, "unknown_op.onnx")
    onnx.save(model, path)
    print("unknown_op", os.path.getsize(path), "bytes")


class TorchLrn(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 4, 3)
        self.lrn = nn.LocalResponseNorm(3)

    def forward(self, x):
        return self.lrn(F.relu(self.c1(x)))


def helper_model(name, nodes, inits, in_shape, out_shape, opset):
    """Saves a graph built with onnx.helper (input `input`, output `output`), checked."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    graph = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, list(in_shape))],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, list(out_shape))],
        [numpy_helper.from_array(v, k) for k, v in inits.items()],
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="make_models.py"
    )
    model.ir_version = 4 if opset <= 9 else 7
    onnx.checker.check_model(model)
    path = os.path.join(HERE, name + ".onnx")
    onnx.save(model, path)
    print(name, os.path.getsize(path), "bytes")


def weights(rng, *shape, fan_in=None):
    import numpy as np

    fan_in = fan_in or int(np.prod(shape[1:]))
    return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)


def small(rng, *shape, lo=-0.2, hi=0.2):
    import numpy as np

    return rng.uniform(lo, hi, shape).astype(np.float32)


def caffe_opset8(opset=8):
    """A model-zoo Caffe conversion; the same graph is also written at opset 7 and 9."""
    import numpy as np
    from onnx import helper

    rng = np.random.default_rng(11)
    mk = helper.make_node
    inits = {
        "conv1_w": weights(rng, 8, 3, 3, 3),
        "conv1_b": small(rng, 8),
        "conv2_w": weights(rng, 12, 8, 3, 3),
        "conv2_b": small(rng, 12),
        "shape": np.array([1, 12 * 4 * 4], dtype=np.int64),
        "fc6_w": weights(rng, 32, 12 * 4 * 4),
        "fc6_b": small(rng, 32),
        "fc7_w": weights(rng, 10, 32),
        "fc7_b": small(rng, 10),
    }
    nodes = [
        mk("Conv", ["input", "conv1_w", "conv1_b"], ["conv1"], name="conv1",
           kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1]),
        mk("Relu", ["conv1"], ["relu1"], name="relu1"),
        mk("LRN", ["relu1"], ["norm1"], name="norm1", size=5, alpha=1e-4, beta=0.75, bias=1.0),
        # Caffe rounds pooled sizes up; converters write that as extra pad at the end.
        mk("MaxPool", ["norm1"], ["pool1"], name="pool1", kernel_shape=[3, 3], strides=[2, 2],
           pads=[0, 0, 1, 1]),
        mk("Conv", ["pool1", "conv2_w", "conv2_b"], ["conv2"], name="conv2",
           kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        mk("Relu", ["conv2"], ["relu2"], name="relu2"),
        mk("MaxPool", ["relu2"], ["pool2"], name="pool2", kernel_shape=[3, 3], strides=[2, 2],
           pads=[0, 0, 1, 1]),
        mk("Reshape", ["pool2", "shape"], ["flat"], name="flat"),
        mk("Gemm", ["flat", "fc6_w", "fc6_b"], ["fc6"], name="fc6", transB=1),
        mk("Relu", ["fc6"], ["relu6"], name="relu6"),
        mk("Dropout", ["relu6"], ["drop6"], name="drop6", ratio=0.5),
        mk("Gemm", ["drop6", "fc7_w", "fc7_b"], ["fc7"], name="fc7", transB=1),
        mk("Softmax", ["fc7"], ["output"], name="prob", axis=1),
    ]
    helper_model(f"caffe_opset{opset}", nodes, inits, (1, 3, 16, 16), (1, 10), opset)


def bn_mul_add():
    import numpy as np
    from onnx import helper

    rng = np.random.default_rng(12)
    mk = helper.make_node
    inits = {
        "c1_w": weights(rng, 8, 3, 3, 3),
        "bn1_scale": rng.uniform(0.5, 1.5, (1, 8, 1, 1)).astype(np.float32),
        "bn1_shift": small(rng, 1, 8, 1, 1, lo=-0.3, hi=0.3),
        "c2_w": weights(rng, 16, 8, 3, 3),
        "bn2_scale": rng.uniform(0.5, 1.5, (16, 1, 1)).astype(np.float32),
        "bn2_shift": small(rng, 16, 1, 1, lo=-0.3, hi=0.3),
        "fc_w": weights(rng, 10, 16),
        "fc_b": small(rng, 10),
    }
    nodes = [
        mk("Conv", ["input", "c1_w"], ["c1"], name="c1", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        mk("Mul", ["c1", "bn1_scale"], ["bn1_mul"], name="bn1_mul"),
        mk("Add", ["bn1_mul", "bn1_shift"], ["bn1"], name="bn1_add"),
        mk("Relu", ["bn1"], ["r1"], name="r1"),
        mk("Conv", ["r1", "c2_w"], ["c2"], name="c2", kernel_shape=[3, 3], pads=[1, 1, 1, 1],
           strides=[2, 2]),
        mk("Mul", ["c2", "bn2_scale"], ["bn2_mul"], name="bn2_mul"),
        mk("Add", ["bn2_mul", "bn2_shift"], ["bn2"], name="bn2_add"),
        mk("Relu", ["bn2"], ["r2"], name="r2"),
        mk("GlobalAveragePool", ["r2"], ["gap"], name="gap"),
        mk("Flatten", ["gap"], ["flat"], name="flat", axis=1),
        mk("Gemm", ["flat", "fc_w", "fc_b"], ["output"], name="fc", transB=1),
    ]
    helper_model("bn_mul_add", nodes, inits, (1, 3, 12, 12), (1, 10), 13)


def matmul_add():
    import numpy as np
    from onnx import helper

    rng = np.random.default_rng(13)
    mk = helper.make_node
    inits = {
        "c1_w": weights(rng, 6, 3, 3, 3),
        "c1_b": small(rng, 6),
        "fc1_w": weights(rng, 6 * 5 * 5, 24, fan_in=6 * 5 * 5),  # [K, N]: MatMul, not Gemm
        "fc1_b": small(rng, 24),
        "fc2_w": weights(rng, 24, 10, fan_in=24),
        "fc2_b": small(rng, 10),
    }
    nodes = [
        mk("Conv", ["input", "c1_w", "c1_b"], ["c1"], name="c1", kernel_shape=[3, 3],
           strides=[2, 2]),
        mk("Relu", ["c1"], ["r1"], name="r1"),
        mk("Flatten", ["r1"], ["flat"], name="flat", axis=1),
        mk("MatMul", ["flat", "fc1_w"], ["fc1_mm"], name="fc1_matmul"),
        mk("Add", ["fc1_mm", "fc1_b"], ["fc1"], name="fc1_add"),
        mk("Relu", ["fc1"], ["r2"], name="r2"),
        mk("MatMul", ["r2", "fc2_w"], ["fc2_mm"], name="fc2_matmul"),
        mk("Add", ["fc2_mm", "fc2_b"], ["output"], name="fc2_add"),
    ]
    helper_model("matmul_add", nodes, inits, (1, 3, 11, 11), (1, 10), 13)


def shape_subgraph():
    import numpy as np
    from onnx import helper

    rng = np.random.default_rng(14)
    mk = helper.make_node
    inits = {
        "c1_w": weights(rng, 8, 3, 3, 3),
        "c1_b": small(rng, 8),
        "zero": np.array(0, dtype=np.int64),
        "axes0": np.array([0], dtype=np.int64),
        "minus_one": np.array([-1], dtype=np.int64),
        "fc_w": weights(rng, 10, 8 * 4 * 4),
        "fc_b": small(rng, 10),
    }
    nodes = [
        mk("Conv", ["input", "c1_w", "c1_b"], ["c1"], name="c1", kernel_shape=[3, 3],
           pads=[1, 1, 1, 1]),
        mk("Relu", ["c1"], ["r1"], name="r1"),
        mk("MaxPool", ["r1"], ["p1"], name="p1", kernel_shape=[2, 2], strides=[2, 2]),
        # x.view(x.size(0), -1) as older exporters write it
        mk("Shape", ["p1"], ["p1_shape"], name="shape"),
        mk("Gather", ["p1_shape", "zero"], ["batch"], name="gather", axis=0),
        mk("Unsqueeze", ["batch", "axes0"], ["batch1"], name="unsqueeze"),
        mk("Concat", ["batch1", "minus_one"], ["target"], name="concat_shape", axis=0),
        mk("Reshape", ["p1", "target"], ["flat"], name="reshape"),
        mk("Gemm", ["flat", "fc_w", "fc_b"], ["output"], name="fc", transB=1),
    ]
    helper_model("shape_subgraph", nodes, inits, (1, 3, 8, 8), (1, 10), 13)


def pad_conv():
    import numpy as np
    from onnx import helper

    rng = np.random.default_rng(15)
    mk = helper.make_node
    inits = {
        # [x1_begin, x2_begin, x3_begin, x4_begin, x1_end, ...]: bottom/right only
        "pads_same": np.array([0, 0, 0, 0, 0, 0, 1, 1], dtype=np.int64),
        "pads_one": np.array([0, 0, 1, 1, 0, 0, 1, 1], dtype=np.int64),
        "c1_w": weights(rng, 8, 3, 3, 3),
        "c1_b": small(rng, 8),
        "c2_w": weights(rng, 8, 8, 3, 3),
        "c2_b": small(rng, 8),
        "fc_w": weights(rng, 10, 8),
        "fc_b": small(rng, 10),
    }
    nodes = [
        mk("Pad", ["input", "pads_same"], ["pad1"], name="pad1", mode="constant"),
        mk("Conv", ["pad1", "c1_w", "c1_b"], ["c1"], name="c1", kernel_shape=[3, 3],
           strides=[2, 2]),
        mk("Relu", ["c1"], ["r1"], name="r1"),
        mk("Pad", ["r1", "pads_one"], ["pad2"], name="pad2", mode="constant"),
        mk("Conv", ["pad2", "c2_w", "c2_b"], ["c2"], name="c2", kernel_shape=[3, 3]),
        mk("Relu", ["c2"], ["r2"], name="r2"),
        mk("GlobalAveragePool", ["r2"], ["gap"], name="gap"),
        mk("Flatten", ["gap"], ["flat"], name="flat", axis=1),
        mk("Gemm", ["flat", "fc_w", "fc_b"], ["output"], name="fc", transB=1),
    ]
    helper_model("pad_conv", nodes, inits, (1, 3, 14, 14), (1, 10), 11)


class TransformInput(nn.Module):
    """torchvision GoogLeNet's `_transform_input` (transform_input=True), then a stem."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(8, eps=0.001)
        self.pool = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.fc = nn.Linear(8, 10)

    def forward(self, x):
        # verbatim from torchvision/models/googlenet.py
        x_ch0 = torch.unsqueeze(x[:, 0], 1) * (0.229 / 0.5) + (0.485 - 0.5) / 0.5
        x_ch1 = torch.unsqueeze(x[:, 1], 1) * (0.224 / 0.5) + (0.456 - 0.5) / 0.5
        x_ch2 = torch.unsqueeze(x[:, 2], 1) * (0.225 / 0.5) + (0.406 - 0.5) / 0.5
        x = torch.cat((x_ch0, x_ch1, x_ch2), 1)
        x = self.pool(F.relu(self.bn1(self.conv1(x))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def main():
    models = [
        ("conv_bn_relu_fc", ConvBnReluFc, (1, 3, 16, 16), None),
        ("residual", Residual, (1, 1, 16, 16), None),
        ("concat", Concat, (1, 3, 20, 20), None),
        ("lrn", LrnNet, (1, 3, 32, 32), None),
        ("avgpool_pad", AvgPoolPad, (1, 3, 16, 16), None),
        ("softmax", SoftmaxNet, (1, 1, 12, 12), None),
        ("nhwc", Nhwc, (1, 12, 12, 3), None),
        ("unsupported", Unsupported, (1, 1, 8, 8), None),
        ("dynamic", Residual, (1, 1, 16, 16), {"input": {2: "h", 3: "w"}}),
        ("torch_lrn", TorchLrn, (1, 1, 8, 8), None),
        ("bn_after_pool", BnAfterPool, (1, 3, 14, 14), None),
        ("transform_input", TransformInput, (1, 3, 20, 20), None),
    ]
    for seed, (name, make, shape, dynamic) in enumerate(models):
        torch.manual_seed(seed)  # each model its own seed: adding one changes no other
        model = make()
        randomize_bn(model)
        export(name, model, shape, dynamic)
    unknown_op()
    for opset in (7, 8, 9):
        caffe_opset8(opset)
    bn_mul_add()
    matmul_add()
    shape_subgraph()
    pad_conv()


if __name__ == "__main__":
    main()
