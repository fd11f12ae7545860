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
    ]
    for seed, (name, make, shape, dynamic) in enumerate(models):
        torch.manual_seed(seed)  # each model its own seed: adding one changes no other
        model = make()
        randomize_bn(model)
        export(name, model, shape, dynamic)
    unknown_op()


if __name__ == "__main__":
    main()
